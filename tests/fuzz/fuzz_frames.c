/*
 * fuzz_frames - server frames through the engine's receive path, with sends and ticks in between.
 *
 * The slot goes through hs_request and a valid 101 response (its Sec-WebSocket-Accept computed
 * here with an independent SHA-1/base64); the frames after it are the fuzz input. Input layout:
 *
 *   [0]      bits 0-1 engine variant (fz_variants.h), bit 2 slot 1 instead of 0
 *   [1]      byte that fills the rx window beyond the bytes given to the engine
 *   [2..5]   read sizes, cycled (0 = as much as the window takes)
 *   [6]      clock start (high byte; the low bytes sit just before a wrap of the u32 clock)
 *   [7]      bits 0-2: conn_config calls, bits 3-7: send/tick operations
 *   then 3 bytes per conn_config call (param, value selector, value byte),
 *   then 4 bytes per operation (fz_op_t), then the server bytes that follow the 101.
 *
 * Oracle: fz_conn.c (reference frame model, event/ctl/state checks); a trap aborts.
 */
#include <stdlib.h>
#include <string.h>

#include "fz_conn.h"
#include "fz_variants.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8) return 0;
    fz_run_t run;
    memset(&run, 0, sizeof run);
    run.e = fz_variant(data[0]);
    run.slot = (data[0] >> 2) & 1;
    run.poison = data[1];
    for (int i = 0; i < 4; i++) run.chunk_sizes[i] = data[2 + i];
    run.now = (uint32_t)data[6] << 24 | 0x00fffff0u;
    run.n_cfg = data[7] & 7;
    run.n_ops = data[7] >> 3;
    size_t p = 8;
    if (size < p + 3 * run.n_cfg + 4 * run.n_ops) return 0;
    for (uint32_t i = 0; i < run.n_cfg; i++, p += 3) {
        run.cfg[i][0] = data[p] % 10u;
        run.cfg[i][1] = fz_config_value(data[p + 1], data[p + 2], run.e->buf_size);
    }
    for (uint32_t i = 0; i < run.n_ops; i++, p += 4) {
        run.ops[i] = (fz_op_t){data[p], data[p + 1], data[p + 2], data[p + 3]};
    }

    static const char host[] = "example.com", path[] = "/chat";
    fz_request_t req = {.port = 80,
                        .host = (const uint8_t *)host, .host_len = sizeof host - 1,
                        .path = (const uint8_t *)path, .path_len = sizeof path - 1,
                        .proto = (const uint8_t *)"", .ua = (const uint8_t *)"",
                        .auth = (const uint8_t *)"", .hdr = (const uint8_t *)""};
    memcpy(req.key, "the sample nonce", 16);   /* RFC 6455 §1.3's example nonce */
    static char head[256];
    static uint32_t head_len;
    if (head_len == 0) head_len = fz_valid_101(req.key, head, sizeof head);
    size_t rest = size - p;
    if (rest > FZ_WIRE_MAX - head_len) rest = FZ_WIRE_MAX - head_len;
    /* Exactly sized, so ASan catches the harness reading past the stream. */
    uint8_t *wire = malloc(head_len + rest);
    if (wire == NULL) abort();
    memcpy(wire, head, head_len);
    memcpy(wire + head_len, data + p, rest);
    int32_t r = fz_run_connection(&run, &req, wire, head_len + (uint32_t)rest);
    if (r < 0) fz_fail("hs_request of the fixed valid request failed: %d", r);
    free(wire);
    return 0;
}
