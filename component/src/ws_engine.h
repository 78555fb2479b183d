/*
 * ws_engine.h - the engine binding: one process-wide instance of engine.wasm, shared by every
 * client, run by one of two runtimes behind the same functions:
 *   ws_engine_wasm2c.c   AOT C from `wasm2c -n engine` (host default)
 *   ws_engine_wasm3.c    the wasm3 interpreter (compiled when WS_ENGINE_RUNTIME_WASM3 is defined)
 *
 * docs/engine-abi.md is the contract of the exports wrapped here; this header adds what the C side
 * decides: instance lifetime, slots, locking and what a trap does.
 *
 * Instance and buffer size
 *   The instance is created lazily (first URI parse or first slot) with WS_ENGINE_MAX_CONNS slots,
 *   WS_ENGINE_EVENT_CAP events per call and buf_size = the largest buffer_size announced so far
 *   with ws_engine_want_buf() (clients announce theirs at init). A client announcing a larger size
 *   while slots are in use gets a slot of the current instance; its buffer_size is then capped at
 *   the instance's buf_size (logged), and the instance is rebuilt with the larger size the next
 *   time no slot is in use. A client with a smaller buffer_size keeps its own chunking: it sets the
 *   engine's CHUNK parameter and slices its sends by its own buffer_size.
 *   Linear memory is sized to the layout (wse_layout_size). WS_ENGINE_MEM_LIMIT > 0 caps it: the
 *   instance then gets the largest buf_size whose layout fits (logged), and none at all when even
 *   WS_ENGINE_MIN_BUF does not fit (WS_ENGINE_E_MEM_LIMIT, logged).
 *
 * Locking
 *   Every wrapper takes the one engine mutex for the duration of the export call and nothing more.
 *   Between calls, a slot's regions (rx/tx windows, events) belong to the client that holds the
 *   slot: no other call touches them and linear memory never moves after init, so the client reads
 *   and writes them without the lock through ws_engine_ptr().
 *
 * Traps
 *   A trap (a bug in the engine, or the forced trap of ws_engine_debug_force_trap) is fatal for
 *   that instance only. It is marked dead at once: every later wrapper call on one of its slots
 *   returns WS_ENGINE_E_DEAD, and the next request for a slot or a URI parse builds a fresh
 *   instance (generation + 1). The dead instance's memory stays readable until the last of its
 *   slots is released, so a client still dispatching events from it never reads freed memory.
 *
 * Return values: the wrappers return what the export returned (>= 0, or -Err of errors.ts, see
 * WSE_ERR_* in ws_engine_abi.h), or one of the binding's own codes below, which are far outside
 * the engine's range.
 */
#ifndef WS_ENGINE_H
#define WS_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ws_engine_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Compile-time sizing (Kconfig on ESP-IDF). */
#ifndef WS_ENGINE_MAX_CONNS
#define WS_ENGINE_MAX_CONNS 8          /* slots = clients connected at the same time */
#endif
#ifndef WS_ENGINE_EVENT_CAP
#define WS_ENGINE_EVENT_CAP 16         /* event records per recv/tick call (>= 4) */
#endif
#ifndef WS_ENGINE_SCRATCH_SIZE
#define WS_ENGINE_SCRATCH_SIZE 1088    /* URI scratch: 64-byte result + URIs up to 1024 bytes */
#endif
#ifndef WS_ENGINE_MEM_LIMIT
#define WS_ENGINE_MEM_LIMIT 0          /* cap on the instance's linear memory in bytes; 0 = exactly what
                                          the layout needs (wse_layout_size, ws_engine_abi.h) */
#endif
#ifndef WS_ENGINE_DEFAULT_BUF
#define WS_ENGINE_DEFAULT_BUF 1024     /* buf_size before any client announced one */
#endif
#ifndef WS_ENGINE_MIN_BUF
#define WS_ENGINE_MIN_BUF 512          /* smallest instance buf_size: the opening handshake request is
                                          built in the tx window, so a client with a smaller
                                          buffer_size keeps its small DATA chunks and frames (CHUNK,
                                          send slices) while the request still fits */
#endif
#ifndef WS_ENGINE_STACK_BYTES
#define WS_ENGINE_STACK_BYTES 2048     /* wasm3 value stack: hs_request overflows 1 KiB (host build of wasm3) */
#endif
#ifndef WS_ENGINE_WASM3_LAZY_COMPILE
#if defined(CONFIG_ESP_WS_CLIENT_ENGINE_WASM3_LAZY_COMPILE) && CONFIG_ESP_WS_CLIENT_ENGINE_WASM3_LAZY_COMPILE
#define WS_ENGINE_WASM3_LAZY_COMPILE 1 /* wasm3 compiles a function at its first call (Kconfig) */
#else
#define WS_ENGINE_WASM3_LAZY_COMPILE 0 /* every function compiled when the instance is created */
#endif
#endif

/* Offset of the URI text inside the scratch area (docs/engine-abi.md, uri_parse). */
#define WS_ENGINE_URI_OFFSET 64u
#define WS_ENGINE_URI_MAX (WS_ENGINE_SCRATCH_SIZE - WS_ENGINE_URI_OFFSET)

/* The binding's own failure codes (the engine's are -1 .. -99). */
#define WS_ENGINE_E_DEAD    (-1000)    /* the slot's instance trapped; release the slot */
#define WS_ENGINE_E_FULL    (-1001)    /* every slot is in use */
#define WS_ENGINE_E_RUNTIME (-1002)    /* the runtime could not be created (memory, bad module) */
#define WS_ENGINE_E_LOCK    (-1003)    /* the engine mutex could not be created */
#define WS_ENGINE_E_ARG     (-1004)    /* NULL handle or argument out of range */
#define WS_ENGINE_E_MEM_LIMIT (-1005)  /* the slots' layout needs more linear memory than the limit */

struct ws_engine_inst;

/* A client's hold on one slot. Zero-initialised = no slot. */
typedef struct ws_engine_slot {
    struct ws_engine_inst *inst;   /* instance the slot belongs to (kept alive while held) */
    int slot;                      /* slot index in that instance */
    uint32_t gen;                  /* generation of that instance, for logs and tests */
    uint8_t *mem;                  /* linear memory base of that instance (stable while held) */
    uint32_t conn;                 /* address of the slot's connection record */
    uint32_t buf_size;             /* the instance's buf_size */
} ws_engine_slot_t;

/* One event, decoded from its record in linear memory (docs/engine-abi.md, Events). */
typedef struct ws_engine_event {
    uint32_t type, opcode, fin, ptr, len, a, b, code;
} ws_engine_event_t;

/* Parsed URI, copied out of the scratch area. Strings are NUL-terminated and owned by the caller
 * (free with ws_engine_uri_free). path is "" when the URI had none; a path that is only "?query"
 * is returned as "/?query". */
typedef struct ws_engine_uri {
    bool tls;          /* wss:// */
    bool ipv6;         /* the host was a bracketed literal (host is without the brackets) */
    int port;          /* explicit, or 80 / 443 */
    char *host;
    char *path;
    char *userinfo;    /* raw "user:password", or NULL */
} ws_engine_uri_t;

/* Announces a client's buffer_size (see "Instance and buffer size"). Never fails. */
void ws_engine_want_buf(uint32_t buf_size);

/* Replaces WS_ENGINE_MEM_LIMIT for instances created from now on (tests). 0 = the layout's size. */
void ws_engine_set_mem_limit(uint32_t bytes);

/* Linear memory an instance with buf_size `buf` needs: wse_layout_size with this build's slots,
 * event records and scratch size. */
uint64_t ws_engine_mem_need(uint32_t buf);

/* Takes a free slot (creating or rebuilding the instance if needed) and fills *s.
 * Returns 0, WS_ENGINE_E_FULL, WS_ENGINE_E_RUNTIME, WS_ENGINE_E_MEM_LIMIT, WS_ENGINE_E_LOCK or -Err
 * from the engine's init. */
int ws_engine_acquire(ws_engine_slot_t *s);

/* Gives the slot back (no-op for an empty handle) and zeroes *s. */
void ws_engine_release(ws_engine_slot_t *s);

/* True when the slot's instance is still alive (has not trapped). */
bool ws_engine_alive(const ws_engine_slot_t *s);

/* Exports (docs/engine-abi.md). */
int32_t ws_engine_conn_reset(ws_engine_slot_t *s);
int32_t ws_engine_conn_config(ws_engine_slot_t *s, uint32_t param, uint32_t value);
int32_t ws_engine_hs_request(ws_engine_slot_t *s, uint32_t port, uint32_t host_len, uint32_t path_len,
                             uint32_t proto_len, uint32_t ua_len, uint32_t auth_len, uint32_t hdr_len);
int32_t ws_engine_recv(ws_engine_slot_t *s, uint32_t n, uint32_t now_ms, uint32_t key1, uint32_t key2);
int32_t ws_engine_send(ws_engine_slot_t *s, uint32_t opflags, uint32_t len, uint32_t key, uint32_t now_ms);
int32_t ws_engine_tick(ws_engine_slot_t *s, uint32_t now_ms, uint32_t key);

/* err_close_code of the current instance (creating it if needed); WS_ENGINE_E_* on failure. */
int32_t ws_engine_err_close_code(int32_t err);

/* Parses uri (len bytes, no NUL needed) with the engine's parser. Returns 0 and fills *out, or
 * -Err (WSE_ERR_URI_*; URI_TOO_LONG when len > WS_ENGINE_URI_MAX), or WS_ENGINE_E_*. */
int ws_engine_uri_parse(const char *uri, size_t len, ws_engine_uri_t *out);
void ws_engine_uri_free(ws_engine_uri_t *u);

/* Reading the slot's memory. Valid while the slot is held. */
static inline uint8_t *ws_engine_ptr(const ws_engine_slot_t *s, uint32_t addr)
{
    return s->mem + addr;
}
static inline uint32_t ws_engine_io(const ws_engine_slot_t *s, uint32_t field)
{
    uint32_t v;
    memcpy(&v, s->mem + s->conn + field, sizeof v);   /* linear memory is little-endian */
    return v;
}
/* ws_engine_io under the engine lock, for a field another task's call may write at the same
 * time (C_STATE: a send of CLOSE from an application task moves it to CLOSING). */
uint32_t ws_engine_io_locked(const ws_engine_slot_t *s, uint32_t field);
/* Copies up to cap events of the last recv/tick call to out; returns the count. */
uint32_t ws_engine_events(const ws_engine_slot_t *s, ws_engine_event_t *out, uint32_t cap);
/* The number of events of the last recv/tick call (never more than the event area holds). */
uint32_t ws_engine_event_count(const ws_engine_slot_t *s);
/* Event i (< ws_engine_event_count) of the last recv/tick call, read from the slot's event area.
 * The area is written only by recv, tick and conn_reset on this slot (never by send), so the
 * records stay readable until the slot's owner makes one of those calls. */
static inline void ws_engine_event_at(const ws_engine_slot_t *s, uint32_t i, ws_engine_event_t *out)
{
    const uint8_t *r = s->mem + ws_engine_io(s, WSE_C_EV_PTR) + i * WSE_EV_SIZE;
    uint32_t kind;
    memcpy(&kind, r + WSE_EV_KIND, sizeof kind);   /* linear memory is little-endian */
    if ((kind & WSE_EV_FULL) == 0) {
        /* Short form: a whole data frame with a 7-bit length at address `kind`; its header
         * (opflags byte, length byte) gives the rest. */
        const uint8_t *f = s->mem + kind;
        out->type = WSE_EV_DATA;
        out->opcode = f[0] & 0xfu;
        out->fin = f[0] >> 7;
        out->ptr = kind + 2;
        out->len = out->a = f[1];
        out->b = out->code = 0;
        return;
    }
    uint32_t w[4];   /* ptr len a b */
    memcpy(w, r + WSE_EV_PTR, sizeof w);
    out->type = (kind >> 8) & 0xffu;
    out->opcode = kind & 0xfu;
    out->fin = (kind & WSE_EV_FIN) != 0;
    out->code = (kind >> 16) & 0x7fffu;
    out->ptr = w[0];
    out->len = w[1];
    out->a = w[2];
    out->b = w[3];
}

/* A short message for an engine error code (positive or negative), from the generated table. */
const char *ws_engine_strerror(int32_t err);

/* Name of the runtime in use ("wasm2c" or "wasm3"). */
const char *ws_engine_runtime_name(void);

/* Diagnostics and tests. */
uint32_t ws_engine_generation(void);   /* generation of the current instance (0: none yet) */
uint32_t ws_engine_trap_count(void);   /* traps since the process started */
uint32_t ws_engine_buf_size(void);     /* buf_size of the current instance (0: none) */
uint32_t ws_engine_mem_size(void);     /* bytes of linear memory of the current instance (0: none) */
int ws_engine_slots_in_use(void);      /* slots held on the current instance */
/* Calls k_mask(0xFFFF0000, 0, 64, 1, 0) on the current instance: an out-of-bounds store, so the
 * instance traps and is marked dead. Returns 1 if it trapped, 0 if not, WS_ENGINE_E_* on failure. */
int ws_engine_debug_force_trap(void);
/* Frees the current instance if no slot is held (for leak checkers at exit). Returns 0, or -1 when
 * slots are still held. */
int ws_engine_shutdown(void);

#ifdef __cplusplus
}
#endif

#endif /* WS_ENGINE_H */
