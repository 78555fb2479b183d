/*
 * test_integ_reassembly.c - reassemble_messages: every TEXT/BINARY message, whatever its frames
 * and chunks, reaches the handler as ONE DATA event (op_code = the message's opcode, fin true,
 * payload_offset 0, data_len == payload_len == the message length); max_message_len (65536 by
 * default in this mode) bounds it with Close 1009 + ERROR. Without the option, DATA events stay
 * 1.8.0's chunks of buffer_size.
 *
 * All clients here use buffer_size 256 (their own process, so the chunk size is exactly 256).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integ_util.h"

#define BUF 256

static integ_server_t g_ws;    /* ws_server.ts: echoes a fragmented message as one frame */
static integ_server_t g_raw;   /* raw_server.ts /good: echoes frame by frame, fragments stay fragments */

/* Every data DATA event, as a second handler saw it (checked against the whole-message
 * contract). It runs after the recorder's handler, so the test waits for it with log_wait(). */
typedef struct {
    _Atomic int n;
    _Atomic int bad;           /* events breaking fin / offset / data_len == payload_len */
    _Atomic int last_op, last_len;
} data_log_t;

static data_log_t g_log;

static bool log_wait(int n)
{
    for (int64_t end = integ_now_ms() + 2000; g_log.n < n && integ_now_ms() < end;) {
        integ_sleep_ms(2);
    }
    return g_log.n >= n;
}

static void data_handler(void *arg, esp_event_base_t base, int32_t id, void *event_data)
{
    (void)arg;
    (void)base;
    const esp_websocket_event_data_t *d = event_data;
    if (id != WEBSOCKET_EVENT_DATA || d->op_code > 2) {
        return;
    }
    g_log.last_op = d->op_code;
    g_log.last_len = d->data_len;
    if (!d->fin || d->payload_offset != 0 || d->data_len != d->payload_len || d->op_code == 0) {
        g_log.bad++;
    }
    g_log.n++;   /* last: log_wait() then sees the fields above */
}

static esp_websocket_client_handle_t start_client(integ_rec_t *rec, integ_server_t *srv, const char *path,
                                                  bool reassemble, int max_message_len)
{
    char uri[160];
    integ_server_uri(srv, path, uri, sizeof uri);
    esp_websocket_client_config_t cfg = {.uri = uri, .buffer_size = BUF, .disable_auto_reconnect = true,
                                         .network_timeout_ms = 5000, .max_message_len = max_message_len};
    cfg.reassemble_messages = reassemble ? WEBSOCKET_REASSEMBLY_ENABLED : WEBSOCKET_REASSEMBLY_DISABLED;
    g_log.n = g_log.bad = g_log.last_op = g_log.last_len = 0;
    esp_websocket_client_handle_t c = integ_client_new(rec, &cfg);
    if (c == NULL) {
        return NULL;
    }
    if (reassemble) {
        rec->chunk_cap = 0;   /* a whole message is larger than buffer_size by design */
    }
    esp_websocket_register_events(c, WEBSOCKET_EVENT_DATA, data_handler, NULL);
    CHECK(esp_websocket_client_start(c) == ESP_OK);
    if (!CHECK(integ_rec_wait_event(rec, WEBSOCKET_EVENT_CONNECTED, 1, 5000), "no CONNECTED")) {
        esp_websocket_client_destroy(c);
        return NULL;
    }
    return c;
}

static void whole_text_message_of_3000_bytes_is_one_data_event(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    esp_websocket_client_handle_t c = start_client(&rec, &g_ws, "/echo", true, 0);
    if (c != NULL) {
        char *msg = integ_text_payload(3000, 7);
        CHECK(esp_websocket_client_send_text(c, msg, 3000, INTEG_SEND_TIMEOUT) == 3000);
        if (CHECK(integ_rec_wait_msgs(&rec, 1, 5000), "no echo")) {
            const integ_msg_t *m = integ_rec_msg(&rec, 0);
            CHECK(m->opcode == 1 && m->len == 3000 && memcmp(m->data, msg, 3000) == 0, "echo differs");
            CHECK(m->chunks == 1, "message arrived in %d DATA events, want 1", m->chunks);
            CHECK(rec.data_chunks == 1 && rec.max_chunk == 3000, "%d DATA events, largest %d", rec.data_chunks,
                  rec.max_chunk);
            CHECK(log_wait(1) && g_log.n == 1 && g_log.bad == 0 && g_log.last_op == 1 && g_log.last_len == 3000,
                  "handler saw %d events (%d off contract), op %d len %d", g_log.n, g_log.bad, g_log.last_op,
                  g_log.last_len);
        }
        /* a binary message keeps its opcode */
        char *bin = integ_bin_payload(1000, 3);
        CHECK(esp_websocket_client_send_bin(c, bin, 1000, INTEG_SEND_TIMEOUT) == 1000);
        if (CHECK(integ_rec_wait_msgs(&rec, 2, 5000), "no binary echo")) {
            const integ_msg_t *m = integ_rec_msg(&rec, 1);
            CHECK(m->opcode == 2 && m->len == 1000 && memcmp(m->data, bin, 1000) == 0 && m->chunks == 1,
                  "binary echo: opcode %d len %zu chunks %d", m->opcode, m->len, m->chunks);
            CHECK(log_wait(2) && g_log.n == 2 && g_log.bad == 0 && g_log.last_op == 2,
                  "handler saw %d events, op %d", g_log.n, g_log.last_op);
        }
        free(bin);
        free(msg);
        CHECK(rec.reasm_errors == 0, "chunk contract: %s", rec.first_reasm_error);
        CHECK(esp_websocket_client_destroy(c) == ESP_OK);
    }
    integ_rec_free(&rec);
}

static void without_reassembly_3000_bytes_arrive_as_12_chunks_of_256(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    esp_websocket_client_handle_t c = start_client(&rec, &g_ws, "/echo", false, 0);
    if (c != NULL) {
        char *msg = integ_text_payload(3000, 7);
        CHECK(esp_websocket_client_send_text(c, msg, 3000, INTEG_SEND_TIMEOUT) == 3000);
        if (CHECK(integ_rec_wait_msgs(&rec, 1, 5000), "no echo")) {
            const integ_msg_t *m = integ_rec_msg(&rec, 0);
            CHECK(m->len == 3000 && memcmp(m->data, msg, 3000) == 0, "echo differs");
            CHECK(rec.data_chunks == 12 && rec.max_chunk == BUF, "%d DATA events, largest %d; want 12 of <= 256",
                  rec.data_chunks, rec.max_chunk);
            CHECK(log_wait(12) && g_log.n == 12, "handler saw %d DATA events", g_log.n);
        }
        free(msg);
        CHECK(rec.reasm_errors == 0, "chunk contract: %s", rec.first_reasm_error);
        CHECK(esp_websocket_client_destroy(c) == ESP_OK);
    }
    integ_rec_free(&rec);
}

/* Sends 1000 + 1000 + 500 bytes as one fragmented text message and expects one DATA event of 2500
 * bytes back. On raw /good the echo is fragmented too (frames of 256, then an empty FIN frame). */
static void fragmented_message_is_one_data_event_on(integ_server_t *srv, const char *path, bool reassemble,
                                                    int want_events)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    esp_websocket_client_handle_t c = start_client(&rec, srv, path, reassemble, 0);
    if (c != NULL) {
        char *msg = integ_text_payload(2500, 11);
        CHECK(esp_websocket_client_send_text_partial(c, msg, 1000, INTEG_SEND_TIMEOUT) == 1000);
        CHECK(esp_websocket_client_send_cont_msg(c, msg + 1000, 1000, INTEG_SEND_TIMEOUT) == 1000);
        CHECK(esp_websocket_client_send_cont_msg(c, msg + 2000, 500, INTEG_SEND_TIMEOUT) == 500);
        CHECK(esp_websocket_client_send_fin(c, INTEG_SEND_TIMEOUT) >= 0);
        if (CHECK(integ_rec_wait_msgs(&rec, 1, 5000), "no echo")) {
            const integ_msg_t *m = integ_rec_msg(&rec, 0);
            CHECK(m->opcode == 1 && m->len == 2500 && memcmp(m->data, msg, 2500) == 0, "echo differs");
            CHECK(rec.data_chunks == want_events, "%d DATA events, want %d", rec.data_chunks, want_events);
            if (reassemble) {
                CHECK(log_wait(1) && g_log.n == 1 && g_log.bad == 0 && g_log.last_len == 2500, "handler saw %d events "
                      "(%d off contract), len %d", g_log.n, g_log.bad, g_log.last_len);
            }
        }
        free(msg);
        CHECK(rec.reasm_errors == 0, "chunk contract: %s", rec.first_reasm_error);
        CHECK(esp_websocket_client_destroy(c) == ESP_OK);
    }
    integ_rec_free(&rec);
}

static void fragmented_message_echoed_whole_is_one_data_event(void)
{
    fragmented_message_is_one_data_event_on(&g_ws, "/echo", true, 1);
}

static void fragmented_message_echoed_in_fragments_is_one_data_event(void)
{
    fragmented_message_is_one_data_event_on(&g_raw, "/good", true, 1);
}

/* Contrapositive: the same fragmented echo without reassembly is one event per frame (chunk):
 * 4 frames of 256/256/256/232 per 1000-byte part, 2 of 256/244 for the 500 bytes, an empty FIN. */
static void fragmented_echo_without_reassembly_is_one_event_per_frame(void)
{
    fragmented_message_is_one_data_event_on(&g_raw, "/good", false, 4 + 4 + 2 + 1);
}

/* ok_len passes as one event; bad_len then fails the connection with ERROR and Close 1009. */
static void check_limit(int max_message_len, int ok_len, int bad_len)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    integ_server_drain(&g_ws);
    esp_websocket_client_handle_t c = start_client(&rec, &g_ws, "/record", true, max_message_len);
    if (c != NULL) {
        char *msg = integ_text_payload((size_t)bad_len, 5);
        CHECK(esp_websocket_client_send_text(c, msg, ok_len, INTEG_SEND_TIMEOUT) == ok_len);
        if (CHECK(integ_rec_wait_msgs(&rec, 1, 10000), "no echo of %d bytes", ok_len)) {
            const integ_msg_t *m = integ_rec_msg(&rec, 0);
            CHECK(m->len == (size_t)ok_len && memcmp(m->data, msg, (size_t)ok_len) == 0 && m->chunks == 1,
                  "echo of %d bytes: len %zu chunks %d", ok_len, m->len, m->chunks);
        }
        CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_ERROR) == 0, "ERROR at the limit");
        CHECK(esp_websocket_client_send_text(c, msg, bad_len, INTEG_SEND_TIMEOUT) == bad_len);
        CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_ERROR, 1, 10000), "no ERROR for %d bytes", bad_len);
        char line[200] = "";
        CHECK(integ_server_wait_line(&g_ws, "CLOSE ", line, sizeof line, 10000), "server saw no close");
        CHECK(strncmp(line, "CLOSE 1009", 10) == 0, "server saw \"%s\", want CLOSE 1009", line);
        CHECK(integ_rec_msg_count(&rec) == 1 && log_wait(1) && g_log.n == 1, "%d messages / %d DATA events, want 1",
              integ_rec_msg_count(&rec), g_log.n);
        free(msg);
        CHECK(rec.reasm_errors == 0, "chunk contract: %s", rec.first_reasm_error);
        CHECK(esp_websocket_client_destroy(c) == ESP_OK);
    }
    integ_rec_free(&rec);
}

static void max_message_len_4096_passes_4096_and_closes_1009_on_4097(void)
{
    check_limit(4096, 4096, 4097);
}

static void default_limit_with_reassembly_is_65536(void)
{
    check_limit(0, 65536, 65537);
}

/* A fragmented message that passes the limit in its later frames: its earlier frames were
 * buffered, and are dropped with the connection; the handler never sees a partial message. */
static void fragmented_message_over_the_limit_is_dropped_with_error(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    integ_server_drain(&g_raw);
    esp_websocket_client_handle_t c = start_client(&rec, &g_raw, "/good", true, 1000);
    if (c != NULL) {
        char *msg = integ_text_payload(1100, 13);
        CHECK(esp_websocket_client_send_text_partial(c, msg, 800, INTEG_SEND_TIMEOUT) == 800);
        CHECK(esp_websocket_client_send_cont_msg(c, msg + 800, 300, INTEG_SEND_TIMEOUT) == 300);
        CHECK(esp_websocket_client_send_fin(c, INTEG_SEND_TIMEOUT) >= 0);
        CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_ERROR, 1, 10000), "no ERROR past the limit");
        char line[200] = "";
        CHECK(integ_server_wait_line(&g_raw, "CLOSE ", line, sizeof line, 10000), "server saw no close");
        CHECK(strncmp(line, "CLOSE 1009", 10) == 0, "server saw \"%s\", want CLOSE 1009", line);
        CHECK(rec.data_chunks == 0 && g_log.n == 0, "%d DATA events of a message over the limit", rec.data_chunks);
        free(msg);
        CHECK(esp_websocket_client_destroy(c) == ESP_OK);
    }
    integ_rec_free(&rec);
}

/* Contrapositive of the default: without reassembly there is no 64 KiB limit. */
static void without_reassembly_65537_bytes_pass(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    esp_websocket_client_handle_t c = start_client(&rec, &g_ws, "/echo", false, 0);
    if (c != NULL) {
        char *msg = integ_text_payload(65537, 5);
        CHECK(esp_websocket_client_send_text(c, msg, 65537, INTEG_SEND_TIMEOUT) == 65537);
        if (CHECK(integ_rec_wait_msgs(&rec, 1, 10000), "no echo")) {
            const integ_msg_t *m = integ_rec_msg(&rec, 0);
            CHECK(m->len == 65537 && memcmp(m->data, msg, 65537) == 0, "echo differs");
        }
        CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_ERROR) == 0, "ERROR without reassembly");
        free(msg);
        CHECK(esp_websocket_client_destroy(c) == ESP_OK);
    }
    integ_rec_free(&rec);
}

int main(int argc, char **argv)
{
    integ_init(argc, argv, 120);
    if (!integ_server_start(&g_ws, INTEG_SRV_WS)) {
        return 1;
    }
    if (!integ_server_start(&g_raw, INTEG_SRV_RAW)) {
        integ_server_stop(&g_ws);
        return 1;
    }
    RUN_CASE(whole_text_message_of_3000_bytes_is_one_data_event);
    RUN_CASE(without_reassembly_3000_bytes_arrive_as_12_chunks_of_256);
    RUN_CASE(fragmented_message_echoed_whole_is_one_data_event);
    RUN_CASE(fragmented_message_echoed_in_fragments_is_one_data_event);
    RUN_CASE(fragmented_echo_without_reassembly_is_one_event_per_frame);
    RUN_CASE(max_message_len_4096_passes_4096_and_closes_1009_on_4097);
    RUN_CASE(default_limit_with_reassembly_is_65536);
    RUN_CASE(fragmented_message_over_the_limit_is_dropped_with_error);
    RUN_CASE(without_reassembly_65537_bytes_pass);
    integ_server_stop(&g_raw);
    integ_server_stop(&g_ws);
    return integ_finish();
}
