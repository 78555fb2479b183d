/*
 * bench_common.h - what the loopback bench clients share (header-only; each client is one .c file).
 *
 * Every client is driven the same way by bench/loopback.ts: it connects once, prints "READY",
 * then reads commands on stdin, one per line, and answers each with one line:
 *   rtt SIZE MS            sequential round trips (send one message, wait for its echo) for MS ms
 *   pipe SIZE DEPTH MS     pipelined: keep DEPTH messages in flight for MS ms, then drain
 *   quit
 * Answer: "OK <messages echoed> <elapsed ns>", or "FAIL <why>" (a wrong echo, a lost connection).
 *
 * Payloads: binary, SIZE bytes of a fixed pattern with the message's sequence number in the first
 * 4 bytes (when SIZE >= 4), so an echo is checked for content and order.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A pattern buffer of `size` bytes. */
static inline uint8_t *bench_pattern(size_t size)
{
    uint8_t *p = malloc(size > 0 ? size : 1);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < size; i++) {
        p[i] = (uint8_t)(i * 31u + 7u);
    }
    return p;
}

/* Stamps message number `seq` into the pattern (in place). */
static inline void bench_stamp(uint8_t *p, size_t size, uint32_t seq)
{
    if (size >= 4) {
        memcpy(p, &seq, 4);
    }
}

/* True when `got` (len bytes) is the echo of message `seq` of the pattern `ref` (size bytes).
 * ref's first 4 bytes are ignored (they hold whichever stamp was written last). */
static inline int bench_check(const uint8_t *ref, size_t size, const uint8_t *got, size_t len, uint32_t seq)
{
    if (len != size) {
        return 0;
    }
    if (size >= 4) {
        uint32_t s;
        memcpy(&s, got, 4);
        return s == seq && memcmp(got + 4, ref + 4, size - 4) == 0;
    }
    return memcmp(got, ref, size) == 0;
}

/* One command line. Returns 0 for quit/EOF, 1 for a command (fields filled), -1 for garbage. */
typedef struct {
    int pipe;        /* 0: rtt, 1: pipe */
    size_t size;
    int depth;
    unsigned ms;
} bench_cmd_t;

static inline int bench_read_cmd(bench_cmd_t *c)
{
    char line[128];
    if (fgets(line, sizeof line, stdin) == NULL || strncmp(line, "quit", 4) == 0) {
        return 0;
    }
    memset(c, 0, sizeof *c);
    c->depth = 1;
    if (sscanf(line, "rtt %zu %u", &c->size, &c->ms) == 2) {
        return 1;
    }
    if (sscanf(line, "pipe %zu %d %u", &c->size, &c->depth, &c->ms) == 3 && c->depth >= 1) {
        c->pipe = 1;
        return 1;
    }
    return -1;
}

/* Heap counters of alloc_count.c when it is preloaded; 0 when not. */
typedef void (*alloc_read_fn)(int64_t *, int64_t *, int64_t *);

static inline int bench_heap(int64_t *live, int64_t *calls)
{
    static alloc_read_fn fn;
    static int looked;
    if (!looked) {
        fn = (alloc_read_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "alloc_count_read");
        looked = 1;
    }
    if (fn == NULL) {
        return 0;
    }
    fn(live, NULL, calls);
    return 1;
}

static inline void bench_reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#include <stdarg.h>
static inline void bench_reply(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

#endif /* BENCH_COMMON_H */
