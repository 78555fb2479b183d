/*
 * test_integ_concurrency.c - 8 clients in one process, each sending 1,000 messages from its own
 * thread to the ws echo server at the same time. Every message carries the client id and a
 * sequence number: each client must get back exactly its own 1,000, in order, none lost, none
 * from another client.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integ_util.h"

enum { CLIENTS = 8, MESSAGES = 1000 };

static integ_server_t g_srv;

typedef struct {
    int id;
    integ_rec_t rec;
    esp_websocket_client_handle_t c;
    int send_failures;
} worker_t;

/* "c<id> s<seq> " followed by (seq % 97) filler bytes; odd sequence numbers go as binary. */
static int make_msg(char *buf, size_t cap, int id, int seq)
{
    int n = snprintf(buf, cap, "c%d s%04d ", id, seq);
    int pad = seq % 97;
    for (int i = 0; i < pad && (size_t)n < cap - 1; i++) {
        buf[n++] = (char)('a' + (id + i) % 26);
    }
    buf[n] = 0;
    return n;
}

static void *sender(void *arg)
{
    worker_t *w = arg;
    char buf[160];
    for (int s = 0; s < MESSAGES; s++) {
        int n = make_msg(buf, sizeof(buf), w->id, s);
        int r = (s & 1) ? esp_websocket_client_send_bin(w->c, buf, n, INTEG_SEND_TIMEOUT)
                        : esp_websocket_client_send_text(w->c, buf, n, INTEG_SEND_TIMEOUT);
        if (r != n) {
            w->send_failures++;
        }
    }
    return NULL;
}

static void eight_clients_each_echo_1000_messages_without_loss_or_crossing(void)
{
    static worker_t w[CLIENTS];
    char uri[128];
    integ_server_uri(&g_srv, "/echo", uri, sizeof(uri));
    int connected = 0;
    for (int i = 0; i < CLIENTS; i++) {
        w[i].id = i;
        w[i].send_failures = 0;
        integ_rec_init(&w[i].rec, MESSAGES + 16);
        esp_websocket_client_config_t cfg = { 0 };
        cfg.uri = uri;
        cfg.disable_auto_reconnect = true;
        cfg.network_timeout_ms = 5000;
        cfg.user_context = &w[i];
        w[i].c = integ_client_new(&w[i].rec, &cfg);
        if (w[i].c && esp_websocket_client_start(w[i].c) == ESP_OK) {
            connected++;
        }
    }
    CHECK(connected == CLIENTS);
    for (int i = 0; i < CLIENTS; i++) {
        CHECK(w[i].c && integ_rec_wait_event(&w[i].rec, WEBSOCKET_EVENT_CONNECTED, 1, 8000), "client %d not connected", i);
    }
    int64_t t0 = integ_now_ms();
    pthread_t th[CLIENTS];
    bool started[CLIENTS] = { false };
    for (int i = 0; i < CLIENTS; i++) {
        if (w[i].c) {
            started[i] = pthread_create(&th[i], NULL, sender, &w[i]) == 0;
            CHECK(started[i]);
        }
    }
    for (int i = 0; i < CLIENTS; i++) {
        if (started[i]) {
            pthread_join(th[i], NULL);
        }
    }
    for (int i = 0; i < CLIENTS; i++) {
        if (!w[i].c) {
            continue;
        }
        CHECK(w[i].send_failures == 0, "client %d: %d sends failed", i, w[i].send_failures);
        CHECK(integ_rec_wait_msgs(&w[i].rec, MESSAGES, 20000), "client %d got %d of %d echoes", i,
              integ_rec_msg_count(&w[i].rec), MESSAGES);
    }
    int64_t dt = integ_now_ms() - t0;
    printf("  %d messages round-tripped in %lld ms\n", CLIENTS * MESSAGES, (long long)dt);
    integ_sleep_ms(200);   /* anything extra would arrive now */
    for (int i = 0; i < CLIENTS; i++) {
        if (!w[i].c) {
            continue;
        }
        int n = integ_rec_msg_count(&w[i].rec);
        CHECK(n == MESSAGES, "client %d got %d messages", i, n);
        int bad = 0;
        char want[160];
        for (int s = 0; s < n && s < MESSAGES; s++) {
            const integ_msg_t *m = integ_rec_msg(&w[i].rec, s);
            int wl = make_msg(want, sizeof(want), i, s);
            int op = (s & 1) ? 2 : 1;
            if (m->opcode != op || m->len != (size_t)wl || memcmp(m->data, want, (size_t)wl) != 0) {
                if (bad++ == 0) {
                    CHECK(false, "client %d message %d: op %d '%.40s', expected op %d '%.40s'", i, s, m->opcode,
                          (const char *)m->data, op, want);
                }
            }
        }
        CHECK(bad == 0, "client %d: %d messages lost, reordered or crossed", i, bad);
        CHECK(w[i].rec.reasm_errors == 0, "client %d chunk contract: %s", i, w[i].rec.first_reasm_error);
        CHECK(w[i].rec.ctx_mismatch == 0, "client %d got events of another client", i);
        CHECK(integ_rec_count(&w[i].rec, WEBSOCKET_EVENT_ERROR) == 0, "client %d: ERROR", i);
    }
    for (int i = 0; i < CLIENTS; i++) {
        if (w[i].c) {
            CHECK(esp_websocket_client_destroy(w[i].c) == ESP_OK);
        }
        integ_rec_free(&w[i].rec);
    }
}

static esp_websocket_client_handle_t start_echo_client(integ_rec_t *rec, int buffer_size, int reconnect_ms)
{
    char uri[128];
    integ_server_uri(&g_srv, "/echo", uri, sizeof(uri));
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.buffer_size = buffer_size;
    cfg.network_timeout_ms = 3000;
    cfg.reconnect_timeout_ms = reconnect_ms;
    cfg.disable_auto_reconnect = reconnect_ms <= 0;
    esp_websocket_client_handle_t c = integ_client_new(rec, &cfg);
    if (c) {
        CHECK(esp_websocket_client_start(c) == ESP_OK);
    }
    return c;
}

/* The engine serves WS_ENGINE_MAX_CONNS (8) connections at once. A 9th client reports ERROR
 * instead of connecting (nothing crashes), and gets in once one of the 8 leaves. */
static void ninth_client_waits_for_a_free_connection_slot(void)
{
    static integ_rec_t r[CLIENTS + 1];
    esp_websocket_client_handle_t c[CLIENTS + 1] = { 0 };
    for (int i = 0; i < CLIENTS; i++) {
        integ_rec_init(&r[i], 8);
        c[i] = start_echo_client(&r[i], 1024, 0);
        CHECK(c[i] && integ_rec_wait_event(&r[i], WEBSOCKET_EVENT_CONNECTED, 1, 5000), "client %d not connected", i);
    }
    integ_rec_init(&r[CLIENTS], 8);
    c[CLIENTS] = start_echo_client(&r[CLIENTS], 1024, 200);
    if (c[CLIENTS]) {
        CHECK(integ_rec_wait_event(&r[CLIENTS], WEBSOCKET_EVENT_ERROR, 1, 3000), "no ERROR for a 9th connection");
        CHECK(integ_rec_count(&r[CLIENTS], WEBSOCKET_EVENT_CONNECTED) == 0, "a 9th connection was made");
        /* The first 8 are unaffected. */
        CHECK(esp_websocket_client_send_text(c[0], "still", 5, INTEG_SEND_TIMEOUT) == 5);
        CHECK(integ_rec_wait_msgs(&r[0], 1, 3000));
        /* One leaves: the 9th connects on a later attempt and works. */
        CHECK(esp_websocket_client_destroy(c[3]) == ESP_OK);
        c[3] = NULL;
        if (CHECK(integ_rec_wait_event(&r[CLIENTS], WEBSOCKET_EVENT_CONNECTED, 1, 3000), "the 9th never got in")) {
            CHECK(esp_websocket_client_send_text(c[CLIENTS], "ninth", 5, INTEG_SEND_TIMEOUT) == 5);
            CHECK(integ_rec_wait_msgs(&r[CLIENTS], 1, 3000));
        }
    }
    for (int i = 0; i <= CLIENTS; i++) {
        if (c[i]) {
            CHECK(esp_websocket_client_destroy(c[i]) == ESP_OK);
        }
        CHECK(r[i].reasm_errors == 0, "client %d chunk contract: %s", i, r[i].first_reasm_error);
        integ_rec_free(&r[i]);
    }
}

/* Clients with different buffer_size at the same time: each gets chunks within its own size and
 * intact messages. */
static void clients_with_different_buffer_sizes_coexist(void)
{
    integ_rec_t ra, rb;
    integ_rec_init(&ra, 8);
    integ_rec_init(&rb, 8);
    esp_websocket_client_handle_t a = start_echo_client(&ra, 1024, 0);
    CHECK(a && integ_rec_wait_event(&ra, WEBSOCKET_EVENT_CONNECTED, 1, 5000));
    esp_websocket_client_handle_t b = start_echo_client(&rb, 16384, 0);
    CHECK(b && integ_rec_wait_event(&rb, WEBSOCKET_EVENT_CONNECTED, 1, 5000));
    char *p = integ_bin_payload(100000, 9);
    if (a && b) {
        CHECK(esp_websocket_client_send_bin(a, p, 100000, INTEG_SEND_TIMEOUT) == 100000);
        CHECK(esp_websocket_client_send_bin(b, p, 100000, INTEG_SEND_TIMEOUT) == 100000);
        if (CHECK(integ_rec_wait_msgs(&ra, 1, 5000) && integ_rec_wait_msgs(&rb, 1, 5000))) {
            CHECK(integ_rec_msg(&ra, 0)->len == 100000 && memcmp(integ_rec_msg(&ra, 0)->data, p, 100000) == 0);
            CHECK(integ_rec_msg(&rb, 0)->len == 100000 && memcmp(integ_rec_msg(&rb, 0)->data, p, 100000) == 0);
        }
        CHECK(ra.max_chunk <= 1024 && rb.max_chunk <= 16384, "largest chunks %d / %d", ra.max_chunk, rb.max_chunk);
        printf("  largest DATA chunk: %d (buffer_size 1024), %d (buffer_size 16384)\n", ra.max_chunk, rb.max_chunk);
    }
    free(p);
    CHECK(ra.reasm_errors == 0 && rb.reasm_errors == 0, "chunk contract: %s %s", ra.first_reasm_error, rb.first_reasm_error);
    if (a) {
        CHECK(esp_websocket_client_destroy(a) == ESP_OK);
    }
    if (b) {
        CHECK(esp_websocket_client_destroy(b) == ESP_OK);
    }
    integ_rec_free(&ra);
    integ_rec_free(&rb);
}

int main(int argc, char **argv)
{
    integ_init(argc, argv, 55);
    if (!integ_server_start(&g_srv, INTEG_SRV_WS)) {
        return integ_finish();
    }
    RUN_CASE(eight_clients_each_echo_1000_messages_without_loss_or_crossing);
    RUN_CASE(ninth_client_waits_for_a_free_connection_slot);
    RUN_CASE(clients_with_different_buffer_sizes_coexist);
    integ_server_stop(&g_srv);
    return integ_finish();
}
