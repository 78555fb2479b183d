/*
 * ws_engine.c - the process-wide engine instance: creation, slots, one lock around every export
 * call, and recovery from traps. The runtime itself is behind ws_engine_rt.h. See ws_engine.h.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "esp_log.h"
#include "ws_engine.h"
#include "ws_engine_rt.h"
#include "ws_port.h"

static const char *TAG = "ws_engine";

#if WS_ENGINE_MAX_CONNS < 1 || WS_ENGINE_EVENT_CAP < 4
#error "WS_ENGINE_MAX_CONNS must be >= 1 and WS_ENGINE_EVENT_CAP >= 4 (docs/engine-abi.md, init)"
#endif
_Static_assert(WSE_EV_PTR + 4 * 4 == WSE_EV_SIZE, "ws_engine_event_at reads kind + four words");

const char *const ws_rt_export_name[WS_FN_COUNT] = {
    [WS_FN_INIT] = "init",
    [WS_FN_CONN] = "conn",
    [WS_FN_SCRATCH] = "scratch",
    [WS_FN_CONN_RESET] = "conn_reset",
    [WS_FN_CONN_CONFIG] = "conn_config",
    [WS_FN_URI_PARSE] = "uri_parse",
    [WS_FN_HS_REQUEST] = "hs_request",
    [WS_FN_RECV] = "recv",
    [WS_FN_SEND] = "send",
    [WS_FN_TICK] = "tick",
    [WS_FN_ERR_CLOSE_CODE] = "err_close_code",
    [WS_FN_K_MASK] = "k_mask",
};

const uint8_t ws_rt_argc[WS_FN_COUNT] = {
    [WS_FN_INIT] = 4,
    [WS_FN_CONN] = 1,
    [WS_FN_SCRATCH] = 0,
    [WS_FN_CONN_RESET] = 1,
    [WS_FN_CONN_CONFIG] = 3,
    [WS_FN_URI_PARSE] = 1,
    [WS_FN_HS_REQUEST] = 8,
    [WS_FN_RECV] = 5,
    [WS_FN_SEND] = 5,
    [WS_FN_TICK] = 3,
    [WS_FN_ERR_CLOSE_CODE] = 1,
    [WS_FN_K_MASK] = 5,
};

typedef struct ws_engine_inst {
    ws_rt_t *rt;
    uint8_t *mem;                         /* linear memory, fetched after init (never grows later) */
    uint32_t mem_size;
    uint32_t gen;
    uint32_t buf_size;
    uint32_t scratch;                     /* address of the scratch area */
    uint32_t conn[WS_ENGINE_MAX_CONNS];   /* address of each slot's record */
    bool used[WS_ENGINE_MAX_CONNS];
    int held;                             /* slots handed out and not yet released */
    bool dead;                            /* trapped: no further calls; freed when held == 0 */
} ws_engine_inst_t;

/* Everything below is guarded by s_lock, except s_lock itself. */
static _Atomic(ws_port_mutex_t *) s_lock;
static ws_engine_inst_t *s_cur;          /* the instance new slots come from; NULL until needed */
static uint32_t s_want_buf;              /* largest buffer_size announced */
static uint32_t s_gen;                   /* generation of the newest instance */
static uint32_t s_traps;
static uint32_t s_mem_limit = WS_ENGINE_MEM_LIMIT;

/* The engine mutex, created on first use. Two tasks racing here both create one; the loser frees
 * its own. */
static ws_port_mutex_t *engine_mutex(void)
{
    ws_port_mutex_t *m = atomic_load(&s_lock);
    if (m != NULL) {
        return m;
    }
    ws_port_mutex_t *fresh = NULL;
    if (ws_port_mutex_create(&fresh) != WS_PORT_OK) {
        return NULL;
    }
    ws_port_mutex_t *expected = NULL;
    if (!atomic_compare_exchange_strong(&s_lock, &expected, fresh)) {
        ws_port_mutex_destroy(fresh);
        return expected;
    }
    return fresh;
}

/* Takes the engine mutex. It is held for one export call (which never blocks), so waiting
 * without a bound cannot hang on anything but a bug. */
static bool lock(void)
{
    ws_port_mutex_t *m = engine_mutex();
    return m != NULL && ws_port_mutex_lock(m, WS_PORT_WAIT_FOREVER) == WS_PORT_OK;
}

static void unlock(void)
{
    ws_port_mutex_unlock(atomic_load(&s_lock));
}

static void inst_free(ws_engine_inst_t *in)
{
    if (in != NULL) {
        ws_rt_destroy(in->rt);
        ws_port_free(in);
    }
}

/* Marks the instance dead after a trap. Its memory stays until its last slot is released. */
static void inst_kill(ws_engine_inst_t *in, ws_rt_fn_t fn, const char *why)
{
    in->dead = true;
    s_traps++;
    ESP_LOGE(TAG, "engine trapped in %s (%s): instance %u is dead, %d slot(s) lost; a new instance "
             "is built on next use", ws_rt_export_name[fn], why, (unsigned)in->gen, in->held);
    if (s_cur == in) {
        s_cur = NULL;
    }
    if (in->held == 0) {
        inst_free(in);
    }
}

/* One export call on a live instance. A trap kills the instance and gives WS_ENGINE_E_DEAD. */
static int32_t call(ws_engine_inst_t *in, ws_rt_fn_t fn, const uint32_t *args)
{
    if (in == NULL || in->dead) {
        return WS_ENGINE_E_DEAD;
    }
    int32_t ret = 0;
    const char *why = NULL;
    if (ws_rt_call(in->rt, fn, args, &ret, &why) != 0) {
        inst_kill(in, fn, why != NULL ? why : "trap");
        return WS_ENGINE_E_DEAD;
    }
    return ret;
}

uint64_t ws_engine_mem_need(uint32_t buf)
{
    return wse_layout_size(WS_ENGINE_MAX_CONNS, buf, WS_ENGINE_EVENT_CAP, WS_ENGINE_SCRATCH_SIZE);
}

static int inst_try_create(uint32_t buf, uint32_t mem_limit, ws_engine_inst_t **out)
{
    *out = NULL;
    ws_engine_inst_t *in = ws_port_calloc(1, sizeof *in);
    if (in == NULL) {
        return WS_ENGINE_E_RUNTIME;
    }
    const char *why = NULL;
    if (ws_rt_create(&in->rt, mem_limit, &why) != 0) {
        ESP_LOGE(TAG, "%s runtime could not load engine.wasm: %s", ws_rt_name, why ? why : "?");
        ws_port_free(in);
        return WS_ENGINE_E_RUNTIME;
    }
    in->gen = s_gen + 1;
    in->buf_size = buf;
    uint32_t args[4] = { WS_ENGINE_MAX_CONNS, buf, WS_ENGINE_EVENT_CAP, WS_ENGINE_SCRATCH_SIZE };
    int32_t end = call(in, WS_FN_INIT, args);
    if (end < 0) {
        if (end != WS_ENGINE_E_DEAD) {
            ESP_LOGE(TAG, "engine init(%u conns, buf %u) failed: %s", (unsigned)WS_ENGINE_MAX_CONNS,
                     (unsigned)buf, ws_engine_strerror(end));
            inst_free(in);
        }   /* a trap already freed it (held == 0) */
        return end;
    }
    in->mem = ws_rt_memory(in->rt, &in->mem_size);   /* init may have grown memory */
    if (in->mem == NULL || (uint32_t)end > in->mem_size) {
        ESP_LOGE(TAG, "engine layout ends at %ld, beyond linear memory (%u bytes)", (long)end, (unsigned)in->mem_size);
        inst_free(in);
        return WS_ENGINE_E_RUNTIME;
    }
    int32_t scratch = call(in, WS_FN_SCRATCH, args);
    for (uint32_t i = 0; i < WS_ENGINE_MAX_CONNS && scratch >= 0; i++) {
        int32_t c = call(in, WS_FN_CONN, &i);
        if (c < 0) {
            scratch = c;
        } else {
            in->conn[i] = (uint32_t)c;
        }
    }
    if (scratch < 0) {
        if (scratch != WS_ENGINE_E_DEAD) {
            inst_free(in);
        }
        return WS_ENGINE_E_RUNTIME;
    }
    in->scratch = (uint32_t)scratch;
    s_gen = in->gen;
    ESP_LOGD(TAG, "engine instance %u (%s): %u slots, buf %u, %u bytes of linear memory",
             (unsigned)in->gen, ws_rt_name, (unsigned)WS_ENGINE_MAX_CONNS, (unsigned)buf, (unsigned)in->mem_size);
    *out = in;
    return 0;
}

/* Creates the current instance (lock held). Linear memory is sized to the layout (both runtimes),
 * not the module's whole 64 KiB page. Under a configured limit that the announced buffer_size does
 * not fit, the instance gets the largest buf_size that fits (clients are capped at it, as when an
 * instance is in use); only when even WS_ENGINE_MIN_BUF does not fit is there no instance. */
static int inst_create(void)
{
    uint32_t buf = s_want_buf != 0 ? s_want_buf : WS_ENGINE_DEFAULT_BUF;
    if (buf < WS_ENGINE_MIN_BUF) {
        buf = WS_ENGINE_MIN_BUF;   /* the handshake request is built in the tx window */
    }
    uint64_t limit = s_mem_limit != 0 ? s_mem_limit : ws_engine_mem_need(buf);
    uint64_t need_min = ws_engine_mem_need(WS_ENGINE_MIN_BUF);
    if (need_min > limit || limit > UINT32_MAX) {
        ESP_LOGE(TAG, "engine not created: %u slots need at least %llu bytes of linear memory (buffer_size %u), "
                 "more than the limit of %llu (CONFIG_ESP_WS_CLIENT_ENGINE_MEM_LIMIT)", (unsigned)WS_ENGINE_MAX_CONNS,
                 (unsigned long long)need_min, (unsigned)WS_ENGINE_MIN_BUF, (unsigned long long)limit);
        return WS_ENGINE_E_MEM_LIMIT;
    }
    if (ws_engine_mem_need(buf) > limit) {
        uint32_t lo = WS_ENGINE_MIN_BUF, hi = buf;   /* need(lo) <= limit < need(hi); need grows with buf */
        while (hi - lo > 1) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (ws_engine_mem_need(mid) <= limit) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        ESP_LOGW(TAG, "engine buffer_size %u capped at %u to fit the linear memory limit of %llu bytes "
                 "(CONFIG_ESP_WS_CLIENT_ENGINE_MEM_LIMIT)", (unsigned)buf, (unsigned)lo, (unsigned long long)limit);
        buf = lo;
    }
    ws_engine_inst_t *in = NULL;
    int rc = inst_try_create(buf, (uint32_t)ws_engine_mem_need(buf), &in);
    s_cur = in;
    return rc;
}

void ws_engine_set_mem_limit(uint32_t bytes)
{
    if (lock()) {
        s_mem_limit = bytes;
        unlock();
    }
}

/* The current instance, created if needed (lock held). */
static int current(ws_engine_inst_t **out)
{
    if (s_cur == NULL) {
        int rc = inst_create();
        if (rc != 0) {
            *out = NULL;
            return rc;
        }
    }
    *out = s_cur;
    return 0;
}

void ws_engine_want_buf(uint32_t buf_size)
{
    if (!lock()) {
        return;
    }
    if (buf_size > s_want_buf) {
        s_want_buf = buf_size;
    }
    unlock();
}

int ws_engine_acquire(ws_engine_slot_t *s)
{
    if (s == NULL) {
        return WS_ENGINE_E_ARG;
    }
    memset(s, 0, sizeof *s);
    if (!lock()) {
        return WS_ENGINE_E_LOCK;
    }
    /* Grow the instance's buffers while nobody uses it. */
    if (s_cur != NULL && s_cur->held == 0 && s_want_buf > s_cur->buf_size) {
        ESP_LOGD(TAG, "rebuilding the engine instance for buf_size %u", (unsigned)s_want_buf);
        inst_free(s_cur);
        s_cur = NULL;
    }
    ws_engine_inst_t *in = NULL;
    int rc = current(&in);
    if (rc == 0) {
        rc = WS_ENGINE_E_FULL;
        for (int i = 0; i < WS_ENGINE_MAX_CONNS; i++) {
            if (!in->used[i]) {
                in->used[i] = true;
                in->held++;
                s->inst = in;
                s->slot = i;
                s->gen = in->gen;
                s->mem = in->mem;
                s->conn = in->conn[i];
                s->buf_size = in->buf_size;
                rc = 0;
                break;
            }
        }
    }
    unlock();
    return rc;
}

void ws_engine_release(ws_engine_slot_t *s)
{
    if (s == NULL || s->inst == NULL) {
        return;
    }
    if (lock()) {
        ws_engine_inst_t *in = s->inst;
        in->used[s->slot] = false;
        in->held--;
        if (in->dead && in->held == 0) {
            inst_free(in);
        }
        unlock();
    }
    memset(s, 0, sizeof *s);
}

bool ws_engine_alive(const ws_engine_slot_t *s)
{
    if (s == NULL || s->inst == NULL || !lock()) {
        return false;
    }
    bool alive = !s->inst->dead;
    unlock();
    return alive;
}

/* A wrapper around one slot-level export: lock, call, unlock. */
static int32_t slot_call(ws_engine_slot_t *s, ws_rt_fn_t fn, uint32_t *args)
{
    if (s == NULL || s->inst == NULL) {
        return WS_ENGINE_E_ARG;
    }
    if (!lock()) {
        return WS_ENGINE_E_LOCK;
    }
    args[0] = (uint32_t)s->slot;
    int32_t r = call(s->inst, fn, args);
    unlock();
    return r;
}

int32_t ws_engine_conn_reset(ws_engine_slot_t *s)
{
    uint32_t a[1];
    return slot_call(s, WS_FN_CONN_RESET, a);
}

int32_t ws_engine_conn_config(ws_engine_slot_t *s, uint32_t param, uint32_t value)
{
    uint32_t a[3] = { 0, param, value };
    return slot_call(s, WS_FN_CONN_CONFIG, a);
}

int32_t ws_engine_hs_request(ws_engine_slot_t *s, uint32_t port, uint32_t host_len, uint32_t path_len,
                             uint32_t proto_len, uint32_t ua_len, uint32_t auth_len, uint32_t hdr_len)
{
    uint32_t a[8] = { 0, port, host_len, path_len, proto_len, ua_len, auth_len, hdr_len };
    return slot_call(s, WS_FN_HS_REQUEST, a);
}

int32_t ws_engine_recv(ws_engine_slot_t *s, uint32_t n, uint32_t now_ms, uint32_t key1, uint32_t key2)
{
    uint32_t a[5] = { 0, n, now_ms, key1, key2 };
    return slot_call(s, WS_FN_RECV, a);
}

int32_t ws_engine_send(ws_engine_slot_t *s, uint32_t opflags, uint32_t len, uint32_t key, uint32_t now_ms)
{
    uint32_t a[5] = { 0, opflags, len, key, now_ms };
    return slot_call(s, WS_FN_SEND, a);
}

int32_t ws_engine_tick(ws_engine_slot_t *s, uint32_t now_ms, uint32_t key)
{
    uint32_t a[3] = { 0, now_ms, key };
    return slot_call(s, WS_FN_TICK, a);
}

int32_t ws_engine_err_close_code(int32_t err)
{
    if (!lock()) {
        return WS_ENGINE_E_LOCK;
    }
    ws_engine_inst_t *in = NULL;
    int32_t r = current(&in);
    if (r == 0) {
        uint32_t a[1] = { (uint32_t)err };
        r = call(in, WS_FN_ERR_CLOSE_CODE, a);
    }
    unlock();
    return r;
}

uint32_t ws_engine_io_locked(const ws_engine_slot_t *s, uint32_t field)
{
    if (!lock()) {
        return 0;
    }
    uint32_t v = ws_engine_io(s, field);
    unlock();
    return v;
}

uint32_t ws_engine_event_count(const ws_engine_slot_t *s)
{
    uint32_t n = ws_engine_io(s, WSE_C_EV_COUNT);
    uint32_t ev_cap = ws_engine_io(s, WSE_C_EV_CAP);
    return n > ev_cap ? ev_cap : n;   /* never trust a count beyond the area */
}

uint32_t ws_engine_events(const ws_engine_slot_t *s, ws_engine_event_t *out, uint32_t cap)
{
    uint32_t n = ws_engine_event_count(s);
    if (n > cap) {
        n = cap;
    }
    for (uint32_t i = 0; i < n; i++) {
        ws_engine_event_at(s, i, &out[i]);
    }
    return n;
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* A NUL-terminated copy of len bytes at addr, or NULL (out of memory / out of range). */
static char *copy_out(const ws_engine_inst_t *in, uint32_t addr, uint32_t len, const char *prefix)
{
    size_t pre = prefix != NULL ? strlen(prefix) : 0;
    if ((uint64_t)addr + len > in->mem_size) {
        return NULL;
    }
    char *s = ws_port_malloc(pre + len + 1);
    if (s != NULL) {
        if (pre > 0) {
            memcpy(s, prefix, pre);
        }
        memcpy(s + pre, in->mem + addr, len);
        s[pre + len] = '\0';
    }
    return s;
}

int ws_engine_uri_parse(const char *uri, size_t len, ws_engine_uri_t *out)
{
    if (out == NULL || (uri == NULL && len != 0)) {
        return WS_ENGINE_E_ARG;
    }
    memset(out, 0, sizeof *out);
    if (len > WS_ENGINE_URI_MAX) {
        return -WSE_ERR_URI_TOO_LONG;
    }
    if (!lock()) {
        return WS_ENGINE_E_LOCK;
    }
    ws_engine_inst_t *in = NULL;
    int32_t rc = current(&in);
    if (rc == 0) {
        if (len > 0) {
            memcpy(in->mem + in->scratch + WS_ENGINE_URI_OFFSET, uri, len);
        }
        uint32_t a[1] = { (uint32_t)len };
        rc = call(in, WS_FN_URI_PARSE, a);
        if (rc > 0) {
            rc = -rc;   /* the engine's exports return -Err; accept either sign */
        }
    }
    if (rc == 0) {
        const uint8_t *r = in->mem + in->scratch;
        uint32_t path_len = rd32(r + WSE_UR_PATH_LEN);
        uint32_t path_ptr = rd32(r + WSE_UR_PATH_PTR);
        bool query_only = rd32(r + WSE_UR_NEEDS_SLASH) != 0;
        out->tls = rd32(r + WSE_UR_SCHEME) == 1;
        out->ipv6 = rd32(r + WSE_UR_IPV6) != 0;
        out->port = (int)rd32(r + WSE_UR_PORT);
        out->host = copy_out(in, rd32(r + WSE_UR_HOST_PTR), rd32(r + WSE_UR_HOST_LEN), NULL);
        out->path = copy_out(in, path_ptr, path_len, query_only ? "/" : NULL);
        if (rd32(r + WSE_UR_USER_LEN) > 0) {
            out->userinfo = copy_out(in, rd32(r + WSE_UR_USER_PTR), rd32(r + WSE_UR_USER_LEN), NULL);
            if (out->userinfo == NULL) {
                rc = -WSE_ERR_NO_MEMORY;
            }
        }
        if (out->host == NULL || out->path == NULL) {
            rc = -WSE_ERR_NO_MEMORY;
        }
    }
    unlock();
    if (rc != 0) {
        ws_engine_uri_free(out);
    }
    return rc;
}

void ws_engine_uri_free(ws_engine_uri_t *u)
{
    if (u == NULL) {
        return;
    }
    ws_port_free(u->host);
    ws_port_free(u->path);
    ws_port_free(u->userinfo);
    memset(u, 0, sizeof *u);
}

const char *ws_engine_strerror(int32_t err)
{
    switch (err) {
    case WS_ENGINE_E_DEAD: return "engine instance trapped";
    case WS_ENGINE_E_FULL: return "no free engine slot (WS_ENGINE_MAX_CONNS)";
    case WS_ENGINE_E_RUNTIME: return "engine runtime could not be created";
    case WS_ENGINE_E_LOCK: return "engine lock could not be created";
    case WS_ENGINE_E_ARG: return "invalid argument";
    case WS_ENGINE_E_MEM_LIMIT: return "engine linear memory limit too small for its slots (CONFIG_ESP_WS_CLIENT_ENGINE_MEM_LIMIT)";
    default: break;
    }
    const wse_error_info_t *e = wse_error_info(err);
    return e != NULL ? e->message : "unknown engine error";
}

const char *ws_engine_runtime_name(void)
{
    return ws_rt_name;
}

uint32_t ws_engine_generation(void)
{
    uint32_t g = 0;
    if (lock()) {
        g = s_cur != NULL ? s_cur->gen : 0;
        unlock();
    }
    return g;
}

uint32_t ws_engine_trap_count(void)
{
    uint32_t t = 0;
    if (lock()) {
        t = s_traps;
        unlock();
    }
    return t;
}

uint32_t ws_engine_buf_size(void)
{
    uint32_t b = 0;
    if (lock()) {
        b = s_cur != NULL ? s_cur->buf_size : 0;
        unlock();
    }
    return b;
}

uint32_t ws_engine_mem_size(void)
{
    uint32_t n = 0;
    if (lock()) {
        n = s_cur != NULL ? s_cur->mem_size : 0;
        unlock();
    }
    return n;
}

int ws_engine_slots_in_use(void)
{
    int n = 0;
    if (lock()) {
        n = s_cur != NULL ? s_cur->held : 0;
        unlock();
    }
    return n;
}

int ws_engine_debug_force_trap(void)
{
    if (!lock()) {
        return WS_ENGINE_E_LOCK;
    }
    ws_engine_inst_t *in = NULL;
    int rc = current(&in);
    if (rc == 0) {
        uint32_t a[5] = { 0xFFFF0000u, 0, 64, 1, 0 };   /* no u32 wrap: the first store is out of bounds */
        rc = call(in, WS_FN_K_MASK, a) == WS_ENGINE_E_DEAD ? 1 : 0;
    }
    unlock();
    return rc;
}

int ws_engine_shutdown(void)
{
    if (!lock()) {
        return 0;
    }
    int rc = 0;
    if (s_cur != NULL) {
        if (s_cur->held == 0) {
            inst_free(s_cur);
            s_cur = NULL;
        } else {
            rc = -1;
        }
    }
    unlock();
    return rc;
}
