/*
 * fz_engine.c - engine instance, snapshot/restore and trap-checked export wrappers (fz_engine.h).
 *
 * Build with WASM_RT_MEMCHECK_SIGNAL_HANDLER=0 (like the component): linear memory is then a
 * plain calloc'd block with explicit bounds checks in the translated code, ASan sees its exact
 * size, and no process-wide SIGSEGV handler competes with the sanitizers.
 */
#include "fz_engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm-rt-impl.h"
#include "wasm-rt.h"

void fz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("\n*** FUZZ ORACLE FAILURE: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n", stderr);
    va_end(ap);
    fflush(stderr);
    abort();
}

static _Noreturn void trapped(const char *export_name, wasm_rt_trap_t trap)
{
    fz_fail("engine trapped in %s: %s", export_name, wasm_rt_strerror(trap));
}

/* Each wrapper arms the trap handler in its own frame, which is live during the call, so the
 * longjmp of a trap lands back in it. */
#define FZ_ARM(name)                                        \
    do {                                                    \
        wasm_rt_trap_t trap_ = wasm_rt_impl_try();          \
        if (trap_ != WASM_RT_TRAP_NONE) trapped(name, trap_); \
    } while (0)

static bool s_module_ready;

void fz_engine_setup(fz_engine_t *e, uint32_t max_conns, uint32_t buf_size, uint32_t ev_cap,
                     uint32_t scratch_size)
{
    if (!s_module_ready) {
        wasm_rt_init();
        Z_engine_init_module();
        s_module_ready = true;
    }
    memset(e, 0, sizeof *e);
    FZ_ARM("instantiate");
    Z_engine_instantiate(&e->inst);
    if (Z_engineZ_memory(&e->inst)->data == NULL) {
        fz_fail("linear memory allocation failed");
    }
    FZ_ARM("init");
    int32_t end = (int32_t)Z_engineZ_init(&e->inst, max_conns, buf_size, ev_cap, scratch_size);
    if (end <= 0) {
        fz_fail("init(%u, %u, %u, %u) = %d", max_conns, buf_size, ev_cap, scratch_size, end);
    }
    wasm_rt_memory_t *m = Z_engineZ_memory(&e->inst);
    if ((uint32_t)end > m->size) {
        fz_fail("init's layout end %d is beyond linear memory (%u bytes)", end, m->size);
    }
    e->layout_end = (uint32_t)end;
    e->max_conns = max_conns;
    e->buf_size = buf_size;
    e->ev_cap = ev_cap;
    e->scratch_size = scratch_size;
    e->snap_size = m->size;
    e->snap_mem = malloc(m->size);
    if (e->snap_mem == NULL) {
        fz_fail("out of memory");
    }
    memcpy(e->snap_mem, m->data, m->size);
    e->snap_inst = e->inst;
}

void fz_engine_restore(fz_engine_t *e)
{
    wasm_rt_memory_t *m = Z_engineZ_memory(&e->inst);
    if (m->size != e->snap_size) {
        /* The ABI forbids memory.grow after init. */
        fz_fail("linear memory changed size after init: %u -> %u bytes", e->snap_size, m->size);
    }
    uint8_t *data = m->data;
    memcpy(data, e->snap_mem, e->snap_size);
    e->inst = e->snap_inst;
    Z_engineZ_memory(&e->inst)->data = data;
}

uint8_t *fz_mem(fz_engine_t *e)
{
    return Z_engineZ_memory(&e->inst)->data;
}

uint32_t fz_mem_size(fz_engine_t *e)
{
    return Z_engineZ_memory(&e->inst)->size;
}

uint8_t *fz_at(fz_engine_t *e, uint32_t addr, uint32_t len, const char *what)
{
    uint32_t size = fz_mem_size(e);
    if (addr > size || len > size - addr) {
        fz_fail("%s: [%u, +%u) is outside linear memory (%u bytes)", what, addr, len, size);
    }
    return fz_mem(e) + addr;
}

uint32_t fz_rd32(fz_engine_t *e, uint32_t addr)
{
    const uint8_t *p = fz_at(e, addr, 4, "u32 read");
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void fz_wr32(fz_engine_t *e, uint32_t addr, uint32_t v)
{
    uint8_t *p = fz_at(e, addr, 4, "u32 write");
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

uint32_t fz_conn_field(fz_engine_t *e, uint32_t conn, uint32_t off)
{
    return fz_rd32(e, conn + off);
}

int32_t fz_e_conn(fz_engine_t *e, uint32_t slot)
{
    FZ_ARM("conn");
    return (int32_t)Z_engineZ_conn(&e->inst, slot);
}

int32_t fz_e_scratch(fz_engine_t *e)
{
    FZ_ARM("scratch");
    return (int32_t)Z_engineZ_scratch(&e->inst);
}

int32_t fz_e_conn_reset(fz_engine_t *e, uint32_t slot)
{
    FZ_ARM("conn_reset");
    return (int32_t)Z_engineZ_conn_reset(&e->inst, slot);
}

int32_t fz_e_conn_config(fz_engine_t *e, uint32_t slot, uint32_t param, uint32_t value)
{
    FZ_ARM("conn_config");
    return (int32_t)Z_engineZ_conn_config(&e->inst, slot, param, value);
}

int32_t fz_e_uri_parse(fz_engine_t *e, uint32_t len)
{
    FZ_ARM("uri_parse");
    return (int32_t)Z_engineZ_uri_parse(&e->inst, len);
}

int32_t fz_e_hs_request(fz_engine_t *e, uint32_t slot, uint32_t port, uint32_t host_len, uint32_t path_len,
                        uint32_t proto_len, uint32_t ua_len, uint32_t auth_len, uint32_t hdr_len)
{
    FZ_ARM("hs_request");
    return (int32_t)Z_engineZ_hs_request(&e->inst, slot, port, host_len, path_len, proto_len, ua_len,
                                         auth_len, hdr_len);
}

int32_t fz_e_recv(fz_engine_t *e, uint32_t slot, uint32_t n, uint32_t now, uint32_t key1, uint32_t key2)
{
    FZ_ARM("recv");
    return (int32_t)Z_engineZ_recv(&e->inst, slot, n, now, key1, key2);
}

int32_t fz_e_send(fz_engine_t *e, uint32_t slot, uint32_t opflags, uint32_t len, uint32_t key, uint32_t now)
{
    FZ_ARM("send");
    return (int32_t)Z_engineZ_send(&e->inst, slot, opflags, len, key, now);
}

int32_t fz_e_tick(fz_engine_t *e, uint32_t slot, uint32_t now, uint32_t key)
{
    FZ_ARM("tick");
    return (int32_t)Z_engineZ_tick(&e->inst, slot, now, key);
}

void fz_check_untouched_outside(fz_engine_t *e, uint32_t lo, uint32_t hi, const char *what)
{
    const uint8_t *m = fz_mem(e);
    if (lo > hi || hi > e->snap_size) {
        fz_fail("%s: bad range [%u, %u)", what, lo, hi);
    }
    if (memcmp(m, e->snap_mem, lo) != 0 || memcmp(m + hi, e->snap_mem + hi, e->snap_size - hi) != 0) {
        uint32_t i = 0;
        while (i < e->snap_size && (i >= lo && i < hi ? true : m[i] == e->snap_mem[i])) {
            i++;
        }
        fz_fail("%s: the engine wrote outside [%u, %u): first changed byte at %u", what, lo, hi, i);
    }
}

void fz_check_untouched_outside_two(fz_engine_t *e, uint32_t from, uint32_t lo, uint32_t hi, const char *what)
{
    const uint8_t *m = fz_mem(e);
    if (from > lo || lo > hi || hi > e->snap_size) {
        fz_fail("%s: bad ranges %u, [%u, %u)", what, from, lo, hi);
    }
    if (memcmp(m + from, e->snap_mem + from, lo - from) != 0 ||
        memcmp(m + hi, e->snap_mem + hi, e->snap_size - hi) != 0) {
        uint32_t i = from;
        while (i < e->snap_size && ((i >= lo && i < hi) || m[i] == e->snap_mem[i])) i++;
        fz_fail("%s: the engine wrote outside its slot [%u, %u): byte %u changed", what, lo, hi, i);
    }
}
