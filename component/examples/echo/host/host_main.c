/*
 * Linux entry point of the echo example: `echo_example <uri>` (or, for the stdin build,
 * `echo_example_stdin` with the URI on standard input). Exits 0 when all five echoes came back
 * and the connection closed cleanly.
 */
#include <stdio.h>

#include "host_config.h"

#ifndef CONFIG_WEBSOCKET_URI_FROM_STDIN
const char *host_websocket_uri = "ws://127.0.0.1:8080";
#endif

int main(int argc, char **argv)
{
#ifndef CONFIG_WEBSOCKET_URI_FROM_STDIN
    if (argc > 1) host_websocket_uri = argv[1];
#else
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "usage: echo_example_stdin < uri\n");
        return 2;
    }
#endif
    return host_app_main();
}
