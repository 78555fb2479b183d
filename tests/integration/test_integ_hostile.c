/*
 * test_integ_hostile.c - a hostile server (tests/servers/hostile_server.ts) against the whole
 * client: every frame-level MUST of RFC 6455 sections 5 and 7, handshake abuse, resource attacks
 * (a 2^63-1 byte frame, a long streamed message, a PING flood), data after Close and a server that
 * vanishes in the middle of a frame.
 *
 * Each violation case asserts what the client SENDS (the status code of its Close frame, decoded by
 * the server from the masked frame) and what it REPORTS (the ERROR event's data_ptr text, built from
 * the engine's error table in component/generated/ws_engine_abi.h, and error_handle). Each is paired
 * with a passing twin: the same bytes without the violation are delivered and nothing fails.
 *
 * The server takes its script from the request's query string (see hostile_server.ts): hs=<mode>
 * for the handshake, then w=<hex> (raw bytes), f=<b0>:<hex> (a frame), z=<n> (n bytes 'a'),
 * split/gap/sleep for pacing, pings=<n>, stream=<n>, end=fin|rst.
 *
 * INTEG_HOSTILE_STREAM_MB: size of the streamed message in MiB (default 1024).
 */
#define _GNU_SOURCE 1   /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "integ_util.h"
#include "../../component/generated/ws_engine_abi.h"   /* the error table: codes, close codes, messages */

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HOSTILE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define HOSTILE_ASAN 1
#endif
#ifdef HOSTILE_ASAN
/* ASan keeps freed blocks in quarantine (up to 256 MB), so VmRSS grows with every event even when
 * nothing leaks: under ASan the flat-memory check uses the allocator's live byte count instead. */
size_t __sanitizer_get_current_allocated_bytes(void);   /* <sanitizer/allocator_interface.h>, not always installed */
#endif

/* ---------------------------------------------------------------------------------------- */
/* A client for one script                                                                   */
/* ---------------------------------------------------------------------------------------- */

static integ_server_t g_srv;

/* The first ERROR event of a connection: its text and error_handle. */
typedef struct {
    pthread_mutex_t mu;
    int n;
    char msg[256];
    esp_websocket_error_codes_t eh;
} errcap_t;

static void errcap_handler(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)base;
    (void)id;
    errcap_t *e = arg;
    const esp_websocket_event_data_t *d = data;
    pthread_mutex_lock(&e->mu);
    if (e->n++ == 0 && d != NULL) {
        int len = d->data_len > 0 ? d->data_len : 0;
        if (len > (int)sizeof(e->msg) - 1) {
            len = (int)sizeof(e->msg) - 1;
        }
        memcpy(e->msg, d->data_ptr != NULL ? d->data_ptr : "", (size_t)len);
        e->msg[len] = '\0';
        e->eh = d->error_handle;
    }
    pthread_mutex_unlock(&e->mu);
}

typedef struct {
    integ_rec_t rec;
    errcap_t err;
    esp_websocket_client_handle_t c;
    int64_t t_start;
    int before[3];       /* lines with k_counted[i] the server had printed before this client started */
} run_t;

static const char *const k_counted[3] = { "FRAME ", "FRAME 10 ", "FRAME 10 1 4 0 1 " };

/* Lines starting with k_counted[i] (frames from the client) printed since the run started. */
static int frames_since(const run_t *r, int i)
{
    return integ_server_count_lines(&g_srv, k_counted[i]) - r->before[i];
}

typedef struct {
    int buffer_size;
    int network_timeout_ms;
    int response_header_limit;
    esp_websocket_utf8_policy_t utf8_policy;
    bool no_wait_connected;   /* the handshake is expected to fail */
} opts_t;

/* Starts a client on /h?<query> (with a fresh recorder); waits for CONNECTED unless told not to. */
static bool run_start(run_t *r, const char *query, const opts_t *o)
{
    static char path[8192];
    static char uri[8300];
    memset(r, 0, sizeof(*r));
    integ_rec_init(&r->rec, 64);
    pthread_mutex_init(&r->err.mu, NULL);
    snprintf(path, sizeof(path), "/h?%s", query);
    integ_server_uri(&g_srv, path, uri, sizeof(uri));
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.disable_auto_reconnect = true;
    cfg.network_timeout_ms = 3000;
    if (o != NULL) {
        cfg.buffer_size = o->buffer_size;
        if (o->network_timeout_ms > 0) {
            cfg.network_timeout_ms = o->network_timeout_ms;
        }
        cfg.response_header_limit = o->response_header_limit;
        cfg.utf8_policy = o->utf8_policy;
    }
    integ_server_drain(&g_srv);
    for (int i = 0; i < 3; i++) {
        r->before[i] = integ_server_count_lines(&g_srv, k_counted[i]);
    }
    r->c = integ_client_new(&r->rec, &cfg);
    if (r->c == NULL) {
        return false;
    }
    CHECK(esp_websocket_register_events(r->c, WEBSOCKET_EVENT_ERROR, errcap_handler, &r->err) == ESP_OK);
    r->t_start = integ_now_ms();
    if (!CHECK(esp_websocket_client_start(r->c) == ESP_OK)) {
        return false;
    }
    if (o != NULL && o->no_wait_connected) {
        return true;
    }
    return CHECK(integ_rec_wait_event(&r->rec, WEBSOCKET_EVENT_CONNECTED, 1, 4000), "no CONNECTED for %.200s", query);
}

static void run_end(run_t *r)
{
    if (r->c != NULL) {
        int64_t t0 = integ_now_ms();
        CHECK(esp_websocket_client_destroy(r->c) == ESP_OK);
        CHECK(integ_now_ms() - t0 < 3000, "destroy took %lld ms", (long long)(integ_now_ms() - t0));
    }
    CHECK(r->rec.reasm_errors == 0, "DATA contract broken: %s", r->rec.first_reasm_error);
    CHECK(r->rec.ctx_mismatch == 0);
    integ_rec_free(&r->rec);
    pthread_mutex_destroy(&r->err.mu);
    r->c = NULL;
}

/* The first ERROR's text and error_handle. The recorder's handler runs before errcap_handler, so
 * a test that saw ERROR in the recorder may have to wait a moment for the copy here. */
static void err_snapshot(run_t *r, char *msg, size_t cap, esp_websocket_error_codes_t *eh)
{
    int64_t end = integ_now_ms() + 2000;
    pthread_mutex_lock(&r->err.mu);
    while (r->err.n == 0 && integ_now_ms() < end && integ_rec_count(&r->rec, WEBSOCKET_EVENT_ERROR) > 0) {
        pthread_mutex_unlock(&r->err.mu);
        integ_sleep_ms(5);
        pthread_mutex_lock(&r->err.mu);
    }
    snprintf(msg, cap, "%s", r->err.msg);
    if (eh != NULL) {
        *eh = r->err.eh;
    }
    pthread_mutex_unlock(&r->err.mu);
}

/* The connection fails with engine error `err`: ERROR whose text names it, the server receives a
 * Close with err's close code (from the table), no message completes, DISCONNECTED, FINISH. */
static void expect_violation_n(run_t *r, int err, int msgs, const char *what)
{
    const wse_error_info_t *info = wse_error_info(err);
    if (!CHECK(info != NULL && info->close_code != 0, "%s: error %d has no close code in the table", what, err)) {
        return;
    }
    if (!CHECK(integ_rec_wait_event(&r->rec, WEBSOCKET_EVENT_ERROR, 1, 4000), "%s: no ERROR", what)) {
        return;
    }
    char line[512], want[32];
    snprintf(want, sizeof(want), "CLOSE %d", info->close_code);
    if (CHECK(integ_server_wait_line(&g_srv, "CLOSE ", line, sizeof(line), 3000), "%s: the client sent no Close",
              what)) {
        CHECK(strncmp(line, want, strlen(want)) == 0 && (line[strlen(want)] == ' ' || line[strlen(want)] == 0),
              "%s: the client sent '%s', expected %s", what, line, want);
    }
    char msg[512], num[64];
    esp_websocket_error_codes_t eh;
    err_snapshot(r, msg, sizeof(msg), &eh);
    snprintf(num, sizeof(num), "engine error %d, close code %d sent", err, info->close_code);
    CHECK(strstr(msg, info->message) != NULL && strstr(msg, num) != NULL,
          "%s: ERROR text '%s', expected '%s' and '%s'", what, msg, info->message, num);
    CHECK(eh.error_type == WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT && eh.esp_ws_handshake_status_code == 0,
          "%s: error_type %d, handshake status %d", what, eh.error_type, eh.esp_ws_handshake_status_code);
    CHECK(integ_rec_wait_event(&r->rec, WEBSOCKET_EVENT_FINISH, 1, 4000), "%s: the task did not end", what);
    CHECK(integ_rec_count(&r->rec, WEBSOCKET_EVENT_DISCONNECTED) == 1, "%s: DISCONNECTED x%d", what,
          integ_rec_count(&r->rec, WEBSOCKET_EVENT_DISCONNECTED));
    CHECK(integ_rec_count(&r->rec, WEBSOCKET_EVENT_CLOSED) == 0, "%s: CLOSED after a violation", what);
    CHECK(integ_rec_count(&r->rec, WEBSOCKET_EVENT_ERROR) == 1, "%s: ERROR x%d", what,
          integ_rec_count(&r->rec, WEBSOCKET_EVENT_ERROR));
    CHECK(integ_rec_msg_count(&r->rec) == msgs, "%s: %d messages delivered, expected %d (only those before the "
          "violation)", what, integ_rec_msg_count(&r->rec), msgs);
    CHECK(!esp_websocket_client_is_connected(r->c), "%s: still connected", what);
}

static void expect_violation(run_t *r, int err, const char *what)
{
    expect_violation_n(r, err, 0, what);
}

/* Nothing failed within a short settle time and the client sent no Close. */
static void expect_healthy(run_t *r, const char *what)
{
    integ_sleep_ms(150);
    char msg[512];
    err_snapshot(r, msg, sizeof(msg), NULL);
    CHECK(integ_rec_count(&r->rec, WEBSOCKET_EVENT_ERROR) == 0, "%s: ERROR '%s'", what, msg);
    CHECK(esp_websocket_client_is_connected(r->c), "%s: the connection was dropped", what);
    CHECK(!integ_server_wait_line(&g_srv, "CLOSE ", NULL, 0, 0), "%s: the client sent a Close", what);
}

/* One message `want` (opcode op) arrives intact, and nothing fails. */
static void expect_message(run_t *r, int op, const unsigned char *want, size_t n, const char *what)
{
    if (CHECK(integ_rec_wait_msgs(&r->rec, 1, 4000), "%s: no message", what)) {
        const integ_msg_t *m = integ_rec_msg(&r->rec, 0);
        CHECK(m->opcode == op && m->len == n && memcmp(m->data, want, n) == 0,
              "%s: got op %d len %zu, expected op %d len %zu", what, m->opcode, m->len, op, n);
    }
    expect_healthy(r, what);
}

static void to_hex(const unsigned char *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Whole-case helpers: one connection, one script. */
static void violation(const char *query, const opts_t *o, int err, const char *what)
{
    run_t r;
    if (run_start(&r, query, o)) {
        expect_violation(&r, err, what);
    }
    run_end(&r);
}

/* As violation(), when `msgs` complete messages come before the violating frame. */
static void violation_after(const char *query, int msgs, int err, const char *what)
{
    run_t r;
    if (run_start(&r, query, NULL)) {
        expect_violation_n(&r, err, msgs, what);
    }
    run_end(&r);
}

static void delivered(const char *query, const opts_t *o, int op, const void *want, size_t n, const char *what)
{
    run_t r;
    if (run_start(&r, query, o)) {
        expect_message(&r, op, want, n, what);
    }
    run_end(&r);
}

/* ---------------------------------------------------------------------------------------- */
/* RFC 6455 5.2: header bits, opcodes, masking                                               */
/* ---------------------------------------------------------------------------------------- */

/* 5.2: "MUST be 0 unless an extension is negotiated that defines meanings for non-zero values". */
static void rfc6455_5_2_rsv_bits_fail_with_1002(void)
{
    static const char *const b0[] = { "c1", "a1", "91", "f1" };   /* RSV1, RSV2, RSV3, all three */
    for (size_t i = 0; i < 4; i++) {
        char q[64], what[64];
        snprintf(q, sizeof(q), "f=%s:6869", b0[i]);
        snprintf(what, sizeof(what), "first byte 0x%s", b0[i]);
        violation(q, NULL, WSE_ERR_RSV, what);
    }
}

static void rfc6455_5_2_rsv_clear_text_is_delivered(void)
{
    delivered("f=81:6869", NULL, 1, "hi", 2, "FIN+TEXT, RSV clear");
}

/* 5.2: opcodes 0x3-0x7 and 0xB-0xF are reserved; "MUST _Fail the WebSocket Connection_" (5.2, 10.7). */
static void rfc6455_5_2_reserved_opcodes_fail_with_1002(void)
{
    static const int ops[] = { 3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf };
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        char q[64], what[64];
        snprintf(q, sizeof(q), "f=%02x:6869", 0x80 | ops[i]);
        snprintf(what, sizeof(what), "opcode 0x%x", ops[i]);
        violation(q, NULL, WSE_ERR_OPCODE, what);
    }
}

static void rfc6455_5_2_binary_opcode_is_delivered(void)
{
    delivered("f=82:00ff", NULL, 2, "\x00\xff", 2, "opcode 0x2");
}

/* 5.1: "A client MUST close a connection if it detects a masked frame." */
static void rfc6455_5_1_masked_server_frame_fails_with_1002(void)
{
    /* "hi" masked with key 01 02 03 04 */
    violation("w=818201020304696b", NULL, WSE_ERR_MASKED, "masked TEXT frame");
    violation("w=898001020304", NULL, WSE_ERR_MASKED, "masked empty PING");
}

/* ---------------------------------------------------------------------------------------- */
/* RFC 6455 5.5: control frames                                                              */
/* ---------------------------------------------------------------------------------------- */

/* 5.5: "All control frames MUST have a payload length of 125 bytes or less". */
static void rfc6455_5_5_control_frame_of_126_bytes_fails_with_1002(void)
{
    unsigned char p[126];
    memset(p, 0x70, sizeof(p));
    char hex[300], q[340];
    to_hex(p, 126, hex);
    snprintf(q, sizeof(q), "f=89:%s", hex);   /* PING, 16-bit length 126 */
    violation(q, NULL, WSE_ERR_CTRL_TOO_LONG, "PING of 126 bytes");
    snprintf(q, sizeof(q), "f=8a:%s", hex);
    violation(q, NULL, WSE_ERR_CTRL_TOO_LONG, "PONG of 126 bytes");
}

/* The twin: a PING of 125 bytes is delivered and answered with a PONG carrying the same bytes. */
static void rfc6455_5_5_control_frame_of_125_bytes_is_answered(void)
{
    unsigned char p[125];
    for (int i = 0; i < 125; i++) {
        p[i] = (unsigned char)(i * 3 + 1);
    }
    char hex[300], q[340];
    to_hex(p, 125, hex);
    snprintf(q, sizeof(q), "f=89:%s", hex);
    run_t r;
    if (run_start(&r, q, NULL)) {
        char line[600], want[400];
        snprintf(want, sizeof(want), "FRAME 10 1 125 0 1 %.128s", hex);   /* the server prints 64 bytes */
        if (CHECK(integ_server_wait_line(&g_srv, "FRAME 10 ", line, sizeof(line), 3000), "no PONG")) {
            CHECK(strcmp(line, want) == 0, "PONG '%s', expected '%s'", line, want);
        }
        integ_ctrl_t ping;
        CHECK(integ_rec_wait_ctrl(&r.rec, 9, 1, 2000) && integ_rec_ctrl(&r.rec, 9, 0, &ping) == 1 &&
              ping.len == 125 && memcmp(ping.data, p, 125) == 0, "the PING was not delivered whole");
        expect_healthy(&r, "PING of 125 bytes");
    }
    run_end(&r);
}

/* 5.5: "Control frames themselves MUST NOT be fragmented." */
static void rfc6455_5_5_fragmented_control_frame_fails_with_1002(void)
{
    violation("f=09:6869", NULL, WSE_ERR_CTRL_FRAGMENTED, "PING without FIN");
    violation("f=0a:6869", NULL, WSE_ERR_CTRL_FRAGMENTED, "PONG without FIN");
    violation("f=08:03e8", NULL, WSE_ERR_CTRL_FRAGMENTED, "Close without FIN");
}

static void rfc6455_5_5_final_ping_is_answered(void)
{
    run_t r;
    if (run_start(&r, "f=89:6869", NULL)) {
        char line[200];
        if (CHECK(integ_server_wait_line(&g_srv, "FRAME 10 ", line, sizeof(line), 3000), "no PONG")) {
            CHECK(strcmp(line, "FRAME 10 1 2 0 1 6869") == 0, "PONG '%s'", line);
        }
        expect_healthy(&r, "PING with FIN");
    }
    run_end(&r);
}

/* ---------------------------------------------------------------------------------------- */
/* RFC 6455 5.2: payload length encoding                                                     */
/* ---------------------------------------------------------------------------------------- */

/* 5.2: "the minimal number of bytes MUST be used to encode the length". */
static void rfc6455_5_2_non_minimal_16bit_length_fails_with_1002(void)
{
    violation("w=827e007d&z=125", NULL, WSE_ERR_LEN_NOT_MINIMAL, "125 in a 16-bit length");
    violation("w=827e0000", NULL, WSE_ERR_LEN_NOT_MINIMAL, "0 in a 16-bit length");
}

static void rfc6455_5_2_minimal_16bit_length_is_delivered(void)
{
    unsigned char want[126];
    memset(want, 'a', sizeof(want));
    delivered("w=827e007e&z=126", NULL, 2, want, sizeof(want), "126 in a 16-bit length");
}

static void rfc6455_5_2_non_minimal_64bit_length_fails_with_1002(void)
{
    violation("w=827f000000000000ffff&z=65535", NULL, WSE_ERR_LEN_NOT_MINIMAL, "65535 in a 64-bit length");
    violation("w=827f000000000000007d&z=125", NULL, WSE_ERR_LEN_NOT_MINIMAL, "125 in a 64-bit length");
}

static void rfc6455_5_2_minimal_64bit_length_is_delivered(void)
{
    static unsigned char want[65536];
    memset(want, 'a', sizeof(want));
    delivered("w=827f0000000000010000&z=65536", NULL, 2, want, sizeof(want), "65536 in a 64-bit length");
}

/* 5.2: "the most significant bit MUST be 0" in the 64-bit length. */
static void rfc6455_5_2_64bit_length_top_bit_fails_with_1002(void)
{
    violation("w=827f8000000000000000", NULL, WSE_ERR_LEN_TOP_BIT, "length 2^63");
    violation("w=827fffffffffffffffff", NULL, WSE_ERR_LEN_TOP_BIT, "length 2^64-1");
}

/* A length the client cannot hold (2^63-1 > max_frame_len) is "too big to process": 1009 (7.4.1). */
static void rfc6455_7_4_1_frame_of_2e63_minus_1_bytes_fails_with_1009(void)
{
    violation("w=827f7fffffffffffffff&z=1000", NULL, WSE_ERR_FRAME_TOO_BIG, "frame claiming 2^63-1 bytes");
}

/* ---------------------------------------------------------------------------------------- */
/* RFC 6455 5.4: fragmentation sequencing                                                    */
/* ---------------------------------------------------------------------------------------- */

static void rfc6455_5_4_continuation_without_message_fails_with_1002(void)
{
    violation("f=80:6869", NULL, WSE_ERR_CONT_NO_MSG, "final CONT with no message");
    violation("f=00:6869", NULL, WSE_ERR_CONT_NO_MSG, "CONT with no message");
    violation_after("f=81:6869&f=80:6869", 1, WSE_ERR_CONT_NO_MSG, "CONT after a complete message");
}

static void rfc6455_5_4_continuation_of_a_message_is_delivered(void)
{
    delivered("f=01:6869&f=00:2c20&f=80:6869", NULL, 1, "hi, hi", 6, "TEXT, CONT, CONT+FIN");
}

/* 5.4: the fragments of one message must not be interleaved with another data message. */
static void rfc6455_5_4_data_frame_inside_fragmented_message_fails_with_1002(void)
{
    violation("f=01:61&f=81:62", NULL, WSE_ERR_DATA_IN_MSG, "TEXT inside a fragmented TEXT");
    violation("f=02:61&f=82:62", NULL, WSE_ERR_DATA_IN_MSG, "BINARY inside a fragmented BINARY");
    violation("f=01:61&f=02:62", NULL, WSE_ERR_DATA_IN_MSG, "BINARY (no FIN) inside a fragmented TEXT");
}

/* 5.4: control frames MAY be injected in the middle of a fragmented message. */
static void rfc6455_5_4_control_frame_inside_fragmented_message_is_allowed(void)
{
    run_t r;
    if (run_start(&r, "f=01:61&f=89:7a&f=80:62", NULL)) {
        expect_message(&r, 1, (const unsigned char *)"ab", 2, "PING between fragments");
        CHECK(integ_server_wait_line(&g_srv, "FRAME 10 1 1 0 1 7a", NULL, 0, 2000), "no PONG for the PING");
    }
    run_end(&r);
}

/* ---------------------------------------------------------------------------------------- */
/* RFC 6455 8.1: UTF-8 in text messages                                                      */
/* ---------------------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    unsigned char b[4];
    size_t n;
} seq_t;

/* Invalid sequences, each preceded by 'a' in the message. */
static const seq_t k_invalid[] = {
    { "4-byte emoji with a bad last byte F0 9F 98 28", { 0xf0, 0x9f, 0x98, 0x28 }, 4 },
    { "3-byte with a bad last byte E2 82 28", { 0xe2, 0x82, 0x28 }, 3 },
    { "2-byte with a bad second byte C3 28", { 0xc3, 0x28 }, 2 },
    { "surrogate ED A0 80", { 0xed, 0xa0, 0x80 }, 3 },
    { "above U+10FFFF F4 90 80 80", { 0xf4, 0x90, 0x80, 0x80 }, 4 },
    { "overlong 4-byte F0 80 80 80", { 0xf0, 0x80, 0x80, 0x80 }, 4 },
};

/* Invalid UTF-8 fails with 1007, wherever the TCP stream or the message is split inside the bad
 * sequence: the validator carries its state across reads and across frames (RFC 6455 8.1). */
static void rfc6455_8_1_invalid_utf8_split_anywhere_fails_with_1007(void)
{
    for (size_t s = 0; s < sizeof(k_invalid) / sizeof(k_invalid[0]); s++) {
        const seq_t *q = &k_invalid[s];
        unsigned char msg[8] = { 'a' };
        memcpy(msg + 1, q->b, q->n);
        size_t n = 1 + q->n;
        char hex_all[32];
        to_hex(msg, n, hex_all);
        char query[256], what[160];
        /* whole, in one write */
        snprintf(query, sizeof(query), "f=81:%s", hex_all);
        snprintf(what, sizeof(what), "%s, whole", q->name);
        violation(query, NULL, WSE_ERR_UTF8, what);
        for (size_t k = 1; k < n; k++) {   /* split points before and inside the sequence */
            char h1[32], h2[32];
            to_hex(msg, k, h1);
            to_hex(msg + k, n - k, h2);
            /* one frame, two TCP writes 30 ms apart */
            snprintf(query, sizeof(query), "w=81%02zx%s&sleep=30&w=%s", n, h1, h2);
            snprintf(what, sizeof(what), "%s, TCP split after byte %zu", q->name, k);
            violation(query, NULL, WSE_ERR_UTF8, what);
            /* two frames: TEXT without FIN, then CONT with FIN */
            snprintf(query, sizeof(query), "f=01:%s&sleep=30&f=80:%s", h1, h2);
            snprintf(what, sizeof(what), "%s, across two frames after byte %zu", q->name, k);
            violation(query, NULL, WSE_ERR_UTF8, what);
        }
    }
}

/* The twin: a valid 4-byte emoji, "a😀b", split at every byte across two frames and across
 * TCP writes, is delivered as one message. */
static void rfc6455_8_1_valid_utf8_split_anywhere_is_delivered(void)
{
    static const unsigned char msg[] = { 'a', 0xf0, 0x9f, 0x98, 0x80, 'b' };
    size_t n = sizeof(msg);
    char query[256], what[128];
    for (size_t k = 1; k < n; k++) {
        char h1[32], h2[32];
        to_hex(msg, k, h1);
        to_hex(msg + k, n - k, h2);
        snprintf(query, sizeof(query), "f=01:%s&sleep=30&f=80:%s", h1, h2);
        snprintf(what, sizeof(what), "emoji across two frames after byte %zu", k);
        delivered(query, NULL, 1, msg, n, what);
    }
    char hex[32];
    to_hex(msg, n, hex);
    snprintf(query, sizeof(query), "split=1&gap=15&f=81:%s", hex);
    delivered(query, NULL, 1, msg, n, "emoji frame written one byte per write");
}

/* 8.1: a message that ends inside a multi-byte sequence is invalid; checked at FIN only. */
static void rfc6455_8_1_truncated_utf8_at_fin_fails_with_1007(void)
{
    violation("f=81:61f09f98", NULL, WSE_ERR_UTF8, "message ends after F0 9F 98");
    violation("f=81:61c3", NULL, WSE_ERR_UTF8, "message ends after C3");
    violation("f=01:61f0&sleep=30&f=80:9f98", NULL, WSE_ERR_UTF8, "fragmented message ends after F0 9F 98");
}

static void rfc6455_8_1_sequence_completed_in_next_fragment_is_delivered(void)
{
    static const unsigned char want[] = { 'a', 0xf0, 0x9f, 0x98, 0x80 };
    delivered("f=01:61f0&sleep=30&f=80:9f9880", NULL, 1, want, sizeof(want), "F0 | 9F 98 80 across fragments");
}

/* ---------------------------------------------------------------------------------------- */
/* RFC 6455 5.5.1 and 7.4: the Close frame                                                   */
/* ---------------------------------------------------------------------------------------- */

/* 7.4.1/7.4.2: 0-999 are not used, 1004/1005/1006/1015 must not be sent, 1016-2999 are reserved,
 * 5000 and above are outside the range: a Close carrying one is a protocol error. */
static void rfc6455_7_4_close_with_invalid_code_fails_with_1002(void)
{
    static const int codes[] = { 0, 999, 1004, 1005, 1006, 1016, 1015, 1100, 2999, 5000, 65535 };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        char q[64], what[64];
        snprintf(q, sizeof(q), "f=88:%04x", codes[i]);
        snprintf(what, sizeof(what), "Close %d", codes[i]);
        violation(q, NULL, WSE_ERR_CLOSE_CODE, what);
    }
}

/* The twin: a valid code completes the close handshake; the client echoes the code (5.5.1). */
static void close_handshake_with(const char *query, int code, const char *what)
{
    run_t r;
    if (run_start(&r, query, NULL)) {
        char line[256], want[32];
        snprintf(want, sizeof(want), "CLOSE %d", code);
        if (CHECK(integ_server_wait_line(&g_srv, "CLOSE ", line, sizeof(line), 3000), "%s: no echo", what)) {
            CHECK(strncmp(line, want, strlen(want)) == 0, "%s: echo '%s', expected %s", what, line, want);
        }
        CHECK(integ_rec_wait_event(&r.rec, WEBSOCKET_EVENT_CLOSED, 1, 3000), "%s: no CLOSED", what);
        integ_event_log_t ev;
        if (CHECK(integ_rec_event(&r.rec, WEBSOCKET_EVENT_CLOSED, 0, &ev))) {
            CHECK(ev.close_status_code == code, "%s: close_status_code %d", what, ev.close_status_code);
        }
        CHECK(integ_rec_wait_event(&r.rec, WEBSOCKET_EVENT_FINISH, 1, 3000), "%s: the task did not end", what);
        CHECK(integ_rec_count(&r.rec, WEBSOCKET_EVENT_ERROR) == 0, "%s: ERROR", what);
        CHECK(integ_rec_count(&r.rec, WEBSOCKET_EVENT_DISCONNECTED) == 0, "%s: DISCONNECTED", what);
    }
    run_end(&r);
}

static void rfc6455_7_4_close_with_valid_code_is_echoed(void)
{
    static const int codes[] = { 1000, 1001, 1003, 1007, 1011, 3000, 4000, 4999 };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        char q[64], what[64];
        snprintf(q, sizeof(q), "f=88:%04x", codes[i]);
        snprintf(what, sizeof(what), "Close %d", codes[i]);
        close_handshake_with(q, codes[i], what);
    }
    close_handshake_with("f=88:", 1005, "empty Close (1005 reported, empty echo)");
}

/* 5.5.1: the body, if any, starts with a 2-byte code: 1 byte is a protocol error. */
static void rfc6455_5_5_1_close_with_1_byte_body_fails_with_1002(void)
{
    violation("f=88:03", NULL, WSE_ERR_CLOSE_1BYTE, "Close with 1-byte body");
}

/* 5.5.1: the reason is UTF-8; invalid UTF-8 there is 1007 (checked under every utf8_policy). */
static void rfc6455_5_5_1_close_reason_invalid_utf8_fails_with_1007(void)
{
    violation("f=88:03e8c328", NULL, WSE_ERR_CLOSE_UTF8, "Close 1000 reason C3 28");
    violation("f=88:03e861f09f98", NULL, WSE_ERR_CLOSE_UTF8, "Close 1000 reason truncated emoji");
    opts_t o = { .utf8_policy = WEBSOCKET_UTF8_POLICY_NONE };
    violation("f=88:03e8c328", &o, WSE_ERR_CLOSE_UTF8, "Close reason C3 28 with utf8_policy NONE");
}

static void rfc6455_5_5_1_close_reason_valid_utf8_is_echoed(void)
{
    close_handshake_with("f=88:03e8c3a9f09f9880", 1000, "Close 1000 reason \"é😀\"");
}

/* 1.4 / 5.5.1: after a Close, no more data frames are delivered. */
static void rfc6455_5_5_1_data_after_close_is_not_delivered(void)
{
    static const char *const queries[] = {
        "w=880203e8810268698102686a",       /* Close and two texts in one write */
        "f=88:03e8&sleep=30&f=81:6869",     /* Close, then a text in a later read */
    };
    for (size_t i = 0; i < 2; i++) {
        run_t r;
        if (run_start(&r, queries[i], NULL)) {
            CHECK(integ_rec_wait_event(&r.rec, WEBSOCKET_EVENT_CLOSED, 1, 3000), "no CLOSED");
            CHECK(integ_server_wait_line(&g_srv, "CLOSE 1000", NULL, 0, 3000), "no echo of the Close");
            integ_sleep_ms(100);
            CHECK(integ_rec_msg_count(&r.rec) == 0, "a text after the Close was delivered (%s)", queries[i]);
            CHECK(r.rec.in_msg == false && r.rec.acc_len == 0, "DATA after the Close (%s)", queries[i]);
            CHECK(integ_rec_count(&r.rec, WEBSOCKET_EVENT_ERROR) == 0);
        }
        run_end(&r);
    }
}

/* The twin: the same text before the Close is delivered. */
static void rfc6455_5_5_1_data_before_close_is_delivered(void)
{
    run_t r;
    if (run_start(&r, "w=81026869880203e8", NULL)) {
        CHECK(integ_rec_wait_event(&r.rec, WEBSOCKET_EVENT_CLOSED, 1, 3000), "no CLOSED");
        const integ_msg_t *m = integ_rec_msg(&r.rec, 0);
        CHECK(m != NULL && m->len == 2 && memcmp(m->data, "hi", 2) == 0, "the text before the Close was lost");
    }
    run_end(&r);
}

/* ---------------------------------------------------------------------------------------- */
/* RFC 6455 4.1 / 4.2.2: handshake abuse                                                     */
/* ---------------------------------------------------------------------------------------- */

/* The handshake fails: ERROR naming `err`, handshake status `status`, no CONNECTED, no frame sent. */
static void handshake_fails(const char *query, const opts_t *o_in, int err, int status, int within_ms,
                            const char *what)
{
    opts_t o = o_in != NULL ? *o_in : (opts_t){ 0 };
    o.no_wait_connected = true;
    run_t r;
    if (run_start(&r, query, &o)) {
        if (CHECK(integ_rec_wait_event(&r.rec, WEBSOCKET_EVENT_ERROR, 1, within_ms + 2000), "%s: no ERROR", what)) {
            integ_event_log_t ev;
            integ_rec_event(&r.rec, WEBSOCKET_EVENT_ERROR, 0, &ev);
            CHECK(ev.t_ms - r.t_start <= within_ms, "%s: ERROR after %lld ms, bound %d ms", what,
                  (long long)(ev.t_ms - r.t_start), within_ms);
            char msg[512];
            esp_websocket_error_codes_t eh;
            err_snapshot(&r, msg, sizeof(msg), &eh);
            if (err > 0) {
                char num[64];
                snprintf(num, sizeof(num), "(engine error %d)", err);
                CHECK(strstr(msg, wse_error_info(err)->message) != NULL && strstr(msg, num) != NULL,
                      "%s: ERROR text '%s', expected '%s' %s", what, msg, wse_error_info(err)->message, num);
            }
            CHECK(eh.error_type == WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT, "%s: error_type %d", what, eh.error_type);
            if (status >= 0) {
                CHECK(eh.esp_ws_handshake_status_code == status, "%s: esp_ws_handshake_status_code %d, expected %d",
                      what, eh.esp_ws_handshake_status_code, status);
            }
            if (getenv("INTEG_VERBOSE")) {
                fprintf(stderr, "    %s: ERROR after %lld ms: %s\n", what, (long long)(ev.t_ms - r.t_start), msg);
            }
        }
        CHECK(integ_rec_wait_event(&r.rec, WEBSOCKET_EVENT_FINISH, 1, 4000), "%s: the task did not end", what);
        CHECK(integ_rec_count(&r.rec, WEBSOCKET_EVENT_CONNECTED) == 0, "%s: CONNECTED", what);
        CHECK(integ_rec_count(&r.rec, WEBSOCKET_EVENT_DISCONNECTED) == 1, "%s: DISCONNECTED x%d", what,
              integ_rec_count(&r.rec, WEBSOCKET_EVENT_DISCONNECTED));
        CHECK(frames_since(&r, 0) == 0, "%s: the client sent a frame before the handshake", what);
    }
    run_end(&r);
}

static void rfc6455_4_1_status_other_than_101_fails(void)
{
    handshake_fails("hs=200", NULL, WSE_ERR_RESP_STATUS, 200, 1500, "200 OK");
}

static void rfc6455_4_1_wrong_accept_fails(void)
{
    handshake_fails("hs=bad-accept", NULL, WSE_ERR_RESP_ACCEPT, 101, 1500, "wrong Sec-WebSocket-Accept");
}

static void rfc6455_4_1_missing_upgrade_fails(void)
{
    handshake_fails("hs=no-upgrade", NULL, WSE_ERR_RESP_UPGRADE, 101, 1500, "no Upgrade header");
}

static void rfc6455_4_1_correct_101_connects(void)
{
    delivered("f=81:6f6b", NULL, 1, "ok", 2, "correct 101");
}

/* A response that never ends its headers is cut at response_header_limit (default 4096). */
static void response_header_limit_bounds_an_endless_header(void)
{
    handshake_fails("hs=endless", NULL, WSE_ERR_RESP_TOO_LARGE, -1, 1500, "endless headers");
    CHECK(integ_server_wait_line(&g_srv, "HS-SENT ", NULL, 0, 3000), "the server still writes after the ERROR");
}

static void response_header_limit_refuses_100kb_of_headers(void)
{
    handshake_fails("hs=big&hsize=102400", NULL, WSE_ERR_RESP_TOO_LARGE, -1, 1500, "100 KB of headers");
}

static void response_header_limit_raised_accepts_100kb_of_headers(void)
{
    opts_t o = { .response_header_limit = 128 * 1024 };
    delivered("hs=big&hsize=102400&f=81:6f6b", &o, 1, "ok", 2, "100 KB of headers, limit 128 KiB");
}

/* A response dripping one byte per 100 ms is bounded by network_timeout_ms (1.5 s here). */
static void network_timeout_bounds_a_dripping_handshake(void)
{
    opts_t o = { .network_timeout_ms = 1500 };
    handshake_fails("hs=drip&hgap=100", &o, -1, 0, 2500, "one byte per 100 ms");
}

static void network_timeout_allows_a_fast_drip(void)
{
    opts_t o = { .network_timeout_ms = 1500 };
    delivered("hs=drip&hgap=2&f=81:6f6b", &o, 1, "ok", 2, "one byte per 2 ms");
}

/* ---------------------------------------------------------------------------------------- */
/* Resource attacks                                                                          */
/* ---------------------------------------------------------------------------------------- */

#define PATTERN_LEN 1048583u   /* as hostile_server.ts */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const unsigned char *pattern;   /* 2 * PATTERN_LEN bytes */
    uint64_t bytes;
    uint64_t bad_chunks;
    uint64_t sum_a, sum_b;         /* running Fletcher-style checksum: a += byte, b += a (mod 2^64) */
    int messages;
    int errors;
    int frames;
} stream_t;

static void stream_handler(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)base;
    stream_t *s = arg;
    const esp_websocket_event_data_t *d = data;
    if (id == WEBSOCKET_EVENT_ERROR || id == WEBSOCKET_EVENT_DISCONNECTED) {
        pthread_mutex_lock(&s->mu);
        s->errors++;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        return;
    }
    if (id != WEBSOCKET_EVENT_DATA || d->op_code > 2) {
        return;
    }
    const unsigned char *p = (const unsigned char *)d->data_ptr;
    size_t n = d->data_len > 0 ? (size_t)d->data_len : 0;
    uint64_t at = s->bytes;   /* only this task writes bytes and sums; readers take mu */
    uint64_t a = s->sum_a, b = s->sum_b;
    for (size_t i = 0; i < n; i++) {
        a += p[i];
        b += a;
    }
    bool bad = n > 0 && memcmp(p, s->pattern + at % PATTERN_LEN, n) != 0;
    pthread_mutex_lock(&s->mu);
    s->bytes += n;
    s->sum_a = a;
    s->sum_b = b;
    s->bad_chunks += bad;
    if (d->payload_offset + d->data_len == d->payload_len) {
        s->frames++;
        if (d->fin) {
            s->messages++;
            pthread_cond_broadcast(&s->cv);
        }
    }
    pthread_mutex_unlock(&s->mu);
}

static long vm_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) {
        return -1;
    }
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
        }
    }
    fclose(f);
    return kb;
}

/* What the flat-memory check measures, in kB: VmRSS, or live heap bytes under ASan. */
static long memory_kb(void)
{
#ifdef HOSTILE_ASAN
    return (long)(__sanitizer_get_current_allocated_bytes() / 1024);
#else
    return vm_rss_kb();
#endif
}

static unsigned char *make_pattern(void)
{
    unsigned char *p = malloc(2 * (size_t)PATTERN_LEN);
    if (p == NULL) {
        return NULL;
    }
    uint32_t x = 0x12345678u;
    for (uint32_t i = 0; i < PATTERN_LEN; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)(x >> 24);
    }
    memcpy(p + PATTERN_LEN, p, PATTERN_LEN);
    return p;
}

/* The checksum of `total` bytes of the pattern stream: whole pattern periods are folded in at once
 * (appending a block of length L with sums (A, B) to (a, b) gives (a + A, b + L*a + B)). */
static void expected_sums(const unsigned char *pattern, uint64_t total, uint64_t *out_a, uint64_t *out_b)
{
    uint64_t pa = 0, pb = 0, ra = 0, rb = 0;
    uint64_t rem = total % PATTERN_LEN;
    for (uint32_t i = 0; i < PATTERN_LEN; i++) {
        pa += pattern[i];
        pb += pa;
        if (i + 1 == rem) {
            ra = pa;
            rb = pb;
        }
    }
    uint64_t a = 0, b = 0;
    for (uint64_t q = total / PATTERN_LEN; q > 0; q--) {
        b += (uint64_t)PATTERN_LEN * a + pb;
        a += pa;
    }
    b += rem * a + rb;
    a += ra;
    *out_a = a;
    *out_b = b;
}

static uint64_t g_stream_bytes;

/* A long binary message is streamed through: every byte arrives in order, the client's memory
 * stays flat (the client never buffers a message; DATA chunks are buffer_size). */
static void stream_of_one_long_message(uint64_t total, int fsize, const char *what)
{
    stream_t s = { 0 };
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    unsigned char *pattern = make_pattern();
    if (!CHECK(pattern != NULL)) {
        return;
    }
    s.pattern = pattern;
    uint64_t want_a, want_b;
    expected_sums(pattern, total, &want_a, &want_b);

    char path[128], uri[200];
    snprintf(path, sizeof(path), "/h?fsize=%d&stream=%llu", fsize, (unsigned long long)total);
    integ_server_uri(&g_srv, path, uri, sizeof(uri));
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.disable_auto_reconnect = true;
    cfg.network_timeout_ms = 5000;
    cfg.buffer_size = 16384;
    integ_server_drain(&g_srv);
    esp_websocket_client_handle_t c = esp_websocket_client_init(&cfg);
    if (CHECK(c != NULL)) {
        CHECK(esp_websocket_register_events(c, WEBSOCKET_EVENT_ANY, stream_handler, &s) == ESP_OK);
        long rss0 = vm_rss_kb(), mem0 = memory_kb();
        int64_t t0 = integ_now_ms();
        CHECK(esp_websocket_client_start(c) == ESP_OK);
        pthread_mutex_lock(&s.mu);
        int64_t deadline = t0 + 40000;
        while (s.messages == 0 && s.errors == 0 && integ_now_ms() < deadline) {
            pthread_mutex_unlock(&s.mu);
            integ_sleep_ms(20);
            pthread_mutex_lock(&s.mu);
        }
        uint64_t got = s.bytes, sum_a = s.sum_a, sum_b = s.sum_b, bad = s.bad_chunks;
        int msgs = s.messages, errs = s.errors, frames = s.frames;
        pthread_mutex_unlock(&s.mu);
        int64_t dt = integ_now_ms() - t0;
        long rss1 = vm_rss_kb(), mem1 = memory_kb();
        printf("    %s: %llu bytes in %d frames in %lld ms (%.1f MiB/s), VmRSS %ld -> %ld kB (%+ld kB)\n", what,
               (unsigned long long)got, frames, (long long)dt, dt > 0 ? (double)got / 1048576.0 / ((double)dt / 1000.0) : 0.0,
               rss0, rss1, rss1 - rss0);
        CHECK(msgs == 1 && errs == 0, "%s: messages %d, errors %d", what, msgs, errs);
        CHECK(got == total, "%s: %llu of %llu bytes arrived", what, (unsigned long long)got, (unsigned long long)total);
        CHECK(bad == 0, "%s: %llu chunks differ from the pattern", what, (unsigned long long)bad);
        CHECK(sum_a == want_a && sum_b == want_b, "%s: checksum %llx/%llx, expected %llx/%llx", what,
              (unsigned long long)sum_a, (unsigned long long)sum_b, (unsigned long long)want_a,
              (unsigned long long)want_b);
#ifdef HOSTILE_ASAN
        printf("    %s: live heap (ASan) %ld -> %ld kB\n", what, mem0, mem1);
#endif
        CHECK(mem0 > 0 && mem1 - mem0 < 8 * 1024, "%s: memory grew by %ld kB", what, mem1 - mem0);
        CHECK(esp_websocket_client_destroy(c) == ESP_OK);
    }
    free(pattern);
    pthread_cond_destroy(&s.cv);
    pthread_mutex_destroy(&s.mu);
}

static void long_message_in_1mib_frames_streams_with_flat_memory(void)
{
    stream_of_one_long_message(g_stream_bytes, 1048576, "1 MiB frames");
}

static void long_message_in_one_frame_streams_with_flat_memory(void)
{
    stream_of_one_long_message(g_stream_bytes, 0, "one frame");
}

/* 10,000 PINGs in one burst: PONGs are bounded by the PINGs (5.5.3 lets a client answer only the
 * latest), each carries a PING's payload, and a text sent after the flood still arrives. */
static void ping_flood_is_answered_within_bounds(void)
{
    run_t r;
    if (run_start(&r, "pings=10000&f=81:616674657220666c6f6f64", NULL)) {
        CHECK(integ_rec_wait_msgs(&r.rec, 1, 15000), "the text after the flood did not arrive");
        const integ_msg_t *m = integ_rec_msg(&r.rec, 0);
        CHECK(m != NULL && m->len == 11 && memcmp(m->data, "after flood", 11) == 0, "wrong text after the flood");
        CHECK(integ_server_wait_line(&g_srv, "SCRIPT-DONE", NULL, 0, 5000));
        /* let the last PONGs reach the server, then count */
        int pongs = -1, prev;
        do {
            prev = pongs;
            integ_sleep_ms(300);
            pongs = frames_since(&r, 1);
        } while (pongs != prev);
        printf("    10000 PINGs answered with %d PONGs\n", pongs);
        CHECK(pongs >= 1 && pongs <= 10000, "%d PONGs for 10000 PINGs", pongs);
        CHECK(frames_since(&r, 2) == pongs, "a PONG without a PING's payload");
        expect_healthy(&r, "PING flood");
    }
    run_end(&r);
}

/* The server vanishes in the middle of a 1000-byte frame after 300 bytes: DISCONNECTED, only
 * whole chunks of what arrived are delivered (buffer_size 100), no message completes. */
static void server_vanishing_mid_frame(const char *end, const char *what)
{
    char q[128];
    snprintf(q, sizeof(q), "w=827e03e8&z=300&sleep=150&end=%s", end);
    opts_t o = { .buffer_size = 100 };
    run_t r;
    if (run_start(&r, q, &o)) {
        CHECK(integ_rec_wait_event(&r.rec, WEBSOCKET_EVENT_DISCONNECTED, 1, 4000), "%s: no DISCONNECTED", what);
        CHECK(integ_rec_wait_event(&r.rec, WEBSOCKET_EVENT_FINISH, 1, 4000), "%s: the task did not end", what);
        CHECK(integ_rec_count(&r.rec, WEBSOCKET_EVENT_ERROR) == 1, "%s: ERROR x%d", what,
              integ_rec_count(&r.rec, WEBSOCKET_EVENT_ERROR));
        pthread_mutex_lock(&r.rec.mu);
        size_t got = r.rec.acc_len;
        bool all_a = true;
        for (size_t i = 0; i < got; i++) {
            all_a = all_a && r.rec.acc[i] == 'a';
        }
        int chunks = r.rec.data_chunks;
        pthread_mutex_unlock(&r.rec.mu);
        CHECK(got == 300 && chunks == 3 && all_a, "%s: %zu bytes in %d DATA chunks (expected the 300 that arrived, "
              "in 3 chunks of 100)", what, got, chunks);
        CHECK(integ_rec_msg_count(&r.rec) == 0, "%s: a message completed", what);
        char msg[512];
        esp_websocket_error_codes_t eh;
        err_snapshot(&r, msg, sizeof(msg), &eh);
        if (strcmp(end, "rst") == 0) {
            CHECK(eh.esp_transport_sock_errno == ECONNRESET, "%s: errno %d in error_handle ('%s')", what,
                  eh.esp_transport_sock_errno, msg);
        } else {
            CHECK(strstr(msg, "closed by the server") != NULL, "%s: ERROR '%s'", what, msg);
        }
        if (getenv("INTEG_VERBOSE")) {
            fprintf(stderr, "    %s: ERROR %s\n", what, msg);
        }
    }
    run_end(&r);
}

static void server_reset_mid_frame_disconnects(void)
{
    server_vanishing_mid_frame("rst", "RST mid-frame");
}

static void server_fin_mid_frame_disconnects(void)
{
    server_vanishing_mid_frame("fin", "FIN mid-frame");
}

int main(int argc, char **argv)
{
    integ_init(argc, argv, 110);
    const char *mb = getenv("INTEG_HOSTILE_STREAM_MB");
    g_stream_bytes = (uint64_t)(mb != NULL && atoi(mb) > 0 ? atoi(mb) : 1024) << 20;
    if (!integ_server_start(&g_srv, INTEG_SRV_HOSTILE)) {
        return integ_finish();
    }
    RUN_CASE(rfc6455_5_2_rsv_bits_fail_with_1002);
    RUN_CASE(rfc6455_5_2_rsv_clear_text_is_delivered);
    RUN_CASE(rfc6455_5_2_reserved_opcodes_fail_with_1002);
    RUN_CASE(rfc6455_5_2_binary_opcode_is_delivered);
    RUN_CASE(rfc6455_5_1_masked_server_frame_fails_with_1002);
    RUN_CASE(rfc6455_5_5_control_frame_of_126_bytes_fails_with_1002);
    RUN_CASE(rfc6455_5_5_control_frame_of_125_bytes_is_answered);
    RUN_CASE(rfc6455_5_5_fragmented_control_frame_fails_with_1002);
    RUN_CASE(rfc6455_5_5_final_ping_is_answered);
    RUN_CASE(rfc6455_5_2_non_minimal_16bit_length_fails_with_1002);
    RUN_CASE(rfc6455_5_2_minimal_16bit_length_is_delivered);
    RUN_CASE(rfc6455_5_2_non_minimal_64bit_length_fails_with_1002);
    RUN_CASE(rfc6455_5_2_minimal_64bit_length_is_delivered);
    RUN_CASE(rfc6455_5_2_64bit_length_top_bit_fails_with_1002);
    RUN_CASE(rfc6455_7_4_1_frame_of_2e63_minus_1_bytes_fails_with_1009);
    RUN_CASE(rfc6455_5_4_continuation_without_message_fails_with_1002);
    RUN_CASE(rfc6455_5_4_continuation_of_a_message_is_delivered);
    RUN_CASE(rfc6455_5_4_data_frame_inside_fragmented_message_fails_with_1002);
    RUN_CASE(rfc6455_5_4_control_frame_inside_fragmented_message_is_allowed);
    RUN_CASE(rfc6455_8_1_invalid_utf8_split_anywhere_fails_with_1007);
    RUN_CASE(rfc6455_8_1_valid_utf8_split_anywhere_is_delivered);
    RUN_CASE(rfc6455_8_1_truncated_utf8_at_fin_fails_with_1007);
    RUN_CASE(rfc6455_8_1_sequence_completed_in_next_fragment_is_delivered);
    RUN_CASE(rfc6455_7_4_close_with_invalid_code_fails_with_1002);
    RUN_CASE(rfc6455_7_4_close_with_valid_code_is_echoed);
    RUN_CASE(rfc6455_5_5_1_close_with_1_byte_body_fails_with_1002);
    RUN_CASE(rfc6455_5_5_1_close_reason_invalid_utf8_fails_with_1007);
    RUN_CASE(rfc6455_5_5_1_close_reason_valid_utf8_is_echoed);
    RUN_CASE(rfc6455_5_5_1_data_after_close_is_not_delivered);
    RUN_CASE(rfc6455_5_5_1_data_before_close_is_delivered);
    RUN_CASE(rfc6455_4_1_status_other_than_101_fails);
    RUN_CASE(rfc6455_4_1_wrong_accept_fails);
    RUN_CASE(rfc6455_4_1_missing_upgrade_fails);
    RUN_CASE(rfc6455_4_1_correct_101_connects);
    RUN_CASE(response_header_limit_bounds_an_endless_header);
    RUN_CASE(response_header_limit_refuses_100kb_of_headers);
    RUN_CASE(response_header_limit_raised_accepts_100kb_of_headers);
    RUN_CASE(network_timeout_bounds_a_dripping_handshake);
    RUN_CASE(network_timeout_allows_a_fast_drip);
    RUN_CASE(ping_flood_is_answered_within_bounds);
    RUN_CASE(server_reset_mid_frame_disconnects);
    RUN_CASE(server_fin_mid_frame_disconnects);
    RUN_CASE(long_message_in_1mib_frames_streams_with_flat_memory);
    RUN_CASE(long_message_in_one_frame_streams_with_flat_memory);
    integ_server_stop(&g_srv);
    return integ_finish();
}
