/*
 * test_integ_reconnect.c - what happens after the connection is lost: DISCONNECTED, a wait of
 * reconnect_timeout_ms, a new connection; no reconnect when disabled; set_reconnect_timeout ends a
 * wait in progress; with reconnect_backoff the delays grow and are jittered.
 *
 * Timings are behaviour, not performance: bounds are loose on purpose.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integ_util.h"

static integ_server_t g_srv;

static void done(esp_websocket_client_handle_t c, integ_rec_t *rec)
{
    CHECK(rec->reasm_errors == 0, "chunk contract: %s", rec->first_reasm_error);
    if (c) {
        int64_t t0 = integ_now_ms();
        CHECK(esp_websocket_client_destroy(c) == ESP_OK);
        CHECK(integ_now_ms() - t0 < 3000, "destroy took %lld ms", (long long)(integ_now_ms() - t0));
    }
    integ_rec_free(rec);
}

/* Connects to /drop?after=1, echoes one message and loses the TCP connection. */
static esp_websocket_client_handle_t connect_and_get_dropped(integ_rec_t *rec, esp_websocket_client_config_t *cfg)
{
    char uri[160];
    integ_server_uri(&g_srv, "/drop?after=1", uri, sizeof(uri));
    cfg->uri = uri;
    cfg->network_timeout_ms = 3000;
    esp_websocket_client_handle_t c = integ_client_new(rec, cfg);
    if (!c) {
        return NULL;
    }
    CHECK(esp_websocket_client_start(c) == ESP_OK);
    if (!CHECK(integ_rec_wait_event(rec, WEBSOCKET_EVENT_CONNECTED, 1, 5000), "no first CONNECTED")) {
        esp_websocket_client_destroy(c);
        return NULL;
    }
    CHECK(esp_websocket_client_send_text(c, "one", 3, INTEG_SEND_TIMEOUT) == 3);
    CHECK(integ_rec_wait_msgs(rec, 1, 3000), "the message before the drop was not echoed");
    if (!CHECK(integ_rec_wait_event(rec, WEBSOCKET_EVENT_DISCONNECTED, 1, 3000), "no DISCONNECTED after the drop")) {
        esp_websocket_client_destroy(c);
        return NULL;
    }
    integ_event_log_t e;
    integ_rec_event(rec, WEBSOCKET_EVENT_DISCONNECTED, 0, &e);
    CHECK(e.error_handle.error_type == WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT, "DISCONNECTED error_type %d",
          e.error_handle.error_type);
    return c;
}

static void dropped_connection_reconnects_after_reconnect_timeout(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 16);
    integ_server_drain(&g_srv);
    esp_websocket_client_config_t cfg = { 0 };
    cfg.reconnect_timeout_ms = 400;
    esp_websocket_client_handle_t c = connect_and_get_dropped(&rec, &cfg);
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    CHECK(!esp_websocket_client_is_connected(c));
    if (CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 2, 4000), "did not reconnect")) {
        integ_event_log_t d, c2;
        integ_rec_event(&rec, WEBSOCKET_EVENT_DISCONNECTED, 0, &d);
        integ_rec_event(&rec, WEBSOCKET_EVENT_CONNECTED, 1, &c2);
        int64_t gap = c2.t_ms - d.t_ms;
        printf("  reconnect gap %lld ms (reconnect_timeout_ms 400)\n", (long long)gap);
        CHECK(gap >= 350 && gap < 2500, "reconnected %lld ms after DISCONNECTED, configured 400", (long long)gap);
        CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_BEFORE_CONNECT) >= 2);
        /* The new connection works. */
        CHECK(esp_websocket_client_send_text(c, "two", 3, INTEG_SEND_TIMEOUT) == 3);
        CHECK(integ_rec_wait_msgs(&rec, 2, 3000), "no echo on the new connection");
    }
    /* Server lines arrive through a pipe, possibly after the client's events: wait for them. */
    CHECK(integ_server_wait_line(&g_srv, "CONN ", NULL, 0, 2000) && integ_server_wait_line(&g_srv, "CONN ", NULL, 0, 2000),
          "server saw %d connections", integ_server_count_lines(&g_srv, "CONN "));
    CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_BEGIN) == 1, "BEGIN is posted once per start");
    done(c, &rec);
}

/* The contrapositive: disable_auto_reconnect - the task ends, nothing reconnects. */
static void dropped_connection_stays_down_without_auto_reconnect(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 16);
    esp_websocket_client_config_t cfg = { 0 };
    cfg.reconnect_timeout_ms = 200;
    cfg.disable_auto_reconnect = true;
    esp_websocket_client_handle_t c = connect_and_get_dropped(&rec, &cfg);
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_FINISH, 1, 2000), "the task did not finish");
    integ_sleep_ms(800);
    CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_BEFORE_CONNECT) == 1, "%d connection attempts",
          integ_rec_count(&rec, WEBSOCKET_EVENT_BEFORE_CONNECT));
    CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_CONNECTED) == 1);
    CHECK(esp_websocket_client_get_reconnect_timeout(c) == -1);
    done(c, &rec);
}

/* set_reconnect_timeout ends a long wait in progress: the retry comes long before 20 s. */
static void set_reconnect_timeout_cuts_a_pending_wait(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 16);
    esp_websocket_client_config_t cfg = { 0 };
    cfg.reconnect_timeout_ms = 20000;
    esp_websocket_client_handle_t c = connect_and_get_dropped(&rec, &cfg);
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    CHECK(esp_websocket_client_get_reconnect_timeout(c) == 20000);
    integ_sleep_ms(300);
    CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_CONNECTED) == 1, "reconnected before the 20 s delay");
    int64_t t0 = integ_now_ms();
    CHECK(esp_websocket_client_set_reconnect_timeout(c, 200) == ESP_OK);
    CHECK(esp_websocket_client_get_reconnect_timeout(c) == 200);
    CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 2, 3000), "still waiting after set_reconnect_timeout");
    printf("  reconnected %lld ms after set_reconnect_timeout(200)\n", (long long)(integ_now_ms() - t0));
    done(c, &rec);
}

/* Gaps between consecutive BEFORE_CONNECT events of a client retrying a closed port. */
static int attempt_gaps(integ_rec_t *rec, int64_t *gaps, int n)
{
    int got = 0;
    integ_event_log_t prev, cur;
    if (!integ_rec_event(rec, WEBSOCKET_EVENT_BEFORE_CONNECT, 0, &prev)) {
        return 0;
    }
    for (int k = 1; k <= n; k++) {
        if (!integ_rec_event(rec, WEBSOCKET_EVENT_BEFORE_CONNECT, k, &cur)) {
            break;
        }
        gaps[got++] = cur.t_ms - prev.t_ms;
        prev = cur;
    }
    return got;
}

static esp_websocket_client_handle_t retry_closed_port(integ_rec_t *rec, int port, bool backoff, int base_ms, int max_ms)
{
    char uri[96];
    snprintf(uri, sizeof(uri), "ws://127.0.0.1:%d/echo", port);
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.network_timeout_ms = 2000;
    cfg.reconnect_timeout_ms = base_ms;
    cfg.reconnect_backoff = backoff ? WEBSOCKET_RECONNECT_BACKOFF_ENABLED : WEBSOCKET_RECONNECT_BACKOFF_DISABLED;
    cfg.reconnect_backoff_max_ms = max_ms;
    esp_websocket_client_handle_t c = integ_client_new(rec, &cfg);
    if (c) {
        CHECK(esp_websocket_client_start(c) == ESP_OK);
    }
    return c;
}

/* reconnect_backoff: 100, 200, 400, 800, 800 ms (+ up to 1/4 jitter), against a closed port.
 * Two clients run side by side: with jitter their delays differ; the growth is checked on each. */
static void backoff_delays_grow_and_are_jittered(void)
{
    enum { GAPS = 5 };
    static const int nominal[GAPS] = { 100, 200, 400, 800, 800 };
    int port = integ_unused_port();
    integ_rec_t ra, rb;
    integ_rec_init(&ra, 4);
    integ_rec_init(&rb, 4);
    esp_websocket_client_handle_t a = retry_closed_port(&ra, port, true, 100, 800);
    esp_websocket_client_handle_t b = retry_closed_port(&rb, port, true, 100, 800);
    if (a && b) {
        CHECK(integ_rec_wait_event(&ra, WEBSOCKET_EVENT_BEFORE_CONNECT, GAPS + 1, 6000), "client A: %d attempts",
              integ_rec_count(&ra, WEBSOCKET_EVENT_BEFORE_CONNECT));
        CHECK(integ_rec_wait_event(&rb, WEBSOCKET_EVENT_BEFORE_CONNECT, GAPS + 1, 6000), "client B: %d attempts",
              integ_rec_count(&rb, WEBSOCKET_EVENT_BEFORE_CONNECT));
        int64_t ga[GAPS], gb[GAPS];
        int na = attempt_gaps(&ra, ga, GAPS);
        int nb = attempt_gaps(&rb, gb, GAPS);
        if (CHECK(na == GAPS && nb == GAPS)) {
            int64_t diff = 0;
            printf("  gaps A:");
            for (int i = 0; i < GAPS; i++) {
                printf(" %lld", (long long)ga[i]);
            }
            printf("\n  gaps B:");
            for (int i = 0; i < GAPS; i++) {
                printf(" %lld", (long long)gb[i]);
            }
            printf("\n  nominal: 100 200 400 800 800 (+ jitter up to 1/4)\n");
            for (int i = 0; i < GAPS; i++) {
                /* Each delay near its nominal value: never below 3/4 of it, never above 1.25x + slack
                 * for a loaded machine. */
                CHECK(ga[i] >= nominal[i] * 3 / 4 && ga[i] <= nominal[i] * 5 / 4 + 400, "A gap %d = %lld ms", i,
                      (long long)ga[i]);
                CHECK(gb[i] >= nominal[i] * 3 / 4 && gb[i] <= nominal[i] * 5 / 4 + 400, "B gap %d = %lld ms", i,
                      (long long)gb[i]);
                diff += ga[i] > gb[i] ? ga[i] - gb[i] : gb[i] - ga[i];
            }
            /* Growth: the capped delay is several times the first one. */
            CHECK(ga[3] > 3 * ga[0] && gb[3] > 3 * gb[0], "no growth: %lld vs %lld", (long long)ga[3], (long long)ga[0]);
            /* Jitter: two clients on the same schedule differ by clearly more than scheduling noise
             * (expected sum of |A - B| about 190 ms with jitter up to 1/4; about 0 without). */
            printf("  sum |A-B| = %lld ms\n", (long long)diff);
            CHECK(diff >= 40, "two clients' delays differ by only %lld ms in total: no jitter", (long long)diff);
        }
    }
    if (a) {
        done(a, &ra);
    } else {
        integ_rec_free(&ra);
    }
    if (b) {
        done(b, &rb);
    } else {
        integ_rec_free(&rb);
    }
}

/* The contrapositive: without reconnect_backoff the delay stays at reconnect_timeout_ms. */
static void fixed_delay_without_backoff(void)
{
    enum { GAPS = 4 };
    int port = integ_unused_port();
    integ_rec_t r;
    integ_rec_init(&r, 4);
    esp_websocket_client_handle_t c = retry_closed_port(&r, port, false, 150, 0);
    if (!c) {
        integ_rec_free(&r);
        return;
    }
    CHECK(integ_rec_wait_event(&r, WEBSOCKET_EVENT_BEFORE_CONNECT, GAPS + 1, 4000), "%d attempts",
          integ_rec_count(&r, WEBSOCKET_EVENT_BEFORE_CONNECT));
    int64_t g[GAPS];
    int n = attempt_gaps(&r, g, GAPS);
    if (CHECK(n == GAPS)) {
        printf("  gaps:");
        for (int i = 0; i < GAPS; i++) {
            printf(" %lld", (long long)g[i]);
            CHECK(g[i] >= 140 && g[i] <= 600, "gap %d = %lld ms with a fixed 150 ms delay", i, (long long)g[i]);
        }
        printf(" (fixed 150)\n");
    }
    /* Each failed attempt reports ERROR (connect refused) and DISCONNECTED. */
    CHECK(integ_rec_count(&r, WEBSOCKET_EVENT_ERROR) >= GAPS, "ERROR events %d", integ_rec_count(&r, WEBSOCKET_EVENT_ERROR));
    integ_event_log_t e;
    if (CHECK(integ_rec_event(&r, WEBSOCKET_EVENT_ERROR, 0, &e))) {
        CHECK(e.error_handle.error_type == WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT, "error_type %d", e.error_handle.error_type);
        CHECK(e.error_handle.esp_ws_handshake_status_code == 0, "handshake status %d for a refused connect",
              e.error_handle.esp_ws_handshake_status_code);
    }
    CHECK(integ_rec_count(&r, WEBSOCKET_EVENT_CONNECTED) == 0);
    done(c, &r);
}

int main(int argc, char **argv)
{
    integ_init(argc, argv, 55);
    if (!integ_server_start(&g_srv, INTEG_SRV_WS)) {
        return integ_finish();
    }
    RUN_CASE(dropped_connection_reconnects_after_reconnect_timeout);
    RUN_CASE(dropped_connection_stays_down_without_auto_reconnect);
    RUN_CASE(set_reconnect_timeout_cuts_a_pending_wait);
    RUN_CASE(backoff_delays_grow_and_are_jittered);
    RUN_CASE(fixed_delay_without_backoff);
    integ_server_stop(&g_srv);
    return integ_finish();
}
