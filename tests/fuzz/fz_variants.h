/*
 * fz_variants.h - the engine configurations the connection harnesses run against, chosen by the
 * low bits of the first input byte. Each is set up once per process and restored per input.
 *
 *   0: buf 1024, 8 events    the binding's usual shape
 *   1: buf 1024, 4 events    the smallest event area: `more` on almost every call
 *   2: buf 150,  4 events    rx window at its 256-byte floor; about the smallest tx window
 *                            that holds a minimal request (with buf 16 no handshake fits)
 *   3: buf 200,  5 events    rx window 256, odd event count
 */
#ifndef FZ_VARIANTS_H
#define FZ_VARIANTS_H

#include "fz_engine.h"

static inline fz_engine_t *fz_variant(unsigned v)
{
    static fz_engine_t engines[4];
    static bool ready[4];
    static const uint32_t shape[4][2] = {{1024, 8}, {1024, 4}, {150, 4}, {200, 5}};
    v &= 3;
    if (!ready[v]) {
        fz_engine_setup(&engines[v], 2, shape[v][0], shape[v][1], 128);
        ready[v] = true;
    }
    return &engines[v];
}

/* A conn_config value from two input bytes: raw, scaled, or one of the interesting boundaries. */
static inline uint32_t fz_config_value(uint8_t sel, uint8_t raw, uint32_t buf_size)
{
    static const uint32_t table[] = {0, 1, 2, 3, 4, 63, 64, 125, 126, 127, 1000, 65535, 65536,
                                     0x7fffffffu, 0x80000000u, 0xffffffffu};
    switch (sel & 3) {
    case 0: return raw;
    case 1: return (uint32_t)raw * 16u + (sel >> 2);
    case 2: return raw & 16 ? buf_size + (raw & 1) : table[raw & 15];
    default: return (uint32_t)raw << 24 | (uint32_t)sel << 8;
    }
}

#endif
