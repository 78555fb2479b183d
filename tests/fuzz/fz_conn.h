/*
 * fz_conn.h - one client connection driven through the engine exactly as the C binding does
 * (docs/engine-abi.md: "The receive loop in C", "The send path in C"), checked against
 * reference models after every call.
 *
 * The server's byte stream (`wire`: response head, then frames) is known in full before the run,
 * so the models compute what the engine must report from the whole stream at once, independent
 * of how it is cut into reads; the driver then cuts it into reads whose sizes come from the fuzz
 * input and checks every event, the control output, the I/O block and the state against the
 * models. Any difference aborts with a description (fz_fail).
 */
#ifndef FZ_CONN_H
#define FZ_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "fz_engine.h"
#include "fz_ref.h"

/* Largest server stream the driver accepts (bounds the model's item arrays). */
#define FZ_WIRE_MAX 65536u
/* Operations (send/tick) interleaved with the reads. */
#define FZ_OPS_MAX 32u

/* Handshake inputs laid in the rx window before hs_request. */
typedef struct {
    uint8_t key[16];
    uint32_t port;
    const uint8_t *host, *path, *proto, *ua, *auth, *hdr;
    uint32_t host_len, path_len, proto_len, ua_len, auth_len, hdr_len;
} fz_request_t;

/* One interleaved operation, 4 input bytes: what, length, time step, payload seed. */
typedef struct {
    uint8_t kind, len, dt, seed;
} fz_op_t;

typedef struct {
    fz_engine_t *e;
    uint32_t slot;
    uint32_t chunk_sizes[4];  /* read sizes, cycled: 1..255, 0 = as much as fits */
    uint8_t poison;           /* fills the rx window beyond the bytes given to the engine */
    uint32_t now;             /* clock at the start */
    fz_op_t ops[FZ_OPS_MAX];
    uint32_t n_ops;
    /* conn_config calls made before the handshake: (param, value) pairs, any values. */
    uint32_t cfg[8][2];
    uint32_t n_cfg;
} fz_run_t;

/*
 * Runs one connection: conn_config calls, hs_request (result checked against the reference
 * request builder), then the server stream `wire` through recv with the interleaved operations.
 * Returns the hs_request result (the run stops there when it is negative).
 */
int32_t fz_run_connection(const fz_run_t *run, const fz_request_t *req, const uint8_t *wire, uint32_t wire_len);

/* A valid 101 response head for `key` (no subprotocol), CRLF line ends; returns its length. */
uint32_t fz_valid_101(const uint8_t key[16], char *out, uint32_t cap);

#endif
