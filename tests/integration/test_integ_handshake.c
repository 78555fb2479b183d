/*
 * test_integ_handshake.c - the opening handshake against real servers: rejections (HTTP 404, a
 * wrong Sec-WebSocket-Accept, an unoffered subprotocol) end in ERROR and never in CONNECTED;
 * redirects are followed up to max_redirects; each failure is paired with the case that works.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integ_util.h"

static integ_server_t g_ws;
static integ_server_t g_raw;

typedef struct {
    const char *subprotocol;
    int max_redirects;
} opts_t;

/* Starts a client with reconnect disabled; the caller waits for what it expects. */
static esp_websocket_client_handle_t start_on(integ_rec_t *rec, integ_server_t *srv, const char *path, const opts_t *o)
{
    char uri[200];
    integ_server_uri(srv, path, uri, sizeof(uri));
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.disable_auto_reconnect = true;
    cfg.network_timeout_ms = 3000;
    if (o) {
        cfg.subprotocol = o->subprotocol;
        cfg.max_redirects = o->max_redirects;
    }
    esp_websocket_client_handle_t c = integ_client_new(rec, &cfg);
    if (c) {
        CHECK(esp_websocket_client_start(c) == ESP_OK);
    }
    return c;
}

static void done(esp_websocket_client_handle_t c, integ_rec_t *rec)
{
    CHECK(rec->reasm_errors == 0, "chunk contract: %s", rec->first_reasm_error);
    if (c) {
        CHECK(esp_websocket_client_destroy(c) == ESP_OK);
    }
    integ_rec_free(rec);
}

/* Expects ERROR within 4 s and no CONNECTED, also not a little later. Returns the ERROR. */
static integ_event_log_t expect_rejected(integ_rec_t *rec, const char *what)
{
    integ_event_log_t e;
    memset(&e, 0, sizeof(e));
    if (CHECK(integ_rec_wait_event(rec, WEBSOCKET_EVENT_ERROR, 1, 4000), "no ERROR for %s", what)) {
        integ_rec_event(rec, WEBSOCKET_EVENT_ERROR, 0, &e);
    }
    CHECK(integ_rec_wait_event(rec, WEBSOCKET_EVENT_FINISH, 1, 2000), "task did not end after %s", what);
    CHECK(integ_rec_count(rec, WEBSOCKET_EVENT_CONNECTED) == 0, "CONNECTED despite %s", what);
    CHECK(!esp_websocket_client_is_connected(rec->client));
    return e;
}

/* Expects CONNECTED and an echo of one text message. */
static void expect_working(integ_rec_t *rec, esp_websocket_client_handle_t c, const char *what)
{
    if (!CHECK(integ_rec_wait_event(rec, WEBSOCKET_EVENT_CONNECTED, 1, 4000), "no CONNECTED for %s", what)) {
        return;
    }
    CHECK(integ_rec_count(rec, WEBSOCKET_EVENT_ERROR) == 0, "ERROR for %s", what);
    CHECK(esp_websocket_client_send_text(c, "hs-ok", 5, INTEG_SEND_TIMEOUT) == 5);
    if (CHECK(integ_rec_wait_msgs(rec, 1, 3000), "no echo for %s", what)) {
        CHECK(strcmp((const char *)integ_rec_msg(rec, 0)->data, "hs-ok") == 0);
    }
}

static void http_404_gives_error_with_status_404(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    esp_websocket_client_handle_t c = start_on(&rec, &g_ws, "/404", NULL);
    if (c) {
        integ_event_log_t e = expect_rejected(&rec, "HTTP 404");
        CHECK(e.error_handle.esp_ws_handshake_status_code == 404, "esp_ws_handshake_status_code %d",
              e.error_handle.esp_ws_handshake_status_code);
        CHECK(e.error_handle.error_type == WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT ||
                  e.error_handle.error_type == WEBSOCKET_ERROR_TYPE_HANDSHAKE,
              "error_type %d", e.error_handle.error_type);
    }
    done(c, &rec);
}

static void http_101_connects_and_echoes(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    esp_websocket_client_handle_t c = start_on(&rec, &g_ws, "/echo", NULL);
    if (c) {
        expect_working(&rec, c, "/echo");
    }
    done(c, &rec);
}

static void wrong_sec_websocket_accept_is_rejected(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    esp_websocket_client_handle_t c = start_on(&rec, &g_raw, "/bad-accept", NULL);
    if (c) {
        expect_rejected(&rec, "a wrong Sec-WebSocket-Accept");
    }
    done(c, &rec);
}

static void right_sec_websocket_accept_from_raw_server_connects(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    esp_websocket_client_handle_t c = start_on(&rec, &g_raw, "/good", NULL);
    if (c) {
        expect_working(&rec, c, "raw /good");
    }
    done(c, &rec);
}

static void offered_subprotocol_selected_by_server_connects(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    opts_t o = { .subprotocol = "chat" };
    esp_websocket_client_handle_t c = start_on(&rec, &g_ws, "/subproto", &o);
    if (c) {
        expect_working(&rec, c, "subprotocol chat");
    }
    done(c, &rec);
}

static void unoffered_subprotocol_is_rejected(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    opts_t o = { .subprotocol = "chat" };
    esp_websocket_client_handle_t c = start_on(&rec, &g_ws, "/subproto-bad", &o);
    if (c) {
        expect_rejected(&rec, "subprotocol bogus (offered chat)");
    }
    done(c, &rec);
}

static void subprotocol_when_none_offered_is_rejected(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    esp_websocket_client_handle_t c = start_on(&rec, &g_ws, "/subproto-bad", NULL);
    if (c) {
        expect_rejected(&rec, "subprotocol bogus (none offered)");
    }
    done(c, &rec);
}

static void redirect_302_is_followed_to_echo(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    integ_server_drain(&g_ws);
    esp_websocket_client_handle_t c = start_on(&rec, &g_ws, "/redirect?to=/echo", NULL);
    if (c) {
        expect_working(&rec, c, "a 302 to /echo");
        CHECK(integ_server_wait_line(&g_ws, "HTTP 302 /redirect?to=/echo", NULL, 0, 1000), "no 302 was served");
        CHECK(integ_server_wait_line(&g_ws, "CONN /echo", NULL, 0, 1000), "the server saw no /echo connection");
        CHECK(!integ_server_wait_line(&g_ws, "HTTP 302", NULL, 0, 100), "the redirect was requested twice");
    }
    done(c, &rec);
}

static int redirect_loop_requests(int max_redirects)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    integ_server_drain(&g_ws);
    int before = integ_server_count_lines(&g_ws, "HTTP 302 /redirect-loop");
    opts_t o = { .max_redirects = max_redirects };
    esp_websocket_client_handle_t c = start_on(&rec, &g_ws, "/redirect-loop", &o);
    if (c) {
        integ_event_log_t e = expect_rejected(&rec, "a redirect loop");
        CHECK(e.error_handle.esp_ws_handshake_status_code == 302, "esp_ws_handshake_status_code %d",
              e.error_handle.esp_ws_handshake_status_code);
        integ_sleep_ms(300);   /* any further (wrong) request would show up by now */
    }
    done(c, &rec);
    return integ_server_count_lines(&g_ws, "HTTP 302 /redirect-loop") - before;
}

static void redirect_loop_stops_at_max_redirects(void)
{
    int n = redirect_loop_requests(3);
    CHECK(n == 4, "max_redirects 3: %d requests (1 + 3 hops expected)", n);
}

static void redirect_loop_stops_at_default_limit_5(void)
{
    int n = redirect_loop_requests(0);
    CHECK(n == 6, "default max_redirects: %d requests (1 + 5 hops expected)", n);
}

static void redirect_not_followed_with_negative_max_redirects(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    integ_server_drain(&g_ws);
    opts_t o = { .max_redirects = -1 };
    esp_websocket_client_handle_t c = start_on(&rec, &g_ws, "/redirect?to=/echo", &o);
    if (c) {
        integ_event_log_t e = expect_rejected(&rec, "a 302 with redirects disabled");
        CHECK(e.error_handle.esp_ws_handshake_status_code == 302, "esp_ws_handshake_status_code %d",
              e.error_handle.esp_ws_handshake_status_code);
        CHECK(!integ_server_wait_line(&g_ws, "CONN /echo", NULL, 0, 300), "the redirect was followed");
    }
    done(c, &rec);
}

int main(int argc, char **argv)
{
    integ_init(argc, argv, 55);
    if (!integ_server_start(&g_ws, INTEG_SRV_WS)) {
        return integ_finish();
    }
    if (!integ_server_start(&g_raw, INTEG_SRV_RAW)) {
        integ_server_stop(&g_ws);
        return integ_finish();
    }
    RUN_CASE(http_404_gives_error_with_status_404);
    RUN_CASE(http_101_connects_and_echoes);
    RUN_CASE(wrong_sec_websocket_accept_is_rejected);
    RUN_CASE(right_sec_websocket_accept_from_raw_server_connects);
    RUN_CASE(offered_subprotocol_selected_by_server_connects);
    RUN_CASE(unoffered_subprotocol_is_rejected);
    RUN_CASE(subprotocol_when_none_offered_is_rejected);
    RUN_CASE(redirect_302_is_followed_to_echo);
    RUN_CASE(redirect_loop_stops_at_max_redirects);
    RUN_CASE(redirect_loop_stops_at_default_limit_5);
    RUN_CASE(redirect_not_followed_with_negative_max_redirects);
    integ_server_stop(&g_raw);
    integ_server_stop(&g_ws);
    return integ_finish();
}
