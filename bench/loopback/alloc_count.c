/*
 * alloc_count.c - an LD_PRELOAD shim that counts heap use, for the heap-per-connection figures of
 * bench/loopback.ts and bench/memory.ts.
 *
 *   LD_PRELOAD=build/bench/.../liballoc_count.so ./program
 *
 * Every malloc-family call of the process (the program, libwebsockets, mbedTLS, glibc itself) goes
 * through here and on to glibc's own entry points (__libc_malloc and friends), so nothing changes
 * but the bookkeeping. "Live bytes" is the sum of malloc_usable_size() of the blocks not yet freed:
 * what the allocator handed out, including its rounding to 16 bytes, excluding its 8-byte chunk
 * headers. Thread stacks (mmap) and the allocator's arenas are not malloc calls and are not counted.
 *
 * A program reads the counters through dlsym(RTLD_DEFAULT, "alloc_count_read"); when the shim is
 * not preloaded the symbol is absent and the program reports no heap figures.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void __libc_free(void *p);

static int64_t s_live;      /* bytes in blocks not yet freed */
static int64_t s_peak;      /* highest s_live seen */
static int64_t s_calls;     /* successful allocations (malloc, calloc, realloc, memalign, ...) */

static void add(void *p)
{
    if (p == NULL) {
        return;
    }
    int64_t now = __atomic_add_fetch(&s_live, (int64_t)malloc_usable_size(p), __ATOMIC_RELAXED);
    __atomic_add_fetch(&s_calls, 1, __ATOMIC_RELAXED);
    int64_t peak = __atomic_load_n(&s_peak, __ATOMIC_RELAXED);
    while (now > peak && !__atomic_compare_exchange_n(&s_peak, &peak, now, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
}

static void sub(void *p)
{
    if (p != NULL) {
        __atomic_sub_fetch(&s_live, (int64_t)malloc_usable_size(p), __ATOMIC_RELAXED);
    }
}

/* The counters: live bytes, peak live bytes, allocation calls. Any pointer may be NULL. */
void alloc_count_read(int64_t *live, int64_t *peak, int64_t *calls)
{
    if (live != NULL) {
        *live = __atomic_load_n(&s_live, __ATOMIC_RELAXED);
    }
    if (peak != NULL) {
        *peak = __atomic_load_n(&s_peak, __ATOMIC_RELAXED);
    }
    if (calls != NULL) {
        *calls = __atomic_load_n(&s_calls, __ATOMIC_RELAXED);
    }
}

/* Restarts the peak at the current live figure. */
void alloc_count_reset_peak(void)
{
    __atomic_store_n(&s_peak, __atomic_load_n(&s_live, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
}

void *malloc(size_t size)
{
    void *p = __libc_malloc(size);
    add(p);
    return p;
}

void *calloc(size_t n, size_t size)
{
    void *p = __libc_calloc(n, size);
    add(p);
    return p;
}

void *realloc(void *old, size_t size)
{
    size_t before = old != NULL ? malloc_usable_size(old) : 0;
    void *p = __libc_realloc(old, size);
    if (p == NULL) {
        if (size == 0 && old != NULL) {
            __atomic_sub_fetch(&s_live, (int64_t)before, __ATOMIC_RELAXED);   /* realloc(p, 0) freed it */
        }
        return NULL;
    }
    __atomic_sub_fetch(&s_live, (int64_t)before, __ATOMIC_RELAXED);
    add(p);
    return p;
}

void free(void *p)
{
    sub(p);
    __libc_free(p);
}

void *memalign(size_t align, size_t size)
{
    void *p = __libc_memalign(align, size);
    add(p);
    return p;
}

void *aligned_alloc(size_t align, size_t size)
{
    return memalign(align, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    if (align < sizeof(void *) || (align & (align - 1)) != 0) {
        return 22;   /* EINVAL */
    }
    void *p = memalign(align, size);
    if (p == NULL) {
        return 12;   /* ENOMEM */
    }
    *out = p;
    return 0;
}

void *valloc(size_t size)
{
    return memalign(4096, size);
}

void *pvalloc(size_t size)
{
    return memalign(4096, (size + 4095) & ~(size_t)4095);
}
