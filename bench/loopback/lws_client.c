/*
 * lws_client.c - the loopback bench client on libwebsockets (Debian libwebsockets-dev), the C peer
 * of ours_client.c. Single-threaded: everything runs in lws_service(). Driven by bench/loopback.ts
 * (protocol in bench_common.h).
 *
 *   lws_client run PORT          one connection to ws://127.0.0.1:PORT/echo, then stdin commands
 *   lws_client heap PORT K1 K2   connections one after another until K1, K2, ... are open at
 *                                once; prints "HEAP <k> <live bytes> <allocation calls>" (k = 0:
 *                                after lws_create_context, before the first connection)
 *
 * Library defaults throughout (rx buffer size 0 = lws's default, no extensions, no TLS).
 * Messages are sent whole with one lws_write(); lws keeps what the socket did not take and
 * finishes it before the next WRITEABLE callback.
 */
#include <libwebsockets.h>
#include <malloc.h>
#include <unistd.h>

#include "bench_common.h"

typedef struct {
    int established;
    int closed;
    /* the current run */
    int running;
    const uint8_t *ref;
    uint8_t *tx;              /* LWS_PRE bytes of headroom, then the payload */
    uint8_t *rx;
    size_t size;
    size_t rx_got;
    uint32_t tx_seq, rx_seq;
    int depth;
    int inflight;
    uint64_t deadline;
    uint64_t echoed;
    int failed;
    int stop_sending;
} conn_t;

static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)user;
    conn_t *c = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        c->established = 1;
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
        if (c != NULL) {
            c->closed = 1;
        }
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (!c->running || c->rx_got + len > c->size) {
            c->failed = 1;
            break;
        }
        memcpy(c->rx + c->rx_got, in, len);
        c->rx_got += len;
        if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
            if (!bench_check(c->ref, c->size, c->rx, c->rx_got, c->rx_seq)) {
                c->failed = 1;
                fprintf(stderr, "lws: wrong echo #%u (%zu bytes)\n", c->rx_seq, c->rx_got);
            }
            c->rx_seq++;
            c->rx_got = 0;
            c->echoed++;
            c->inflight--;
            if (now_ns() >= c->deadline) {
                c->stop_sending = 1;
            }
            if (!c->stop_sending) {
                lws_callback_on_writable(wsi);
            }
        }
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (!c->running || c->stop_sending || c->inflight >= c->depth) {
            break;
        }
        /* lws masks the payload in place: the message is rebuilt for every send */
        memcpy(c->tx + LWS_PRE, c->ref, c->size);
        bench_stamp(c->tx + LWS_PRE, c->size, c->tx_seq++);
        if (lws_write(wsi, c->tx + LWS_PRE, c->size, LWS_WRITE_BINARY) < (int)c->size) {
            c->failed = 1;
            return -1;
        }
        c->inflight++;
        if (c->inflight < c->depth) {
            lws_callback_on_writable(wsi);
        }
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    { "bench", cb, 0, 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 },
};

static struct lws_context *make_context(void)
{
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.gid = -1;
    info.uid = -1;
    return lws_create_context(&info);
}

static struct lws *connect_one(struct lws_context *ctx, int port, conn_t *c)
{
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = ctx;
    ci.address = "127.0.0.1";
    ci.port = port;
    ci.path = "/echo";
    ci.host = "127.0.0.1";
    ci.origin = "127.0.0.1";
    ci.local_protocol_name = "bench";
    ci.opaque_user_data = c;
    struct lws *wsi = lws_client_connect_via_info(&ci);
    if (wsi == NULL) {
        return NULL;
    }
    uint64_t until = now_ns() + 10000000000ull;
    while (!c->established && !c->closed && now_ns() < until) {
        lws_service(ctx, 0);
    }
    return c->established && !c->closed ? wsi : NULL;
}

static int run(int port)
{
    struct lws_context *ctx = make_context();
    conn_t *c = calloc(1, sizeof *c);
    struct lws *wsi = ctx != NULL ? connect_one(ctx, port, c) : NULL;
    if (wsi == NULL) {
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
        c->tx = malloc(LWS_PRE + cmd.size);
        memcpy(c->tx + LWS_PRE, ref, cmd.size);
        c->rx = malloc(cmd.size + 1);
        c->ref = ref;
        c->size = cmd.size;
        c->depth = cmd.pipe ? cmd.depth : 1;
        c->inflight = 0;
        c->rx_got = 0;
        c->tx_seq = c->rx_seq;
        c->echoed = 0;
        c->stop_sending = 0;
        c->running = 1;
        uint64_t t0 = now_ns();
        c->deadline = t0 + (uint64_t)cmd.ms * 1000000u;
        lws_callback_on_writable(wsi);
        uint64_t limit = c->deadline + 10000000000ull;
        while (!c->failed && !c->closed && (!c->stop_sending || c->inflight > 0) && now_ns() < limit) {
            lws_service(ctx, 0);
        }
        uint64_t t1 = now_ns();
        c->running = 0;
        if (c->failed || c->closed || c->inflight > 0) {
            bench_reply("FAIL %s", c->failed ? "wrong echo" : c->closed ? "closed" : "timeout");
            return 1;
        }
        bench_reply("OK %llu %llu", (unsigned long long)c->echoed, (unsigned long long)(t1 - t0));
        free(c->tx);
        free(c->rx);
        free(ref);
    }
    lws_context_destroy(ctx);
    free(c);
    return 0;
}

static int heap(int port, int argc, char **argv)
{
    int64_t live, calls;
    if (!bench_heap(&live, &calls)) {
        bench_reply("FAIL alloc_count.c is not preloaded");
        return 1;
    }
    int64_t before = live;
    struct lws_context *ctx = make_context();
    if (ctx == NULL) {
        bench_reply("FAIL context");
        return 1;
    }
    int max = 0;
    for (int i = 0; i < argc; i++) {
        int k = atoi(argv[i]);
        max = k > max ? k : max;
    }
    /* the bench's own per-connection record is allocated up front, outside the figures */
    conn_t *cs = calloc((size_t)max + 1, sizeof *cs);
    bench_heap(&live, &calls);
    bench_reply("CONTEXT %lld", (long long)(live - before - (int64_t)malloc_usable_size(cs)));
    bench_reply("HEAP 0 %lld %lld", (long long)live, (long long)calls);
    int open = 0;
    for (int i = 0; i < argc; i++) {
        int k = atoi(argv[i]);
        for (; open < k; open++) {
            if (connect_one(ctx, port, &cs[open]) == NULL) {
                bench_reply("FAIL connect %d", open);
                return 1;
            }
        }
        uint64_t until = now_ns() + 50000000u;   /* let lws settle, as the other client sleeps */
        while (now_ns() < until) {
            lws_service(ctx, 0);
            usleep(1000);
        }
        bench_heap(&live, &calls);
        bench_reply("HEAP %d %lld %lld", k, (long long)live, (long long)calls);
    }
    lws_context_destroy(ctx);
    free(cs);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s run PORT | heap PORT K...\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[2]);
    if (strcmp(argv[1], "run") == 0) {
        return run(port);
    }
    if (strcmp(argv[1], "heap") == 0) {
        return heap(port, argc - 3, argv + 3);
    }
    return 2;
}
