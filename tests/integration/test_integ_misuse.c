/*
 * test_integ_misuse.c - the public API used wrongly: NULL handles, calls in the wrong state or
 * from an event handler, bad lengths, oversized URIs, CR/LF injection into the request, invalid
 * UTF-8 handed to send_text, a second start(), and 4 threads sending at once. Each case gets the
 * error esp_websocket_client.h documents, or works; never a crash, a deadlock or an unbounded wait
 * (every wait here has a bound, the process has a watchdog, and destroy/stop are timed).
 *
 * Servers: tests/servers/hostile_server.ts (records the request's header lines and every frame the
 * client sends, with its payload) and tests/servers/ws_server.ts (/echo, for the concurrent sends:
 * `ws` fails the connection with 1002 if frames of two messages interleave).
 */
#define _GNU_SOURCE 1   /* pipe2, pthread_timedjoin_np */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "integ_util.h"

/* ---------------------------------------------------------------------------------------- */
/* Helpers                                                                                   */
/* ---------------------------------------------------------------------------------------- */

static integ_server_t g_hostile;   /* hostile_server.ts: HDR / FRAME lines */
static integ_server_t g_ws;        /* ws_server.ts: /echo */

#define T_SEND pdMS_TO_TICKS(3000)

static esp_websocket_client_config_t base_cfg(const char *uri)
{
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.disable_auto_reconnect = true;
    cfg.network_timeout_ms = 3000;
    return cfg;
}

/* Creates a client on the hostile server's `path` and waits for CONNECTED. */
static esp_websocket_client_handle_t connect_hostile(integ_rec_t *rec, const char *path,
                                                     esp_websocket_client_config_t *cfg_in)
{
    char uri[256];
    integ_server_uri(&g_hostile, path, uri, sizeof(uri));
    esp_websocket_client_config_t cfg = cfg_in != NULL ? *cfg_in : base_cfg(NULL);
    cfg.uri = uri;
    cfg.disable_auto_reconnect = true;
    if (cfg.network_timeout_ms == 0) {
        cfg.network_timeout_ms = 3000;
    }
    integ_server_drain(&g_hostile);
    esp_websocket_client_handle_t c = integ_client_new(rec, &cfg);
    if (c != NULL) {
        CHECK(esp_websocket_client_start(c) == ESP_OK);
        CHECK(integ_rec_wait_event(rec, WEBSOCKET_EVENT_CONNECTED, 1, 4000), "no CONNECTED on %s", path);
    }
    return c;
}

static void destroy_timed(esp_websocket_client_handle_t c)
{
    if (c == NULL) {
        return;
    }
    int64_t t0 = integ_now_ms();
    CHECK(esp_websocket_client_destroy(c) == ESP_OK);
    CHECK(integ_now_ms() - t0 < 3000, "destroy took %lld ms", (long long)(integ_now_ms() - t0));
}

/* ---------------------------------------------------------------------------------------- */
/* NULL handles and arguments                                                                */
/* ---------------------------------------------------------------------------------------- */

static void dummy_handler(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)arg;
    (void)base;
    (void)id;
    (void)data;
}

/* Every function with a NULL client returns what the header documents for it. */
static void null_client_gets_the_documented_error_everywhere(void)
{
    const char d[4] = "abc";
    CHECK(esp_websocket_client_init(NULL) == NULL);
    CHECK(esp_websocket_client_set_uri(NULL, "ws://127.0.0.1:1/") == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_set_headers(NULL, "X-A: 1\r\n") == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_append_header(NULL, "X-A", "1") == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_start(NULL) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_stop(NULL) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_destroy(NULL) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_destroy_on_exit(NULL) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_send_bin(NULL, d, 3, T_SEND) == -1);
    CHECK(esp_websocket_client_send_bin_partial(NULL, d, 3, T_SEND) == -1);
    CHECK(esp_websocket_client_send_text(NULL, d, 3, T_SEND) == -1);
    CHECK(esp_websocket_client_send_text_partial(NULL, d, 3, T_SEND) == -1);
    CHECK(esp_websocket_client_send_cont_msg(NULL, d, 3, T_SEND) == -1);
    CHECK(esp_websocket_client_send_fin(NULL, T_SEND) == -1);
    CHECK(esp_websocket_client_send_with_opcode(NULL, WS_TRANSPORT_OPCODES_TEXT, (const uint8_t *)d, 3, T_SEND) == -1);
    CHECK(esp_websocket_client_close(NULL, T_SEND) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_close_with_code(NULL, 1000, "bye", 3, T_SEND) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_is_connected(NULL) == false);
    CHECK(esp_websocket_client_get_ping_interval_sec(NULL) == 0);
    CHECK(esp_websocket_client_set_ping_interval_sec(NULL, 5) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_get_reconnect_timeout(NULL) == -1);
    CHECK(esp_websocket_client_set_reconnect_timeout(NULL, 100) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_register_events(NULL, WEBSOCKET_EVENT_ANY, dummy_handler, NULL) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_unregister_events(NULL, WEBSOCKET_EVENT_ANY, dummy_handler) == ESP_ERR_INVALID_ARG);
}

/* NULL arguments next to a valid client: refused the same way; the twin calls succeed. */
static void null_arguments_of_a_valid_client_are_refused(void)
{
    esp_websocket_client_config_t cfg = base_cfg("ws://127.0.0.1:9/");
    cfg.disable_auto_reconnect = false;
    esp_websocket_client_handle_t c = esp_websocket_client_init(&cfg);
    if (!CHECK(c != NULL)) {
        return;
    }
    CHECK(esp_websocket_client_set_uri(c, NULL) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_set_headers(c, NULL) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_append_header(c, NULL, "v") == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_append_header(c, "X-K", NULL) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_register_events(c, WEBSOCKET_EVENT_ANY, NULL, NULL) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_unregister_events(c, WEBSOCKET_EVENT_ANY, NULL) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_send_text(c, NULL, 3, T_SEND) == -1);
    CHECK(esp_websocket_client_send_with_opcode(c, WS_TRANSPORT_OPCODES_BINARY, NULL, 3, T_SEND) == -1);
    CHECK(esp_websocket_client_close_with_code(c, 1000, NULL, 3, T_SEND) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_set_reconnect_timeout(c, 0) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_set_reconnect_timeout(c, -5) == ESP_ERR_INVALID_ARG);
    /* the twins */
    CHECK(esp_websocket_client_set_uri(c, "ws://127.0.0.1:9/x") == ESP_OK);
    CHECK(esp_websocket_client_append_header(c, "X-K", "v") == ESP_OK);
    CHECK(esp_websocket_register_events(c, WEBSOCKET_EVENT_ANY, dummy_handler, NULL) == ESP_OK);
    CHECK(esp_websocket_unregister_events(c, WEBSOCKET_EVENT_ANY, dummy_handler) == ESP_OK);
    CHECK(esp_websocket_client_set_ping_interval_sec(c, 7) == ESP_OK && esp_websocket_client_get_ping_interval_sec(c) == 7);
    CHECK(esp_websocket_client_set_reconnect_timeout(c, 1234) == ESP_OK &&
          esp_websocket_client_get_reconnect_timeout(c) == 1234);
    CHECK(!esp_websocket_client_is_connected(c));
    /* a client never started: stop and close fail, destroy works */
    CHECK(esp_websocket_client_stop(c) == ESP_FAIL);
    CHECK(esp_websocket_client_close(c, T_SEND) == ESP_FAIL);
    destroy_timed(c);
}

/* ---------------------------------------------------------------------------------------- */
/* Lifecycle misuse                                                                          */
/* ---------------------------------------------------------------------------------------- */

/* destroy() of a connected client: bounded, drops TCP without a Close (as stop()), no crash. */
static void destroy_of_a_connected_client_is_bounded(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 8);
    esp_websocket_client_handle_t c = connect_hostile(&rec, "/h?echo=1", NULL);
    if (c != NULL) {
        CHECK(esp_websocket_client_send_text(c, "x", 1, T_SEND) == 1);
        CHECK(integ_rec_wait_msgs(&rec, 1, 3000), "no echo");
        destroy_timed(c);
        CHECK(integ_server_wait_line(&g_hostile, "GONE", NULL, 0, 3000), "the TCP connection was not closed");
        CHECK(!integ_server_wait_line(&g_hostile, "CLOSE ", NULL, 0, 0), "destroy sent a Close frame");
    }
    integ_rec_free(&rec);
}

typedef struct {
    integ_rec_t rec;
    pthread_mutex_t mu;
    bool done;
    esp_err_t stop, close, close_code, destroy, start;
} from_handler_t;

/* Runs in the client task, for the first echoed message. */
static void lifecycle_from_handler(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)base;
    from_handler_t *h = arg;
    const esp_websocket_event_data_t *d = data;
    if (id != WEBSOCKET_EVENT_DATA || d->op_code != 1) {
        return;
    }
    pthread_mutex_lock(&h->mu);
    bool first = !h->done;
    pthread_mutex_unlock(&h->mu);
    if (!first) {
        return;
    }
    esp_err_t s = esp_websocket_client_stop(d->client);
    esp_err_t c = esp_websocket_client_close(d->client, pdMS_TO_TICKS(500));
    esp_err_t cc = esp_websocket_client_close_with_code(d->client, 1000, "x", 1, pdMS_TO_TICKS(500));
    esp_err_t de = esp_websocket_client_destroy(d->client);
    esp_err_t st = esp_websocket_client_start(d->client);
    pthread_mutex_lock(&h->mu);
    h->stop = s;
    h->close = c;
    h->close_code = cc;
    h->destroy = de;
    h->start = st;
    h->done = true;
    pthread_mutex_unlock(&h->mu);
}

/* stop(), close(), close_with_code(), destroy() (and start()) from an event handler return
 * ESP_FAIL, as upstream, and leave the connection up; the same calls from another task work. */
static void lifecycle_calls_from_an_event_handler_fail(void)
{
    from_handler_t h = { 0 };
    integ_rec_init(&h.rec, 8);
    pthread_mutex_init(&h.mu, NULL);
    char uri[256];
    integ_server_uri(&g_hostile, "/h?echo=1", uri, sizeof(uri));
    esp_websocket_client_config_t cfg = base_cfg(uri);
    integ_server_drain(&g_hostile);
    esp_websocket_client_handle_t c = integ_client_new(&h.rec, &cfg);
    if (c != NULL) {
        CHECK(esp_websocket_register_events(c, WEBSOCKET_EVENT_DATA, lifecycle_from_handler, &h) == ESP_OK);
        CHECK(esp_websocket_client_start(c) == ESP_OK);
        CHECK(integ_rec_wait_event(&h.rec, WEBSOCKET_EVENT_CONNECTED, 1, 4000));
        CHECK(esp_websocket_client_send_text(c, "call", 4, T_SEND) == 4);
        int64_t end = integ_now_ms() + 5000;
        bool done = false;
        while (!done && integ_now_ms() < end) {
            pthread_mutex_lock(&h.mu);
            done = h.done;
            pthread_mutex_unlock(&h.mu);
            if (!done) {
                integ_sleep_ms(10);
            }
        }
        if (CHECK(done, "the handler's calls did not return within 5 s (deadlock?)")) {
            CHECK(h.stop == ESP_FAIL, "stop() from a handler: %d", h.stop);
            CHECK(h.close == ESP_FAIL, "close() from a handler: %d", h.close);
            CHECK(h.close_code == ESP_FAIL, "close_with_code() from a handler: %d", h.close_code);
            CHECK(h.destroy == ESP_FAIL, "destroy() from a handler: %d", h.destroy);
            CHECK(h.start == ESP_FAIL, "start() from a handler: %d", h.start);
            /* the connection is untouched */
            CHECK(esp_websocket_client_is_connected(c));
            CHECK(esp_websocket_client_send_text(c, "again", 5, T_SEND) == 5);
            CHECK(integ_rec_wait_msgs(&h.rec, 2, 3000), "no echo after the refused calls");
            CHECK(!integ_server_wait_line(&g_hostile, "CLOSE ", NULL, 0, 0), "a Close was sent from the handler");
            /* the twin: close() from this thread completes the close handshake */
            CHECK(esp_websocket_client_close(c, pdMS_TO_TICKS(3000)) == ESP_OK);
            CHECK(integ_server_wait_line(&g_hostile, "CLOSE 1005", NULL, 0, 3000), "close() sent no Close");
            CHECK(integ_rec_wait_event(&h.rec, WEBSOCKET_EVENT_CLOSED, 1, 3000));
        }
        destroy_timed(c);
    }
    integ_rec_free(&h.rec);
    pthread_mutex_destroy(&h.mu);
}

/* Sends before start(), after close() and after stop() return -1 and put nothing on the wire. */
static void send_when_not_connected_returns_minus_1(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 8);
    char uri[256];
    integ_server_uri(&g_hostile, "/h", uri, sizeof(uri));
    esp_websocket_client_config_t cfg = base_cfg(uri);
    integ_server_drain(&g_hostile);
    esp_websocket_client_handle_t c = integ_client_new(&rec, &cfg);
    if (c == NULL) {
        integ_rec_free(&rec);
        return;
    }
    int frames0 = integ_server_count_lines(&g_hostile, "FRAME ");
    CHECK(esp_websocket_client_send_text(c, "early", 5, T_SEND) == -1, "send before start");
    CHECK(esp_websocket_client_send_bin(c, "early", 5, T_SEND) == -1);
    CHECK(esp_websocket_client_send_fin(c, T_SEND) == -1);
    CHECK(esp_websocket_client_start(c) == ESP_OK);
    CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 1, 4000));
    CHECK(esp_websocket_client_send_text(c, "live", 4, T_SEND) == 4, "the twin: a send while connected");
    CHECK(integ_server_wait_line(&g_hostile, "FRAME 1 1 4 0 1 6c697665", NULL, 0, 3000), "'live' not on the wire");
    CHECK(esp_websocket_client_close(c, pdMS_TO_TICKS(3000)) == ESP_OK);
    CHECK(esp_websocket_client_send_text(c, "late", 4, T_SEND) == -1, "send after close");
    CHECK(esp_websocket_client_send_with_opcode(c, WS_TRANSPORT_OPCODES_PING, NULL, 0, T_SEND) == -1);
    /* again after a stop() of a connected client */
    CHECK(esp_websocket_client_start(c) == ESP_OK);
    CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 2, 4000));
    CHECK(esp_websocket_client_stop(c) == ESP_OK);
    CHECK(esp_websocket_client_send_text(c, "late", 4, T_SEND) == -1, "send after stop");
    integ_sleep_ms(100);
    /* on the wire: 'live' and the Close of close(), nothing else */
    CHECK(integ_server_count_lines(&g_hostile, "FRAME ") - frames0 == 2, "%d frames on the wire, expected 2",
          integ_server_count_lines(&g_hostile, "FRAME ") - frames0);
    destroy_timed(c);
    integ_rec_free(&rec);
}

/* start() on a running client returns ESP_FAIL and opens no second connection. */
static void start_twice_fails(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 8);
    int accepts0 = integ_server_count_lines(&g_hostile, "ACCEPT");
    esp_websocket_client_handle_t c = connect_hostile(&rec, "/h", NULL);
    if (c != NULL) {
        CHECK(esp_websocket_client_start(c) == ESP_FAIL, "second start()");
        integ_sleep_ms(200);
        CHECK(integ_server_count_lines(&g_hostile, "ACCEPT") - accepts0 == 1, "second TCP connection");
        CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_BEGIN) == 1);
        CHECK(esp_websocket_client_is_connected(c));
        /* the twin: after stop(), start() works again */
        CHECK(esp_websocket_client_stop(c) == ESP_OK);
        CHECK(esp_websocket_client_start(c) == ESP_OK, "start() after stop()");
        CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 2, 4000));
        destroy_timed(c);
    }
    integ_rec_free(&rec);
}

/* ---------------------------------------------------------------------------------------- */
/* Bad lengths and sizes                                                                     */
/* ---------------------------------------------------------------------------------------- */

/* Negative lengths are refused (-1 / ESP_ERR_INVALID_ARG), nothing goes out, the connection stays. */
static void negative_lengths_are_refused(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 8);
    esp_websocket_client_handle_t c = connect_hostile(&rec, "/h?echo=1", NULL);
    if (c != NULL) {
        const char d[8] = "payload";
        int frames0 = integ_server_count_lines(&g_hostile, "FRAME ");
        static const int lens[] = { -1, -2, -1000, INT_MIN };
        for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
            int n = lens[i];
            CHECK(esp_websocket_client_send_bin(c, d, n, T_SEND) == -1, "send_bin len %d", n);
            CHECK(esp_websocket_client_send_bin_partial(c, d, n, T_SEND) == -1, "send_bin_partial len %d", n);
            CHECK(esp_websocket_client_send_text(c, d, n, T_SEND) == -1, "send_text len %d", n);
            CHECK(esp_websocket_client_send_text_partial(c, d, n, T_SEND) == -1, "send_text_partial len %d", n);
            CHECK(esp_websocket_client_send_cont_msg(c, d, n, T_SEND) == -1, "send_cont_msg len %d", n);
            CHECK(esp_websocket_client_send_with_opcode(c, WS_TRANSPORT_OPCODES_BINARY, (const uint8_t *)d, n,
                                                        T_SEND) == -1, "send_with_opcode len %d", n);
            CHECK(esp_websocket_client_send_with_opcode(c, WS_TRANSPORT_OPCODES_PING, (const uint8_t *)d, n,
                                                        T_SEND) == -1, "PING len %d", n);
            CHECK(esp_websocket_client_close_with_code(c, 1000, d, n, T_SEND) == ESP_ERR_INVALID_ARG,
                  "close_with_code len %d", n);
        }
        CHECK(esp_websocket_client_close_with_code(c, 1000, d, 124, T_SEND) == ESP_ERR_INVALID_ARG, "reason of 124");
        integ_sleep_ms(100);
        CHECK(integ_server_count_lines(&g_hostile, "FRAME ") == frames0, "a refused call put a frame on the wire");
        /* the twin: a valid send still works on the same connection */
        CHECK(esp_websocket_client_send_bin(c, d, 7, T_SEND) == 7);
        if (CHECK(integ_rec_wait_msgs(&rec, 1, 3000), "no echo after the refused calls")) {
            const integ_msg_t *m = integ_rec_msg(&rec, 0);
            CHECK(m->opcode == 2 && m->len == 7 && memcmp(m->data, d, 7) == 0);
        }
        CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_ERROR) == 0);
        destroy_timed(c);
    }
    integ_rec_free(&rec);
}

/* A 10 KB URI: init() returns NULL, set_uri() returns ESP_FAIL and keeps the previous URI. The twin:
 * a URI of 1000 bytes (under the documented 1024) is accepted and used. The opening request must
 * also fit in buffer_size (as in 1.8.0), so that client uses 4096: at the default 1024 a request
 * with a 1000-byte target fails to build (ERROR "handshake request or its inputs do not fit"). */
static void uri_of_10kb_is_refused(void)
{
    size_t big = 10 * 1024;
    char *uri = malloc(big + 1);
    if (!CHECK(uri != NULL)) {
        return;
    }
    int k = snprintf(uri, big + 1, "ws://127.0.0.1:%d/h?pad=", g_hostile.port);
    memset(uri + k, 'p', big - (size_t)k);
    uri[big] = '\0';
    esp_websocket_client_config_t cfg = base_cfg(uri);
    CHECK(esp_websocket_client_init(&cfg) == NULL, "init() with a 10 KB URI");

    /* set_uri on a working client */
    integ_rec_t rec;
    integ_rec_init(&rec, 8);
    char good[256];
    integ_server_uri(&g_hostile, "/h?orig=1", good, sizeof(good));
    cfg = base_cfg(good);
    esp_websocket_client_handle_t c = integ_client_new(&rec, &cfg);
    if (c != NULL) {
        CHECK(esp_websocket_client_set_uri(c, uri) == ESP_FAIL, "set_uri() with a 10 KB URI");
        integ_server_drain(&g_hostile);
        CHECK(esp_websocket_client_start(c) == ESP_OK);
        CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 1, 4000));
        CHECK(integ_server_wait_line(&g_hostile, "REQ /h?orig=1", NULL, 0, 3000), "the previous URI was not kept");
        destroy_timed(c);
    }
    integ_rec_free(&rec);

    /* the twin: 1000 bytes */
    uri[1000] = '\0';
    integ_rec_init(&rec, 8);
    cfg = base_cfg(uri);
    cfg.buffer_size = 4096;
    integ_server_drain(&g_hostile);
    c = integ_client_new(&rec, &cfg);
    if (c != NULL) {
        CHECK(esp_websocket_client_start(c) == ESP_OK);
        CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 1, 4000), "no CONNECTED with a 1000-byte URI");
        char line[1200];
        if (CHECK(integ_server_wait_line(&g_hostile, "REQ ", line, sizeof(line), 3000))) {
            CHECK(strcmp(line + 4, uri + (strchr(uri + 5, '/') - uri)) == 0, "request target differs");
        }
        destroy_timed(c);
    }
    integ_rec_free(&rec);
    free(uri);
}

/* ---------------------------------------------------------------------------------------- */
/* Request injection                                                                         */
/* ---------------------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *append_key, *append_value;   /* append_header(), if set */
    const char *headers, *subprotocol, *user_agent, *path;   /* config fields, if set */
} inject_t;

static const inject_t k_inject[] = {
    { "append_header value with CRLF", "X-A", "1\r\nInjected: evil", NULL, NULL, NULL, NULL },
    { "append_header value with bare LF", "X-A", "1\nInjected: evil", NULL, NULL, NULL, NULL },
    { "append_header value with bare CR", "X-A", "1\rInjected: evil", NULL, NULL, NULL, NULL },
    { "append_header key with CRLF", "Injected: evil\r\nX-A", "1", NULL, NULL, NULL, NULL },
    { "append_header value ending the head", "X-A", "1\r\n\r\nGET /smuggled HTTP/1.1", NULL, NULL, NULL, NULL },
    { "config.headers ending the head", NULL, NULL, "X-A: 1\r\n\r\nGET /smuggled HTTP/1.1\r\n", NULL, NULL, NULL },
    { "config.headers with bare LF", NULL, NULL, "X-A: 1\nInjected: evil\r\n", NULL, NULL, NULL },
    { "config.headers with bare CR", NULL, NULL, "X-A: 1\rInjected: evil\r\n", NULL, NULL, NULL },
    { "config.subprotocol with CRLF", NULL, NULL, NULL, "chat\r\nInjected: evil", NULL, NULL },
    { "config.user_agent with CRLF", NULL, NULL, NULL, NULL, "UA\r\nInjected: evil", NULL },
    { "config.user_agent with bare LF", NULL, NULL, NULL, NULL, "UA\nInjected: evil", NULL },
    { "config.path with CRLF", NULL, NULL, NULL, NULL, NULL, "/h\r\nInjected: evil" },
};

/* CR/LF in any request input is refused - by init()/append_header() returning an error, or by the
 * connection attempt failing with ERROR - and nothing is injected on the wire. */
static void crlf_injection_into_the_request_is_refused(void)
{
    for (size_t i = 0; i < sizeof(k_inject) / sizeof(k_inject[0]); i++) {
        const inject_t *t = &k_inject[i];
        char uri[256];
        integ_server_uri(&g_hostile, "/h", uri, sizeof(uri));
        esp_websocket_client_config_t cfg = base_cfg(uri);
        cfg.headers = t->headers;
        cfg.subprotocol = t->subprotocol;
        cfg.user_agent = t->user_agent;
        cfg.path = t->path;
        integ_server_drain(&g_hostile);
        int hdr0 = integ_server_count_lines(&g_hostile, "HDR Injected");
        int smug0 = integ_server_count_lines(&g_hostile, "REQ /smuggled");
        int lf0 = integ_server_count_lines(&g_hostile, "HDR X-A: 1\\x0");
        int ua0 = integ_server_count_lines(&g_hostile, "HDR User-Agent: UA\\x0");
        int req0 = integ_server_count_lines(&g_hostile, "REQ ");
        const char *how;
        esp_websocket_client_handle_t c = esp_websocket_client_init(&cfg);
        integ_rec_t rec;
        integ_rec_init(&rec, 4);
        if (c == NULL) {
            how = "init() returns NULL";
        } else {
            rec.client = c;
            CHECK(esp_websocket_register_events(c, WEBSOCKET_EVENT_ANY, integ_rec_handler, &rec) == ESP_OK);
            esp_err_t ap = ESP_OK;
            if (t->append_key != NULL) {
                ap = esp_websocket_client_append_header(c, t->append_key, t->append_value);
            }
            if (ap != ESP_OK) {
                how = ap == ESP_ERR_INVALID_ARG ? "append_header() returns ESP_ERR_INVALID_ARG"
                                                : "append_header() returns an error";
            } else {
                CHECK(esp_websocket_client_start(c) == ESP_OK);
                bool err = integ_rec_wait_event(&rec, WEBSOCKET_EVENT_ERROR, 1, 3000);
                bool conn = integ_rec_count(&rec, WEBSOCKET_EVENT_CONNECTED) > 0;
                how = err && !conn ? "the connection attempt fails with ERROR" : "ACCEPTED (connected)";
                CHECK(err && !conn, "%s: not refused (ERROR %d, CONNECTED %d)", t->name, err, conn);
                integ_rec_wait_event(&rec, WEBSOCKET_EVENT_FINISH, 1, 3000);
            }
        }
        integ_sleep_ms(50);
        int sent = integ_server_count_lines(&g_hostile, "REQ ") - req0;
        printf("    %-40s -> %s; request %s\n", t->name, how, sent ? "sent" : "not sent");
        CHECK(integ_server_count_lines(&g_hostile, "HDR Injected") == hdr0, "%s: header injected on the wire", t->name);
        CHECK(integ_server_count_lines(&g_hostile, "REQ /smuggled") == smug0, "%s: request smuggled", t->name);
        CHECK(integ_server_count_lines(&g_hostile, "HDR X-A: 1\\x0") == lf0 &&
              integ_server_count_lines(&g_hostile, "HDR User-Agent: UA\\x0") == ua0,
              "%s: a bare CR/LF reached the wire", t->name);
        destroy_timed(c);
        integ_rec_free(&rec);
    }
}

/* The twin: well-formed headers, subprotocol and user agent reach the server as given. */
static void well_formed_request_inputs_reach_the_server(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    char uri[256];
    integ_server_uri(&g_hostile, "/h", uri, sizeof(uri));
    esp_websocket_client_config_t cfg = base_cfg(uri);
    cfg.headers = "X-Config: one\r\nX-Config-2: two\r\n";
    cfg.user_agent = "Misuse-UA/1.0";
    integ_server_drain(&g_hostile);
    esp_websocket_client_handle_t c = integ_client_new(&rec, &cfg);
    if (c != NULL) {
        CHECK(esp_websocket_client_append_header(c, "X-Appended", "three; q=1") == ESP_OK);
        CHECK(esp_websocket_client_start(c) == ESP_OK);
        CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 1, 4000));
        CHECK(integ_server_wait_line(&g_hostile, "HDR X-Config: one", NULL, 0, 1000));
        CHECK(integ_server_wait_line(&g_hostile, "HDR X-Config-2: two", NULL, 0, 1000));
        CHECK(integ_server_wait_line(&g_hostile, "HDR X-Appended: three; q=1", NULL, 0, 1000));
        CHECK(integ_server_wait_line(&g_hostile, "HDR User-Agent: Misuse-UA/1.0", NULL, 0, 1000));
        destroy_timed(c);
    }
    integ_rec_free(&rec);
}

/* ---------------------------------------------------------------------------------------- */
/* UTF-8 on send                                                                             */
/* ---------------------------------------------------------------------------------------- */

/* Default policy: send_text() does not check UTF-8 (as 1.8.0): the bytes go out as given. */
static void invalid_utf8_send_text_goes_out_as_is_by_default(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    esp_websocket_client_handle_t c = connect_hostile(&rec, "/h", NULL);
    if (c != NULL) {
        CHECK(esp_websocket_client_send_text(c, "a\xc3\x28", 3, T_SEND) == 3);
        CHECK(integ_server_wait_line(&g_hostile, "FRAME 1 1 3 0 1 61c328", NULL, 0, 3000), "not on the wire as given");
        CHECK(esp_websocket_client_is_connected(c));
        destroy_timed(c);
    }
    integ_rec_free(&rec);
}

/* VALIDATE_RX_TX: invalid text is refused with -1 and nothing is sent; valid text goes out. */
static void invalid_utf8_send_text_is_refused_with_strict_policy(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    esp_websocket_client_config_t cfg = base_cfg(NULL);
    cfg.utf8_policy = WEBSOCKET_UTF8_POLICY_VALIDATE_RX_TX;
    esp_websocket_client_handle_t c = connect_hostile(&rec, "/h", &cfg);
    if (c != NULL) {
        int frames0 = integ_server_count_lines(&g_hostile, "FRAME ");
        CHECK(esp_websocket_client_send_text(c, "a\xc3\x28", 3, T_SEND) == -1, "invalid text sent");
        CHECK(esp_websocket_client_send_text(c, "a\xed\xa0\x80", 4, T_SEND) == -1, "surrogate sent");
        CHECK(esp_websocket_client_send_text(c, "a\xf0\x9f", 3, T_SEND) == -1, "truncated emoji sent as a whole message");
        integ_sleep_ms(100);
        CHECK(integ_server_count_lines(&g_hostile, "FRAME ") == frames0, "a refused text reached the wire");
        CHECK(esp_websocket_client_is_connected(c), "the refusal dropped the connection");
        /* the twin */
        CHECK(esp_websocket_client_send_text(c, "a\xc3\xa9", 3, T_SEND) == 3);
        char line[200];
        if (CHECK(integ_server_wait_line(&g_hostile, "FRAME ", line, sizeof(line), 3000))) {
            CHECK(strcmp(line, "FRAME 1 1 3 0 1 61c3a9") == 0, "first frame on the wire: '%s'", line);
        }
        destroy_timed(c);
    }
    integ_rec_free(&rec);
}

/* ---------------------------------------------------------------------------------------- */
/* Concurrent sends                                                                          */
/* ---------------------------------------------------------------------------------------- */

#define SENDERS 4
#define PER_SENDER 500

/* Message `seq` of sender `id`: a header naming both, then filler that depends on both; 700-1499
 * bytes, so with buffer_size 256 each message is 3-6 frames. */
static size_t make_msg(int id, int seq, char *out, size_t cap)
{
    size_t len = 700 + (size_t)((seq * 37 + id * 101) % 800);
    if (len > cap) {
        len = cap;
    }
    int k = snprintf(out, cap, "id=%d seq=%05d ", id, seq);
    for (size_t j = (size_t)k; j < len; j++) {
        out[j] = (char)('a' + (int)((j + (size_t)id * 7 + (size_t)seq) % 26));
    }
    return len;
}

typedef struct {
    esp_websocket_client_handle_t c;
    int id;
    int failed;
} sender_t;

static void *sender_main(void *arg)
{
    sender_t *s = arg;
    char buf[1600];
    for (int seq = 0; seq < PER_SENDER; seq++) {
        size_t n = make_msg(s->id, seq, buf, sizeof(buf));
        if (esp_websocket_client_send_text(s->c, buf, (int)n, pdMS_TO_TICKS(10000)) != (int)n) {
            s->failed++;
        }
    }
    return NULL;
}

/* 4 threads x 500 messages larger than buffer_size: every message comes back intact and whole
 * (the echo server fails the connection if frames of two messages interleave), in each sender's order. */
static void concurrent_sends_from_4_threads_do_not_interleave(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, SENDERS * PER_SENDER + 16);
    char uri[256];
    integ_server_uri(&g_ws, "/echo", uri, sizeof(uri));
    esp_websocket_client_config_t cfg = base_cfg(uri);
    cfg.buffer_size = 256;
    integ_server_drain(&g_ws);
    esp_websocket_client_handle_t c = integ_client_new(&rec, &cfg);
    if (c == NULL) {
        integ_rec_free(&rec);
        return;
    }
    CHECK(esp_websocket_client_start(c) == ESP_OK);
    if (CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 1, 4000))) {
        sender_t s[SENDERS];
        pthread_t th[SENDERS];
        bool started[SENDERS] = { false };
        int64_t t0 = integ_now_ms();
        for (int i = 0; i < SENDERS; i++) {
            s[i] = (sender_t){ .c = c, .id = i };
            started[i] = pthread_create(&th[i], NULL, sender_main, &s[i]) == 0;
            CHECK(started[i]);
        }
        for (int i = 0; i < SENDERS; i++) {
            if (!started[i]) {
                continue;
            }
            struct timespec dl;
            clock_gettime(CLOCK_REALTIME, &dl);
            dl.tv_sec += 40;
            if (CHECK(pthread_timedjoin_np(th[i], NULL, &dl) == 0, "sender %d did not finish within 40 s", i)) {
                CHECK(s[i].failed == 0, "sender %d: %d sends failed", i, s[i].failed);
            }
        }
        CHECK(integ_rec_wait_msgs(&rec, SENDERS * PER_SENDER, 20000), "%d of %d echoes", integ_rec_msg_count(&rec),
              SENDERS * PER_SENDER);
        printf("    %d messages from %d threads echoed in %lld ms\n", integ_rec_msg_count(&rec), SENDERS,
               (long long)(integ_now_ms() - t0));
        int next[SENDERS] = { 0 };
        int bad = 0;
        char want[1600];
        for (int i = 0; i < integ_rec_msg_count(&rec); i++) {
            const integ_msg_t *m = integ_rec_msg(&rec, i);
            int id = -1, seq = -1;
            if (m->opcode != 1 || sscanf((const char *)m->data, "id=%d seq=%d ", &id, &seq) != 2 || id < 0 ||
                id >= SENDERS) {
                bad++;
                continue;
            }
            size_t n = make_msg(id, seq, want, sizeof(want));
            if (m->len != n || memcmp(m->data, want, n) != 0 || seq != next[id]) {
                if (bad++ == 0) {
                    fprintf(stderr, "    first bad echo: id %d seq %d (expected seq %d) len %zu/%zu\n", id, seq, next[id],
                            m->len, n);
                }
            }
            next[id] = seq + 1;
        }
        CHECK(bad == 0, "%d echoes corrupt, interleaved or out of a sender's order", bad);
        CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_ERROR) == 0);
        CHECK(!integ_server_wait_line(&g_ws, "CLOSE ", NULL, 0, 0), "the echo server closed the connection");
        CHECK(esp_websocket_client_close(c, pdMS_TO_TICKS(3000)) == ESP_OK);
        char line[200];
        if (CHECK(integ_server_wait_line(&g_ws, "CLOSE ", line, sizeof(line), 3000))) {
            CHECK(strncmp(line, "CLOSE 1005", 10) == 0, "server saw '%s'", line);
        }
    }
    CHECK(rec.reasm_errors == 0, "%s", rec.first_reasm_error);
    destroy_timed(c);
    integ_rec_free(&rec);
}

int main(int argc, char **argv)
{
    integ_init(argc, argv, 55);
    if (!integ_server_start(&g_hostile, INTEG_SRV_HOSTILE)) {
        return integ_finish();
    }
    if (!integ_server_start(&g_ws, INTEG_SRV_WS)) {
        integ_server_stop(&g_hostile);
        return integ_finish();
    }
    RUN_CASE(null_client_gets_the_documented_error_everywhere);
    RUN_CASE(null_arguments_of_a_valid_client_are_refused);
    RUN_CASE(destroy_of_a_connected_client_is_bounded);
    RUN_CASE(lifecycle_calls_from_an_event_handler_fail);
    RUN_CASE(send_when_not_connected_returns_minus_1);
    RUN_CASE(start_twice_fails);
    RUN_CASE(negative_lengths_are_refused);
    RUN_CASE(uri_of_10kb_is_refused);
    RUN_CASE(crlf_injection_into_the_request_is_refused);
    RUN_CASE(well_formed_request_inputs_reach_the_server);
    RUN_CASE(invalid_utf8_send_text_goes_out_as_is_by_default);
    RUN_CASE(invalid_utf8_send_text_is_refused_with_strict_policy);
    RUN_CASE(concurrent_sends_from_4_threads_do_not_interleave);
    integ_server_stop(&g_ws);
    integ_server_stop(&g_hostile);
    return integ_finish();
}
