/*
 * test_integ_echo.c - messages survive a round trip through a real echo server, byte for byte.
 *
 *   test_integ_echo ws|py|lws
 *
 * One server (ws on Node, python-websockets or libwebsockets) serves every case of the run.
 * Received DATA chunks are reassembled by the recorder (integ_util.c), which also checks the
 * chunk contract (payload_len / payload_offset / fin / op_code, chunk <= buffer_size).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integ_util.h"

static integ_server_t g_srv;
static integ_server_kind_t g_kind;

static const size_t k_sizes[] = { 0, 1, 125, 126, 65535, 65536, 1048576 };

/* A started, connected client on path; NULL (with a recorded failure) if it does not connect. */
static esp_websocket_client_handle_t connect_to(integ_rec_t *rec, const char *path, int buffer_size)
{
    char uri[128];
    integ_server_uri(&g_srv, path, uri, sizeof(uri));
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.buffer_size = buffer_size;
    cfg.disable_auto_reconnect = true;
    cfg.network_timeout_ms = 5000;
    cfg.user_context = rec;
    esp_websocket_client_handle_t c = integ_client_new(rec, &cfg);
    if (!c) {
        return NULL;
    }
    CHECK(esp_websocket_client_start(c) == ESP_OK);
    if (!CHECK(integ_rec_wait_event(rec, WEBSOCKET_EVENT_CONNECTED, 1, 5000), "no CONNECTED from %s", g_srv.name)) {
        esp_websocket_client_destroy(c);
        return NULL;
    }
    return c;
}

static void finish(esp_websocket_client_handle_t c, integ_rec_t *rec)
{
    CHECK(rec->reasm_errors == 0, "chunk contract broken %d times; first: %s", rec->reasm_errors,
          rec->first_reasm_error);
    CHECK(rec->ctx_mismatch == 0, "%d events with a wrong client/user_context", rec->ctx_mismatch);
    CHECK(integ_rec_count(rec, WEBSOCKET_EVENT_ERROR) == 0, "unexpected ERROR events");
    if (c) {
        int64_t t0 = integ_now_ms();
        CHECK(esp_websocket_client_destroy(c) == ESP_OK);
        CHECK(integ_now_ms() - t0 < 3000, "destroy took %lld ms", (long long)(integ_now_ms() - t0));
    }
    integ_rec_free(rec);
}

/* Sends one message (text or binary) and expects the echo as the next message, identical. */
static bool echo_once(esp_websocket_client_handle_t c, integ_rec_t *rec, int opcode, const char *data, size_t len)
{
    int before = integ_rec_msg_count(rec);
    int sent = opcode == 1 ? esp_websocket_client_send_text(c, data, (int)len, INTEG_SEND_TIMEOUT)
                           : esp_websocket_client_send_bin(c, data, (int)len, INTEG_SEND_TIMEOUT);
    if (!CHECK(sent == (int)len, "%s of %zu bytes returned %d", opcode == 1 ? "send_text" : "send_bin", len, sent)) {
        return false;
    }
    if (!CHECK(integ_rec_wait_msgs(rec, before + 1, 15000), "no echo of the %zu-byte %s message from %s", len,
               opcode == 1 ? "text" : "binary", g_srv.name)) {
        return false;
    }
    const integ_msg_t *m = integ_rec_msg(rec, before);
    bool ok = CHECK(m->opcode == opcode, "echo opcode %d, sent %d", m->opcode, opcode);
    ok &= CHECK(m->len == len, "echo of %zu bytes came back with %zu", len, m->len);
    if (m->len == len && len) {
        ok &= CHECK(memcmp(m->data, data, len) == 0, "echo of %zu bytes differs", len);
    }
    return ok;
}

static void echo_all_sizes(int buffer_size)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 64);
    esp_websocket_client_handle_t c = connect_to(&rec, "/echo", buffer_size);
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    for (size_t i = 0; i < sizeof(k_sizes) / sizeof(k_sizes[0]); i++) {
        size_t n = k_sizes[i];
        char *t = integ_text_payload(n, (unsigned)i);
        char *b = integ_bin_payload(n, (unsigned)i + 100);
        echo_once(c, &rec, 1, t, n);
        echo_once(c, &rec, 2, b, n);
        free(t);
        free(b);
    }
    /* A 1 MiB frame from the server arrives in chunks of at most buffer_size (checked per chunk
     * by the recorder), so it takes at least 1 MiB / buffer_size DATA events. */
    int n = integ_rec_msg_count(&rec);
    const integ_msg_t *big = integ_rec_msg(&rec, n - 1);
    if (CHECK(big && big->len == 1048576)) {
        CHECK(big->chunks >= 1048576 / buffer_size, "1 MiB echo came in %d chunks with buffer_size %d", big->chunks,
              buffer_size);
    }
    size_t bytes = 0;
    for (int i = 0; i < n; i++) {
        bytes += integ_rec_msg(&rec, i)->len;
    }
    printf("  %d messages, %zu bytes echoed in %d DATA chunks (largest %d)\n", n, bytes, rec.data_chunks, rec.max_chunk);
    CHECK(n == 2 * (int)(sizeof(k_sizes) / sizeof(k_sizes[0])), "%d messages", n);
    CHECK(rec.max_chunk <= buffer_size, "largest chunk %d > buffer_size %d", rec.max_chunk, buffer_size);
    if (buffer_size > 1024) {
        /* ... and the chunks do grow with the buffer (the contrapositive of the default case). */
        CHECK(rec.max_chunk > 1024, "largest chunk %d with buffer_size %d", rec.max_chunk, buffer_size);
    }
    finish(c, &rec);
}

static void echo_text_and_binary_at_length_boundaries_buffer_1024(void)
{
    echo_all_sizes(1024);
}

static void echo_text_and_binary_at_length_boundaries_buffer_16384(void)
{
    echo_all_sizes(16384);
}

static void echo_chinese_text_split_across_chunks(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 16);
    esp_websocket_client_handle_t c = connect_to(&rec, "/echo", 1024);
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    static const char short_zh[] = "你好，世界！WebSocket 测试：中文消息。";
    echo_once(c, &rec, 1, short_zh, strlen(short_zh));

    /* 3-byte characters over several 1024-byte chunks: chunk edges fall inside characters. */
    static const char unit[] = "汉字编码测试";   /* 6 characters, 18 bytes */
    size_t reps = 400;
    size_t ul = strlen(unit);
    char *big = malloc(reps * ul + 2);
    big[0] = 'x';                                 /* shift the 3-byte grid off the chunk grid */
    for (size_t i = 0; i < reps; i++) {
        memcpy(big + 1 + i * ul, unit, ul);
    }
    big[1 + reps * ul] = 0;
    echo_once(c, &rec, 1, big, 1 + reps * ul);
    free(big);
    finish(c, &rec);
}

static void fragmented_send_comes_back_as_one_message(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 16);
    esp_websocket_client_handle_t c = connect_to(&rec, "/echo", 1024);
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    /* Text: TEXT(FIN=0) + CONT(FIN=0) + CONT(FIN=0) + empty CONT(FIN=1). */
    CHECK(esp_websocket_client_send_text_partial(c, "Hello, ", 7, INTEG_SEND_TIMEOUT) == 7);
    CHECK(esp_websocket_client_send_cont_msg(c, "fragmented ", 11, INTEG_SEND_TIMEOUT) == 11);
    CHECK(esp_websocket_client_send_cont_msg(c, "world", 5, INTEG_SEND_TIMEOUT) == 5);
    CHECK(esp_websocket_client_send_fin(c, INTEG_SEND_TIMEOUT) == 0);
    if (CHECK(integ_rec_wait_msgs(&rec, 1, 5000))) {
        const integ_msg_t *m = integ_rec_msg(&rec, 0);
        CHECK(m->opcode == 1 && m->len == 23 && memcmp(m->data, "Hello, fragmented world", 23) == 0,
              "got op %d '%s'", m->opcode, (const char *)m->data);
    }

    /* Binary: 5 x 0x00 then 5 x 0x01 (the upstream example's sequence). */
    const char zeros[5] = { 0 };
    const char ones[5] = { 1, 1, 1, 1, 1 };
    CHECK(esp_websocket_client_send_bin_partial(c, zeros, 5, INTEG_SEND_TIMEOUT) == 5);
    CHECK(esp_websocket_client_send_cont_msg(c, ones, 5, INTEG_SEND_TIMEOUT) == 5);
    CHECK(esp_websocket_client_send_fin(c, INTEG_SEND_TIMEOUT) == 0);
    if (CHECK(integ_rec_wait_msgs(&rec, 2, 5000))) {
        const integ_msg_t *m = integ_rec_msg(&rec, 1);
        const char want[10] = { 0, 0, 0, 0, 0, 1, 1, 1, 1, 1 };
        CHECK(m->opcode == 2 && m->len == 10 && memcmp(m->data, want, 10) == 0, "got op %d len %zu", m->opcode,
              m->len);
    }

    /* Parts larger than buffer_size: each part goes out as several frames, all FIN=0. */
    char *a = integ_text_payload(3000, 1);
    char *b = integ_text_payload(2500, 2);
    CHECK(esp_websocket_client_send_text_partial(c, a, 3000, INTEG_SEND_TIMEOUT) == 3000);
    CHECK(esp_websocket_client_send_cont_msg(c, b, 2500, INTEG_SEND_TIMEOUT) == 2500);
    CHECK(esp_websocket_client_send_fin(c, INTEG_SEND_TIMEOUT) == 0);
    if (CHECK(integ_rec_wait_msgs(&rec, 3, 5000))) {
        const integ_msg_t *m = integ_rec_msg(&rec, 2);
        CHECK(m->opcode == 1 && m->len == 5500 && memcmp(m->data, a, 3000) == 0 && memcmp(m->data + 3000, b, 2500) == 0,
              "got op %d len %zu", m->opcode, m->len);
    }
    free(a);
    free(b);

    /* The connection still carries ordinary messages afterwards. */
    echo_once(c, &rec, 1, "after", 5);
    finish(c, &rec);
}

static void send_with_opcode_sends_that_opcode(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 16);
    esp_websocket_client_handle_t c = connect_to(&rec, "/echo", 1024);
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    const uint8_t txt[] = "by opcode";
    const uint8_t bin[] = { 0xde, 0xad, 0x00, 0xbe, 0xef };
    CHECK(esp_websocket_client_send_with_opcode(c, WS_TRANSPORT_OPCODES_TEXT, txt, 9, INTEG_SEND_TIMEOUT) == 9);
    CHECK(esp_websocket_client_send_with_opcode(c, WS_TRANSPORT_OPCODES_BINARY, bin, 5, INTEG_SEND_TIMEOUT) == 5);
    CHECK(esp_websocket_client_send_with_opcode(c, WS_TRANSPORT_OPCODES_TEXT, NULL, 0, INTEG_SEND_TIMEOUT) == 0);
    if (CHECK(integ_rec_wait_msgs(&rec, 3, 5000))) {
        const integ_msg_t *m0 = integ_rec_msg(&rec, 0);
        const integ_msg_t *m1 = integ_rec_msg(&rec, 1);
        const integ_msg_t *m2 = integ_rec_msg(&rec, 2);
        CHECK(m0->opcode == 1 && m0->len == 9 && memcmp(m0->data, txt, 9) == 0);
        CHECK(m1->opcode == 2 && m1->len == 5 && memcmp(m1->data, bin, 5) == 0);
        CHECK(m2->opcode == 1 && m2->len == 0);
    }
    /* A PING sent by the application is answered by the server: the PONG arrives as DATA. */
    const uint8_t ping[] = "are-you-there";
    CHECK(esp_websocket_client_send_with_opcode(c, WS_TRANSPORT_OPCODES_PING, ping, 13, INTEG_SEND_TIMEOUT) == 13);
    if (CHECK(integ_rec_wait_ctrl(&rec, 0x0a, 1, 5000), "no PONG for our PING from %s", g_srv.name)) {
        integ_ctrl_t pong;
        integ_rec_ctrl(&rec, 0x0a, 0, &pong);
        CHECK(pong.len == 13 && memcmp(pong.data, ping, 13) == 0, "PONG payload '%s'", (const char *)pong.data);
    }
    /* A control frame over 125 bytes is refused locally and the connection stays usable. */
    uint8_t big[126];
    memset(big, 'p', sizeof(big));
    CHECK(esp_websocket_client_send_with_opcode(c, WS_TRANSPORT_OPCODES_PING, big, 126, INTEG_SEND_TIMEOUT) == -1);
    CHECK(esp_websocket_client_is_connected(c));
    echo_once(c, &rec, 2, "still-up", 8);
    finish(c, &rec);
}

static void close_with_code_reaches_the_server(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 16);
    esp_websocket_client_handle_t c = connect_to(&rec, "/record", 1024);
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    echo_once(c, &rec, 1, "before-close", 12);
    int64_t t0 = integ_now_ms();
    CHECK(esp_websocket_client_close_with_code(c, 1001, "bye", 3, pdMS_TO_TICKS(3000)) == ESP_OK);
    int64_t dt = integ_now_ms() - t0;
    CHECK(dt < 3500, "close_with_code took %lld ms", (long long)dt);
    /* Earlier cases destroyed connected clients; the server may report those (1006, no Close
     * frame) late. Skip them: this client sends a Close, so its line is not 1006. */
    char line[128] = "";
    bool seen = false;
    int64_t end = integ_now_ms() + 3000;
    while (!seen && integ_now_ms() < end) {
        seen = integ_server_wait_line(&g_srv, "CLOSE ", line, sizeof(line), (int)(end - integ_now_ms())) &&
               strncmp(line, "CLOSE 1006", 10) != 0;
    }
    if (CHECK(seen, "%s saw no close (last line '%s')", g_srv.name, line)) {
        CHECK(strcmp(line, "CLOSE 1001 bye") == 0, "%s reports '%s'", g_srv.name, line);
    }
    /* The server answered the close, so the handshake completed cleanly. */
    CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CLOSED, 1, 2000), "no CLOSED after close_with_code");
    CHECK(!esp_websocket_client_is_connected(c));
    finish(c, &rec);
}

int main(int argc, char **argv)
{
    integ_init(argc, argv, 110);
    const char *which = argc > 1 ? argv[1] : "ws";
    if (strcmp(which, "ws") == 0) {
        g_kind = INTEG_SRV_WS;
    } else if (strcmp(which, "py") == 0) {
        g_kind = INTEG_SRV_PY;
    } else if (strcmp(which, "lws") == 0) {
        g_kind = INTEG_SRV_LWS;
    } else {
        fprintf(stderr, "usage: %s ws|py|lws\n", argv[0]);
        return 2;
    }
    if (!integ_server_start(&g_srv, g_kind)) {
        return integ_finish();
    }
    printf("server %s on port %d\n", g_srv.name, g_srv.port);
    RUN_CASE(echo_text_and_binary_at_length_boundaries_buffer_1024);
    RUN_CASE(echo_text_and_binary_at_length_boundaries_buffer_16384);
    RUN_CASE(echo_chinese_text_split_across_chunks);
    RUN_CASE(fragmented_send_comes_back_as_one_message);
    RUN_CASE(send_with_opcode_sends_that_opcode);
    RUN_CASE(close_with_code_reaches_the_server);
    integ_server_stop(&g_srv);
    return integ_finish();
}
