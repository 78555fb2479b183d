/*
 * ws_engine_rt.h - what ws_engine.c needs from a WebAssembly runtime (private to component/src).
 *
 * Exactly one backend is compiled: ws_engine_wasm2c.c (default) or ws_engine_wasm3.c (with
 * WS_ENGINE_RUNTIME_WASM3). ws_engine.c serialises every call with its mutex, so backends need no
 * locking of their own, and it never calls into an instance after that instance trapped.
 */
#ifndef WS_ENGINE_RT_H
#define WS_ENGINE_RT_H

#include <stdint.h>

/* The exports the binding calls, with their parameter counts in ws_rt_argc. */
typedef enum ws_rt_fn {
    WS_FN_INIT,            /* (max_conns, buf_size, ev_cap, scratch_size) -> i32 */
    WS_FN_CONN,            /* (slot) -> i32 */
    WS_FN_SCRATCH,         /* () -> i32 */
    WS_FN_CONN_RESET,      /* (slot) -> i32 */
    WS_FN_CONN_CONFIG,     /* (slot, param, value) -> i32 */
    WS_FN_URI_PARSE,       /* (len) -> i32 */
    WS_FN_HS_REQUEST,      /* (slot, port, host_len, path_len, proto_len, ua_len, auth_len, hdr_len) -> i32 */
    WS_FN_RECV,            /* (slot, n, now_ms, key1, key2) -> i32 */
    WS_FN_SEND,            /* (slot, opflags, len, key, now_ms) -> i32 */
    WS_FN_TICK,            /* (slot, now_ms, key) -> i32 */
    WS_FN_ERR_CLOSE_CODE,  /* (err) -> i32 */
    WS_FN_K_MASK,          /* (dst, src, len, key, phase) -> void */
    WS_FN_COUNT
} ws_rt_fn_t;

/* Export names, indexed by ws_rt_fn_t. */
extern const char *const ws_rt_export_name[WS_FN_COUNT];
/* Number of i32 parameters, indexed by ws_rt_fn_t. */
extern const uint8_t ws_rt_argc[WS_FN_COUNT];

typedef struct ws_rt ws_rt_t;

/* Instantiates engine.wasm. mem_limit > 0 caps linear memory at that many bytes (wasm3:
 * memoryLimit; wasm2c: the initial block shrunk, when the layout fits in the initial pages);
 * 0 = what the module asks for. Returns 0 and *out, or -1 (*why = reason). */
int ws_rt_create(ws_rt_t **out, uint32_t mem_limit, const char **why);

/* Frees the instance and its linear memory. NULL is a no-op. */
void ws_rt_destroy(ws_rt_t *rt);

/* Calls fn with ws_rt_argc[fn] arguments from args. Returns 0 and *ret (0 for a void export), or
 * -1 when the call trapped (*trap = the runtime's description); the instance is then unusable. */
int ws_rt_call(ws_rt_t *rt, ws_rt_fn_t fn, const uint32_t *args, int32_t *ret, const char **trap);

/* Base and size of linear memory (re-fetch after anything that may grow it: init). */
uint8_t *ws_rt_memory(ws_rt_t *rt, uint32_t *size);

/* "wasm2c" or "wasm3". */
extern const char ws_rt_name[];

#endif /* WS_ENGINE_RT_H */
