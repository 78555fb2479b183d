/*
 * ws_engine_wasm2c.c - the engine run as C translated by `wasm2c -n engine` (wabt 1.0.32).
 *
 * Traps: wabt's runtime reports a trap by longjmp to wasm_rt_jmp_buf, which wasm_rt_impl_try()
 * arms (setjmp) right before each export call. The jump buffer is process-global; ws_engine.c
 * holds its mutex around every call, so only one call is ever in flight.
 *
 * Build note: compile the runtime, this file and engine_wasm2c.c with
 * WASM_RT_MEMCHECK_SIGNAL_HANDLER=0 (explicit bounds checks). With wabt's 64-bit default (=1) the
 * runtime reserves 8 GiB of address space per instance and installs a process-wide SIGSEGV handler
 * that turns ANY segfault of the process - also one in unrelated C code - into a jump back here.
 *
 * Memory cap: the runtime callocs the module's whole initial memory (one 64 KiB page). With
 * explicit bounds checks every access is checked against wasm_rt_memory_t.size, not the page
 * count, so ws_rt_create shrinks the block (realloc: wabt 1.0.32's runtime grows it with realloc
 * and frees it with free) to the layout's size and sets `size`. The module still sees whole pages
 * (memory.size); only `size` bytes exist, as with wasm3's memoryLimit. A later memory.grow reallocs
 * to whole pages again; init never grows when the layout fits in the initial pages (the shrink is
 * only done then), and nothing is grown after init.
 */
#ifndef WS_ENGINE_RUNTIME_WASM3

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "wasm-rt.h"
#include "wasm-rt-impl.h"
#include "engine_wasm2c.h"

#include "ws_engine_rt.h"
#include "ws_port.h"

const char ws_rt_name[] = "wasm2c";

struct ws_rt {
    Z_engine_instance_t inst;
    bool instantiated;
};

static bool s_module_ready;   /* wasm_rt_init + Z_engine_init_module done (under the engine lock) */

/* Shrinks linear memory to `limit` bytes when the layout cannot make init grow it (init grows when
 * its own worst case, the layout + 64 bytes, passes the initial pages; the layout's size is
 * within 60 bytes of that). Keeps the whole block otherwise, or when realloc fails. */
static void shrink_memory(wasm_rt_memory_t *m, uint32_t limit)
{
#if WASM_RT_MEMCHECK_SIGNAL_HANDLER
    (void)m;
    (void)limit;   /* address-space reservation with guard pages: nothing to shrink */
#else
    if (limit == 0 || (uint64_t)limit + 64 > m->size) {
        return;
    }
    uint8_t *d = realloc(m->data, limit);
    if (d != NULL) {
        m->data = d;
        m->size = limit;
    }
#endif
}

int ws_rt_create(ws_rt_t **out, uint32_t mem_limit, const char **why)
{
    *out = NULL;
    if (!s_module_ready) {
        wasm_rt_init();
        Z_engine_init_module();
        s_module_ready = true;
    }
    ws_rt_t *rt = ws_port_calloc(1, sizeof *rt);
    if (rt == NULL) {
        *why = "out of memory";
        return -1;
    }
    /* Instantiation runs data-segment initialisers and a start function, if any: arm the trap
     * handler for it too. */
    wasm_rt_trap_t trap = wasm_rt_impl_try();
    if (trap != WASM_RT_TRAP_NONE) {
        *why = wasm_rt_strerror(trap);
        ws_port_free(rt);
        return -1;
    }
    Z_engine_instantiate(&rt->inst);
    if (Z_engineZ_memory(&rt->inst)->data == NULL) {
        Z_engine_free(&rt->inst);
        ws_port_free(rt);
        *why = "linear memory allocation failed";
        return -1;
    }
    rt->instantiated = true;
    shrink_memory(Z_engineZ_memory(&rt->inst), mem_limit);
    *out = rt;
    return 0;
}

void ws_rt_destroy(ws_rt_t *rt)
{
    if (rt == NULL) {
        return;
    }
    if (rt->instantiated) {
        Z_engine_free(&rt->inst);
    }
    ws_port_free(rt);
}

int ws_rt_call(ws_rt_t *rt, ws_rt_fn_t fn, const uint32_t *a, int32_t *ret, const char **trap_msg)
{
    Z_engine_instance_t *in = &rt->inst;
    int32_t r = 0;
    wasm_rt_trap_t trap = wasm_rt_impl_try();
    if (trap != WASM_RT_TRAP_NONE) {
        /* Back from a longjmp: nothing written after the setjmp above is relied on. */
        *trap_msg = wasm_rt_strerror(trap);
        return -1;
    }
    switch (fn) {
    case WS_FN_INIT:           r = (int32_t)Z_engineZ_init(in, a[0], a[1], a[2], a[3]); break;
    case WS_FN_CONN:           r = (int32_t)Z_engineZ_conn(in, a[0]); break;
    case WS_FN_SCRATCH:        r = (int32_t)Z_engineZ_scratch(in); break;
    case WS_FN_CONN_RESET:     r = (int32_t)Z_engineZ_conn_reset(in, a[0]); break;
    case WS_FN_CONN_CONFIG:    r = (int32_t)Z_engineZ_conn_config(in, a[0], a[1], a[2]); break;
    case WS_FN_URI_PARSE:      r = (int32_t)Z_engineZ_uri_parse(in, a[0]); break;
    case WS_FN_HS_REQUEST:     r = (int32_t)Z_engineZ_hs_request(in, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]); break;
    case WS_FN_RECV:           r = (int32_t)Z_engineZ_recv(in, a[0], a[1], a[2], a[3], a[4]); break;
    case WS_FN_SEND:           r = (int32_t)Z_engineZ_send(in, a[0], a[1], a[2], a[3], a[4]); break;
    case WS_FN_TICK:           r = (int32_t)Z_engineZ_tick(in, a[0], a[1], a[2]); break;
    case WS_FN_ERR_CLOSE_CODE: r = (int32_t)Z_engineZ_err_close_code(in, a[0]); break;
    case WS_FN_K_MASK:         Z_engineZ_k_mask(in, a[0], a[1], a[2], a[3], a[4]); break;
    default:
        *trap_msg = "unknown export";
        return -1;
    }
    *ret = r;
    return 0;
}

uint8_t *ws_rt_memory(ws_rt_t *rt, uint32_t *size)
{
    wasm_rt_memory_t *m = Z_engineZ_memory(&rt->inst);
    *size = m->size;
    return m->data;
}

#endif /* !WS_ENGINE_RUNTIME_WASM3 */
