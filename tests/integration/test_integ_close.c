/*
 * test_integ_close.c - the close handshake (RFC 6455 5.5.1, 7.1.5, 7.4) against the ws server.
 * The server prints `CLOSE <code> <reason>` for what it received (1005 = Close without code,
 * 1006 = no Close frame at all), so both directions are checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integ_util.h"

static integ_server_t g_srv;

static esp_websocket_client_handle_t start_client(integ_rec_t *rec, const char *path)
{
    char uri[160];
    integ_server_uri(&g_srv, path, uri, sizeof(uri));
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.disable_auto_reconnect = true;
    cfg.network_timeout_ms = 3000;
    esp_websocket_client_handle_t c = integ_client_new(rec, &cfg);
    if (!c) {
        return NULL;
    }
    CHECK(esp_websocket_client_start(c) == ESP_OK);
    if (!CHECK(integ_rec_wait_event(rec, WEBSOCKET_EVENT_CONNECTED, 1, 5000), "no CONNECTED on %s", path)) {
        esp_websocket_client_destroy(c);
        return NULL;
    }
    integ_server_drain(&g_srv);
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

/* The server closes with 4000 "bye": CLOSED carries 4000, the Close frame is delivered as DATA,
 * the client echoes the code (RFC 6455 5.5.1), and no DISCONNECTED (that is for aborts). */
static void server_close_4000_gives_closed_with_code_and_echo(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 16);
    esp_websocket_client_handle_t c = start_client(&rec, "/close?code=4000&reason=bye");
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    CHECK(esp_websocket_client_send_text(c, "x", 1, INTEG_SEND_TIMEOUT) == 1);
    CHECK(integ_rec_wait_msgs(&rec, 1, 3000), "the message before the close was not echoed");
    if (CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CLOSED, 1, 4000), "no CLOSED")) {
        integ_event_log_t e;
        integ_rec_event(&rec, WEBSOCKET_EVENT_CLOSED, 0, &e);
        CHECK(e.close_status_code == 4000, "close_status_code %d", e.close_status_code);
    }
    if (CHECK(integ_rec_ctrl(&rec, 0x08, 0, NULL) == 1, "the server's Close was not delivered once as DATA")) {
        integ_ctrl_t cf;
        integ_rec_ctrl(&rec, 0x08, 0, &cf);
        CHECK(cf.len == 5 && cf.data[0] == 0x0f && cf.data[1] == 0xa0 && memcmp(cf.data + 2, "bye", 3) == 0,
              "Close payload of %d bytes", cf.len);
    }
    char line[128];
    if (CHECK(integ_server_wait_line(&g_srv, "CLOSE ", line, sizeof(line), 3000), "server saw no close")) {
        CHECK(strncmp(line, "CLOSE 4000", 10) == 0, "the client answered with '%s'", line);
    }
    CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_DISCONNECTED) == 0, "DISCONNECTED after a clean close");
    CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_ERROR) == 0, "ERROR after a clean close");
    CHECK(!esp_websocket_client_is_connected(c));
    /* With reconnect disabled the task ends after the close. */
    CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_FINISH, 1, 3000), "no FINISH after the close");
    CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_CONNECTED) == 1, "reconnected after a clean close");
    done(c, &rec);
}

/* close_with_code(1001, "bye"): the server receives exactly that; CLOSED follows its answer. */
static void close_with_code_1001_bye_reaches_server(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 16);
    esp_websocket_client_handle_t c = start_client(&rec, "/record");
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    int64_t t0 = integ_now_ms();
    CHECK(esp_websocket_client_close_with_code(c, 1001, "bye", 3, pdMS_TO_TICKS(3000)) == ESP_OK);
    int64_t dt = integ_now_ms() - t0;
    CHECK(dt < 3500, "close_with_code took %lld ms", (long long)dt);
    char line[128];
    if (CHECK(integ_server_wait_line(&g_srv, "CLOSE ", line, sizeof(line), 3000), "server saw no close")) {
        CHECK(strcmp(line, "CLOSE 1001 bye") == 0, "server got '%s'", line);
    }
    if (CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CLOSED, 1, 2000), "no CLOSED")) {
        integ_event_log_t e;
        integ_rec_event(&rec, WEBSOCKET_EVENT_CLOSED, 0, &e);
        CHECK(e.close_status_code == 1001, "close_status_code %d (ws echoes the code)", e.close_status_code);
    }
    CHECK(!esp_websocket_client_is_connected(c));
    CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_DISCONNECTED) == 0);
    /* A second close on a closed client is refused. */
    CHECK(esp_websocket_client_close(c, pdMS_TO_TICKS(500)) == ESP_FAIL);
    done(c, &rec);
}

/* close() sends a Close without a body: the server reports 1005 (no status code present). */
static void close_without_code_sends_empty_close(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 16);
    esp_websocket_client_handle_t c = start_client(&rec, "/record");
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    CHECK(esp_websocket_client_close(c, pdMS_TO_TICKS(3000)) == ESP_OK);
    char line[128];
    if (CHECK(integ_server_wait_line(&g_srv, "CLOSE ", line, sizeof(line), 3000), "server saw no close")) {
        CHECK(strncmp(line, "CLOSE 1005", 10) == 0, "server got '%s'", line);
    }
    CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CLOSED, 1, 2000), "no CLOSED");
    done(c, &rec);
}

/* stop() drops TCP without a Close frame: the server reports 1006 (abnormal closure). */
static void stop_sends_no_close_frame(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 16);
    esp_websocket_client_handle_t c = start_client(&rec, "/record");
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    int64_t t0 = integ_now_ms();
    CHECK(esp_websocket_client_stop(c) == ESP_OK);
    CHECK(integ_now_ms() - t0 < 2000, "stop took %lld ms", (long long)(integ_now_ms() - t0));
    char line[128];
    if (CHECK(integ_server_wait_line(&g_srv, "CLOSE ", line, sizeof(line), 3000), "server saw no disconnect")) {
        CHECK(strncmp(line, "CLOSE 1006", 10) == 0, "server got '%s'", line);
    }
    CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_CLOSED) == 0, "CLOSED after stop()");
    CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_FINISH) == 1, "FINISH count %d", integ_rec_count(&rec, WEBSOCKET_EVENT_FINISH));
    CHECK(!esp_websocket_client_is_connected(c));
    /* stop on a stopped client is refused. */
    CHECK(esp_websocket_client_stop(c) == ESP_FAIL);
    done(c, &rec);
}

/* Codes that may not be sent (RFC 6455 7.4.1/7.4.2) are refused and the connection stays up. */
static void close_with_reserved_code_is_refused(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 16);
    esp_websocket_client_handle_t c = start_client(&rec, "/record");
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    static const int bad[] = { 0, 999, 1004, 1005, 1006, 1015, 5000 };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        esp_err_t err = esp_websocket_client_close_with_code(c, bad[i], NULL, 0, pdMS_TO_TICKS(500));
        CHECK(err == ESP_ERR_INVALID_ARG, "close_with_code(%d) = %d", bad[i], err);
    }
    char reason[124];
    memset(reason, 'r', sizeof(reason));
    CHECK(esp_websocket_client_close_with_code(c, 1000, reason, 124, pdMS_TO_TICKS(500)) == ESP_ERR_INVALID_ARG,
          "a 124-byte reason was accepted");
    CHECK(esp_websocket_client_is_connected(c));
    CHECK(esp_websocket_client_send_text(c, "alive", 5, INTEG_SEND_TIMEOUT) == 5);
    CHECK(integ_rec_wait_msgs(&rec, 1, 3000), "no echo after refused closes");
    CHECK(!integ_server_wait_line(&g_srv, "CLOSE ", NULL, 0, 200), "a refused close reached the server");
    /* The positive twin: 1000 with the longest allowed reason (123 bytes) is sent. */
    CHECK(esp_websocket_client_close_with_code(c, 1000, reason, 123, pdMS_TO_TICKS(3000)) == ESP_OK);
    char line[200];
    if (CHECK(integ_server_wait_line(&g_srv, "CLOSE ", line, sizeof(line), 3000))) {
        CHECK(strncmp(line, "CLOSE 1000 rrrr", 15) == 0 && strlen(line) == 11 + 123, "server got '%s'", line);
    }
    done(c, &rec);
}

int main(int argc, char **argv)
{
    integ_init(argc, argv, 55);
    if (!integ_server_start(&g_srv, INTEG_SRV_WS)) {
        return integ_finish();
    }
    RUN_CASE(server_close_4000_gives_closed_with_code_and_echo);
    RUN_CASE(close_with_code_1001_bye_reaches_server);
    RUN_CASE(close_without_code_sends_empty_close);
    RUN_CASE(stop_sends_no_close_frame);
    RUN_CASE(close_with_reserved_code_is_refused);
    integ_server_stop(&g_srv);
    return integ_finish();
}
