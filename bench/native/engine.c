/*
 * engine.c - engine.wasm on wasm2c and on wasm3, driven the way component/src drives it, with
 * slot 0 brought to OPEN through a real handshake (hs_request, then a 101 response carrying the
 * accept value the engine expects).
 *
 * wasm3 is compiled in with -DBENCH_WASM3 (headers and libm3.a come from outside the repository;
 * see bench/native.ts and bench/rv32.ts). This file must then be compiled with the same
 * configuration macros as libm3.a (e.g. -DESP32 -DM3_IN_IRAM on rv32), because it writes the
 * runtime's memoryLimit field like component/src/ws_engine_wasm3.c does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm-rt.h"
#include "wasm-rt-impl.h"
#include "engine_wasm2c.h"
#include "engine_wasm.h"
#include "ws_engine_abi.h"

#ifdef BENCH_WASM3
#include "wasm3.h"
#include "m3_env.h"
#endif

#include "wsbench.h"

void (*eng_step_hook)(const char *step);

static void step(const char *name)
{
    if (eng_step_hook != NULL) {
        eng_step_hook(name);
    }
}

enum { FN_INIT, FN_CONN, FN_CONN_RESET, FN_CONN_CONFIG, FN_HS_REQUEST, FN_RECV, FN_SEND, FN_K_UTF8, FN_TICK, FN_COUNT };
static const char *const fn_name[FN_COUNT] = {
    "init", "conn", "conn_reset", "conn_config", "hs_request", "recv", "send", "k_utf8", "tick",
};

int eng_wasm3_compile_all;

struct eng {
    eng_kind_t kind;
    uint32_t conn, rx, tx;
    Z_engine_instance_t w2c;
#ifdef BENCH_WASM3
    IM3Environment env;
    IM3Runtime rt;
    IM3Function fn[FN_COUNT];
#endif
};

int eng_available(eng_kind_t kind)
{
#ifdef BENCH_WASM3
    (void)kind;
    return 1;
#else
    return kind == ENG_WASM2C;
#endif
}

uint8_t *eng_mem(eng_t *e)
{
#ifdef BENCH_WASM3
    if (e->kind == ENG_WASM3) {
        uint32_t size;
        return m3_GetMemory(e->rt, &size, 0);
    }
#endif
    return Z_engineZ_memory(&e->w2c)->data;
}

uint32_t eng_conn(eng_t *e) { return e->conn; }
uint32_t eng_rx(eng_t *e) { return e->rx; }
uint32_t eng_tx(eng_t *e) { return e->tx; }

/* Generic call for the set-up path (any export, up to 8 arguments). Traps print and give INT32_MIN. */
static int32_t call(eng_t *e, int fn, int argc, const uint32_t *a)
{
#ifdef BENCH_WASM3
    if (e->kind == ENG_WASM3) {
        IM3Function f = e->fn[fn];
        M3Result r;
        switch (argc) {
        case 1: r = m3_CallV(f, a[0]); break;
        case 2: r = m3_CallV(f, a[0], a[1]); break;
        case 3: r = m3_CallV(f, a[0], a[1], a[2]); break;
        case 4: r = m3_CallV(f, a[0], a[1], a[2], a[3]); break;
        case 5: r = m3_CallV(f, a[0], a[1], a[2], a[3], a[4]); break;
        case 8: r = m3_CallV(f, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]); break;
        default: r = "bad argc"; break;
        }
        int32_t ret = 0;
        if (r == m3Err_none) {
            r = m3_GetResultsV(f, &ret);
        }
        if (r != m3Err_none) {
            printf("wasm3: %s trapped: %s\n", fn_name[fn], r);
            return INT32_MIN;
        }
        return ret;
    }
#endif
    Z_engine_instance_t *in = &e->w2c;
    wasm_rt_trap_t trap = wasm_rt_impl_try();
    if (trap != WASM_RT_TRAP_NONE) {
        printf("wasm2c: %s trapped: %s\n", fn_name[fn], wasm_rt_strerror(trap));
        return INT32_MIN;
    }
    switch (fn) {
    case FN_INIT: return (int32_t)Z_engineZ_init(in, a[0], a[1], a[2], a[3]);
    case FN_CONN: return (int32_t)Z_engineZ_conn(in, a[0]);
    case FN_CONN_RESET: return (int32_t)Z_engineZ_conn_reset(in, a[0]);
    case FN_CONN_CONFIG: return (int32_t)Z_engineZ_conn_config(in, a[0], a[1], a[2]);
    case FN_HS_REQUEST: return (int32_t)Z_engineZ_hs_request(in, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
    case FN_RECV: return (int32_t)Z_engineZ_recv(in, a[0], a[1], a[2], a[3], a[4]);
    case FN_SEND: return (int32_t)Z_engineZ_send(in, a[0], a[1], a[2], a[3], a[4]);
    case FN_K_UTF8: return (int32_t)Z_engineZ_k_utf8(in, a[0], a[1]);
    case FN_TICK: return (int32_t)Z_engineZ_tick(in, a[0], a[1], a[2]);
    default: return INT32_MIN;
    }
}

/* The data path: the same calls without the generic dispatch, each as the component's binding
 * makes it (component/src/ws_engine_wasm{2c,3}.c): wasm3 through m3_CallV + m3_GetResultsV,
 * wasm2c with the trap handler armed (a setjmp) before the call. */
int32_t eng_recv(eng_t *e, uint32_t n, uint32_t now, uint32_t key1, uint32_t key2)
{
#ifdef BENCH_WASM3
    if (e->kind == ENG_WASM3) {
        int32_t ret = -1;
        if (m3_CallV(e->fn[FN_RECV], 0, n, now, key1, key2) != m3Err_none ||
            m3_GetResultsV(e->fn[FN_RECV], &ret) != m3Err_none) {
            return INT32_MIN;
        }
        return ret;
    }
#endif
    if (wasm_rt_impl_try() != WASM_RT_TRAP_NONE) {
        return INT32_MIN;
    }
    return (int32_t)Z_engineZ_recv(&e->w2c, 0, n, now, key1, key2);
}

int32_t eng_send(eng_t *e, uint32_t opflags, uint32_t len, uint32_t key, uint32_t now)
{
#ifdef BENCH_WASM3
    if (e->kind == ENG_WASM3) {
        int32_t ret = -1;
        if (m3_CallV(e->fn[FN_SEND], 0, opflags, len, key, now) != m3Err_none ||
            m3_GetResultsV(e->fn[FN_SEND], &ret) != m3Err_none) {
            return INT32_MIN;
        }
        return ret;
    }
#endif
    if (wasm_rt_impl_try() != WASM_RT_TRAP_NONE) {
        return INT32_MIN;
    }
    return (int32_t)Z_engineZ_send(&e->w2c, 0, opflags, len, key, now);
}

int32_t eng_k_utf8(eng_t *e, uint32_t ptr, uint32_t len)
{
#ifdef BENCH_WASM3
    if (e->kind == ENG_WASM3) {
        int32_t ret = -2;
        if (m3_CallV(e->fn[FN_K_UTF8], ptr, len) != m3Err_none ||
            m3_GetResultsV(e->fn[FN_K_UTF8], &ret) != m3Err_none) {
            return INT32_MIN;
        }
        return ret;
    }
#endif
    if (wasm_rt_impl_try() != WASM_RT_TRAP_NONE) {
        return INT32_MIN;
    }
    return (int32_t)Z_engineZ_k_utf8(&e->w2c, ptr, len);
}

int32_t eng_tick(eng_t *e, uint32_t now, uint32_t key)
{
    uint32_t a[3] = { 0, now, key };
    return call(e, FN_TICK, 3, a);
}

static uint32_t rd32(const uint8_t *m, uint32_t at)
{
    uint32_t v;
    memcpy(&v, m + at, 4);
    return v;
}

/* conn_reset, hs_request for ws://example.com/ws, then the server's 101 with the expected accept. */
int eng_handshake(eng_t *e)
{
    uint32_t a[8] = { 0 };
    int32_t c = call(e, FN_CONN, 1, a);
    if (c < 0 || call(e, FN_CONN_RESET, 1, a) != 0) {
        printf("conn/conn_reset failed (%ld)\n", (long)c);
        return -1;
    }
    uint8_t *m = eng_mem(e);
    e->conn = (uint32_t)c;
    e->rx = rd32(m, e->conn + WSE_C_RX_PTR);
    e->tx = rd32(m, e->conn + WSE_C_TX_PTR);
    a[1] = WSE_PARAM_PING_INTERVAL_MS;   /* no timers in the way (recv never looks at them anyway) */
    a[2] = 0;
    if (call(e, FN_CONN_CONFIG, 3, a) != 0) {
        printf("conn_config failed\n");
        return -1;
    }
    static const char host[] = "example.com", path[] = "/ws";
    uint8_t *rx = m + e->rx;
    for (int i = 0; i < 16; i++) {
        rx[i] = (uint8_t)(0x5a + 13 * i);   /* the 16 "random" key bytes */
    }
    memcpy(rx + 16, host, sizeof host - 1);
    memcpy(rx + 16 + sizeof host - 1, path, sizeof path - 1);
    uint32_t hs[8] = { 0, 80, sizeof host - 1, sizeof path - 1, 0, 0, 0, 0 };
    int32_t reqlen = call(e, FN_HS_REQUEST, 8, hs);
    if (reqlen <= 0) {
        printf("hs_request failed (%ld)\n", (long)reqlen);
        return -1;
    }
    m = eng_mem(e);
    char resp[256];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %.28s\r\n\r\n", (const char *)(m + e->conn + WSE_C_HS_AREA));
    memcpy(m + e->rx, resp, (size_t)n);
    uint32_t rv[5] = { 0, (uint32_t)n, 0, 0x11111111, 0x22222222 };
    int32_t count = call(e, FN_RECV, 5, rv);
    m = eng_mem(e);
    uint32_t ev = rd32(m, e->conn + WSE_C_EV_PTR);
    uint32_t last = count > 0 ? (rd32(m, ev + (uint32_t)(count - 1) * WSE_EV_SIZE + WSE_EV_KIND) >> 8) & 0xff : 0;   /* type */
    if (count < 1 || last != WSE_EV_OPEN || rd32(m, e->conn + WSE_C_STATE) != WSE_STATE_OPEN) {
        printf("handshake did not open the slot: %ld events, last type %u, state %u, error %u\n", (long)count,
               (unsigned)last, (unsigned)rd32(m, e->conn + WSE_C_STATE), (unsigned)rd32(m, e->conn + WSE_C_ERROR));
        return -1;
    }
    return 0;
}

static int s_w2c_ready;

eng_t *eng_open(eng_kind_t kind, uint32_t max_conns, uint32_t buf_size, uint32_t ev_cap,
                uint32_t mem_limit, uint32_t wasm3_stack)
{
    if (!eng_available(kind)) {
        return NULL;
    }
    eng_t *e = calloc(1, sizeof *e);
    if (e == NULL) {
        printf("out of memory\n");
        return NULL;
    }
    e->kind = kind;
    if (kind == ENG_WASM2C) {
        (void)wasm3_stack;
        if (!s_w2c_ready) {
            wasm_rt_init();
            Z_engine_init_module();
            s_w2c_ready = 1;
        }
        Z_engine_instantiate(&e->w2c);
        step("wasm2c instantiate (1 page of linear memory)");
        wasm_rt_memory_t *m = Z_engineZ_memory(&e->w2c);
        if (mem_limit != 0 && (uint64_t)mem_limit + 64 <= m->size) {
            /* as component/src/ws_engine_wasm2c.c does: keep only the layout's bytes */
            uint8_t *d = realloc(m->data, mem_limit);
            if (d != NULL) {
                m->data = d;
                m->size = mem_limit;
            }
            step("wasm2c linear memory shrunk to the layout");
        }
    }
#ifdef BENCH_WASM3
    else {
        M3Result r = m3Err_none;
        IM3Module mod = NULL;
        e->env = m3_NewEnvironment();
        step("m3_NewEnvironment");
        e->rt = e->env ? m3_NewRuntime(e->env, wasm3_stack, NULL) : NULL;
        step("m3_NewRuntime");
        if (e->rt == NULL) {
            printf("wasm3: runtime creation failed\n");
            return NULL;
        }
        e->rt->memoryLimit = mem_limit;
        r = m3_ParseModule(e->env, &mod, ws_engine_wasm, (uint32_t)ws_engine_wasm_len);
        step("m3_ParseModule");
        if (r == m3Err_none) {
            r = m3_LoadModule(e->rt, mod);
            step("m3_LoadModule (allocates linear memory)");
        }
        if (r == m3Err_none && eng_wasm3_compile_all) {
            r = m3_CompileModule(mod);   /* as component/src/ws_engine_wasm3.c does */
            step("m3_CompileModule (every function)");
        }
        for (int i = 0; i < FN_COUNT && r == m3Err_none; i++) {
            r = m3_FindFunction(&e->fn[i], e->rt, fn_name[i]);
        }
        step("m3_FindFunction x 9 (compiles them unless compiled)");
        if (r != m3Err_none) {
            printf("wasm3: loading engine.wasm failed: %s\n", r);
            return NULL;
        }
    }
#endif
    uint32_t a[4] = { max_conns, buf_size, ev_cap, WSB_SCRATCH };
    int32_t end = call(e, FN_INIT, 4, a);
    step("init (grows linear memory for the slots)");
    if (end < 0) {
        printf("init(%u, %u, %u, scratch) failed: %ld\n", (unsigned)max_conns, (unsigned)buf_size, (unsigned)ev_cap, (long)end);
        return NULL;
    }
    if (eng_handshake(e) != 0) {
        return NULL;
    }
    step("slot 0 open (handshake)");
    return e;
}

void eng_close(eng_t *e)
{
    if (e == NULL) {
        return;
    }
#ifdef BENCH_WASM3
    if (e->kind == ENG_WASM3) {
        m3_FreeRuntime(e->rt);
        m3_FreeEnvironment(e->env);
        free(e);
        return;
    }
#endif
    Z_engine_free(&e->w2c);
    free(e);
}
