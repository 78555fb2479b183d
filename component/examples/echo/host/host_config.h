/*
 * What menuconfig's sdkconfig.h gives the example on a board, for the Linux build.
 * The URI comes from the command line (host_main.c) instead of a compile-time string.
 */
#pragma once

#ifndef CONFIG_WEBSOCKET_URI_FROM_STDIN
#define CONFIG_WEBSOCKET_URI_FROM_STRING 1
extern const char *host_websocket_uri;
#define CONFIG_WEBSOCKET_URI host_websocket_uri
#endif

int host_app_main(void);
