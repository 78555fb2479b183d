/*
 * test_engine_binding.c - the engine binding (component/src/ws_engine.c) against the real
 * engine.wasm: instance and slots, the slot layout, the opening handshake both ways, the receive
 * loop of docs/engine-abi.md, send framing, the error table, and recovery from a trap.
 *
 * Wire vectors: RFC 6455 section 1.3 (key "the sample nonce" -> accept
 * "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") and section 5.7 (unmasked "Hello" = 81 05 48 65 6c 6c 6f).
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ws_engine.h"

#include "check.h"

#define BUF 1024u
static const char KEY[16] = "the sample nonce";           /* RFC 6455 1.3 */
static const char ACCEPT[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

static uint32_t io(const ws_engine_slot_t *s, uint32_t f) { return ws_engine_io(s, f); }
static uint8_t *rxw(const ws_engine_slot_t *s) { return ws_engine_ptr(s, io(s, WSE_C_RX_PTR)); }
static uint8_t *txw(const ws_engine_slot_t *s) { return ws_engine_ptr(s, io(s, WSE_C_TX_PTR)); }

static bool contains(const uint8_t *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++) {
        if (memcmp(hay + i, needle, k) == 0) {
            return true;
        }
    }
    return false;
}

/* Lays the hs_request inputs into the rx window and builds the request. Returns its length. */
static int32_t build_request(ws_engine_slot_t *s, const char *host, const char *path, const char *auth,
                             const char *hdrs)
{
    const char *ua = "test-agent";
    uint8_t *p = rxw(s);
    size_t o = 0;
    memcpy(p + o, KEY, 16); o += 16;
    memcpy(p + o, host, strlen(host)); o += strlen(host);
    memcpy(p + o, path, strlen(path)); o += strlen(path);
    memcpy(p + o, ua, strlen(ua)); o += strlen(ua);
    memcpy(p + o, auth, strlen(auth)); o += strlen(auth);
    memcpy(p + o, hdrs, strlen(hdrs));
    return ws_engine_hs_request(s, 8080, (uint32_t)strlen(host), (uint32_t)strlen(path), 0,
                                (uint32_t)strlen(ua), (uint32_t)strlen(auth), (uint32_t)strlen(hdrs));
}

/* Collected results of feeding bytes through the receive loop. */
typedef struct {
    int headers, opens, errors, closes, data;
    int last_error, close_code;
    uint8_t payload[4096];
    size_t payload_len;
    uint32_t last_opcode, last_fin;
    uint8_t ctl[1024];
    size_t ctl_len;
} feed_result_t;

static void collect(ws_engine_slot_t *s, feed_result_t *r)
{
    ws_engine_event_t ev[WS_ENGINE_EVENT_CAP];
    uint32_t ctl_len = io(s, WSE_C_CTL_LEN);
    if (ctl_len > 0 && r->ctl_len + ctl_len <= sizeof r->ctl) {
        memcpy(r->ctl + r->ctl_len, ws_engine_ptr(s, io(s, WSE_C_CTL_PTR)), ctl_len);
        r->ctl_len += ctl_len;
    }
    uint32_t n = ws_engine_events(s, ev, WS_ENGINE_EVENT_CAP);
    for (uint32_t i = 0; i < n; i++) {
        switch (ev[i].type) {
        case WSE_EV_HEADER: r->headers++; break;
        case WSE_EV_OPEN: r->opens++; break;
        case WSE_EV_ERROR: r->errors++; r->last_error = (int)ev[i].code; break;
        case WSE_EV_CLOSE: r->closes++; r->close_code = (int)ev[i].code; break;
        case WSE_EV_DATA:
            r->data++;
            r->last_opcode = ev[i].opcode;
            r->last_fin = ev[i].fin;
            if (r->payload_len + ev[i].len <= sizeof r->payload) {
                memcpy(r->payload + r->payload_len, ws_engine_ptr(s, ev[i].ptr), ev[i].len);
                r->payload_len += ev[i].len;
            }
            break;
        default: break;
        }
    }
}

/* The receive loop of docs/engine-abi.md, reading `in` in pieces of `step` bytes. */
static void feed(ws_engine_slot_t *s, const uint8_t *in, size_t len, size_t step, feed_result_t *r)
{
    uint32_t keep = 0;
    size_t off = 0;
    while (off < len) {
        uint32_t room = io(s, WSE_C_RX_CAP) - keep;
        size_t n = len - off < step ? len - off : step;
        if (n > room) {
            n = room;
        }
        memcpy(rxw(s) + keep, in + off, n);
        off += n;
        int32_t count = ws_engine_recv(s, keep + (uint32_t)n, 1000, 0x11223344, 0x55667788);
        CHECK(count >= 0);
        if (count < 0) {
            return;
        }
        for (;;) {
            collect(s, r);
            uint32_t koff = io(s, WSE_C_KEEP_OFF), klen = io(s, WSE_C_KEEP_LEN);
            memmove(rxw(s), rxw(s) + koff, klen);
            keep = klen;
            if (io(s, WSE_C_MORE) == 0) {
                break;
            }
            count = ws_engine_recv(s, keep, 1000, 0x11223344, 0x55667788);
            CHECK(count >= 0);
            if (count < 0) {
                return;
            }
        }
    }
}

static size_t response(uint8_t *out, const char *accept, const uint8_t *tail, size_t tail_len)
{
    int n = sprintf((char *)out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
    if (tail_len > 0) {
        memcpy(out + n, tail, tail_len);
    }
    return (size_t)n + tail_len;
}

static void open_slot(ws_engine_slot_t *s)
{
    CHECK_EQ(ws_engine_acquire(s), 0);
    CHECK_EQ(ws_engine_conn_reset(s), 0);
}

/* ---- tests ---- */

static void test_instance_is_created_lazily_with_the_announced_buffer(void)
{
    ws_engine_want_buf(BUF);
    ws_engine_slot_t s;
    CHECK_EQ(ws_engine_acquire(&s), 0);
    CHECK_EQ(ws_engine_mem_size(), (uint32_t)ws_engine_mem_need(BUF));   /* default limit 0: the layout */
    CHECK(ws_engine_generation() >= 1);
    CHECK_EQ(ws_engine_buf_size(), BUF);
    CHECK_EQ(s.buf_size, BUF);
    CHECK(ws_engine_alive(&s));
    CHECK_EQ(ws_engine_slots_in_use(), 1);
    ws_engine_release(&s);
    CHECK_EQ(ws_engine_slots_in_use(), 0);
    CHECK(!ws_engine_alive(&s));   /* a released handle is empty */
}

static void test_slot_layout_follows_the_abi_sizes_and_slots_do_not_overlap(void)
{
    ws_engine_slot_t s[WS_ENGINE_MAX_CONNS];
    for (int i = 0; i < WS_ENGINE_MAX_CONNS; i++) {
        CHECK_EQ(ws_engine_acquire(&s[i]), 0);
        CHECK_EQ(s[i].slot, i);
    }
    for (int i = 0; i < WS_ENGINE_MAX_CONNS; i++) {
        CHECK_EQ(io(&s[i], WSE_C_RX_CAP), BUF + 16 > WSE_RX_MIN ? BUF + 16 : WSE_RX_MIN);
        CHECK_EQ(io(&s[i], WSE_C_TX_CAP), BUF);
        CHECK_EQ(io(&s[i], WSE_C_EV_CAP), WS_ENGINE_EVENT_CAP);
        uint32_t lo[4] = { io(&s[i], WSE_C_RX_PTR), io(&s[i], WSE_C_TX_PTR), io(&s[i], WSE_C_EV_PTR), s[i].conn };
        uint32_t hi[4] = { lo[0] + io(&s[i], WSE_C_RX_CAP), lo[1] + WSE_TX_HDR + BUF,
                           lo[2] + WS_ENGINE_EVENT_CAP * WSE_EV_SIZE, lo[3] + WSE_CONN_SIZE };
        for (int j = 0; j < WS_ENGINE_MAX_CONNS; j++) {
            if (j == i) {
                continue;
            }
            for (int k = 0; k < 4; k++) {
                /* no region of slot i contains the record of slot j */
                CHECK(!(s[j].conn >= lo[k] && s[j].conn < hi[k]));
            }
        }
    }
    /* every slot taken: one more is refused */
    ws_engine_slot_t extra;
    CHECK_EQ(ws_engine_acquire(&extra), WS_ENGINE_E_FULL);
    ws_engine_release(&s[3]);
    CHECK_EQ(ws_engine_acquire(&extra), 0);
    CHECK_EQ(extra.slot, 3);
    ws_engine_release(&extra);
    for (int i = 0; i < WS_ENGINE_MAX_CONNS; i++) {
        ws_engine_release(&s[i]);
    }
}

static void test_hs_request_builds_the_rfc6455_request(void)
{
    ws_engine_slot_t s;
    open_slot(&s);
    int32_t n = build_request(&s, "example.com", "/chat?x=1", "user:pass", "X-One: 1\r\n");
    CHECK(n > 0);
    const uint8_t *req = txw(&s);
    CHECK(memcmp(req, "GET /chat?x=1 HTTP/1.1\r\n", 24) == 0);
    CHECK(contains(req, (size_t)n, "\r\nHost: example.com:8080\r\n"));
    CHECK(contains(req, (size_t)n, "\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
    CHECK(contains(req, (size_t)n, "\r\nSec-WebSocket-Version: 13\r\n"));
    CHECK(contains(req, (size_t)n, "\r\nAuthorization: Basic dXNlcjpwYXNz\r\n"));   /* base64("user:pass") */
    CHECK(contains(req, (size_t)n, "\r\nX-One: 1\r\n"));
    CHECK(memcmp(req + n - 4, "\r\n\r\n", 4) == 0);
    CHECK_EQ(io(&s, WSE_C_STATE), WSE_STATE_CONNECTING);
    ws_engine_release(&s);
}

static void test_hs_request_refuses_a_host_with_crlf(void)
{
    ws_engine_slot_t s;
    open_slot(&s);
    CHECK_EQ(build_request(&s, "evil\r\nX: y", "/", "", ""), -WSE_ERR_REQ_HOST);
    /* and without credentials there is no Authorization header */
    CHECK_EQ(ws_engine_conn_reset(&s), 0);
    int32_t n = build_request(&s, "example.com", "/", "", "");
    CHECK(n > 0);
    CHECK(!contains(txw(&s), n > 0 ? (size_t)n : 0, "Authorization"));
    ws_engine_release(&s);
}

static const uint8_t HELLO[] = { 0x81, 0x05, 'H', 'e', 'l', 'l', 'o' };   /* RFC 6455 5.7 */

static void run_handshake_then_hello(size_t step)
{
    ws_engine_slot_t s;
    open_slot(&s);
    CHECK(build_request(&s, "example.com", "/", "", "") > 0);
    uint8_t wire[512];
    size_t len = response(wire, ACCEPT, HELLO, sizeof HELLO);
    feed_result_t r;
    memset(&r, 0, sizeof r);
    feed(&s, wire, len, step, &r);
    CHECK_EQ(r.headers, 3);
    CHECK_EQ(r.opens, 1);
    CHECK_EQ(r.errors, 0);
    CHECK_EQ(r.payload_len, 5);
    CHECK(memcmp(r.payload, "Hello", 5) == 0);
    CHECK_EQ(r.last_fin, 1);
    CHECK_EQ(io(&s, WSE_C_STATE), WSE_STATE_OPEN);
    ws_engine_release(&s);
}

static void test_recv_accepts_a_valid_101_and_delivers_bytes_packed_after_it(void)
{
    run_handshake_then_hello(100000);   /* everything in one read */
}

static void test_recv_loop_gives_the_same_result_split_byte_by_byte(void)
{
    run_handshake_then_hello(1);
    run_handshake_then_hello(7);
}

static void test_recv_fails_a_101_with_the_wrong_accept(void)
{
    ws_engine_slot_t s;
    open_slot(&s);
    CHECK(build_request(&s, "example.com", "/", "", "") > 0);
    uint8_t wire[512];
    size_t len = response(wire, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", HELLO, sizeof HELLO);
    feed_result_t r;
    memset(&r, 0, sizeof r);
    feed(&s, wire, len, 100000, &r);
    CHECK_EQ(r.opens, 0);
    CHECK_EQ(r.errors, 1);
    CHECK_EQ(r.last_error, WSE_ERR_RESP_ACCEPT);
    CHECK_EQ(r.payload_len, 0);
    CHECK_EQ(io(&s, WSE_C_STATE), WSE_STATE_FAILED);
    ws_engine_release(&s);
}

/* Brings a slot to OPEN. */
static void open_connection(ws_engine_slot_t *s)
{
    open_slot(s);
    CHECK(build_request(s, "example.com", "/", "", "") > 0);
    uint8_t wire[512];
    size_t len = response(wire, ACCEPT, NULL, 0);
    feed_result_t r;
    memset(&r, 0, sizeof r);
    feed(s, wire, len, 100000, &r);
    CHECK_EQ(r.opens, 1);
}

/* Parses one client frame; returns the payload length and unmasks into out. */
static long parse_client_frame(const uint8_t *f, size_t n, uint8_t *b0, uint8_t *out)
{
    if (n < 2 || (f[1] & 0x80) == 0) {
        return -1;   /* client frames are always masked (RFC 6455 5.3) */
    }
    size_t hl = 2;
    uint64_t len = f[1] & 0x7f;
    if (len == 126) {
        len = ((uint64_t)f[2] << 8) | f[3];
        hl = 4;
    } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++) {
            len = (len << 8) | f[2 + i];
        }
        hl = 10;
    }
    const uint8_t *key = f + hl;
    hl += 4;
    if (hl + len != n) {
        return -1;
    }
    for (uint64_t i = 0; i < len; i++) {
        out[i] = f[hl + i] ^ key[i & 3];
    }
    *b0 = f[0];
    return (long)len;
}

static void test_send_frames_round_trip_with_every_length_encoding(void)
{
    ws_engine_slot_t s;
    open_connection(&s);
    static const uint32_t lens[] = { 0, 1, 125, 126, 1000, BUF };
    uint8_t payload[BUF], back[BUF];
    for (uint32_t i = 0; i < BUF; i++) {
        payload[i] = (uint8_t)(i * 7 + 3);
    }
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        uint32_t len = lens[k];
        memcpy(txw(&s) + WSE_TX_HDR, payload, len);
        int32_t st = ws_engine_send(&s, 0x2 | 0x80, len, 0xA1B2C3D4u, 2000);
        CHECK(st >= 0 && st <= (int32_t)WSE_TX_HDR);
        if (st < 0) {
            continue;
        }
        uint8_t b0 = 0;
        long got = parse_client_frame(txw(&s) + st, WSE_TX_HDR - (uint32_t)st + len, &b0, back);
        CHECK_EQ(got, len);
        CHECK_EQ(b0, 0x82);
        CHECK(memcmp(back, payload, len) == 0);
        /* the minimal length encoding decides where the frame starts */
        uint32_t hdr = len < 126 ? 6 : 8;
        CHECK_EQ(st, WSE_TX_HDR - hdr);
    }
    /* a payload larger than the tx window is refused */
    CHECK_EQ(ws_engine_send(&s, 0x2 | 0x80, BUF + 1, 1, 2000), -WSE_ERR_SEND_TOO_LONG);
    ws_engine_release(&s);
}

static void test_send_before_open_is_refused(void)
{
    ws_engine_slot_t s;
    open_slot(&s);
    memcpy(txw(&s) + WSE_TX_HDR, "x", 1);
    CHECK_EQ(ws_engine_send(&s, 0x1 | 0x80, 1, 1, 0), -WSE_ERR_NOT_OPEN);
    ws_engine_release(&s);
}

static void test_server_ping_is_answered_with_a_pong_in_ctl_and_delivered(void)
{
    ws_engine_slot_t s;
    open_connection(&s);
    static const uint8_t ping[] = { 0x89, 0x03, 'a', 'b', 'c' };
    feed_result_t r;
    memset(&r, 0, sizeof r);
    feed(&s, ping, sizeof ping, 100000, &r);
    CHECK_EQ(r.data, 1);
    CHECK_EQ(r.last_opcode, 0x9);
    uint8_t b0 = 0, body[8];
    CHECK_EQ(parse_client_frame(r.ctl, r.ctl_len, &b0, body), 3);
    CHECK_EQ(b0, 0x8A);
    CHECK(memcmp(body, "abc", 3) == 0);
    ws_engine_release(&s);
}

static void test_server_close_is_echoed_with_its_code(void)
{
    ws_engine_slot_t s;
    open_connection(&s);
    static const uint8_t close_frame[] = { 0x88, 0x04, 0x03, 0xE9, 'o', 'k' };   /* 1001 "ok" */
    feed_result_t r;
    memset(&r, 0, sizeof r);
    feed(&s, close_frame, sizeof close_frame, 100000, &r);
    CHECK_EQ(r.closes, 1);
    CHECK_EQ(r.close_code, 1001);
    CHECK_EQ(io(&s, WSE_C_CLOSE_RX), 1001);
    uint8_t b0 = 0, body[8];
    CHECK_EQ(parse_client_frame(r.ctl, r.ctl_len, &b0, body), 2);
    CHECK_EQ(b0, 0x88);
    CHECK_EQ((body[0] << 8) | body[1], 1001);
    ws_engine_release(&s);
}

static void test_protocol_error_fails_with_1002_queued(void)
{
    ws_engine_slot_t s;
    open_connection(&s);
    static const uint8_t rsv[] = { 0xC1, 0x01, 'x' };   /* RSV1 without an extension */
    feed_result_t r;
    memset(&r, 0, sizeof r);
    feed(&s, rsv, sizeof rsv, 100000, &r);
    CHECK_EQ(r.errors, 1);
    CHECK_EQ(r.last_error, WSE_ERR_RSV);
    CHECK_EQ(r.data, 0);
    uint8_t b0 = 0, body[8];
    CHECK_EQ(parse_client_frame(r.ctl, r.ctl_len, &b0, body), 2);
    CHECK_EQ((body[0] << 8) | body[1], 1002);
    ws_engine_release(&s);
}

static void test_error_table_matches_the_engine(void)
{
    for (unsigned i = 0; i < WSE_ERROR_COUNT; i++) {
        const wse_error_info_t *e = &wse_error_table[i];
        CHECK_EQ(ws_engine_err_close_code(e->code), e->close_code);
        CHECK(strcmp(ws_engine_strerror(e->code), e->message) == 0);
        CHECK(strcmp(ws_engine_strerror(-e->code), e->message) == 0);
    }
    CHECK_EQ(ws_engine_err_close_code(WSE_ERR_UTF8), 1007);
    CHECK_EQ(ws_engine_err_close_code(WSE_ERR_MSG_TOO_BIG), 1009);
    CHECK_EQ(ws_engine_err_close_code(WSE_ERR_PONG_TIMEOUT), 0);
    CHECK(strcmp(ws_engine_strerror(12345), "unknown engine error") == 0);
}

static void test_uri_parse_copies_the_parts_out(void)
{
    ws_engine_uri_t u;
    const char *uri = "wss://user:pw@example.com:8443/chat?x=1";
    CHECK_EQ(ws_engine_uri_parse(uri, strlen(uri), &u), 0);
    CHECK(u.tls);
    CHECK_EQ(u.port, 8443);
    CHECK(u.host != NULL && strcmp(u.host, "example.com") == 0);
    CHECK(u.path != NULL && strcmp(u.path, "/chat?x=1") == 0);
    CHECK(u.userinfo != NULL && strcmp(u.userinfo, "user:pw") == 0);
    ws_engine_uri_free(&u);

    uri = "ws://[::1]?q=2";
    CHECK_EQ(ws_engine_uri_parse(uri, strlen(uri), &u), 0);
    CHECK(!u.tls);
    CHECK(u.ipv6);
    CHECK_EQ(u.port, 80);
    CHECK(u.host != NULL && strcmp(u.host, "::1") == 0);
    CHECK(u.path != NULL && strcmp(u.path, "/?q=2") == 0);
    CHECK(u.userinfo == NULL);
    ws_engine_uri_free(&u);

    uri = "http://example.com/";
    CHECK_EQ(ws_engine_uri_parse(uri, strlen(uri), &u), -WSE_ERR_URI_SCHEME);
    CHECK(u.host == NULL);
    char big[WS_ENGINE_URI_MAX + 2];
    memset(big, 'a', sizeof big);
    memcpy(big, "ws://", 5);
    CHECK_EQ(ws_engine_uri_parse(big, sizeof big, &u), -WSE_ERR_URI_TOO_LONG);
}

static void test_a_trap_kills_only_that_instance_and_the_next_one_works(void)
{
    ws_engine_slot_t held;
    open_connection(&held);
    uint32_t gen = ws_engine_generation();
    uint32_t traps = ws_engine_trap_count();

    /* contrapositive first: ordinary calls do not count as traps */
    CHECK_EQ(ws_engine_tick(&held, 3000, 1), 0);
    CHECK_EQ(ws_engine_trap_count(), traps);

    CHECK_EQ(ws_engine_debug_force_trap(), 1);
    CHECK_EQ(ws_engine_trap_count(), traps + 1);
    CHECK(!ws_engine_alive(&held));
    CHECK_EQ(ws_engine_conn_reset(&held), WS_ENGINE_E_DEAD);
    CHECK_EQ(ws_engine_tick(&held, 3000, 1), WS_ENGINE_E_DEAD);
    /* the dead instance's memory stays readable while the slot is held */
    CHECK_EQ(io(&held, WSE_C_STATE), WSE_STATE_OPEN);

    ws_engine_slot_t fresh;
    CHECK_EQ(ws_engine_acquire(&fresh), 0);
    CHECK(ws_engine_generation() > gen);
    CHECK_EQ(fresh.gen, ws_engine_generation());
    CHECK(fresh.inst != held.inst);
    CHECK_EQ(ws_engine_conn_reset(&fresh), 0);
    CHECK(build_request(&fresh, "example.com", "/", "", "") > 0);
    ws_engine_release(&held);   /* frees the dead instance */
    ws_engine_release(&fresh);
    CHECK(ws_engine_alive(&fresh) == false);
}

static void test_a_larger_buffer_waits_until_no_slot_is_held(void)
{
    ws_engine_slot_t a, b;
    CHECK_EQ(ws_engine_acquire(&a), 0);
    uint32_t before = ws_engine_buf_size();
    ws_engine_want_buf(before * 2);
    CHECK_EQ(ws_engine_acquire(&b), 0);
    CHECK_EQ(b.buf_size, before);           /* slots in use: the instance keeps its size */
    CHECK(b.inst == a.inst);
    ws_engine_release(&a);
    ws_engine_release(&b);
    CHECK_EQ(ws_engine_acquire(&a), 0);     /* idle: rebuilt with the larger size */
    CHECK_EQ(a.buf_size, before * 2);
    CHECK_EQ(io(&a, WSE_C_TX_CAP), before * 2);
    ws_engine_release(&a);
}

/* WS_ENGINE_MEM_LIMIT: at the layout's size every slot works up to the last byte of its event
 * area (the runtime really has no more memory); one byte less and the instance gets the largest
 * buf_size that fits; below the smallest buf_size's layout no instance is made. */
static void test_mem_limit_at_and_past_the_layout_size(void)
{
    ws_engine_slot_t s[WS_ENGINE_MAX_CONNS];
    CHECK_EQ(ws_engine_acquire(&s[0]), 0);
    uint32_t buf = s[0].buf_size;
    ws_engine_release(&s[0]);
    CHECK_EQ(ws_engine_shutdown(), 0);
    uint64_t need = ws_engine_mem_need(buf);

    ws_engine_set_mem_limit((uint32_t)need);
    for (int i = 0; i < WS_ENGINE_MAX_CONNS; i++) {
        CHECK_EQ(ws_engine_acquire(&s[i]), 0);
    }
    CHECK_EQ(s[0].buf_size, buf);
    /* both runtimes hold exactly the layout (wasm2c shrinks its page when init cannot grow it) */
    CHECK_EQ(ws_engine_mem_size(), (uint32_t)need);
    ws_engine_slot_t *last = &s[WS_ENGINE_MAX_CONNS - 1];
    /* the estimate is the real end of the layout, to within the allocator's rounding */
    uint64_t end = (uint64_t)io(last, WSE_C_EV_PTR) + WSE_ALIGN8(WS_ENGINE_EVENT_CAP * WSE_EV_SIZE);
    CHECK(end <= need);
    CHECK(need - end < 32);
    /* fill the last slot's event area: WS_ENGINE_EVENT_CAP one-byte frames after the 101 */
    CHECK_EQ(ws_engine_conn_reset(last), 0);
    CHECK(build_request(last, "example.com", "/", "", "") > 0);
    uint8_t frames[3 * WS_ENGINE_EVENT_CAP];
    for (int i = 0; i < WS_ENGINE_EVENT_CAP; i++) {
        frames[3 * i] = 0x82;
        frames[3 * i + 1] = 1;
        frames[3 * i + 2] = (uint8_t)i;
    }
    uint8_t wire[512 + sizeof frames];
    size_t len = response(wire, ACCEPT, frames, sizeof frames);
    feed_result_t r;
    memset(&r, 0, sizeof r);
    feed(last, wire, len, 100000, &r);
    CHECK_EQ(r.opens, 1);
    CHECK_EQ(r.data, WS_ENGINE_EVENT_CAP);
    CHECK_EQ(r.errors, 0);
    CHECK(ws_engine_alive(last));
    for (int i = 0; i < WS_ENGINE_MAX_CONNS; i++) {
        ws_engine_release(&s[i]);
    }
    CHECK_EQ(ws_engine_shutdown(), 0);

    /* one byte short: the largest buf_size that fits */
    ws_engine_set_mem_limit((uint32_t)need - 1);
    CHECK_EQ(ws_engine_acquire(&s[0]), 0);
    uint32_t fit = s[0].buf_size;
    CHECK(fit < buf && fit >= WS_ENGINE_MIN_BUF);
    CHECK(ws_engine_mem_need(fit) <= need - 1);
    CHECK(ws_engine_mem_need(fit + 1) > need - 1);
    CHECK_EQ(ws_engine_mem_size(), (uint32_t)ws_engine_mem_need(fit));
    CHECK_EQ(io(&s[0], WSE_C_TX_CAP), fit);
    ws_engine_release(&s[0]);
    CHECK_EQ(ws_engine_shutdown(), 0);

    /* at and past the smallest layout */
    uint64_t need_min = ws_engine_mem_need(WS_ENGINE_MIN_BUF);
    ws_engine_set_mem_limit((uint32_t)need_min);
    CHECK_EQ(ws_engine_acquire(&s[0]), 0);
    CHECK_EQ(s[0].buf_size, WS_ENGINE_MIN_BUF);
    ws_engine_release(&s[0]);
    CHECK_EQ(ws_engine_shutdown(), 0);
    ws_engine_set_mem_limit((uint32_t)need_min - 1);
    CHECK_EQ(ws_engine_acquire(&s[0]), WS_ENGINE_E_MEM_LIMIT);
    CHECK(s[0].inst == NULL);
    CHECK(strstr(ws_engine_strerror(WS_ENGINE_E_MEM_LIMIT), "MEM_LIMIT") != NULL);
    ws_engine_set_mem_limit(64);
    CHECK_EQ(ws_engine_acquire(&s[0]), WS_ENGINE_E_MEM_LIMIT);
    ws_engine_set_mem_limit(WS_ENGINE_MEM_LIMIT);
}

int main(void)
{
    printf("engine runtime: %s\n", ws_engine_runtime_name());
    test_instance_is_created_lazily_with_the_announced_buffer();
    test_slot_layout_follows_the_abi_sizes_and_slots_do_not_overlap();
    test_hs_request_builds_the_rfc6455_request();
    test_hs_request_refuses_a_host_with_crlf();
    test_recv_accepts_a_valid_101_and_delivers_bytes_packed_after_it();
    test_recv_loop_gives_the_same_result_split_byte_by_byte();
    test_recv_fails_a_101_with_the_wrong_accept();
    test_send_frames_round_trip_with_every_length_encoding();
    test_send_before_open_is_refused();
    test_server_ping_is_answered_with_a_pong_in_ctl_and_delivered();
    test_server_close_is_echoed_with_its_code();
    test_protocol_error_fails_with_1002_queued();
    test_error_table_matches_the_engine();
    test_uri_parse_copies_the_parts_out();
    test_a_trap_kills_only_that_instance_and_the_next_one_works();
    test_a_larger_buffer_waits_until_no_slot_is_held();
    test_mem_limit_at_and_past_the_layout_size();
    CHECK_EQ(ws_engine_shutdown(), 0);
    return check_finish();
}
