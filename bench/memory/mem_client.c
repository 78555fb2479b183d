/*
 * mem_client.c - memory figures of this component's host build, for bench/memory.ts.
 *
 *   LD_PRELOAD=.../liballoc_count.so mem_client ws  PORT N
 *   LD_PRELOAD=.../liballoc_count.so mem_client wss PORT N CA_FILE
 *
 * Steps, each followed by a line on stdout:
 *   RUNTIME <wasm2c|wasm3> <tls 0|1> <WS_ENGINE_MAX_CONNS> <sizeof(struct esp_websocket_client)>
 *   ENGINE <bytes>        heap taken by creating the engine instance (runtime + module + linear
 *                         memory), measured around the first ws_engine_uri_parse(), which creates it
 *   HEAP 0 <bytes>        live heap after that (the baseline of the client figures)
 *   HEAP <k> <bytes>      live heap once k clients are connected at once and each has echoed one
 *                         1 KiB message, for k = 1 .. N
 *   SLOT <stride> <record> <rx_cap> <tx window> <ctl> <events> <event records>
 *                         a connection's engine slot (bytes of each region; records in the last)
 *   PARTS <name>=<bytes> ...   the second client's own heap blocks, by malloc_usable_size of the
 *                         pointers the client holds: the struct, its locks and wake-up signal, the
 *                         event loop (its struct only), its strings (and TLS options), the task handle, the
 *                         connection; what the client holds only indirectly (the loop's queue and
 *                         handler records, the thread's TLS block) is the rest of the figure
 *   STACK <high-water bytes> <stack bytes>   deepest use of a client task's stack over its whole
 *                         life (connect, handshake, echoes of 1 KiB and 8 KiB, close handshake),
 *                         the largest of the N tasks. Method: at BEGIN the handler (running on the
 *                         task) paints the unused part of the pthread stack below its own frame
 *                         with a pattern; at FINISH it scans up from the stack's low end for the
 *                         first byte that is not the pattern.
 * Heap counts come from alloc_count.c (LD_PRELOAD): malloc_usable_size of live blocks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <unistd.h>

#include "bench_common.h"
#include "esp_log.h"
#include "esp_websocket_client.h"
#include "ws_client.h"
#include "ws_engine.h"

#define PAINT 0xA5
#define PAINT_MARGIN 1024   /* bytes below the handler's frame left unpainted (red zone, callees) */

typedef struct {
    esp_websocket_client_handle_t client;
    sem_t connected, echoed, finished;
    atomic_int failed;
    size_t want;             /* size of the echo awaited */
    size_t got;
    uint8_t *stack_low;      /* the task's stack: [stack_low, stack_high) */
    uint8_t *stack_high;
    uint8_t *painted_to;     /* painted [stack_low + 4096, painted_to) */
    size_t high_water;
} mclient_t;

static bool wait_sem(sem_t *s)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 15;
    while (sem_timedwait(s, &ts) != 0) {
        if (errno != EINTR) {
            return false;
        }
    }
    return true;
}

static __attribute__((noinline)) void paint_stack(mclient_t *m)
{
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) {
        return;
    }
    pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    m->stack_low = addr;
    m->stack_high = (uint8_t *)addr + size;
    volatile uint8_t here = 0;
    uint8_t *sp = (uint8_t *)&here;
    m->painted_to = sp - PAINT_MARGIN;
    uint8_t *from = m->stack_low + 4096;   /* stay clear of a guard page */
    if (m->painted_to > from) {
        memset(from, PAINT, (size_t)(m->painted_to - from));
    }
}

static __attribute__((noinline)) void scan_stack(mclient_t *m)
{
    if (m->stack_low == NULL) {
        return;
    }
    uint8_t *p = m->stack_low + 4096;
    while (p < m->painted_to && *p == PAINT) {
        p++;
    }
    m->high_water = (size_t)(m->stack_high - p);
}

static void on_event(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)base;
    mclient_t *m = arg;
    const esp_websocket_event_data_t *d = data;
    switch (id) {
    case WEBSOCKET_EVENT_BEGIN:
        paint_stack(m);
        break;
    case WEBSOCKET_EVENT_CONNECTED:
        sem_post(&m->connected);
        break;
    case WEBSOCKET_EVENT_DATA:
        if (d->op_code >= 8) {
            break;
        }
        m->got += (size_t)d->data_len;
        if (d->fin && d->payload_offset + d->data_len == d->payload_len) {
            if (m->got != m->want) {
                atomic_store(&m->failed, 1);
            }
            m->got = 0;
            sem_post(&m->echoed);
        }
        break;
    case WEBSOCKET_EVENT_ERROR:
    case WEBSOCKET_EVENT_DISCONNECTED:
        atomic_store(&m->failed, 1);
        sem_post(&m->connected);
        sem_post(&m->echoed);
        break;
    case WEBSOCKET_EVENT_FINISH:
        scan_stack(m);
        sem_post(&m->finished);
        break;
    default:
        break;
    }
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s != NULL && fread(s, 1, (size_t)n, f) == (size_t)n) {
        s[n] = '\0';
    }
    fclose(f);
    return s;
}

static bool echo(mclient_t *m, size_t size)
{
    uint8_t *p = bench_pattern(size);
    m->want = size;
    bool ok = esp_websocket_client_send_bin(m->client, (const char *)p, (int)size, portMAX_DELAY) == (int)size &&
              wait_sem(&m->echoed) && !atomic_load(&m->failed);
    free(p);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[1], "wss") == 0 && argc < 5)) {
        fprintf(stderr, "usage: %s ws PORT N | wss PORT N CA_FILE\n", argv[0]);
        return 2;
    }
    esp_log_level_set("*", ESP_LOG_WARN);
    bool tls = strcmp(argv[1], "wss") == 0;
    int port = atoi(argv[2]);
    int n = atoi(argv[3]);
    int64_t live, before;
    if (!bench_heap(&before, NULL)) {
        bench_reply("FAIL alloc_count.c is not preloaded");
        return 1;
    }
#if WS_PORT_HAVE_MBEDTLS
    int have_tls = 1;
#else
    int have_tls = 0;
#endif
    char *ca = tls ? read_file(argv[4]) : NULL;   /* the bench's own copy: before the baseline */
    mclient_t *ms = calloc((size_t)n, sizeof *ms);
    char uri[96];
    snprintf(uri, sizeof uri, "%s://%s:%d/echo", tls ? "wss" : "ws", tls ? "localhost" : "127.0.0.1", port);
    bench_reply("RUNTIME %s %d %d %zu", ws_engine_runtime_name(), have_tls, WS_ENGINE_MAX_CONNS,
                sizeof(struct esp_websocket_client));
    if (tls && (!have_tls || ca == NULL)) {
        bench_reply("FAIL %s", have_tls ? "CA file not readable" : "built without mbedTLS");
        return 1;
    }

    bench_heap(&before, NULL);
    ws_engine_uri_t u;
    if (ws_engine_uri_parse(uri, strlen(uri), &u) != 0) {
        bench_reply("FAIL engine");
        return 1;
    }
    ws_engine_uri_free(&u);
    bench_heap(&live, NULL);
    bench_reply("ENGINE %lld", (long long)(live - before));
    bench_reply("HEAP 0 %lld", (long long)live);

    for (int k = 0; k < n; k++) {
        mclient_t *m = &ms[k];
        sem_init(&m->connected, 0, 0);
        sem_init(&m->echoed, 0, 0);
        sem_init(&m->finished, 0, 0);
        esp_websocket_client_config_t cfg = {
            .uri = uri,
            .disable_auto_reconnect = true,
            .network_timeout_ms = 10000,
            .cert_pem = ca,
        };
        m->client = esp_websocket_client_init(&cfg);
        if (m->client == NULL || esp_websocket_register_events(m->client, WEBSOCKET_EVENT_ANY, on_event, m) != ESP_OK ||
            esp_websocket_client_start(m->client) != ESP_OK || !wait_sem(&m->connected) || atomic_load(&m->failed) ||
            !echo(m, 1024)) {
            bench_reply("FAIL client %d", k);
            return 1;
        }
        usleep(30000);   /* the task is back in its poll wait */
        bench_heap(&live, NULL);
        bench_reply("HEAP %d %lld", k + 1, (long long)live);
    }
    if (n >= 2) {
        const ws_engine_slot_t *s0 = &ms[0].client->slot;
        const ws_engine_slot_t *s1 = &ms[1].client->slot;
        uint32_t stride = s1->conn > s0->conn ? s1->conn - s0->conn : s0->conn - s1->conn;
        uint32_t rx = ws_engine_io(s0, WSE_C_RX_PTR), tx = ws_engine_io(s0, WSE_C_TX_PTR);
        uint32_t ctl = ws_engine_io(s0, WSE_C_CTL_PTR), ev = ws_engine_io(s0, WSE_C_EV_PTR);
        bench_reply("SLOT %u %u %u %u %u %u %u", (unsigned)stride, (unsigned)(rx - s0->conn),
                    (unsigned)ws_engine_io(s0, WSE_C_RX_CAP), (unsigned)(ctl - tx), (unsigned)(ev - ctl),
                    (unsigned)(ws_engine_io(s0, WSE_C_EV_CAP) * WSE_EV_SIZE), (unsigned)ws_engine_io(s0, WSE_C_EV_CAP));
        struct esp_websocket_client *c = ms[1].client;
        const ws_client_cfg_t *cfg = &c->cfg;
        const void *strings[] = { cfg->host, cfg->path, cfg->username, cfg->password, cfg->subprotocol,
                                  cfg->user_agent, cfg->headers, cfg->task_name, cfg->if_name, c->redirect, c->msg,
                                  cfg->tls_opts };
        size_t str = 0;
        for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
            str += strings[i] != NULL ? malloc_usable_size((void *)strings[i]) : 0;
        }
        bench_reply("PARTS struct=%zu locks=%zu loop=%zu strings=%zu task=%zu conn=%zu", malloc_usable_size(c),
                    malloc_usable_size(c->lock) + malloc_usable_size(c->tx_lock) + malloc_usable_size(c->life_lock) +
                    malloc_usable_size(c->wake),
                    malloc_usable_size(c->loop), str, malloc_usable_size(c->task), malloc_usable_size(c->conn));
    }
    size_t hw = 0, stack = 0;
    for (int k = 0; k < n; k++) {
        mclient_t *m = &ms[k];
        if (!echo(m, 8192) || esp_websocket_client_close(m->client, pdMS_TO_TICKS(5000)) != ESP_OK ||
            !wait_sem(&m->finished)) {
            bench_reply("FAIL close %d", k);
            return 1;
        }
        if (m->high_water > hw) {
            hw = m->high_water;
            stack = (size_t)(m->stack_high - m->stack_low);
        }
        esp_websocket_client_destroy(m->client);
    }
    bench_reply("STACK %zu %zu", hw, stack);
    free(ms);
    free(ca);
    return 0;
}
