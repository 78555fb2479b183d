/*
 * test_integ_lifecycle.c - start / stop / destroy at awkward moments. The header promises that
 * stop() returns within WS_PORT_ABORT_CHECK_MS (100 ms) of whatever the task is waiting on; the
 * tests assert a generous 3 s bound (behaviour, not performance) while the connection attempt
 * would otherwise take network_timeout_ms (10 s here) or the reconnect delay (20 s).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "integ_util.h"

static integ_server_t g_raw;
static integ_server_t g_ws;

#define BOUND_MS 3000

static esp_websocket_client_handle_t start_uri(integ_rec_t *rec, const char *uri, int reconnect_ms, bool no_reconnect)
{
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.network_timeout_ms = 10000;
    cfg.reconnect_timeout_ms = reconnect_ms;
    cfg.disable_auto_reconnect = no_reconnect;
    esp_websocket_client_handle_t c = integ_client_new(rec, &cfg);
    if (c) {
        CHECK(esp_websocket_client_start(c) == ESP_OK);
    }
    return c;
}

/* Stops (or destroys) a client while the task is blocked, and checks the time it took. */
static void interrupt_and_time(esp_websocket_client_handle_t c, integ_rec_t *rec, bool destroy, const char *what)
{
    int64_t t0 = integ_now_ms();
    esp_err_t err = destroy ? esp_websocket_client_destroy(c) : esp_websocket_client_stop(c);
    int64_t dt = integ_now_ms() - t0;
    printf("  %s during %s returned in %lld ms\n", destroy ? "destroy" : "stop", what, (long long)dt);
    CHECK(err == ESP_OK, "%s returned %d", destroy ? "destroy" : "stop", err);
    CHECK(dt < BOUND_MS, "%s during %s took %lld ms", destroy ? "destroy" : "stop", what, (long long)dt);
    if (!destroy) {
        CHECK(integ_rec_count(rec, WEBSOCKET_EVENT_FINISH) == 1, "FINISH %d", integ_rec_count(rec, WEBSOCKET_EVENT_FINISH));
        CHECK(esp_websocket_client_destroy(c) == ESP_OK);
    }
}

/* The raw server's blackhole: TCP accepted, the upgrade request read, never answered. */
static void blackhole_attempt(bool destroy)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    integ_server_drain(&g_raw);
    char uri[128];
    integ_server_uri(&g_raw, "/blackhole", uri, sizeof(uri));
    esp_websocket_client_handle_t c = start_uri(&rec, uri, 1000, false);
    if (c) {
        /* Make sure the task really is inside the handshake: the server has the request. */
        CHECK(integ_server_wait_line(&g_raw, "REQ /blackhole", NULL, 0, 3000), "the request never reached the server");
        integ_sleep_ms(200);
        CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_CONNECTED) == 0);
        CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_ERROR) == 0, "the attempt failed before the stop");
        interrupt_and_time(c, &rec, destroy, "an unanswered handshake");
    }
    integ_rec_free(&rec);
}

static void stop_during_unanswered_handshake_returns_within_bound(void)
{
    blackhole_attempt(false);
}

static void destroy_during_unanswered_handshake_returns_within_bound(void)
{
    blackhole_attempt(true);
}

/* A listener whose accept queue is full and that never accepts: the client's SYN is dropped (or
 * its connection is never served), so the task sits in connect / the handshake. */
static void stop_during_connect_to_full_backlog_returns_within_bound(void)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof(a);
    if (!CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(lfd, 0) == 0 &&
               getsockname(lfd, (struct sockaddr *)&a, &al) == 0)) {
        if (lfd >= 0) {
            close(lfd);
        }
        return;
    }
    int fillers[4];
    for (int i = 0; i < 4; i++) {
        fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (connect(fillers[i], (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS) {
            /* ignored: the queue is full either way */
        }
    }
    integ_sleep_ms(100);
    char uri[96];
    snprintf(uri, sizeof(uri), "ws://127.0.0.1:%d/echo", ntohs(a.sin_port));
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    esp_websocket_client_handle_t c = start_uri(&rec, uri, 1000, false);
    if (c) {
        CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_BEFORE_CONNECT, 1, 2000));
        integ_sleep_ms(300);
        CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_CONNECTED) == 0);
        CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_ERROR) == 0, "the attempt failed before the stop");
        interrupt_and_time(c, &rec, false, "a connect to a full backlog");
    }
    integ_rec_free(&rec);
    for (int i = 0; i < 4; i++) {
        close(fillers[i]);
    }
    close(lfd);
}

static void stop_during_reconnect_wait_returns_within_bound(void)
{
    char uri[96];
    snprintf(uri, sizeof(uri), "ws://127.0.0.1:%d/echo", integ_unused_port());
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    esp_websocket_client_handle_t c = start_uri(&rec, uri, 20000, false);
    if (c) {
        CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_DISCONNECTED, 1, 3000), "the refused connect was not reported");
        integ_sleep_ms(200);
        interrupt_and_time(c, &rec, false, "a 20 s reconnect wait");
    }
    integ_rec_free(&rec);
}

/* After stop(), start() runs a new task that connects again (BEGIN/FINISH once per start). */
static void start_after_stop_connects_again(void)
{
    char uri[128];
    integ_server_uri(&g_ws, "/echo", uri, sizeof(uri));
    integ_rec_t rec;
    integ_rec_init(&rec, 8);
    esp_websocket_client_handle_t c = start_uri(&rec, uri, 1000, true);
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 1, 4000));
    CHECK(esp_websocket_client_start(c) == ESP_FAIL, "a second start while running was accepted");
    CHECK(esp_websocket_client_stop(c) == ESP_OK);
    CHECK(!esp_websocket_client_is_connected(c));
    CHECK(esp_websocket_client_send_text(c, "x", 1, pdMS_TO_TICKS(200)) == -1, "send on a stopped client");
    CHECK(esp_websocket_client_start(c) == ESP_OK);
    if (CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 2, 4000), "no second CONNECTED")) {
        CHECK(esp_websocket_client_send_text(c, "again", 5, INTEG_SEND_TIMEOUT) == 5);
        CHECK(integ_rec_wait_msgs(&rec, 1, 3000));
    }
    CHECK(esp_websocket_client_stop(c) == ESP_OK);
    CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_BEGIN) == 2, "BEGIN %d", integ_rec_count(&rec, WEBSOCKET_EVENT_BEGIN));
    CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_FINISH) == 2, "FINISH %d", integ_rec_count(&rec, WEBSOCKET_EVENT_FINISH));
    CHECK(esp_websocket_client_destroy(c) == ESP_OK);
    integ_rec_free(&rec);
}

/* destroy_on_exit: the task frees the client itself after FINISH. */
static void destroy_on_exit_ends_with_finish(void)
{
    char uri[128];
    integ_server_uri(&g_ws, "/404", uri, sizeof(uri));
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    esp_websocket_client_handle_t c = start_uri(&rec, uri, 1000, true);
    if (c) {
        CHECK(esp_websocket_client_destroy_on_exit(c) == ESP_OK);
        CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_FINISH, 1, 4000), "no FINISH");
        integ_sleep_ms(200);   /* the task frees the client after FINISH; ASan/valgrind see leaks */
    }
    integ_rec_free(&rec);
}

int main(int argc, char **argv)
{
    integ_init(argc, argv, 55);
    if (!integ_server_start(&g_raw, INTEG_SRV_RAW)) {
        return integ_finish();
    }
    if (!integ_server_start(&g_ws, INTEG_SRV_WS)) {
        integ_server_stop(&g_raw);
        return integ_finish();
    }
    RUN_CASE(stop_during_unanswered_handshake_returns_within_bound);
    RUN_CASE(destroy_during_unanswered_handshake_returns_within_bound);
    RUN_CASE(stop_during_connect_to_full_backlog_returns_within_bound);
    RUN_CASE(stop_during_reconnect_wait_returns_within_bound);
    RUN_CASE(start_after_stop_connects_again);
    RUN_CASE(destroy_on_exit_ends_with_finish);
    integ_server_stop(&g_ws);
    integ_server_stop(&g_raw);
    return integ_finish();
}
