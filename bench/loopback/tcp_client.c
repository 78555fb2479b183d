/*
 * tcp_client.c - the floor of the loopback bench: no WebSocket at all. Each message is a 4-byte
 * big-endian length followed by the payload, written with one send(); the raw echo server
 * (tcp_echo_server.ts) sends every complete message back the same way. Blocking socket,
 * TCP_NODELAY, one thread. Driven by bench/loopback.ts (protocol in bench_common.h).
 *
 *   tcp_client PORT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_common.h"

static int fd = -1;

static int send_all(const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Receive-side parser state: bytes of the current frame (header + payload) seen so far. */
typedef struct {
    uint8_t *buf;       /* 4 + size bytes */
    size_t size;
    size_t got;
    uint32_t seq;
} rx_t;

/* Reads what the socket has (blocking for at least one byte); returns the number of messages that
 * completed, -1 on error or a wrong echo. */
static int pump(rx_t *rx, const uint8_t *ref)
{
    static uint8_t chunk[256 * 1024];
    ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) {
        return -1;
    }
    int done = 0;
    size_t frame = 4 + rx->size;
    for (ssize_t off = 0; off < n;) {
        size_t take = frame - rx->got < (size_t)(n - off) ? frame - rx->got : (size_t)(n - off);
        memcpy(rx->buf + rx->got, chunk + off, take);
        rx->got += take;
        off += (ssize_t)take;
        if (rx->got == frame) {
            uint32_t len = ntohl(*(uint32_t *)rx->buf);
            if (!bench_check(ref, rx->size, rx->buf + 4, len, rx->seq)) {
                fprintf(stderr, "tcp: wrong echo #%u\n", rx->seq);
                return -1;
            }
            rx->seq++;
            rx->got = 0;
            done++;
        }
    }
    return done;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        bench_reply("FAIL connect");
        return 1;
    }
    bench_reply("READY");
    uint32_t seq = 0;
    bench_cmd_t cmd;
    int r;
    while ((r = bench_read_cmd(&cmd)) != 0) {
        if (r < 0) {
            bench_reply("FAIL bad command");
            continue;
        }
        uint8_t *ref = bench_pattern(cmd.size);
        uint8_t *tx = malloc(4 + cmd.size);
        uint32_t be = htonl((uint32_t)cmd.size);
        memcpy(tx, &be, 4);
        memcpy(tx + 4, ref, cmd.size);
        rx_t rx = { .buf = malloc(4 + cmd.size), .size = cmd.size, .got = 0, .seq = seq };
        int depth = cmd.pipe ? cmd.depth : 1;
        int inflight = 0;
        uint64_t echoed = 0;
        uint64_t t0 = now_ns();
        uint64_t deadline = t0 + (uint64_t)cmd.ms * 1000000u;
        const char *why = NULL;
        bool sending = true;
        while (why == NULL && (sending || inflight > 0)) {
            while (sending && inflight < depth) {
                bench_stamp(tx + 4, cmd.size, seq++);
                if (send_all(tx, 4 + cmd.size) != 0) {
                    why = "send";
                    break;
                }
                inflight++;
            }
            if (why != NULL) {
                break;
            }
            int k = pump(&rx, ref);
            if (k < 0) {
                why = "recv or wrong echo";
                break;
            }
            inflight -= k;
            echoed += (uint64_t)k;
            if (sending && now_ns() >= deadline) {
                sending = false;
            }
        }
        uint64_t t1 = now_ns();
        if (why != NULL) {
            bench_reply("FAIL %s", why);
            return 1;
        }
        bench_reply("OK %llu %llu", (unsigned long long)echoed, (unsigned long long)(t1 - t0));
        free(ref);
        free(tx);
        free(rx.buf);
    }
    close(fd);
    return 0;
}
