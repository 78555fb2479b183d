/*
 * heapcount.c - counts the heap the runtimes take: every malloc/calloc/realloc/free of the
 * program (the harness, wasm3, the wasm2c runtime) goes through these wrappers when linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free. Figures are bytes requested (the
 * allocator's own per-block overhead is not included); each block carries a 16-byte header here
 * that records its size.
 *
 * Only __real_malloc and __real_free are called: picolibc's own calloc and realloc call malloc
 * and free internally, and those calls would be wrapped a second time.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wsbench.h"

void *__real_malloc(size_t n);
void __real_free(void *p);

size_t heap_live, heap_peak, heap_blocks;

enum { HDR = 16 };

static void *account(void *raw, size_t n)
{
    if (raw == NULL) {
        return NULL;
    }
    memcpy(raw, &n, sizeof n);
    heap_live += n;
    heap_blocks++;
    if (heap_live > heap_peak) {
        heap_peak = heap_live;
    }
    return (uint8_t *)raw + HDR;
}

static size_t size_of(void *p)
{
    size_t n;
    memcpy(&n, (uint8_t *)p - HDR, sizeof n);
    return n;
}

void *__wrap_malloc(size_t n)
{
    return account(__real_malloc(n + HDR), n);
}

void *__wrap_calloc(size_t n, size_t m)
{
    if (m != 0 && n > (SIZE_MAX - HDR) / m) {
        return NULL;
    }
    void *raw = __real_malloc(n * m + HDR);
    if (raw != NULL) {
        memset(raw, 0, n * m + HDR);
    }
    return account(raw, n * m);
}

void __wrap_free(void *p)
{
    if (p == NULL) {
        return;
    }
    heap_live -= size_of(p);
    heap_blocks--;
    __real_free((uint8_t *)p - HDR);
}

void *__wrap_realloc(void *p, size_t n)
{
    if (p == NULL) {
        return __wrap_malloc(n);
    }
    size_t old = size_of(p);
    void *raw = __real_malloc(n + HDR);
    if (raw == NULL) {
        return NULL;
    }
    memcpy((uint8_t *)raw + HDR, p, old < n ? old : n);
    __wrap_free(p);
    return account(raw, n);
}
