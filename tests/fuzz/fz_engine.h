/*
 * fz_engine.h - the engine (wasm2c translation) as the fuzz harnesses drive it.
 *
 * One instance per configuration, made once per process: instantiate, init(), then a snapshot
 * of linear memory and of the instance's globals. Every fuzz input starts from that snapshot
 * (fz_engine_restore), so runs are independent and a finding replays exactly.
 *
 * Every export is called through a wrapper that arms wabt's trap handler first
 * (wasm_rt_impl_try); a trap is a finding: it is reported and the process aborts. All reads and
 * writes of linear memory by the harness go through bounds-checked helpers, so the harness
 * never touches memory outside the instance's linear memory (ASan checks the rest).
 */
#ifndef FZ_ENGINE_H
#define FZ_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine_wasm2c.h"
#include "ws_engine_abi.h"

typedef struct {
    Z_engine_instance_t inst;
    Z_engine_instance_t snap_inst;   /* globals after init */
    uint8_t *snap_mem;               /* linear memory after init */
    uint32_t snap_size;
    uint32_t layout_end;             /* init's return value */
    uint32_t max_conns, buf_size, ev_cap, scratch_size;
} fz_engine_t;

/* Reports an oracle failure (printf-style) and aborts. */
_Noreturn void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Instantiates the module and calls init(); aborts on any failure. */
void fz_engine_setup(fz_engine_t *e, uint32_t max_conns, uint32_t buf_size, uint32_t ev_cap,
                     uint32_t scratch_size);
/* Back to the state right after init (memory bytes and globals). */
void fz_engine_restore(fz_engine_t *e);

uint8_t *fz_mem(fz_engine_t *e);
uint32_t fz_mem_size(fz_engine_t *e);
/* Pointer to [addr, addr + len) of linear memory; an oracle failure when it is not inside. */
uint8_t *fz_at(fz_engine_t *e, uint32_t addr, uint32_t len, const char *what);
uint32_t fz_rd32(fz_engine_t *e, uint32_t addr);
void fz_wr32(fz_engine_t *e, uint32_t addr, uint32_t v);
/* A field of a connection record. */
uint32_t fz_conn_field(fz_engine_t *e, uint32_t conn, uint32_t off);

/* Export wrappers: the raw i32 result (negative = -Err). A trap aborts. */
int32_t fz_e_conn(fz_engine_t *e, uint32_t slot);
int32_t fz_e_scratch(fz_engine_t *e);
int32_t fz_e_conn_reset(fz_engine_t *e, uint32_t slot);
int32_t fz_e_conn_config(fz_engine_t *e, uint32_t slot, uint32_t param, uint32_t value);
int32_t fz_e_uri_parse(fz_engine_t *e, uint32_t len);
int32_t fz_e_hs_request(fz_engine_t *e, uint32_t slot, uint32_t port, uint32_t host_len, uint32_t path_len,
                        uint32_t proto_len, uint32_t ua_len, uint32_t auth_len, uint32_t hdr_len);
int32_t fz_e_recv(fz_engine_t *e, uint32_t slot, uint32_t n, uint32_t now, uint32_t key1, uint32_t key2);
int32_t fz_e_send(fz_engine_t *e, uint32_t slot, uint32_t opflags, uint32_t len, uint32_t key, uint32_t now);
int32_t fz_e_tick(fz_engine_t *e, uint32_t slot, uint32_t now, uint32_t key);

/* Checks that linear memory outside [lo, hi) equals the snapshot (no stray writes). */
void fz_check_untouched_outside(fz_engine_t *e, uint32_t lo, uint32_t hi, const char *what);
/* Same, but [0, from) may change too (the module's static data). */
void fz_check_untouched_outside_two(fz_engine_t *e, uint32_t from, uint32_t lo, uint32_t hi, const char *what);

#endif
