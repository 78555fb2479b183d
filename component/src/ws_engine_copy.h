/*
 * ws_engine_copy.h - copies the caller's payload into the engine's tx window (the first half of
 * a send: the engine then frames and masks it in place, docs/engine-abi.md "Sending").
 *
 * Why not memcpy: on the 32-bit targets libc's memcpy may copy byte by byte (picolibc's rv32imc
 * multilib does: 6 instructions per byte, a third of the whole send path on wasm3, see
 * bench/results/rv32.md), while the copy below takes 0.6-1.5 instructions per byte with the
 * destination word-aligned and no misaligned access. 64-bit hosts keep their libc memcpy (wide
 * and vectorized there). It never reads or writes outside [src, src + n) and [dst, dst + n).
 * Shared with bench/native so the bench measures what the component runs.
 */
#ifndef WS_ENGINE_COPY_H
#define WS_ENGINE_COPY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* WS_ENGINE_COPY_WORDS=1 forces the word copy (tests run it on the host). */
#ifndef WS_ENGINE_COPY_WORDS
#if SIZE_MAX > 0xffffffffu || !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#define WS_ENGINE_COPY_WORDS 0
#else
#define WS_ENGINE_COPY_WORDS 1
#endif
#endif

#if !WS_ENGINE_COPY_WORDS
static inline void ws_engine_copy_in(uint8_t *dst, const uint8_t *src, size_t n)
{
    memcpy(dst, src, n);
}
#else
/* Reads and writes of whole aligned words of bytes that may have been written as another type. */
typedef uint32_t __attribute__((may_alias)) ws_copy_word_t;

static inline void ws_engine_copy_in(uint8_t *dst, const uint8_t *src, size_t n)
{
    uint8_t *end = dst + n;
    if (n >= 16) {
        while (((uintptr_t)dst & 3) != 0) {
            *dst++ = *src++;
        }
        size_t m = (size_t)(end - dst);   /* >= 13 */
        ws_copy_word_t *d = (ws_copy_word_t *)(void *)dst;
        uint32_t off = (uint32_t)(uintptr_t)src & 3;
        size_t k;
        if (off == 0) {
            const ws_copy_word_t *s = (const ws_copy_word_t *)(const void *)src;
            k = m >> 2;
            size_t i = 0;
            for (; i + 8 <= k; i += 8) {
                uint32_t a = s[i], b = s[i + 1], c = s[i + 2], e = s[i + 3];
                uint32_t f = s[i + 4], g = s[i + 5], h = s[i + 6], x = s[i + 7];
                d[i] = a;
                d[i + 1] = b;
                d[i + 2] = c;
                d[i + 3] = e;
                d[i + 4] = f;
                d[i + 5] = g;
                d[i + 6] = h;
                d[i + 7] = x;
            }
            for (; i < k; i++) {
                d[i] = s[i];
            }
        } else {
            /* The source is off bytes past a word boundary: aligned loads, each output word the
             * top of one and the bottom of the next. The bytes before the first boundary are read
             * one by one, and a word is loaded only when all of it lies inside the source: output
             * word i needs the aligned word ending at src + 4i + 8 - off, so k words fit while
             * 4(k - 1) + 8 - off <= m. */
            uint32_t sh = off * 8;
            uint32_t w = 0;
            for (uint32_t j = 0; j < 4 - off; j++) {
                w |= (uint32_t)src[j] << (sh + 8 * j);
            }
            const ws_copy_word_t *s = (const ws_copy_word_t *)(const void *)(src + 4 - off);
            k = (m + off - 4) >> 2;
            size_t i = 0;
            uint32_t rs = 32 - sh;
            for (; i + 8 <= k; i += 8) {
                uint32_t a = s[i], b = s[i + 1], c = s[i + 2], e = s[i + 3];
                uint32_t f = s[i + 4], g = s[i + 5], h = s[i + 6], x = s[i + 7];
                d[i] = (w >> sh) | (a << rs);
                d[i + 1] = (a >> sh) | (b << rs);
                d[i + 2] = (b >> sh) | (c << rs);
                d[i + 3] = (c >> sh) | (e << rs);
                d[i + 4] = (e >> sh) | (f << rs);
                d[i + 5] = (f >> sh) | (g << rs);
                d[i + 6] = (g >> sh) | (h << rs);
                d[i + 7] = (h >> sh) | (x << rs);
                w = x;
            }
            for (; i < k; i++) {
                uint32_t x = s[i];
                d[i] = (w >> sh) | (x << rs);
                w = x;
            }
        }
        dst += 4 * k;
        src += 4 * k;
    }
    while (dst < end) {
        *dst++ = *src++;
    }
}
#endif

#endif /* WS_ENGINE_COPY_H */
