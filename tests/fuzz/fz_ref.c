/*
 * fz_ref.c - reference implementations used by the fuzz oracles (see fz_ref.h).
 */
#include "fz_ref.h"

#include <string.h>

/* ---- SHA-1 (FIPS 180-4 §6.1) ---- */

static uint32_t rol32(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32u - n));
}

static void sha1_block(uint32_t h[5], const uint8_t blk[64])
{
    uint32_t w[80];
    for (int t = 0; t < 16; t++) {
        w[t] = (uint32_t)blk[4 * t] << 24 | (uint32_t)blk[4 * t + 1] << 16 |
               (uint32_t)blk[4 * t + 2] << 8 | (uint32_t)blk[4 * t + 3];
    }
    for (int t = 16; t < 80; t++) {
        w[t] = rol32(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int t = 0; t < 80; t++) {
        uint32_t f, k;
        if (t < 20) {
            f = (b & c) | (~b & d);
            k = 0x5a827999u;
        } else if (t < 40) {
            f = b ^ c ^ d;
            k = 0x6ed9eba1u;
        } else if (t < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8f1bbcdcu;
        } else {
            f = b ^ c ^ d;
            k = 0xca62c1d6u;
        }
        uint32_t tmp = rol32(a, 5) + f + e + k + w[t];
        e = d;
        d = c;
        c = rol32(b, 30);
        b = a;
        a = tmp;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void fz_sha1(const uint8_t *data, size_t len, uint8_t out[20])
{
    uint32_t h[5] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u, 0xc3d2e1f0u};
    size_t full = len / 64;
    for (size_t i = 0; i < full; i++) {
        sha1_block(h, data + 64 * i);
    }
    /* Padding: 0x80, zeros, then the bit length as a 64-bit big-endian number. */
    uint8_t tail[128];
    size_t rest = len - 64 * full;
    memset(tail, 0, sizeof tail);
    memcpy(tail, data + 64 * full, rest);
    tail[rest] = 0x80;
    size_t tail_len = rest + 1 + 8 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8u;
    for (int i = 0; i < 8; i++) {
        tail[tail_len - 1 - i] = (uint8_t)(bits >> (8 * i));
    }
    sha1_block(h, tail);
    if (tail_len == 128) {
        sha1_block(h, tail + 64);
    }
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}

/* ---- base64 (RFC 4648 §4) ---- */

size_t fz_base64(const uint8_t *src, size_t len, char *dst)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];
        dst[o++] = alphabet[(v >> 18) & 63];
        dst[o++] = alphabet[(v >> 12) & 63];
        dst[o++] = alphabet[(v >> 6) & 63];
        dst[o++] = alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)src[i] << 16;
        dst[o++] = alphabet[(v >> 18) & 63];
        dst[o++] = alphabet[(v >> 12) & 63];
        dst[o++] = '=';
        dst[o++] = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8;
        dst[o++] = alphabet[(v >> 18) & 63];
        dst[o++] = alphabet[(v >> 12) & 63];
        dst[o++] = alphabet[(v >> 6) & 63];
        dst[o++] = '=';
    }
    return o;
}

void fz_accept_for_key(const uint8_t key[16], char accept[28])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    uint8_t buf[24 + 36];
    fz_base64(key, 16, (char *)buf);
    memcpy(buf + 24, guid, 36);
    uint8_t digest[20];
    fz_sha1(buf, sizeof buf, digest);
    fz_base64(digest, 20, accept);
}

/* ---- UTF-8 (RFC 3629 §4) ---- */

void fz_utf8_reset(fz_utf8_t *st)
{
    st->need = 0;
    st->lo = 0x80;
    st->hi = 0xbf;
}

bool fz_utf8_byte(fz_utf8_t *st, uint8_t b)
{
    if (st->need != 0) {
        if (b < st->lo || b > st->hi) {
            return false;
        }
        st->need--;
        st->lo = 0x80;
        st->hi = 0xbf;
        return true;
    }
    if (b < 0x80) {
        return true;
    }
    /* Lead bytes and the range of the byte after each (the table of RFC 3629 §4). */
    if (b >= 0xc2 && b <= 0xdf) {
        st->need = 1;
    } else if (b == 0xe0) {
        st->need = 2;
        st->lo = 0xa0;
    } else if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef) {
        st->need = 2;
    } else if (b == 0xed) {
        st->need = 2;
        st->hi = 0x9f;
    } else if (b == 0xf0) {
        st->need = 3;
        st->lo = 0x90;
    } else if (b >= 0xf1 && b <= 0xf3) {
        st->need = 3;
    } else if (b == 0xf4) {
        st->need = 3;
        st->hi = 0x8f;
    } else {
        return false; /* 80-C1 as a lead, F5-FF */
    }
    return true;
}

bool fz_utf8_complete(const fz_utf8_t *st)
{
    return st->need == 0;
}

bool fz_utf8_valid(const uint8_t *p, size_t len)
{
    fz_utf8_t st;
    fz_utf8_reset(&st);
    for (size_t i = 0; i < len; i++) {
        if (!fz_utf8_byte(&st, p[i])) {
            return false;
        }
    }
    return fz_utf8_complete(&st);
}

/* ---- HTTP and WebSocket rules ---- */

bool fz_is_tchar(uint8_t b)
{
    if ((b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')) {
        return true;
    }
    return b != 0 && strchr("!#$%&'*+-.^_`|~", b) != NULL;
}

bool fz_is_ctl(uint8_t b)
{
    return (b < 0x20 && b != '\t') || b == 0x7f;
}

bool fz_close_code_ok(uint32_t code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

bool fz_ieq(const uint8_t *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t x = a[i];
        uint8_t y = (uint8_t)b[i];
        if (x >= 'A' && x <= 'Z') {
            x = (uint8_t)(x + 32);
        }
        if (y >= 'A' && y <= 'Z') {
            y = (uint8_t)(y + 32);
        }
        if (x != y) {
            return false;
        }
    }
    return true;
}
