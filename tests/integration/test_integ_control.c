/*
 * test_integ_control.c - PING / PONG against the ws server (tests/servers/ws_server.ts):
 * the client answers the server's PINGs, sends its own at ping_interval_sec, and gives up on a
 * server that never answers them (pingpong_timeout_sec), but not on one that does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integ_util.h"

static integ_server_t g_srv;

static esp_websocket_client_handle_t start_client(integ_rec_t *rec, const char *path, esp_websocket_client_config_t *cfg)
{
    char uri[160];
    integ_server_uri(&g_srv, path, uri, sizeof(uri));
    cfg->uri = uri;
    cfg->disable_auto_reconnect = true;
    cfg->network_timeout_ms = 3000;
    esp_websocket_client_handle_t c = integ_client_new(rec, cfg);
    if (!c) {
        return NULL;
    }
    CHECK(esp_websocket_client_start(c) == ESP_OK);
    if (!CHECK(integ_rec_wait_event(rec, WEBSOCKET_EVENT_CONNECTED, 1, 5000), "no CONNECTED on %s", path)) {
        esp_websocket_client_destroy(c);
        return NULL;
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

/* RFC 6455 5.5.2/5.5.3: a PING is answered with a PONG carrying the same payload. The ws server
 * reports each PONG it gets back as the text "pong:<payload>". */
static void server_ping_is_answered_with_pong_of_same_payload(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 16);
    esp_websocket_client_config_t cfg = { 0 };
    esp_websocket_client_handle_t c = start_client(&rec, "/ping?payload=abc", &cfg);
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    /* The PING itself is delivered to the application as DATA (upstream behaviour). */
    if (CHECK(integ_rec_wait_ctrl(&rec, 0x09, 1, 3000), "server PING not delivered as DATA")) {
        integ_ctrl_t p;
        integ_rec_ctrl(&rec, 0x09, 0, &p);
        CHECK(p.len == 3 && memcmp(p.data, "abc", 3) == 0, "PING payload '%s'", (const char *)p.data);
    }
    if (CHECK(integ_rec_wait_msgs(&rec, 1, 3000), "server never got a PONG")) {
        CHECK(strcmp((const char *)integ_rec_msg(&rec, 0)->data, "pong:abc") == 0, "server reports '%s'",
              (const char *)integ_rec_msg(&rec, 0)->data);
    }
    /* A second PING, asked for by message, gets its own PONG. */
    CHECK(esp_websocket_client_send_text(c, "ping:second", 11, INTEG_SEND_TIMEOUT) == 11);
    if (CHECK(integ_rec_wait_msgs(&rec, 2, 3000), "no PONG for the second PING")) {
        CHECK(strcmp((const char *)integ_rec_msg(&rec, 1)->data, "pong:second") == 0, "server reports '%s'",
              (const char *)integ_rec_msg(&rec, 1)->data);
    }
    done(c, &rec);
}

/* ping_interval_sec = 1: the server sees a PING about every second, each answered (PONG as DATA). */
static void client_pings_every_ping_interval(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 16);
    integ_server_drain(&g_srv);
    esp_websocket_client_config_t cfg = { 0 };
    cfg.ping_interval_sec = 1;
    esp_websocket_client_handle_t c = start_client(&rec, "/echo", &cfg);
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    int64_t t0 = integ_now_ms();
    CHECK(integ_server_wait_line(&g_srv, "PING", NULL, 0, 2500), "no client PING within 2.5 s");
    CHECK(integ_server_wait_line(&g_srv, "PING", NULL, 0, 2500), "no second client PING");
    int64_t dt = integ_now_ms() - t0;
    CHECK(dt >= 1200, "two PINGs within %lld ms with a 1 s interval", (long long)dt);
    CHECK(integ_rec_wait_ctrl(&rec, 0x0a, 2, 2000), "the server's PONGs were not delivered as DATA");
    CHECK(esp_websocket_client_is_connected(c));
    CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_ERROR) == 0);
    done(c, &rec);
}

/* The contrapositive: with the default interval (10 s) no PING goes out in the first 2 s. */
static void client_does_not_ping_before_default_interval(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 16);
    integ_server_drain(&g_srv);
    esp_websocket_client_config_t cfg = { 0 };
    esp_websocket_client_handle_t c = start_client(&rec, "/echo", &cfg);
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    CHECK(esp_websocket_client_get_ping_interval_sec(c) == 10);
    CHECK(!integ_server_wait_line(&g_srv, "PING", NULL, 0, 2000), "a PING went out before 10 s");
    /* set_ping_interval_sec takes effect while connected. */
    CHECK(esp_websocket_client_set_ping_interval_sec(c, 1) == ESP_OK);
    CHECK(esp_websocket_client_get_ping_interval_sec(c) == 1);
    CHECK(integ_server_wait_line(&g_srv, "PING", NULL, 0, 3000), "no PING within 3 s after setting 1 s");
    done(c, &rec);
}

/* A server that never answers PING: ERROR (PONG_TIMEOUT) then DISCONNECTED (PONG_TIMEOUT). */
static void unanswered_ping_fails_with_pong_timeout(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 16);
    integ_server_drain(&g_srv);
    esp_websocket_client_config_t cfg = { 0 };
    cfg.ping_interval_sec = 1;
    cfg.pingpong_timeout_sec = 1;
    esp_websocket_client_handle_t c = start_client(&rec, "/nopong", &cfg);
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    int64_t t0 = integ_now_ms();
    if (CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_ERROR, 1, 5000), "no ERROR from a server without PONGs")) {
        integ_event_log_t e;
        integ_rec_event(&rec, WEBSOCKET_EVENT_ERROR, 0, &e);
        CHECK(e.error_handle.error_type == WEBSOCKET_ERROR_TYPE_PONG_TIMEOUT, "error_type %d",
              e.error_handle.error_type);
        CHECK(integ_now_ms() - t0 >= 1000, "failed after %lld ms, before a PING could time out",
              (long long)(integ_now_ms() - t0));
    }
    if (CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_DISCONNECTED, 1, 2000), "no DISCONNECTED")) {
        integ_event_log_t e;
        integ_rec_event(&rec, WEBSOCKET_EVENT_DISCONNECTED, 0, &e);
        CHECK(e.error_handle.error_type == WEBSOCKET_ERROR_TYPE_PONG_TIMEOUT, "DISCONNECTED error_type %d",
              e.error_handle.error_type);
    }
    CHECK(integ_server_wait_line(&g_srv, "PING", NULL, 0, 1000), "the server never saw the PING");
    CHECK(!esp_websocket_client_is_connected(c));
    done(c, &rec);
}

/* The same settings against a server that answers: no failure over the same span. */
static void answered_ping_keeps_the_connection(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 16);
    esp_websocket_client_config_t cfg = { 0 };
    cfg.ping_interval_sec = 1;
    cfg.pingpong_timeout_sec = 1;
    esp_websocket_client_handle_t c = start_client(&rec, "/echo", &cfg);
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    CHECK(!integ_rec_wait_event(&rec, WEBSOCKET_EVENT_ERROR, 1, 3500), "ERROR although every PING was answered");
    CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_DISCONNECTED) == 0);
    CHECK(esp_websocket_client_is_connected(c));
    CHECK(integ_rec_ctrl(&rec, 0x0a, 0, NULL) >= 2, "fewer than 2 PONGs in 3.5 s");
    done(c, &rec);
}

/* disable_pingpong_discon: PINGs still go out, a missing PONG is not fatal. */
static void disable_pingpong_discon_tolerates_missing_pong(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 16);
    integ_server_drain(&g_srv);
    esp_websocket_client_config_t cfg = { 0 };
    cfg.ping_interval_sec = 1;
    cfg.pingpong_timeout_sec = 1;
    cfg.disable_pingpong_discon = true;
    esp_websocket_client_handle_t c = start_client(&rec, "/nopong", &cfg);
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    CHECK(!integ_rec_wait_event(&rec, WEBSOCKET_EVENT_ERROR, 1, 3500), "ERROR despite disable_pingpong_discon");
    CHECK(esp_websocket_client_is_connected(c));
    CHECK(integ_server_wait_line(&g_srv, "PING", NULL, 0, 1000) && integ_server_wait_line(&g_srv, "PING", NULL, 0, 1000),
          "PINGs stopped with disable_pingpong_discon");
    done(c, &rec);
}

int main(int argc, char **argv)
{
    integ_init(argc, argv, 55);
    if (!integ_server_start(&g_srv, INTEG_SRV_WS)) {
        return integ_finish();
    }
    RUN_CASE(server_ping_is_answered_with_pong_of_same_payload);
    RUN_CASE(client_pings_every_ping_interval);
    RUN_CASE(client_does_not_ping_before_default_interval);
    RUN_CASE(unanswered_ping_fails_with_pong_timeout);
    RUN_CASE(answered_ping_keeps_the_connection);
    RUN_CASE(disable_pingpong_discon_tolerates_missing_pong);
    integ_server_stop(&g_srv);
    return integ_finish();
}
