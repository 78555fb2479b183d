/*
 * fuzz_uri - uri_parse on the whole input, written at scratch() + 64.
 *
 * Oracle: the result equals a reference parser written from the ABI's URI rules (RFC 6455 §3
 * with RFC 3986 authority syntax, as docs/engine-abi.md and the URI_* messages describe them):
 * the same error code, or the same record (scheme 0/1, port 1..65535, host/path/userinfo
 * pointing inside the input, ipv6, needs_slash). The parse is run twice with different bytes
 * after the input, and the results must be identical (no reading past `len`). Nothing outside
 * the 40-byte result record may change, the input included.
 */
#include <stdlib.h>
#include <string.h>

#include "fz_engine.h"
#include "fz_ref.h"

#define URI_IN 64u
#define URI_MAX 1024u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    int32_t err;   /* 0 or a positive URI_* code */
    uint32_t scheme, port, host, host_len, path, path_len, user, user_len, ipv6, needs_slash;
} uri_ref_t;

static uint8_t lower(uint8_t b)
{
    return b >= 'A' && b <= 'Z' ? (uint8_t)(b + 32) : b;
}

static bool is_hex(uint8_t b)
{
    return (b >= '0' && b <= '9') || (lower(b) >= 'a' && lower(b) <= 'f');
}

/* Offsets are relative to the input. */
static uri_ref_t uri_ref(const uint8_t *s, uint32_t len)
{
    uri_ref_t r = {0};
    if (len == 0) return (uri_ref_t){.err = WSE_ERR_URI_EMPTY};
    for (uint32_t i = 0; i < len; i++) {
        if (s[i] <= 0x20 || s[i] == 0x7f) return (uri_ref_t){.err = WSE_ERR_URI_CHAR};
        if (s[i] == '#') return (uri_ref_t){.err = WSE_ERR_URI_FRAGMENT};
    }
    if (len < 5 || lower(s[0]) != 'w' || lower(s[1]) != 's') return (uri_ref_t){.err = WSE_ERR_URI_SCHEME};
    uint32_t p = 2;
    if (lower(s[2]) == 's') {
        r.scheme = 1;
        p = 3;
    }
    if (len - p < 3 || memcmp(s + p, "://", 3) != 0) return (uri_ref_t){.err = WSE_ERR_URI_SCHEME};
    p += 3;
    uint32_t auth = p, auth_end = p;
    while (auth_end < len && s[auth_end] != '/' && s[auth_end] != '?') auth_end++;
    /* userinfo: before the last '@' of the authority */
    uint32_t at = auth_end;
    while (at > auth && s[at - 1] != '@') at--;
    r.user = auth;
    if (at > auth) {
        r.user_len = at - 1 - auth;
        if (r.user_len == 0 || s[auth] == ':') return (uri_ref_t){.err = WSE_ERR_URI_USERINFO};
        for (uint32_t q = auth; q < at - 1; q++) {
            if (s[q] == '[' || s[q] == ']') return (uri_ref_t){.err = WSE_ERR_URI_USERINFO};
        }
        p = at;
    }
    if (p < auth_end && s[p] == '[') {
        uint32_t q = p + 1, colons = 0;
        while (q < auth_end && s[q] != ']') {
            if (s[q] == ':') colons++;
            else if (!is_hex(s[q]) && s[q] != '.' && s[q] != '%') return (uri_ref_t){.err = WSE_ERR_URI_HOST};
            q++;
        }
        if (q == auth_end || colons < 2) return (uri_ref_t){.err = WSE_ERR_URI_HOST};
        r.host = p + 1;
        r.host_len = q - (p + 1);
        r.ipv6 = 1;
        p = q + 1;
        if (p < auth_end && s[p] != ':') return (uri_ref_t){.err = WSE_ERR_URI_HOST};
    } else {
        r.host = p;
        while (p < auth_end && s[p] != ':') {
            if (s[p] == '[' || s[p] == ']') return (uri_ref_t){.err = WSE_ERR_URI_HOST};
            p++;
        }
        r.host_len = p - r.host;
        if (r.host_len == 0) return (uri_ref_t){.err = WSE_ERR_URI_HOST};
    }
    r.port = r.scheme ? 443 : 80;
    if (p < auth_end) {
        p++;
        if (p == auth_end) return (uri_ref_t){.err = WSE_ERR_URI_PORT};
        uint32_t v = 0;
        for (; p < auth_end; p++) {
            if (s[p] < '0' || s[p] > '9') return (uri_ref_t){.err = WSE_ERR_URI_PORT};
            v = v * 10 + (uint32_t)(s[p] - '0');
            if (v > 65535) return (uri_ref_t){.err = WSE_ERR_URI_PORT};
        }
        if (v == 0) return (uri_ref_t){.err = WSE_ERR_URI_PORT};
        r.port = v;
    }
    r.path = auth_end;
    r.path_len = len - auth_end;
    r.needs_slash = r.path_len != 0 && s[auth_end] == '?';
    return r;
}

static fz_engine_t *engine(void)
{
    static fz_engine_t e;
    static bool ready;
    if (!ready) {
        fz_engine_setup(&e, 1, 16, 4, URI_IN + URI_MAX);
        ready = true;
    }
    return &e;
}

/* One parse with `tail` filling the scratch area after the input; returns the raw result. */
static int32_t parse_once(fz_engine_t *e, uint32_t scratch, const uint8_t *data, uint32_t len, uint8_t tail,
                          uint32_t rec[10])
{
    fz_engine_restore(e);
    uint8_t *in = fz_at(e, scratch + URI_IN, URI_MAX, "uri input");
    uint32_t laid = len < URI_MAX ? len : URI_MAX;
    memcpy(in, data, laid);
    memset(in + laid, tail, URI_MAX - laid);
    /* the record area too: a failed parse must leave it untouched */
    memset(fz_at(e, scratch, URI_IN, "uri record"), tail ^ 0x5a, URI_IN);
    int32_t r = fz_e_uri_parse(e, len);
    memcpy(rec, fz_at(e, scratch, 40, "uri record"), 40);
    if (memcmp(in, data, laid) != 0) fz_fail("uri_parse modified its input");
    for (uint32_t i = laid; i < URI_MAX; i++) {
        if (in[i] != tail) fz_fail("uri_parse wrote past its input at +%u", i);
    }
    const uint8_t *rest = fz_at(e, scratch + 40, URI_IN - 40, "scratch");
    for (uint32_t i = 0; i < URI_IN - 40; i++) {
        if (rest[i] != (uint8_t)(tail ^ 0x5a)) fz_fail("uri_parse wrote scratch byte %u beyond the record", 40 + i);
    }
    if (r != 0) {
        const uint8_t *recb = fz_at(e, scratch, 40, "uri record");
        for (uint32_t i = 0; i < 40; i++) {
            if (recb[i] != (uint8_t)(tail ^ 0x5a)) fz_fail("uri_parse failed (%d) but wrote the record", r);
        }
    }
    fz_check_untouched_outside(e, scratch, scratch + URI_IN + URI_MAX, "uri_parse");
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_engine_t *e = engine();
    fz_engine_restore(e);
    int32_t scratch = fz_e_scratch(e);
    if (scratch <= 0) fz_fail("scratch() = %d", scratch);
    uint32_t len = size > 0xffffffu ? 0xffffffu : (uint32_t)size;

    uint32_t rec_a[10], rec_b[10];
    int32_t ra = parse_once(e, (uint32_t)scratch, data, len, 0x00, rec_a);
    int32_t rb = parse_once(e, (uint32_t)scratch, data, len, ']', rec_b);
    if (ra != rb || (ra == 0 && memcmp(rec_a, rec_b, sizeof rec_a) != 0)) {
        fz_fail("uri_parse depends on the bytes after the input: %d vs %d", ra, rb);
    }
    if (len > URI_MAX) {
        if (ra != -WSE_ERR_URI_TOO_LONG) fz_fail("uri_parse(len %u > %u) = %d, expected -URI_TOO_LONG", len, URI_MAX, ra);
        return 0;
    }
    uri_ref_t want = uri_ref(data, len);
    if (ra != -want.err) {
        const wse_error_info_t *got = wse_error_info(ra);
        fz_fail("uri_parse = %d (%s), reference = -%d (%s)", ra, got ? got->name : "?", want.err,
                want.err ? wse_error_info(want.err)->name : "OK");
    }
    if (ra != 0) {
        if (ra > 0 || ra < -8) fz_fail("uri_parse returned %d, not 0 or -URI_*", ra);
        return 0;
    }
    uint32_t base = (uint32_t)scratch + URI_IN;
    uint32_t got[10] = {rec_a[0], rec_a[1], rec_a[2] - base, rec_a[3], rec_a[4] - base, rec_a[5], rec_a[6] - base, rec_a[7],
                        rec_a[8], rec_a[9]};
    uint32_t exp[10] = {want.scheme, want.port, want.host, want.host_len, want.path, want.path_len, want.user, want.user_len,
                        want.ipv6, want.needs_slash};
    static const char *names[10] = {"scheme", "port", "host_ptr", "host_len", "path_ptr", "path_len", "user_ptr", "user_len",
                                    "ipv6", "needs_slash"};
    for (int i = 0; i < 10; i++) {
        if (got[i] != exp[i]) fz_fail("uri_parse %s = %u, reference %u", names[i], got[i], exp[i]);
    }
    /* The ABI's invariants, stated on their own. */
    if (rec_a[0] > 1 || rec_a[1] < 1 || rec_a[1] > 65535) fz_fail("scheme %u / port %u out of range", rec_a[0], rec_a[1]);
    for (int f = 2; f <= 6; f += 2) {
        if (rec_a[f] < base || rec_a[f] > base + len || rec_a[f + 1] > base + len - rec_a[f]) {
            fz_fail("%s [%u, +%u) is not inside the input [%u, +%u)", names[f], rec_a[f], rec_a[f + 1], base, len);
        }
    }
    return 0;
}
