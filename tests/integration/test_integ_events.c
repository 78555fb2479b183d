/*
 * test_integ_events.c - the event ids a handler receives at run time, as raw numbers, under both
 * numberings of esp_websocket_event_id_t:
 *   ESP-IDF < 6   ERROR 0, CONNECTED 1, DISCONNECTED 2, DATA 3, CLOSED 4, BEFORE_CONNECT 5,
 *                 BEGIN 6, FINISH 7                                     (`test_integ_events 5`)
 *   ESP-IDF >= 6  ERROR 0, HEADER_RECEIVED 1, CONNECTED 2, DISCONNECTED 3, DATA 4, CLOSED 5,
 *                 BEFORE_CONNECT 6, BEGIN 7, FINISH 8                   (`test_integ_events_idf6 6`)
 * The second binary links a library built with WS_HOST_IDF_VERSION_MAJOR=6, as on ESP-IDF 6
 * (tests/integration/CMakeLists.txt). The numbers come from the argument, not from the header,
 * so a build that does not get the numbering it claims fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integ_util.h"

typedef struct {
    int error, header, connected, disconnected, data, closed, before_connect, begin, finish, max;
} ids_t;

static const ids_t IDS_IDF5 = { 0, -1, 1, 2, 3, 4, 5, 6, 7, 8 };   /* no HEADER_RECEIVED */
static const ids_t IDS_IDF6 = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
static ids_t g_ids;
static integ_server_t g_ws;

/* What the handlers registered for single raw ids saw (in the client task; read after FINISH). */
typedef struct {
    pthread_mutex_t mu;
    int data_events, data_text;        /* handler registered for the DATA id */
    int header_events;                 /* handler registered for the HEADER_RECEIVED id (IDF 6) */
    int header_bad_id;                 /* ... called with another id */
    char *header_lines[INTEG_HDR_CAP]; /* its lines, compared with header_cb's at the end */
} seen_t;

static seen_t g_seen = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void on_data(void *arg, esp_event_base_t base, int32_t id, void *event_data)
{
    (void)arg;
    (void)base;
    const esp_websocket_event_data_t *d = event_data;
    pthread_mutex_lock(&g_seen.mu);
    if (id == g_ids.data) {
        g_seen.data_events++;
        g_seen.data_text += d->op_code == 1;
    }
    pthread_mutex_unlock(&g_seen.mu);
}

static void on_header(void *arg, esp_event_base_t base, int32_t id, void *event_data)
{
    (void)arg;
    (void)base;
    const esp_websocket_event_data_t *d = event_data;
    pthread_mutex_lock(&g_seen.mu);
    g_seen.header_bad_id += id != g_ids.header;
    if (g_seen.header_events < INTEG_HDR_CAP) {
        g_seen.header_lines[g_seen.header_events] = strndup(d->data_ptr, (size_t)d->data_len);
    }
    g_seen.header_events++;
    pthread_mutex_unlock(&g_seen.mu);
}

static void seen_reset(void)
{
    pthread_mutex_lock(&g_seen.mu);
    for (int i = 0; i < INTEG_HDR_CAP; i++) {
        free(g_seen.header_lines[i]);
        g_seen.header_lines[i] = NULL;
    }
    g_seen.data_events = g_seen.data_text = g_seen.header_events = g_seen.header_bad_id = 0;
    pthread_mutex_unlock(&g_seen.mu);
}

static esp_websocket_client_handle_t start(integ_rec_t *rec, const char *path)
{
    char uri[160];
    integ_server_uri(&g_ws, path, uri, sizeof uri);
    esp_websocket_client_config_t cfg = {.uri = uri, .disable_auto_reconnect = true, .network_timeout_ms = 5000,
                                         .header_cb = integ_header_cb, .header_cb_ctx = rec};
    esp_websocket_client_handle_t c = integ_client_new(rec, &cfg);
    if (c == NULL) {
        return NULL;
    }
    seen_reset();
    CHECK(esp_websocket_register_events(c, (esp_websocket_event_id_t)g_ids.data, on_data, NULL) == ESP_OK);
    if (g_ids.header >= 0) {
        CHECK(esp_websocket_register_events(c, (esp_websocket_event_id_t)g_ids.header, on_header, NULL) == ESP_OK);
    }
    CHECK(esp_websocket_client_start(c) == ESP_OK);
    return c;
}

/* The ids the recorder logged (every event but DATA), with a run of header ids counted once. */
static int logged_ids(integ_rec_t *rec, int *out, int cap, int *headers)
{
    int n = 0;
    *headers = 0;
    pthread_mutex_lock(&rec->mu);
    for (int i = 0; i < rec->n_log && n < cap; i++) {
        int id = rec->log[i].id;
        if (id == g_ids.header) {
            if ((*headers)++ > 0) {
                continue;
            }
        }
        out[n++] = id;
    }
    pthread_mutex_unlock(&rec->mu);
    return n;
}

static void print_ids(const char *what, const int *ids, int n)
{
    printf("  %s:", what);
    for (int i = 0; i < n; i++) {
        printf(" %d", ids[i]);
    }
    printf("\n");
}

/* Checks the non-DATA event ids of one session (a run of header lines counted once): BEGIN,
 * BEFORE_CONNECT, HEADER_RECEIVED where the numbering has it, CONNECTED, then `tail`. */
static void check_session_ids(integ_rec_t *rec, const int *tail, int ntail, int *headers)
{
    int ids[32];
    int n = logged_ids(rec, ids, 32, headers);
    print_ids("non-DATA ids (a run of header lines once)", ids, n);
    int want[8], nw = 0;
    want[nw++] = g_ids.begin;
    want[nw++] = g_ids.before_connect;
    if (g_ids.header >= 0) {
        want[nw++] = g_ids.header;
    }
    want[nw++] = g_ids.connected;
    for (int i = 0; i < ntail; i++) {
        want[nw++] = tail[i];
    }
    print_ids("want", want, nw);
    CHECK(n == nw && memcmp(ids, want, sizeof(int) * (size_t)nw) == 0, "the ids differ");
}

/* Connect, echo one text, close: BEGIN, BEFORE_CONNECT, HEADER_RECEIVED x lines (IDF 6),
 * CONNECTED, DATA..., CLOSED, FINISH. */
static void clean_session_posts_the_numbered_ids(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    esp_websocket_client_handle_t c = start(&rec, "/record");
    if (c == NULL) {
        integ_rec_free(&rec);
        return;
    }
    if (CHECK(integ_rec_wait_event(&rec, g_ids.connected, 1, 5000), "no event %d (CONNECTED)", g_ids.connected)) {
        CHECK(esp_websocket_client_send_text(c, "hello", 5, INTEG_SEND_TIMEOUT) == 5);
        CHECK(integ_rec_wait_msgs(&rec, 1, 5000), "no echo");
        CHECK(esp_websocket_client_close(c, pdMS_TO_TICKS(5000)) == ESP_OK);
    }
    CHECK(integ_rec_wait_event(&rec, g_ids.finish, 1, 5000), "no event %d (FINISH)", g_ids.finish);

    int headers;
    check_session_ids(&rec, (const int[]){ g_ids.closed, g_ids.finish }, 2, &headers);

    pthread_mutex_lock(&g_seen.mu);
    printf("  DATA handler (id %d): %d events, %d text; header lines: %d from header_cb, %d HEADER_RECEIVED\n",
           g_ids.data, g_seen.data_events, g_seen.data_text, rec.n_headers, g_seen.header_events);
    CHECK(g_seen.data_text == 1, "the handler registered for id %d saw %d text DATA events", g_ids.data,
          g_seen.data_text);
    CHECK(g_seen.data_events == integ_rec_count(&rec, g_ids.data), "DATA: %d to its own handler, %d to ANY",
          g_seen.data_events, integ_rec_count(&rec, g_ids.data));
    CHECK(rec.n_headers >= 3, "header_cb saw %d lines (Upgrade, Connection, Sec-WebSocket-Accept at least)",
          rec.n_headers);
    if (g_ids.header >= 0) {
        CHECK(g_seen.header_events == rec.n_headers && headers == rec.n_headers && g_seen.header_bad_id == 0,
              "HEADER_RECEIVED: %d to its handler (%d with another id), %d to ANY; header_cb: %d",
              g_seen.header_events, g_seen.header_bad_id, headers, rec.n_headers);
        for (int i = 0; i < g_seen.header_events && i < rec.n_headers && i < INTEG_HDR_CAP; i++) {
            CHECK(g_seen.header_lines[i] != NULL && strcmp(g_seen.header_lines[i], rec.headers[i]) == 0,
                  "header line %d: event \"%s\", header_cb \"%s\"", i,
                  g_seen.header_lines[i] ? g_seen.header_lines[i] : "(none)", rec.headers[i]);
        }
    }
    pthread_mutex_unlock(&g_seen.mu);
    for (int id = g_ids.max; id < INTEG_EVENT_SLOTS; id++) {
        CHECK(integ_rec_count(&rec, id) == 0, "event id %d >= WEBSOCKET_EVENT_MAX (%d) posted", id, g_ids.max);
    }
    CHECK(esp_websocket_client_destroy(c) == ESP_OK);
    integ_rec_free(&rec);
}

/* The server drops TCP right after the handshake: ERROR, then DISCONNECTED, then FINISH. */
static void dropped_connection_posts_error_and_disconnected(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    esp_websocket_client_handle_t c = start(&rec, "/drop?after=0");
    if (c == NULL) {
        integ_rec_free(&rec);
        return;
    }
    CHECK(integ_rec_wait_event(&rec, g_ids.finish, 1, 5000), "no event %d (FINISH)", g_ids.finish);
    int headers;
    check_session_ids(&rec, (const int[]){ g_ids.error, g_ids.disconnected, g_ids.finish }, 3, &headers);
    CHECK(esp_websocket_client_destroy(c) == ESP_OK);
    integ_rec_free(&rec);
}

int main(int argc, char **argv)
{
    integ_init(argc, argv, 60);
    if (argc != 2 || (strcmp(argv[1], "5") != 0 && strcmp(argv[1], "6") != 0)) {
        fprintf(stderr, "usage: %s 5|6 (the ESP-IDF major version the library was built as)\n", argv[0]);
        return 2;
    }
    g_ids = strcmp(argv[1], "6") == 0 ? IDS_IDF6 : IDS_IDF5;
    printf("event numbering of ESP-IDF %s (library: %s)\n", argv[1], esp_get_idf_version());
    if (!integ_server_start(&g_ws, INTEG_SRV_WS)) {
        return 1;
    }
    RUN_CASE(clean_session_posts_the_numbered_ids);
    RUN_CASE(dropped_connection_posts_error_and_disconnected);
    integ_server_stop(&g_ws);
    seen_reset();
    return integ_finish();
}
