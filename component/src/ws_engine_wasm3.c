/*
 * ws_engine_wasm3.c - the engine run by the wasm3 interpreter (compiled with WS_ENGINE_RUNTIME_WASM3).
 *
 * One environment + runtime + module per instance. Every export is looked up (and so compiled)
 * when the instance is created, never on the data path. A call that returns an M3Result is a trap:
 * the runtime is unusable afterwards and ws_engine.c rebuilds it.
 *
 * Memory cap: wasm3 has no public setter for the size of linear memory, but its runtime struct has
 * `memoryLimit` (m3_env.h), honoured when memory is allocated in m3_LoadModule and on memory.grow:
 * the module still sees whole 64 KiB pages, only `memoryLimit` bytes exist. It must be set between
 * m3_NewRuntime and m3_LoadModule, and this file must be compiled with the same configuration
 * macros as wasm3 itself (e.g. -DESP32), or the field sits at another offset.
 */
#ifdef WS_ENGINE_RUNTIME_WASM3

#include <stdbool.h>
#include <stdint.h>

#include "wasm3.h"
#include "m3_env.h"
#include "engine_wasm.h"

#include "ws_engine.h"
#include "ws_engine_rt.h"
#include "ws_port.h"

const char ws_rt_name[] = "wasm3";

struct ws_rt {
    IM3Environment env;
    IM3Runtime runtime;
    IM3Function fn[WS_FN_COUNT];
};

void ws_rt_destroy(ws_rt_t *rt)
{
    if (rt == NULL) {
        return;
    }
    if (rt->runtime != NULL) {
        m3_FreeRuntime(rt->runtime);   /* frees the loaded module and linear memory too */
    }
    if (rt->env != NULL) {
        m3_FreeEnvironment(rt->env);
    }
    ws_port_free(rt);
}

int ws_rt_create(ws_rt_t **out, uint32_t mem_limit, const char **why)
{
    *out = NULL;
    ws_rt_t *rt = ws_port_calloc(1, sizeof *rt);
    if (rt == NULL) {
        *why = "out of memory";
        return -1;
    }
    M3Result res = m3Err_none;
    IM3Module module = NULL;
    rt->env = m3_NewEnvironment();
    if (rt->env == NULL) {
        res = "m3_NewEnvironment failed";
        goto fail;
    }
    rt->runtime = m3_NewRuntime(rt->env, WS_ENGINE_STACK_BYTES, NULL);
    if (rt->runtime == NULL) {
        res = "m3_NewRuntime failed";
        goto fail;
    }
    rt->runtime->memoryLimit = mem_limit;   /* 0 = no cap */
    res = m3_ParseModule(rt->env, &module, ws_engine_wasm, (uint32_t)ws_engine_wasm_len);
    if (res != m3Err_none) {
        goto fail;
    }
    res = m3_LoadModule(rt->runtime, module);
    if (res != m3Err_none) {
        m3_FreeModule(module);   /* ownership passes to the runtime only when loading succeeds */
        goto fail;
    }
#if !WS_ENGINE_WASM3_LAZY_COMPILE
    /* Compile every function now: wasm3 otherwise compiles a callee at its first call, which
     * would allocate code pages on the data path (the first handshake, the first frame). With
     * lazy compilation (Kconfig) the functions never called are never compiled; a first call that
     * cannot get its code pages fails like a trap. */
    res = m3_CompileModule(module);
    if (res != m3Err_none) {
        goto fail;
    }
#endif
    for (int i = 0; i < WS_FN_COUNT; i++) {
        res = m3_FindFunction(&rt->fn[i], rt->runtime, ws_rt_export_name[i]);
        if (res != m3Err_none) {
            goto fail;
        }
    }
    *out = rt;
    return 0;
fail:
    *why = res;
    ws_rt_destroy(rt);
    return -1;
}

int ws_rt_call(ws_rt_t *rt, ws_rt_fn_t fn, const uint32_t *a, int32_t *ret, const char **trap_msg)
{
    IM3Function f = rt->fn[fn];
    M3Result res;
    switch (ws_rt_argc[fn]) {
    case 0: res = m3_CallV(f); break;
    case 1: res = m3_CallV(f, a[0]); break;
    case 3: res = m3_CallV(f, a[0], a[1], a[2]); break;
    case 4: res = m3_CallV(f, a[0], a[1], a[2], a[3]); break;
    case 5: res = m3_CallV(f, a[0], a[1], a[2], a[3], a[4]); break;
    case 8: res = m3_CallV(f, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]); break;
    default: res = "unsupported parameter count"; break;
    }
    if (res != m3Err_none) {
        *trap_msg = res;
        return -1;
    }
    int32_t r = 0;
    if (fn != WS_FN_K_MASK) {
        res = m3_GetResultsV(f, &r);
        if (res != m3Err_none) {
            *trap_msg = res;
            return -1;
        }
    }
    *ret = r;
    return 0;
}

uint8_t *ws_rt_memory(ws_rt_t *rt, uint32_t *size)
{
    return m3_GetMemory(rt->runtime, size, 0);
}

#endif /* WS_ENGINE_RUNTIME_WASM3 */
