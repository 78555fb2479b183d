/*
 * fuzz_handshake - hs_request with fuzzed inputs, then the fuzzed response through recv.
 *
 * Input layout:
 *   [0]       bits 0-1 engine variant (fz_variants.h), bit 2 slot 1 instead of 0
 *   [1]       byte that fills the rx window beyond the bytes given to the engine
 *   [2..5]    read sizes, cycled (0 = as much as the window takes)
 *   [6..7]    port, big-endian (0 is refused with BAD_ARG)
 *   [8]       HS_LIMIT = 8 * value when non-zero (values under 64 are refused: BAD_PARAM)
 *   [9..14]   lengths of host, path, subprotocols, user agent, user:password, extra headers
 *   [15..30]  the 16 key bytes
 *   then the six fields one after another (cut short when the input ends), then the response.
 *
 * Oracle: fz_conn.c - the request equals the reference request and is well-formed HTTP with no
 * injected line; a refusal is one of the REQ_* the inputs deserve; OPEN happens exactly when the
 * response head is a valid 101 with the right accept (reference head model); then the frames.
 */
#include <stdlib.h>
#include <string.h>

#include "fz_conn.h"
#include "fz_variants.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 31) return 0;
    fz_run_t run;
    memset(&run, 0, sizeof run);
    run.e = fz_variant(data[0]);
    run.slot = (data[0] >> 2) & 1;
    run.poison = data[1];
    for (int i = 0; i < 4; i++) run.chunk_sizes[i] = data[2 + i];
    run.now = 1000;
    if (data[8] != 0) {
        run.cfg[0][0] = WSE_PARAM_HS_LIMIT;
        run.cfg[0][1] = (uint32_t)data[8] * 8u;
        run.n_cfg = 1;
    }
    fz_request_t req;
    memset(&req, 0, sizeof req);
    req.port = (uint32_t)data[6] << 8 | data[7];
    memcpy(req.key, data + 15, 16);
    size_t p = 31;
    const uint8_t **fields[6] = {&req.host, &req.path, &req.proto, &req.ua, &req.auth, &req.hdr};
    uint32_t *lens[6] = {&req.host_len, &req.path_len, &req.proto_len, &req.ua_len, &req.auth_len, &req.hdr_len};
    for (int i = 0; i < 6; i++) {
        uint32_t n = data[9 + i];
        if (n > size - p) n = (uint32_t)(size - p);
        *fields[i] = data + p;
        *lens[i] = n;
        p += n;
    }
    size_t rest = size - p;
    if (rest > FZ_WIRE_MAX) rest = FZ_WIRE_MAX;
    fz_run_connection(&run, &req, data + p, (uint32_t)rest);
    return 0;
}
