/*
 * ours_client.c - the loopback bench client on this component's API (esp_websocket_client.h),
 * host build. Driven by bench/loopback.ts (protocol in bench_common.h).
 *
 *   ours_client run PORT [handler] [buffer_size]
 *       one connection to ws://127.0.0.1:PORT/echo, then stdin commands.
 *       Default: the application thread sends (esp_websocket_client_send_bin) and waits on a
 *       semaphore that the DATA handler (client task) posts when an echo is complete - the usual
 *       way the API is used. "handler": the DATA handler sends the next message itself (no thread
 *       hand-off per message); for pipe the application thread sends the first DEPTH messages and
 *       the handler one more per echo until the time is up.
 *   ours_client heap PORT K1 K2 ...
 *       opens clients one after another until K1, then K2, ... are connected at once, printing
 *       "HEAP <k> <live bytes> <allocation calls>" after each (and for k = 0 before the first
 *       init); needs alloc_count.c preloaded. Clients are default-configured (buffer_size 1024).
 *       Then "SLOT <stride> <record> <rx_cap> <tx window> <ctl> <events> <records>": the engine slot of a
 *       connection in linear memory, read from the live instance (stride = distance between the
 *       records of two clients' slots; the parts from the record's I/O block).
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <unistd.h>

#include "bench_common.h"
#include "esp_log.h"
#include "esp_websocket_client.h"
#include "ws_client.h"   /* heap mode only: the engine slot of a client (private header) */

#define WAIT_S 10   /* a wait longer than this is a failure */

typedef struct {
    esp_websocket_client_handle_t client;
    sem_t connected;
    sem_t done;                  /* rtt: one post per echo; pipe: one credit per echo */
    atomic_int failed;
    /* owned by the client task (the handler) */
    uint8_t *rx;
    size_t rx_got;
    uint32_t rx_seq;
    /* the current run */
    const uint8_t *ref;
    size_t size;
    bool handler_send;
    uint64_t deadline;
    uint8_t *tx;                 /* used by the handler in handler-send mode */
    uint32_t tx_seq;
    uint64_t sent;               /* handler mode: messages sent (under send_mu) */
    pthread_mutex_t send_mu;     /* handler mode: orders stamping + sending of both threads */
    uint64_t echoed;
} bench_t;

static bool wait_sem(sem_t *s)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += WAIT_S;
    while (sem_timedwait(s, &ts) != 0) {
        if (errno != EINTR) {
            return false;
        }
    }
    return true;
}

static void on_message(bench_t *b)
{
    if (!bench_check(b->ref, b->size, b->rx, b->rx_got, b->rx_seq)) {
        atomic_store(&b->failed, 1);
        fprintf(stderr, "ours: wrong echo #%u (%zu bytes)\n", b->rx_seq, b->rx_got);
    }
    b->rx_seq++;
    b->echoed++;
    if (!b->handler_send) {
        sem_post(&b->done);
        return;
    }
    pthread_mutex_lock(&b->send_mu);
    if (now_ns() < b->deadline && !atomic_load(&b->failed)) {
        bench_stamp(b->tx, b->size, b->tx_seq++);
        b->sent++;
        if (esp_websocket_client_send_bin(b->client, (const char *)b->tx, (int)b->size, portMAX_DELAY) != (int)b->size) {
            atomic_store(&b->failed, 1);
            sem_post(&b->done);
        }
    } else if (b->echoed == b->sent) {
        sem_post(&b->done);
    }
    pthread_mutex_unlock(&b->send_mu);
}

static void on_event(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)base;
    bench_t *b = arg;
    const esp_websocket_event_data_t *d = data;
    switch (id) {
    case WEBSOCKET_EVENT_CONNECTED:
        sem_post(&b->connected);
        break;
    case WEBSOCKET_EVENT_DATA:
        if (d->op_code >= 8) {
            break;   /* PING / PONG / CLOSE */
        }
        if (b->rx == NULL) {
            atomic_store(&b->failed, 1);   /* data nobody asked for */
            break;
        }
        if (d->op_code != 0 && d->payload_offset == 0) {
            b->rx_got = 0;   /* a new message */
        }
        if (b->rx_got + (size_t)d->data_len > b->size) {
            atomic_store(&b->failed, 1);
            b->rx_got = 0;
            sem_post(&b->done);
            break;
        }
        memcpy(b->rx + b->rx_got, d->data_ptr, (size_t)d->data_len);
        b->rx_got += (size_t)d->data_len;
        if (d->fin && d->payload_offset + d->data_len == d->payload_len) {
            on_message(b);
            b->rx_got = 0;
        }
        break;
    case WEBSOCKET_EVENT_ERROR:
    case WEBSOCKET_EVENT_DISCONNECTED:
    case WEBSOCKET_EVENT_CLOSED:
        atomic_store(&b->failed, 1);
        sem_post(&b->done);
        sem_post(&b->connected);
        break;
    default:
        break;
    }
}

static esp_websocket_client_handle_t open_client(bench_t *b, int port, int buffer_size)
{
    char uri[64];
    snprintf(uri, sizeof uri, "ws://127.0.0.1:%d/echo", port);
    esp_websocket_client_config_t cfg = {
        .uri = uri,
        .disable_auto_reconnect = true,
        .buffer_size = buffer_size,
        .network_timeout_ms = 10000,
    };
    sem_init(&b->connected, 0, 0);
    sem_init(&b->done, 0, 0);
    b->client = esp_websocket_client_init(&cfg);
    if (b->client == NULL || esp_websocket_register_events(b->client, WEBSOCKET_EVENT_ANY, on_event, b) != ESP_OK ||
        esp_websocket_client_start(b->client) != ESP_OK) {
        return NULL;
    }
    return b->client;
}

static int run(int port, bool handler_send, int buffer_size)
{
    bench_t *b = calloc(1, sizeof *b);
    pthread_mutex_init(&b->send_mu, NULL);
    if (open_client(b, port, buffer_size) == NULL || !wait_sem(&b->connected) || atomic_load(&b->failed)) {
        bench_reply("FAIL connect");
        return 1;
    }
    bench_reply("READY");
    bench_cmd_t cmd;
    int r;
    while ((r = bench_read_cmd(&cmd)) != 0) {
        if (r < 0) {
            bench_reply("FAIL bad command");
            continue;
        }
        uint8_t *ref = bench_pattern(cmd.size);
        uint8_t *tx = bench_pattern(cmd.size);
        b->rx = malloc(cmd.size + 1);
        b->rx_got = 0;
        b->ref = ref;
        b->size = cmd.size;
        b->tx = tx;
        b->echoed = 0;
        b->handler_send = handler_send;
        uint32_t seq = b->rx_seq;   /* the handler is idle: no message is in flight */
        b->tx_seq = seq;
        uint64_t t0 = now_ns();
        b->deadline = t0 + (uint64_t)cmd.ms * 1000000u;
        const char *why = NULL;
        uint64_t sent = 0;
        if (handler_send) {
            b->sent = 0;
            pthread_mutex_lock(&b->send_mu);
            for (int i = 0; i < (cmd.pipe ? cmd.depth : 1) && why == NULL; i++) {
                bench_stamp(b->tx, cmd.size, b->tx_seq++);
                b->sent++;
                if (esp_websocket_client_send_bin(b->client, (const char *)b->tx, (int)cmd.size, portMAX_DELAY) != (int)cmd.size) {
                    why = "send";
                }
            }
            pthread_mutex_unlock(&b->send_mu);
            if (why == NULL && !wait_sem(&b->done)) {
                why = "timeout";
            }
        } else {
            int credits = cmd.pipe ? cmd.depth : 1;
            int inflight = 0;
            while (why == NULL && now_ns() < b->deadline) {
                if (inflight == credits) {
                    if (!wait_sem(&b->done)) {
                        why = "timeout";
                        break;
                    }
                    inflight--;
                }
                bench_stamp(tx, cmd.size, seq++);
                if (esp_websocket_client_send_bin(b->client, (const char *)tx, (int)cmd.size, portMAX_DELAY) != (int)cmd.size) {
                    why = "send";
                    break;
                }
                sent++;
                inflight++;
            }
            while (why == NULL && inflight > 0) {   /* drain */
                if (!wait_sem(&b->done)) {
                    why = "timeout";
                }
                inflight--;
            }
        }
        uint64_t t1 = now_ns();
        if (why == NULL && atomic_load(&b->failed)) {
            why = "wrong echo or connection lost";
        }
        if (why == NULL && !handler_send && b->echoed != sent) {
            why = "echo count";
        }
        if (why != NULL) {
            bench_reply("FAIL %s", why);
            return 1;
        }
        bench_reply("OK %llu %llu", (unsigned long long)b->echoed, (unsigned long long)(t1 - t0));
        free(b->rx);
        b->rx = NULL;
        free(ref);
        free(tx);
    }
    esp_websocket_client_destroy(b->client);
    free(b);
    return 0;
}

static int heap(int port, int argc, char **argv)
{
    int64_t live, calls;
    if (!bench_heap(&live, &calls)) {
        bench_reply("FAIL alloc_count.c is not preloaded");
        return 1;
    }
    int max = 0;
    for (int i = 0; i < argc; i++) {
        int k = atoi(argv[i]);
        max = k > max ? k : max;
    }
    bench_t *bs = calloc((size_t)max + 1, sizeof *bs);   /* the bench's own records: before k = 0 */
    bench_heap(&live, &calls);
    bench_reply("HEAP 0 %lld %lld", (long long)live, (long long)calls);
    int open = 0;
    for (int i = 0; i < argc; i++) {
        int k = atoi(argv[i]);
        for (; open < k; open++) {
            if (open_client(&bs[open], port, 0) == NULL || !wait_sem(&bs[open].connected) ||
                atomic_load(&bs[open].failed)) {
                bench_reply("FAIL connect %d", open);
                return 1;
            }
        }
        usleep(50000);   /* lets the task finish the CONNECTED dispatch */
        bench_heap(&live, &calls);
        bench_reply("HEAP %d %lld %lld", k, (long long)live, (long long)calls);
    }
    if (open >= 2) {
        const ws_engine_slot_t *s0 = &bs[0].client->slot;
        const ws_engine_slot_t *s1 = &bs[1].client->slot;
        uint32_t stride = s1->conn > s0->conn ? s1->conn - s0->conn : s0->conn - s1->conn;
        uint32_t rx = ws_engine_io(s0, WSE_C_RX_PTR), tx = ws_engine_io(s0, WSE_C_TX_PTR);
        uint32_t ctl = ws_engine_io(s0, WSE_C_CTL_PTR), ev = ws_engine_io(s0, WSE_C_EV_PTR);
        uint32_t ev_bytes = ws_engine_io(s0, WSE_C_EV_CAP) * WSE_EV_SIZE;
        bench_reply("SLOT %u %u %u %u %u %u %u", (unsigned)stride, (unsigned)(rx - s0->conn),
                    (unsigned)ws_engine_io(s0, WSE_C_RX_CAP), (unsigned)(ctl - tx), (unsigned)(ev - ctl),
                    (unsigned)ev_bytes, (unsigned)ws_engine_io(s0, WSE_C_EV_CAP));
    }
    for (int i = 0; i < open; i++) {
        esp_websocket_client_destroy(bs[i].client);
    }
    free(bs);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s run PORT [handler] [buffer_size] | heap PORT K...\n", argv[0]);
        return 2;
    }
    esp_log_level_set("*", ESP_LOG_WARN);
    int port = atoi(argv[2]);
    if (strcmp(argv[1], "run") == 0) {
        bool handler = argc > 3 && strcmp(argv[3], "handler") == 0;
        int buffer_size = argc > 4 ? atoi(argv[4]) : 0;
        return run(port, handler, buffer_size);
    }
    if (strcmp(argv[1], "heap") == 0) {
        return heap(port, argc - 3, argv + 3);
    }
    return 2;
}
