/*
 * cpaths.c - the plain C peers of the engine: the stock ESP-IDF algorithm and a good word loop.
 *
 * Written from a description of esp-idf's transport_ws.c / esp_websocket_client.c, not from their
 * source: the client copies the payload into its tx buffer; the transport builds the header byte by
 * byte in a small array, XORs the buffer in place one byte at a time with mask[i % 4], writes the
 * header and the payload, then XORs again to give the buffer back unmasked. On receive it decodes
 * the header byte by byte and hands the payload over; it never checks UTF-8.
 *
 * This file holds only the C paths (its object's size is the "native" code size in bench/rv32).
 * Machine words are `uintptr_t`: 64-bit on x86-64, 32-bit on rv32.
 */
#include <stdint.h>
#include <string.h>

#include "wsbench.h"

typedef uintptr_t word_t;
#define WORD_BYTES ((size_t)sizeof(word_t))
#define HI_BITS ((word_t)0x8080808080808080ull)   /* the top bit of every byte (truncated on rv32) */

int wsb_capture;
uint8_t *wsb_cap_buf;
size_t wsb_cap_len;
uint32_t wsb_delivered;

__attribute__((noinline)) void wsb_sock_write(const uint8_t *p, size_t n)
{
    if (wsb_capture) {
        memcpy(wsb_cap_buf + wsb_cap_len, p, n);
        wsb_cap_len += n;
    }
    __asm__ volatile("" : : "r"(p), "r"(n) : "memory");
}

__attribute__((noinline)) void wsb_deliver(uint32_t opcode, uint32_t fin, const uint8_t *p, size_t n)
{
    if (wsb_capture) {
        /* record: opcode, fin, length (u32 each), then the payload */
        uint32_t h[3] = { opcode, fin, (uint32_t)n };
        memcpy(wsb_cap_buf + wsb_cap_len, h, sizeof h);
        memcpy(wsb_cap_buf + wsb_cap_len + sizeof h, p, n);
        wsb_cap_len += sizeof h + n;
        wsb_delivered++;
    }
    __asm__ volatile("" : : "r"(p), "r"(n) : "memory");
}

/* ---- send ---- */

void stock_send(uint8_t *txbuf, const uint8_t *data, int len, uint32_t key, uint32_t opcode)
{
    memcpy(txbuf, data, (size_t)len);   /* esp_websocket_client: payload into client->tx_buffer */
    uint8_t hdr[14];
    int hl = 0;
    hdr[hl++] = (uint8_t)(0x80 | opcode);
    if (len <= 125) {
        hdr[hl++] = (uint8_t)(0x80 | len);
    } else if (len <= 0xffff) {
        hdr[hl++] = 0x80 | 126;
        hdr[hl++] = (uint8_t)(len >> 8);
        hdr[hl++] = (uint8_t)len;
    } else {
        hdr[hl++] = 0x80 | 127;
        hdr[hl++] = 0;
        hdr[hl++] = 0;
        hdr[hl++] = 0;
        hdr[hl++] = 0;
        hdr[hl++] = (uint8_t)(len >> 24);
        hdr[hl++] = (uint8_t)(len >> 16);
        hdr[hl++] = (uint8_t)(len >> 8);
        hdr[hl++] = (uint8_t)len;
    }
    uint8_t mask[4] = { (uint8_t)key, (uint8_t)(key >> 8), (uint8_t)(key >> 16), (uint8_t)(key >> 24) };
    for (int i = 0; i < 4; i++) {
        hdr[hl++] = mask[i];
    }
    for (int i = 0; i < len; ++i) {
        txbuf[i] = (uint8_t)(txbuf[i] ^ mask[i % 4]);
    }
    wsb_sock_write(hdr, (size_t)hl);
    wsb_sock_write(txbuf, (size_t)len);
    for (int i = 0; i < len; ++i) {
        txbuf[i] = (uint8_t)(txbuf[i] ^ mask[i % 4]);
    }
}

uint8_t *cword_send(uint8_t *pay, const uint8_t *data, size_t len, uint32_t key, uint32_t opcode)
{
    /* Header, ending at pay: minimal length encoding, then the key (low byte first). */
    uint8_t *h;
    memcpy(pay - 4, &key, 4);
    if (len < 126) {
        h = pay - 6;
        h[1] = (uint8_t)(0x80 | len);
    } else if (len < 65536) {
        h = pay - 8;
        h[1] = 0x80 | 126;
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
    } else {
        h = pay - 14;
        h[1] = 0x80 | 127;
        memset(h + 2, 0, 4);
        h[6] = (uint8_t)(len >> 24);
        h[7] = (uint8_t)(len >> 16);
        h[8] = (uint8_t)(len >> 8);
        h[9] = (uint8_t)len;
    }
    h[0] = (uint8_t)(0x80 | opcode);

    /* Copy and mask in one pass. Byte i gets key byte (i & 3); with the destination word-aligned
     * and the source on the same alignment, every word starts at a multiple of 4 payload bytes
     * after a head of fewer than WORD_BYTES bytes, so the key word only needs rotating once. */
    size_t i = 0;
    uint32_t k = key;
    if ((((uintptr_t)pay ^ (uintptr_t)data) & (WORD_BYTES - 1)) == 0) {
        while (i < len && ((uintptr_t)(pay + i) & (WORD_BYTES - 1)) != 0) {
            pay[i] = (uint8_t)(data[i] ^ (uint8_t)(key >> (8 * (i & 3))));
            i++;
        }
        unsigned r = (unsigned)(i & 3);   /* key rotated so that its byte 0 applies at pay + i */
        k = r == 0 ? key : (key >> (8 * r)) | (key << (32 - 8 * r));
        word_t kw = (word_t)k;
        if (WORD_BYTES == 8) {
            kw |= (word_t)((uint64_t)k << 32);
        }
        const word_t *s = (const word_t *)(const void *)(data + i);
        word_t *d = (word_t *)(void *)(pay + i);
        size_t nw = (len - i) / WORD_BYTES;
        size_t w = 0;
        for (; w + 4 <= nw; w += 4) {
            d[w] = s[w] ^ kw;
            d[w + 1] = s[w + 1] ^ kw;
            d[w + 2] = s[w + 2] ^ kw;
            d[w + 3] = s[w + 3] ^ kw;
        }
        for (; w < nw; w++) {
            d[w] = s[w] ^ kw;
        }
        i += nw * WORD_BYTES;
    }
    for (; i < len; i++) {
        pay[i] = (uint8_t)(data[i] ^ (uint8_t)(key >> (8 * (i & 3))));
    }
    return h;
}

/* ---- UTF-8 ---- */

int utf8_byteloop(const uint8_t *p, size_t len)
{
    /* One byte per step: how many continuation bytes are due and the range the next one must be
     * in (RFC 3629 §4: E0 A0-BF, ED 80-9F, F0 90-BF, F4 80-8F, otherwise 80-BF). */
    unsigned due = 0, seen = 0, lo = 0x80, hi = 0xbf;
    for (size_t i = 0; i < len; i++) {
        unsigned b = p[i];
        if (due == 0) {
            if (b < 0x80) {
                continue;
            }
            if (b >= 0xc2 && b <= 0xdf) {
                due = 1;
            } else if (b >= 0xe0 && b <= 0xef) {
                due = 2;
                lo = b == 0xe0 ? 0xa0 : 0x80;
                hi = b == 0xed ? 0x9f : 0xbf;
            } else if (b >= 0xf0 && b <= 0xf4) {
                due = 3;
                lo = b == 0xf0 ? 0x90 : 0x80;
                hi = b == 0xf4 ? 0x8f : 0xbf;
            } else {
                return -1;
            }
            seen = 1;
        } else {
            if (b < lo || b > hi) {
                return -1;
            }
            lo = 0x80;
            hi = 0xbf;
            due--;
            seen++;
        }
    }
    return due == 0 ? 0 : (int)seen;
}

int utf8_wordloop(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        /* ASCII: bytes up to a word boundary, then whole words with no top bit set. */
        if (p[i] < 0x80) {
            i++;
            if (((uintptr_t)(p + i) & (WORD_BYTES - 1)) != 0) {
                continue;
            }
            while (i + 4 * WORD_BYTES <= len) {
                const word_t *w = (const word_t *)(const void *)(p + i);
                if (((w[0] | w[1] | w[2] | w[3]) & HI_BITS) != 0) {
                    break;
                }
                i += 4 * WORD_BYTES;
            }
            while (i + WORD_BYTES <= len && (*(const word_t *)(const void *)(p + i) & HI_BITS) == 0) {
                i += WORD_BYTES;
            }
            continue;
        }
        /* One whole code point from its lead byte. */
        unsigned b = p[i];
        size_t left = len - i;
        if (b < 0xc2) {
            return -1;   /* a continuation byte, or the overlong leads C0/C1 */
        }
        if (b < 0xe0) {
            if (left < 2) {
                return 1;
            }
            if ((p[i + 1] & 0xc0) != 0x80) {
                return -1;
            }
            i += 2;
        } else if (b < 0xf0) {
            unsigned lo = b == 0xe0 ? 0xa0 : 0x80, hi = b == 0xed ? 0x9f : 0xbf;
            if (left < 2) {
                return 1;
            }
            if (p[i + 1] < lo || p[i + 1] > hi) {
                return -1;
            }
            if (left < 3) {
                return 2;
            }
            if ((p[i + 2] & 0xc0) != 0x80) {
                return -1;
            }
            i += 3;
        } else if (b < 0xf5) {
            unsigned lo = b == 0xf0 ? 0x90 : 0x80, hi = b == 0xf4 ? 0x8f : 0xbf;
            if (left < 2) {
                return 1;
            }
            if (p[i + 1] < lo || p[i + 1] > hi) {
                return -1;
            }
            if (left < 3) {
                return 2;
            }
            if ((p[i + 2] & 0xc0) != 0x80) {
                return -1;
            }
            if (left < 4) {
                return 3;
            }
            if ((p[i + 3] & 0xc0) != 0x80) {
                return -1;
            }
            i += 4;
        } else {
            return -1;
        }
    }
    return 0;
}

/* ---- receive ---- */

long c_recv(const uint8_t *buf, size_t n, int validator)
{
    size_t at = 0;
    while (n - at >= 2) {
        uint8_t b0 = buf[at], b1 = buf[at + 1];
        uint32_t opcode = b0 & 0x0f, fin = b0 >> 7;
        uint64_t len = b1 & 0x7f;
        size_t hl = 2;
        if (len == 126) {
            if (n - at < 4) {
                break;
            }
            len = (uint64_t)buf[at + 2] << 8 | buf[at + 3];
            hl = 4;
        } else if (len == 127) {
            if (n - at < 10) {
                break;
            }
            len = 0;
            for (int k = 0; k < 8; k++) {
                len = len << 8 | buf[at + 2 + k];
            }
            hl = 10;
        }
        uint8_t mask[4] = { 0, 0, 0, 0 };
        int masked = b1 >> 7;
        if (masked) {
            if (n - at < hl + 4) {
                break;
            }
            memcpy(mask, buf + at + hl, 4);
            hl += 4;
        }
        if (n - at - hl < len) {
            break;   /* the stock client would read the rest of the payload from the socket */
        }
        const uint8_t *pay = buf + at + hl;
        if (masked) {
            /* Servers never mask (RFC 6455 §5.1); the stock client unmasks byte by byte if they do. */
            uint8_t *w = (uint8_t *)(uintptr_t)pay;
            for (size_t i = 0; i < len; i++) {
                w[i] ^= mask[i % 4];
            }
        }
        if (opcode == 1 && validator != 0) {
            int r = validator == 1 ? utf8_byteloop(pay, (size_t)len) : utf8_wordloop(pay, (size_t)len);
            if (r != 0) {
                return -1;
            }
        }
        wsb_deliver(opcode, fin, pay, (size_t)len);
        at += hl + (size_t)len;
    }
    return (long)at;
}
