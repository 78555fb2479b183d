/*
 * test_client_session.c - the client core against a scripted server thread on loopback (in this
 * process, no external server): the request on the wire, bytes packed after the 101, send slicing
 * by buffer_size, the server's Close, and an engine trap during a live connection.
 *
 * The server computes Sec-WebSocket-Accept itself (SHA-1 of RFC 3174, base64 of RFC 4648), so a
 * wrong key handling in the client fails the handshake.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "esp_websocket_client.h"
#include "ws_client.h"
#include "ws_engine.h"

#include "check.h"

/* ---- SHA-1 (RFC 3174) and base64 (RFC 4648) for the server's accept value ---- */

static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1(const uint8_t *msg, size_t len, uint8_t out[20])
{
    uint32_t h[5] = { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0 };
    uint8_t block[64];
    uint64_t bits = (uint64_t)len * 8;
    size_t total = ((len + 8) / 64 + 1) * 64;
    for (size_t off = 0; off < total; off += 64) {
        for (size_t i = 0; i < 64; i++) {
            size_t p = off + i;
            block[i] = p < len ? msg[p] : p == len ? 0x80 : p >= total - 8 ? (uint8_t)(bits >> (8 * (total - 1 - p))) : 0;
        }
        uint32_t w[80];
        for (int i = 0; i < 16; i++) {
            w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 | (uint32_t)block[4 * i + 2] << 8 | block[4 * i + 3];
        }
        for (int i = 16; i < 80; i++) {
            w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        }
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int i = 0; i < 80; i++) {
            uint32_t f, k;
            if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999; }
            else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1; }
            else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC; }
            else { f = b ^ c ^ d; k = 0xCA62C1D6; }
            uint32_t t = rol(a, 5) + f + e + k + w[i];
            e = d; d = c; c = rol(b, 30); b = a; a = t;
        }
        h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
    }
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24); out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8); out[4 * i + 3] = (uint8_t)h[i];
    }
}

static void base64(const uint8_t *in, size_t n, char *out)
{
    static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = T[(v >> 18) & 63];
        out[o++] = T[(v >> 12) & 63];
        out[o++] = i + 1 < n ? T[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? T[v & 63] : '=';
    }
    out[o] = '\0';
}

/* ---- the scripted server ---- */

typedef enum { SCRIPT_HELLO_AFTER_101, SCRIPT_COLLECT_FRAMES, SCRIPT_CLOSE_4001, SCRIPT_IDLE } script_t;

typedef struct {
    int listen_fd;
    int port;
    script_t script;
    int connections;           /* to accept before leaving */
    char request[2048];        /* the first request received */
    /* SCRIPT_COLLECT_FRAMES / CLOSE: what the client sent */
    uint8_t frame_b0[16];
    size_t frame_len[16];
    atomic_int frames;         /* written last: the fields before it are then complete */
    uint8_t payload[4096];
    size_t payload_len;
    int close_echo_code;
    atomic_bool done;
} server_t;

static bool read_exact(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = recv(fd, p, n, 0);
        if (r <= 0) {
            return false;
        }
        p += r;
        n -= (size_t)r;
    }
    return true;
}

/* Reads one masked client frame; returns its payload length or -1. */
static long read_frame(int fd, uint8_t *b0, uint8_t *payload, size_t cap)
{
    uint8_t h[14];
    if (!read_exact(fd, h, 2)) {
        return -1;
    }
    uint64_t len = h[1] & 0x7f;
    if (len == 126) {
        if (!read_exact(fd, h + 2, 2)) return -1;
        len = (uint64_t)h[2] << 8 | h[3];
    } else if (len == 127) {
        if (!read_exact(fd, h + 2, 8)) return -1;
        len = 0;
        for (int i = 0; i < 8; i++) len = len << 8 | h[2 + i];
    }
    uint8_t key[4];
    if ((h[1] & 0x80) == 0 || !read_exact(fd, key, 4) || len > cap || !read_exact(fd, payload, (size_t)len)) {
        return -1;
    }
    for (uint64_t i = 0; i < len; i++) {
        payload[i] ^= key[i & 3];
    }
    *b0 = h[0];
    return (long)len;
}

static bool handshake(server_t *s, int fd, const uint8_t *tail, size_t tail_len)
{
    char req[2048];
    size_t n = 0;
    while (n < sizeof req - 1 && (n < 4 || memcmp(req + n - 4, "\r\n\r\n", 4) != 0)) {
        ssize_t r = recv(fd, req + n, 1, 0);
        if (r <= 0) {
            return false;
        }
        n++;
    }
    req[n] = '\0';
    if (s->request[0] == '\0') {
        memcpy(s->request, req, n + 1);
    }
    const char *k = strstr(req, "Sec-WebSocket-Key: ");
    if (k == NULL) {
        return false;
    }
    char key_guid[64 + 40];
    snprintf(key_guid, sizeof key_guid, "%.24s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", k + 19);
    uint8_t digest[20];
    sha1((const uint8_t *)key_guid, strlen(key_guid), digest);
    char accept[32];
    base64(digest, 20, accept);
    char resp[512];
    int m = snprintf(resp, sizeof resp, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
    if (tail_len > 0) {
        memcpy(resp + m, tail, tail_len);   /* in the same write: bytes packed after the 101 */
    }
    return send(fd, resp, (size_t)m + tail_len, 0) == (ssize_t)(m + tail_len);
}

static void *server_main(void *arg)
{
    server_t *s = arg;
    for (int conn = 0; conn < s->connections; conn++) {
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0) {
            break;
        }
        static const uint8_t hello[] = { 0x81, 0x05, 'H', 'e', 'l', 'l', 'o' };   /* RFC 6455 5.7 */
        bool ok = s->script == SCRIPT_HELLO_AFTER_101 ? handshake(s, fd, hello, sizeof hello) : handshake(s, fd, NULL, 0);
        if (ok && s->script == SCRIPT_COLLECT_FRAMES) {
            uint8_t b0;
            long len;
            while (s->frames < 16 && (len = read_frame(fd, &b0, s->payload + s->payload_len,
                                                        sizeof s->payload - s->payload_len)) >= 0) {
                int i = atomic_load(&s->frames);
                s->frame_b0[i] = b0;
                s->frame_len[i] = (size_t)len;
                s->payload_len += (size_t)len;
                atomic_store(&s->frames, i + 1);
                if (b0 & 0x80) {
                    break;   /* the message is complete */
                }
            }
        } else if (ok && s->script == SCRIPT_CLOSE_4001) {
            static const uint8_t close_frame[] = { 0x88, 0x05, 0x0F, 0xA1, 'b', 'y', 'e' };   /* 4001 "bye" */
            send(fd, close_frame, sizeof close_frame, 0);
            uint8_t b0, body[125];
            long len = read_frame(fd, &b0, body, sizeof body);
            if (len >= 2 && (b0 & 0x0f) == 0x8) {
                s->close_echo_code = body[0] << 8 | body[1];
            }
        } else if (ok) {
            uint8_t sink[256];
            while (recv(fd, sink, sizeof sink, 0) > 0) {   /* until the client drops TCP */
            }
        }
        close(fd);
    }
    atomic_store(&s->done, true);
    return NULL;
}

static pthread_t start_server(server_t *s, script_t script, int connections)
{
    memset(s, 0, sizeof *s);
    s->script = script;
    s->connections = connections;
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0 };
    bind(s->listen_fd, (struct sockaddr *)&a, sizeof a);
    listen(s->listen_fd, 4);
    socklen_t al = sizeof a;
    getsockname(s->listen_fd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    pthread_t t;
    pthread_create(&t, NULL, server_main, s);
    return t;
}

static void stop_server(server_t *s, pthread_t t)
{
    shutdown(s->listen_fd, SHUT_RDWR);
    close(s->listen_fd);
    pthread_join(t, NULL);
}

/* ---- the client side ---- */

typedef struct {
    atomic_int connected, disconnected, closed, error, finish, data;
    int close_code;
    int error_type;
    char data_text[64];
    int last_op;
} events_t;

static void handler(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)base;
    events_t *e = arg;
    esp_websocket_event_data_t *d = data;
    switch (id) {
    case WEBSOCKET_EVENT_CONNECTED: e->connected++; break;
    case WEBSOCKET_EVENT_DISCONNECTED: e->error_type = d->error_handle.error_type; e->disconnected++; break;
    case WEBSOCKET_EVENT_CLOSED: e->close_code = d->close_status_code; e->closed++; break;
    case WEBSOCKET_EVENT_ERROR: e->error++; break;
    case WEBSOCKET_EVENT_FINISH: e->finish++; break;
    case WEBSOCKET_EVENT_DATA:
        if (d->op_code == 0x1 && d->data_len < (int)sizeof e->data_text) {
            memcpy(e->data_text, d->data_ptr, (size_t)d->data_len);
            e->data_text[d->data_len] = '\0';
        }
        e->last_op = d->op_code;
        e->data++;
        break;
    default: break;
    }
}

static void wait_for(atomic_int *v, int at_least, int max_ms)
{
    for (int i = 0; i < max_ms / 5 && *v < at_least; i++) {
        ws_port_sleep_ms(5);
    }
}

static esp_websocket_client_handle_t client_for(server_t *s, events_t *e, esp_websocket_client_config_t *cfg,
                                                const char *path)
{
    char uri[128];
    snprintf(uri, sizeof uri, "ws://127.0.0.1:%d%s", s->port, path);
    cfg->uri = uri;
    cfg->network_timeout_ms = 2000;
    memset(e, 0, sizeof *e);
    esp_websocket_client_handle_t c = esp_websocket_client_init(cfg);
    CHECK(c != NULL);
    esp_websocket_register_events(c, WEBSOCKET_EVENT_ANY, handler, e);
    return c;
}

static void test_request_carries_path_host_auth_and_extra_headers(void)
{
    for (int with_auth = 1; with_auth >= 0; with_auth--) {
        server_t s;
        pthread_t t = start_server(&s, SCRIPT_IDLE, 1);
        events_t e;
        esp_websocket_client_config_t cfg = { .headers = "X-Test: 1\r\n", .disable_auto_reconnect = true,
                                              .username = with_auth ? "user" : NULL, .password = with_auth ? "pass" : NULL };
        esp_websocket_client_handle_t c = client_for(&s, &e, &cfg, "/path?q=1");
        esp_websocket_client_start(c);
        wait_for(&e.connected, 1, 3000);
        CHECK_EQ(e.connected, 1);
        char host[64];
        snprintf(host, sizeof host, "\r\nHost: 127.0.0.1:%d\r\n", s.port);
        CHECK(strncmp(s.request, "GET /path?q=1 HTTP/1.1\r\n", 24) == 0);
        CHECK(strstr(s.request, host) != NULL);
        CHECK(strstr(s.request, "\r\nX-Test: 1\r\n") != NULL);
        CHECK(strstr(s.request, "\r\nUser-Agent: ESP32 Websocket Client\r\n") != NULL);
        bool has_auth = strstr(s.request, "\r\nAuthorization: Basic dXNlcjpwYXNz\r\n") != NULL;   /* user:pass */
        CHECK(has_auth == (with_auth != 0));
        esp_websocket_client_destroy(c);
        stop_server(&s, t);
    }
}

static void test_bytes_packed_after_the_101_are_delivered(void)
{
    server_t s;
    pthread_t t = start_server(&s, SCRIPT_HELLO_AFTER_101, 1);
    events_t e;
    esp_websocket_client_config_t cfg = { .disable_auto_reconnect = true };
    esp_websocket_client_handle_t c = client_for(&s, &e, &cfg, "/");
    esp_websocket_client_start(c);
    wait_for(&e.data, 1, 3000);
    CHECK_EQ(e.connected, 1);
    CHECK_EQ(e.data, 1);
    CHECK(strcmp(e.data_text, "Hello") == 0);
    esp_websocket_client_destroy(c);
    stop_server(&s, t);
}

static void test_send_is_sliced_into_buffer_size_frames_and_data_is_not_modified(void)
{
    server_t s;
    pthread_t t = start_server(&s, SCRIPT_COLLECT_FRAMES, 1);
    events_t e;
    esp_websocket_client_config_t cfg = { .disable_auto_reconnect = true, .buffer_size = 256 };
    esp_websocket_client_handle_t c = client_for(&s, &e, &cfg, "/");
    esp_websocket_client_start(c);
    wait_for(&e.connected, 1, 3000);
    static char msg[600], copy[600];
    for (size_t i = 0; i < sizeof msg; i++) {
        msg[i] = (char)(i * 13 + 1);
    }
    memcpy(copy, msg, sizeof msg);
    CHECK_EQ(esp_websocket_client_send_bin(c, msg, sizeof msg, pdMS_TO_TICKS(1000)), 600);
    CHECK(memcmp(msg, copy, sizeof msg) == 0);   /* masking happened in the engine's copy */
    for (int i = 0; i < 200 && s.frames < 3; i++) {
        ws_port_sleep_ms(5);
    }
    CHECK_EQ(s.frames, 3);
    CHECK_EQ(s.frame_b0[0], 0x02);   /* BINARY, FIN clear */
    CHECK_EQ(s.frame_b0[1], 0x00);   /* CONT */
    CHECK_EQ(s.frame_b0[2], 0x80);   /* CONT + FIN */
    CHECK_EQ(s.frame_len[0], 256);
    CHECK_EQ(s.frame_len[1], 256);
    CHECK_EQ(s.frame_len[2], 88);
    CHECK(s.payload_len == sizeof msg && memcmp(s.payload, msg, sizeof msg) == 0);
    esp_websocket_client_destroy(c);
    stop_server(&s, t);
}

static void test_server_close_is_echoed_with_its_code_and_gives_closed(void)
{
    server_t s;
    pthread_t t = start_server(&s, SCRIPT_CLOSE_4001, 1);
    events_t e;
    esp_websocket_client_config_t cfg = { .reconnect_timeout_ms = 50 };   /* no close_reconnect: it ends */
    esp_websocket_client_handle_t c = client_for(&s, &e, &cfg, "/");
    esp_websocket_client_start(c);
    wait_for(&e.finish, 1, 4000);
    CHECK_EQ(e.closed, 1);
    CHECK_EQ(e.close_code, 4001);
    CHECK_EQ(e.last_op, 0x8);          /* the Close frame itself came as DATA too */
    CHECK_EQ(e.disconnected, 0);       /* a clean close is not a disconnect */
    CHECK_EQ(e.error, 0);
    CHECK_EQ(e.finish, 1);
    esp_websocket_client_destroy(c);
    stop_server(&s, t);
    CHECK_EQ(s.close_echo_code, 4001);   /* read after the server thread was joined */
}

static void test_an_engine_trap_fails_the_connection_and_the_client_reconnects(void)
{
    server_t s;
    pthread_t t = start_server(&s, SCRIPT_IDLE, 2);
    events_t e;
    esp_websocket_client_config_t cfg = { .reconnect_timeout_ms = 50 };
    esp_websocket_client_handle_t c = client_for(&s, &e, &cfg, "/");
    esp_websocket_client_start(c);
    wait_for(&e.connected, 1, 3000);
    CHECK_EQ(e.error, 0);
    uint32_t gen = ws_engine_generation();
    CHECK_EQ(ws_engine_debug_force_trap(), 1);
    wait_for(&e.connected, 2, 3000);   /* the next tick hits the dead instance */
    CHECK_EQ(e.error, 1);
    CHECK_EQ(e.disconnected, 1);
    CHECK_EQ(e.error_type, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT);
    CHECK_EQ(e.connected, 2);
    CHECK(ws_engine_generation() > gen);
    esp_websocket_client_destroy(c);
    stop_server(&s, t);
}

int main(void)
{
    test_request_carries_path_host_auth_and_extra_headers();
    test_bytes_packed_after_the_101_are_delivered();
    test_send_is_sliced_into_buffer_size_frames_and_data_is_not_modified();
    test_server_close_is_echoed_with_its_code_and_gives_closed();
    test_an_engine_trap_fails_the_connection_and_the_client_reconnects();
    ws_engine_shutdown();
    return check_finish();
}
