/*
 * fz_ref.h - independent reference code the fuzz oracles compare the engine against.
 *
 * Written from the specifications (FIPS 180-4 SHA-1, RFC 4648 base64, RFC 3629 UTF-8,
 * RFC 7230 tokens, RFC 6455 close codes), never from the engine's sources, so that a shared
 * misreading of a rule does not hide a bug.
 */
#ifndef FZ_REF_H
#define FZ_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SHA-1 of [data, data + len) into out[20]. */
void fz_sha1(const uint8_t *data, size_t len, uint8_t out[20]);

/* Standard base64 with '=' padding; returns the number of characters written (4 * ceil(len/3)). */
size_t fz_base64(const uint8_t *src, size_t len, char *dst);

/* The Sec-WebSocket-Accept value for a 16-byte nonce (RFC 6455 §4.1 / §4.2.2): 28 characters. */
void fz_accept_for_key(const uint8_t key[16], char accept[28]);

/*
 * Streaming UTF-8 validation (RFC 3629 §4). `fz_utf8_t` is the state between bytes: how many
 * continuation bytes are still due and the allowed range of the next one.
 */
typedef struct {
    uint8_t need;   /* continuation bytes still expected */
    uint8_t lo;     /* range of the next continuation byte */
    uint8_t hi;
} fz_utf8_t;

void fz_utf8_reset(fz_utf8_t *st);
/* Feeds one byte; false when the bytes so far are no prefix of any valid UTF-8 text. */
bool fz_utf8_byte(fz_utf8_t *st, uint8_t b);
/* True when every sequence fed so far is complete. */
bool fz_utf8_complete(const fz_utf8_t *st);
/* Whole-buffer check: valid and complete. */
bool fz_utf8_valid(const uint8_t *p, size_t len);

/* RFC 7230 §3.2.6 tchar. */
bool fz_is_tchar(uint8_t b);
/* Control character other than HTAB, or DEL (RFC 7230 field-value rule). */
bool fz_is_ctl(uint8_t b);
/* Close codes an endpoint may send (RFC 6455 §7.4.1, §7.4.2, §11.7): 1000-1003, 1007-1014, 3000-4999. */
bool fz_close_code_ok(uint32_t code);

/* ASCII case-insensitive equality of n bytes. */
bool fz_ieq(const uint8_t *a, const char *b, size_t n);

#endif
