/*
 * test_integ_cycles.c - many connect / echo / close / reconnect cycles leave nothing behind.
 *
 *   test_integ_cycles [cycles]      (default 100; ctest also runs 1,000 under valgrind memcheck)
 *
 * Each cycle creates a client, connects to the ws echo server, echoes a message and closes with
 * the close handshake, then destroys the client. Every fifth cycle instead connects to /drop, whose
 * server drops TCP after one echo: the client sees DISCONNECTED, reconnects after
 * reconnect_timeout_ms, echoes again, and is stopped and destroyed while connected.
 * After the cycles the heap in use (counted by wrapping malloc, every thread) must be what it was
 * after the first one (the engine instance, which is process-wide, exists from then on; the test's
 * own log of server output lines is freed before each measurement). Under valgrind and ASan, which own malloc, that check is left to their
 * leak reports (--errors-for-leak-kinds=definite,indirect).
 */
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <valgrind/valgrind.h>

#include "integ_util.h"
#include "ws_engine.h"

static integ_server_t g_srv;
static int g_cycles = 100;

/* Bytes allocated and not yet freed, by every thread (the client tasks too): malloc and friends
 * are wrapped around glibc's own. Not under ASan, which must see every allocation itself. */
#if defined(__SANITIZE_ADDRESS__)
#define COUNTING_HEAP 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COUNTING_HEAP 0
#endif
#endif
#ifndef COUNTING_HEAP
#define COUNTING_HEAP 1
#endif

#if COUNTING_HEAP
static atomic_long g_live;
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static void *counted(void *p)
{
    if (p != NULL) {
        atomic_fetch_add(&g_live, (long)malloc_usable_size(p));
    }
    return p;
}
void *malloc(size_t n) { return counted(__libc_malloc(n)); }
void *calloc(size_t n, size_t m) { return counted(__libc_calloc(n, m)); }
void free(void *p)
{
    if (p != NULL) {
        atomic_fetch_sub(&g_live, (long)malloc_usable_size(p));
    }
    __libc_free(p);
}
void *realloc(void *p, size_t n)
{
    long before = p != NULL ? (long)malloc_usable_size(p) : 0;
    void *q = __libc_realloc(p, n);
    if (q != NULL || n == 0) {
        atomic_fetch_add(&g_live, (q != NULL ? (long)malloc_usable_size(q) : 0) - before);
    }
    return q;
}
void *memalign(size_t a, size_t n) { return counted(__libc_memalign(a, n)); }
int posix_memalign(void **out, size_t a, size_t n)
{
    void *p = counted(__libc_memalign(a, n));
    if (p == NULL) {
        return 12; /* ENOMEM */
    }
    *out = p;
    return 0;
}
void *aligned_alloc(size_t a, size_t n) { return counted(__libc_memalign(a, n)); }
static long live_bytes(void) { return atomic_load(&g_live); }
#else
static long live_bytes(void) { return 0; }
#endif

static bool echo_once(esp_websocket_client_handle_t c, integ_rec_t *rec, int n, int i)
{
    char msg[32];
    int len = snprintf(msg, sizeof msg, "cycle %d", i);
    if (!CHECK(esp_websocket_client_send_text(c, msg, len, INTEG_SEND_TIMEOUT) == len, "cycle %d: send", i)) {
        return false;
    }
    if (!CHECK(integ_rec_wait_msgs(rec, n, 10000), "cycle %d: no echo", i)) {
        return false;
    }
    const integ_msg_t *m = integ_rec_msg(rec, n - 1);
    return CHECK(m->len == (size_t)len && memcmp(m->data, msg, (size_t)len) == 0, "cycle %d: echo differs", i);
}

/* connect, echo, close handshake, destroy */
static bool clean_cycle(int i)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    char uri[160];
    integ_server_uri(&g_srv, "/echo", uri, sizeof uri);
    esp_websocket_client_config_t cfg = {.uri = uri, .network_timeout_ms = 5000, .reconnect_timeout_ms = 100};
    esp_websocket_client_handle_t c = integ_client_new(&rec, &cfg);
    bool ok = CHECK(c != NULL, "cycle %d: init", i);
    if (ok) {
        ok = CHECK(esp_websocket_client_start(c) == ESP_OK, "cycle %d: start", i) &&
             CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 1, 10000), "cycle %d: connect", i) &&
             echo_once(c, &rec, 1, i) &&
             CHECK(esp_websocket_client_close_with_code(c, 1000, "bye", 3, pdMS_TO_TICKS(5000)) == ESP_OK,
                   "cycle %d: close", i) &&
             CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_CLOSED) == 1, "cycle %d: CLOSED", i);
        CHECK(esp_websocket_client_destroy(c) == ESP_OK, "cycle %d: destroy", i);
    }
    CHECK(rec.reasm_errors == 0, "cycle %d: %s", i, rec.first_reasm_error);
    integ_rec_free(&rec);
    return ok;
}

/* connect, echo, lose TCP, reconnect, echo, stop while connected, destroy */
static bool reconnect_cycle(int i)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    char uri[160];
    integ_server_uri(&g_srv, "/drop?after=1", uri, sizeof uri);
    esp_websocket_client_config_t cfg = {.uri = uri, .network_timeout_ms = 5000, .reconnect_timeout_ms = 50};
    esp_websocket_client_handle_t c = integ_client_new(&rec, &cfg);
    bool ok = CHECK(c != NULL, "cycle %d: init", i);
    if (ok) {
        ok = CHECK(esp_websocket_client_start(c) == ESP_OK, "cycle %d: start", i) &&
             CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 1, 10000), "cycle %d: connect", i) &&
             echo_once(c, &rec, 1, i) &&
             CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_DISCONNECTED, 1, 10000), "cycle %d: drop", i) &&
             CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 2, 10000), "cycle %d: reconnect", i) &&
             echo_once(c, &rec, 2, i) &&
             CHECK(esp_websocket_client_stop(c) == ESP_OK, "cycle %d: stop", i);
        CHECK(esp_websocket_client_destroy(c) == ESP_OK, "cycle %d: destroy", i);
    }
    CHECK(rec.reasm_errors == 0, "cycle %d: %s", i, rec.first_reasm_error);
    integ_rec_free(&rec);
    return ok;
}

static void cycles_leave_the_heap_as_it_was(void)
{
    if (!clean_cycle(0)) {   /* also creates the process-wide engine instance */
        return;
    }
    integ_server_forget_lines(&g_srv);   /* the test's log of server lines is not the client's heap */
    long start = live_bytes();
    int done = 1;
    for (int i = 1; i < g_cycles; i++, done++) {
        if (!(i % 5 == 0 ? reconnect_cycle(i) : clean_cycle(i))) {
            break;
        }
    }
    CHECK(done == g_cycles, "only %d of %d cycles completed", done, g_cycles);
    integ_server_forget_lines(&g_srv);
    long end = live_bytes();
    printf("cycles: %d, heap in use after the first cycle %ld bytes, after the last %ld bytes\n", done, start, end);
    if (COUNTING_HEAP && !RUNNING_ON_VALGRIND) {
        CHECK(start > 0, "the allocation counter works");
        CHECK(end == start, "heap grew by %ld bytes over %d cycles", end - start, done);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        g_cycles = atoi(argv[1]);
    }
    integ_init(argc, argv, RUNNING_ON_VALGRIND ? 1500 : 300);
    if (!integ_server_start(&g_srv, INTEG_SRV_WS)) {
        return 1;
    }
    RUN_CASE(cycles_leave_the_heap_as_it_was);
    integ_server_stop(&g_srv);
    ws_engine_shutdown();   /* the instance is freed too, so valgrind sees every block returned */
    return integ_finish();
}
