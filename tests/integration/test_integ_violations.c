/*
 * test_integ_violations.c - a server that breaks the rules, through the whole stack: the client
 * fails the connection with the RFC 6455 close code (7.4.1) the server then reports, and the same
 * frame without the violation (or with the check switched off) is delivered.
 *
 * The raw server's /frame?b0=XX&hex=HH sends one frame right after the 101: first header byte XX,
 * payload HH. It prints `CLOSE <code> ...` for the client's Close.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integ_util.h"

static integ_server_t g_raw;

typedef struct {
    esp_websocket_utf8_policy_t utf8_policy;
    int max_message_len;
} limits_t;

static esp_websocket_client_handle_t start_frame(integ_rec_t *rec, const char *query, const limits_t *l)
{
    char path[600];
    snprintf(path, sizeof(path), "/frame?%s", query);
    char uri[700];
    integ_server_uri(&g_raw, path, uri, sizeof(uri));
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.disable_auto_reconnect = true;
    cfg.network_timeout_ms = 3000;
    if (l) {
        cfg.utf8_policy = l->utf8_policy;
        cfg.max_message_len = l->max_message_len;
    }
    integ_server_drain(&g_raw);
    esp_websocket_client_handle_t c = integ_client_new(rec, &cfg);
    if (c) {
        CHECK(esp_websocket_client_start(c) == ESP_OK);
        CHECK(integ_rec_wait_event(rec, WEBSOCKET_EVENT_CONNECTED, 1, 4000), "no CONNECTED");
    }
    return c;
}

static void done(esp_websocket_client_handle_t c, integ_rec_t *rec)
{
    if (c) {
        CHECK(esp_websocket_client_destroy(c) == ESP_OK);
    }
    integ_rec_free(rec);
}

/* The connection fails: ERROR, the server gets a Close with `code`, no message is completed. */
static void expect_failed_with(integ_rec_t *rec, esp_websocket_client_handle_t c, int code, const char *what)
{
    CHECK(integ_rec_wait_event(rec, WEBSOCKET_EVENT_ERROR, 1, 3000), "no ERROR for %s", what);
    char want[32], line[200];
    snprintf(want, sizeof(want), "CLOSE %d", code);
    if (CHECK(integ_server_wait_line(&g_raw, "CLOSE ", line, sizeof(line), 3000), "no Close for %s", what)) {
        CHECK(strncmp(line, want, strlen(want)) == 0, "%s: server got '%s', expected %s", what, line, want);
    }
    CHECK(integ_rec_msg_count(rec) == 0, "%s: the bad message was delivered as complete", what);
    CHECK(integ_rec_wait_event(rec, WEBSOCKET_EVENT_FINISH, 1, 8000), "task did not end after %s", what);
    CHECK(!esp_websocket_client_is_connected(c));
    CHECK(integ_rec_count(rec, WEBSOCKET_EVENT_CONNECTED) == 1);
}

/* The frame is delivered intact and nothing fails. */
static void expect_delivered(integ_rec_t *rec, esp_websocket_client_handle_t c, int opcode, const char *hex, const char *what)
{
    size_t n = strlen(hex) / 2;
    unsigned char want[512];
    for (size_t i = 0; i < n && i < sizeof(want); i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        want[i] = (unsigned char)v;
    }
    if (CHECK(integ_rec_wait_msgs(rec, 1, 3000), "%s not delivered", what)) {
        const integ_msg_t *m = integ_rec_msg(rec, 0);
        CHECK(m->opcode == opcode && m->len == n && memcmp(m->data, want, n) == 0, "%s: op %d len %zu", what, m->opcode,
              m->len);
    }
    integ_sleep_ms(200);
    CHECK(integ_rec_count(rec, WEBSOCKET_EVENT_ERROR) == 0, "ERROR for %s", what);
    CHECK(esp_websocket_client_is_connected(c), "%s dropped the connection", what);
    CHECK(!integ_server_wait_line(&g_raw, "CLOSE ", NULL, 0, 0), "%s: the client sent a Close", what);
}

/* RFC 6455 8.1: invalid UTF-8 in a text message fails the connection with 1007. */
static void invalid_utf8_text_fails_with_1007(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    esp_websocket_client_handle_t c = start_frame(&rec, "b0=81&hex=48c328", NULL);   /* "H", C3 28 */
    if (c) {
        expect_failed_with(&rec, c, 1007, "invalid UTF-8");
    }
    done(c, &rec);
}

static void invalid_utf8_text_is_delivered_with_utf8_policy_none(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    limits_t l = { .utf8_policy = WEBSOCKET_UTF8_POLICY_NONE };
    esp_websocket_client_handle_t c = start_frame(&rec, "b0=81&hex=48c328", &l);
    if (c) {
        expect_delivered(&rec, c, 1, "48c328", "invalid UTF-8 with policy NONE");
    }
    done(c, &rec);
}

static void valid_utf8_text_is_delivered(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    esp_websocket_client_handle_t c = start_frame(&rec, "b0=81&hex=48c3a9e4b8ad", NULL);   /* "Hé中" */
    if (c) {
        expect_delivered(&rec, c, 1, "48c3a9e4b8ad", "valid UTF-8");
    }
    done(c, &rec);
}

/* RFC 6455 5.2: a nonzero RSV bit without a negotiated extension fails the connection (1002). */
static void rsv1_without_extension_fails_with_1002(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    esp_websocket_client_handle_t c = start_frame(&rec, "b0=c1&hex=6869", NULL);
    if (c) {
        expect_failed_with(&rec, c, 1002, "RSV1 set");
    }
    done(c, &rec);
}

/* RFC 6455 5.2: reserved opcode 0x3 fails the connection (1002). */
static void reserved_opcode_fails_with_1002(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    esp_websocket_client_handle_t c = start_frame(&rec, "b0=83&hex=6869", NULL);
    if (c) {
        expect_failed_with(&rec, c, 1002, "opcode 3");
    }
    done(c, &rec);
}

static void binary_frame_within_max_message_len_is_delivered(void)
{
    char q[600] = "b0=82&hex=";
    for (int i = 0; i < 100; i++) {
        strcat(q, "ab");
    }
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    limits_t l = { .max_message_len = 100 };
    esp_websocket_client_handle_t c = start_frame(&rec, q, &l);
    if (c) {
        expect_delivered(&rec, c, 2, q + 10, "100 bytes with max_message_len 100");
    }
    done(c, &rec);
}

static void binary_frame_over_max_message_len_fails_with_1009(void)
{
    char q[600] = "b0=82&hex=";
    for (int i = 0; i < 101; i++) {
        strcat(q, "ab");
    }
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    limits_t l = { .max_message_len = 100 };
    esp_websocket_client_handle_t c = start_frame(&rec, q, &l);
    if (c) {
        expect_failed_with(&rec, c, 1009, "101 bytes with max_message_len 100");
    }
    done(c, &rec);
}

int main(int argc, char **argv)
{
    integ_init(argc, argv, 55);
    if (!integ_server_start(&g_raw, INTEG_SRV_RAW)) {
        return integ_finish();
    }
    RUN_CASE(invalid_utf8_text_fails_with_1007);
    RUN_CASE(invalid_utf8_text_is_delivered_with_utf8_policy_none);
    RUN_CASE(valid_utf8_text_is_delivered);
    RUN_CASE(rsv1_without_extension_fails_with_1002);
    RUN_CASE(reserved_opcode_fails_with_1002);
    RUN_CASE(binary_frame_within_max_message_len_is_delivered);
    RUN_CASE(binary_frame_over_max_message_len_fails_with_1009);
    integ_server_stop(&g_raw);
    return integ_finish();
}
