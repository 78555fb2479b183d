/*
 * fz_conn.c - one connection through the engine, checked against reference models (fz_conn.h).
 *
 * Models (each written from docs/engine-abi.md and the RFCs, not from assembly/):
 *   request  - which REQ_* errors the hs_request inputs deserve, and the exact request bytes;
 *   head     - the response head: HEADER/REDIRECT events, then OPEN or the handshake error;
 *   frames   - the server frames after the head: every frame, where its payload lies on the wire,
 *              and how the stream ends (a failure with its possible codes, a Close, or nothing);
 *   shadow   - state, close codes, timers and the send-side message state, advanced by every call.
 * Errors are compared as sets where the ABI does not fix an order between several violations of
 * one frame or one call (e.g. a frame with RSV bits and a reserved opcode may fail with either).
 */
#include "fz_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A set of error codes 20..147 (every code the table can hold above the URI range). */
typedef unsigned __int128 errset_t;
#define ERRBIT(code) ((errset_t)1 << ((code) - 20))

/* ---------------------------------------------------------------------------------------------- */
/* Small helpers                                                                                  */
/* ---------------------------------------------------------------------------------------------- */

static const wse_error_info_t *table_entry(int32_t code)
{
    const wse_error_info_t *info = code > 0 ? wse_error_info(code) : NULL;
    if (info == NULL) {
        fz_fail("error code %d is not in wse_error_table", code);
    }
    return info;
}

static const char *err_name(int32_t code)
{
    const wse_error_info_t *info = wse_error_info(code);
    return info ? info->name : "?";
}

static bool in_set(errset_t set, int32_t code)
{
    return code >= 20 && code < 148 && (set & ERRBIT(code)) != 0;
}

static void set_names(errset_t set, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = 0;
    for (int c = 20; c < 148 && o + 24 < cap; c++) {
        if (set & ERRBIT(c)) {
            o += (size_t)snprintf(buf + o, cap - o, "%s%s", o ? "|" : "", err_name(c));
        }
    }
}

static uint32_t be16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The mask key bytes in the order they are applied (docs: low byte of `key` first). */
static void key_bytes(uint32_t key, uint8_t k[4])
{
    k[0] = (uint8_t)key;
    k[1] = (uint8_t)(key >> 8);
    k[2] = (uint8_t)(key >> 16);
    k[3] = (uint8_t)(key >> 24);
}

static bool is_ows(uint8_t b)
{
    return b == ' ' || b == '\t';
}

/* ---------------------------------------------------------------------------------------------- */
/* Request model                                                                                  */
/* ---------------------------------------------------------------------------------------------- */

/* Subprotocol list trimmed of surrounding spaces/tabs. */
static void proto_trim(const fz_request_t *r, uint32_t *off, uint32_t *len)
{
    uint32_t a = 0, b = r->proto_len;
    while (a < b && is_ows(r->proto[a])) a++;
    while (b > a && is_ows(r->proto[b - 1])) b--;
    *off = a;
    *len = b - a;
}

/* #token list with no empty elements: token *( OWS "," OWS token ). */
static bool token_list_ok(const uint8_t *p, uint32_t n)
{
    uint32_t i = 0;
    for (;;) {
        uint32_t t = i;
        while (i < n && fz_is_tchar(p[i])) i++;
        if (i == t) return false;
        while (i < n && is_ows(p[i])) i++;
        if (i == n) return true;
        if (p[i] != ',') return false;
        i++;
        while (i < n && is_ows(p[i])) i++;
    }
}

/* Extra header block: -1 malformed, 1 last line without CRLF, 0 fine. */
static int headers_state(const uint8_t *p, uint32_t n)
{
    uint32_t i = 0;
    while (i < n) {
        uint32_t t = i;
        while (i < n && fz_is_tchar(p[i])) i++;
        if (i == t || i == n || p[i] != ':') return -1;
        i++;
        while (i < n && !fz_is_ctl(p[i])) i++;
        if (i == n) return 1;
        if (p[i] != '\r' || i + 1 == n || p[i + 1] != '\n') return -1;
        i += 2;
    }
    return 0;
}

static bool host_or_path_char_bad(uint8_t b)
{
    return b <= 0x20 || b == 0x7f;
}

/* Builds the request the ABI describes; returns its length (may exceed cap: nothing written then). */
static uint32_t request_build(const fz_request_t *r, char *out, uint32_t cap)
{
    char tmp[8192];
    uint32_t o = 0;
#define PUT(src, n) do { if ((n) != 0 && o + (n) <= sizeof tmp) memcpy(tmp + o, (src), (n)); o += (uint32_t)(n); } while (0)
#define PUTS(s) PUT((s), strlen(s))
    PUTS("GET ");
    if (r->path_len == 0 || r->path[0] != '/') PUTS("/");
    PUT(r->path, r->path_len);
    PUTS(" HTTP/1.1\r\nHost: ");
    bool colon = memchr(r->host, ':', r->host_len) != NULL;
    if (colon) PUTS("[");
    PUT(r->host, r->host_len);
    if (colon) PUTS("]");
    char port[16];
    snprintf(port, sizeof port, ":%u\r\n", r->port);
    PUTS(port);
    if (r->ua_len) {
        PUTS("User-Agent: ");
        PUT(r->ua, r->ua_len);
        PUTS("\r\n");
    }
    PUTS("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    char b64[2048];
    uint32_t n = (uint32_t)fz_base64(r->key, 16, b64);
    PUT(b64, n);
    PUTS("\r\nSec-WebSocket-Version: 13\r\n");
    uint32_t poff, plen;
    proto_trim(r, &poff, &plen);
    if (plen) {
        PUTS("Sec-WebSocket-Protocol: ");
        PUT(r->proto + poff, plen);
        PUTS("\r\n");
    }
    if (r->auth_len) {
        PUTS("Authorization: Basic ");
        n = (uint32_t)fz_base64(r->auth, r->auth_len, b64);
        PUT(b64, n);
        PUTS("\r\n");
    }
    PUT(r->hdr, r->hdr_len);
    if (headers_state(r->hdr, r->hdr_len) == 1) PUTS("\r\n");
    PUTS("\r\n");
#undef PUT
#undef PUTS
    if (o <= cap && o <= sizeof tmp) memcpy(out, tmp, o);
    return o;
}

/*
 * Independent of the builder above: the request is HTTP/1.1 syntax with nothing injected. Every
 * line ends with CRLF, there is no other CR or LF, the request line is "GET <target> HTTP/1.1"
 * with a target free of spaces and controls, every header line is "token: value" with no
 * control character in the value, and the blank line is the last thing.
 */
static void request_check_wellformed(const uint8_t *p, uint32_t n)
{
    uint32_t i = 0, line = 0;
    for (;;) {
        uint32_t s = i;
        while (i < n && p[i] != '\r' && p[i] != '\n') i++;
        if (i + 1 >= n || p[i] != '\r' || p[i + 1] != '\n') {
            fz_fail("request line %u (at %u) does not end with CRLF (bare CR/LF or missing end)", line, s);
        }
        uint32_t e = i;
        i += 2;
        if (line == 0) {
            if (e - s < 4 + 1 + 9 || memcmp(p + s, "GET /", 5) != 0 || memcmp(p + e - 9, " HTTP/1.1", 9) != 0) {
                fz_fail("malformed request line");
            }
            for (uint32_t q = s + 4; q < e - 9; q++) {
                if (p[q] <= 0x20 || p[q] == 0x7f) fz_fail("request target has a space/control at %u", q);
            }
        } else if (e == s) {
            if (i != n) fz_fail("bytes after the request's blank line (%u of %u)", i, n);
            if (line < 6) fz_fail("request has only %u header lines", line - 1);
            return;
        } else {
            uint32_t q = s;
            while (q < e && fz_is_tchar(p[q])) q++;
            if (q == s || q == e || p[q] != ':') fz_fail("request header line %u has no token name and colon", line);
            for (q++; q < e; q++) {
                if (fz_is_ctl(p[q])) fz_fail("request header line %u has a control character", line);
            }
        }
        line++;
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* Head model                                                                                     */
/* ---------------------------------------------------------------------------------------------- */

typedef struct {
    uint8_t type;      /* WSE_EV_HEADER or WSE_EV_REDIRECT */
    uint32_t off, len; /* wire offsets */
    uint32_t status;   /* REDIRECT's b */
} hev_t;

enum { H_PENDING, H_OPEN, H_ERROR };

typedef struct {
    hev_t *ev;
    uint32_t n_ev;
    int outcome;
    int32_t err;        /* H_ERROR */
    uint32_t status;    /* status when it failed (0 before the status line) */
    uint32_t end;       /* H_OPEN: where frames start; H_ERROR: wire position by which it is certain */
} hmodel_t;

typedef struct {
    const uint8_t *list; uint32_t len;   /* offered subprotocol list (trimmed) */
} offered_t;

static bool token_in_value(const uint8_t *v, uint32_t n, const char *word)
{
    size_t wl = strlen(word);
    uint32_t i = 0;
    while (i < n) {
        while (i < n && (is_ows(v[i]) || v[i] == ',')) i++;
        uint32_t t = i;
        while (i < n && v[i] != ',') i++;
        uint32_t te = i;
        while (te > t && is_ows(v[te - 1])) te--;
        if (te - t == wl && fz_ieq(v + t, word, wl)) return true;
    }
    return false;
}

static bool proto_offered(const offered_t *o, const uint8_t *v, uint32_t n)
{
    uint32_t i = 0;
    while (i < o->len) {
        while (i < o->len && !fz_is_tchar(o->list[i])) i++;
        uint32_t t = i;
        while (i < o->len && fz_is_tchar(o->list[i])) i++;
        if (i - t == n && n != 0 && memcmp(o->list + t, v, n) == 0) return true;
    }
    return false;
}

/* Status line "HTTP/1.x SP 3DIGIT [SP reason]" (RFC 7230 §3.1.2); -1 if malformed. */
static int status_line(const uint8_t *p, uint32_t n)
{
    if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9' || p[8] != ' ') return -1;
    for (int i = 9; i < 12; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
    }
    if (n > 12) {
        if (p[12] != ' ') return -1;
        for (uint32_t i = 13; i < n; i++) {
            if (fz_is_ctl(p[i])) return -1;
        }
    }
    return (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
}

static void hmodel_build(hmodel_t *m, const uint8_t *w, uint32_t wn, const char accept[28],
                         const offered_t *off, uint32_t limit, uint32_t rx_cap)
{
    uint64_t head = 0;
    uint32_t pos = 0, status = 0;
    bool have_status = false, upgrade = false, connection = false, accept_seen = false, proto_seen = false,
         location = false;
    m->n_ev = 0;
    m->status = 0;
#define FAIL_AT(code, certain) do { m->outcome = H_ERROR; m->err = (code); m->status = status; m->end = (certain); return; } while (0)
    for (;;) {
        uint32_t avail = wn - pos;
        uint32_t look = avail < rx_cap ? avail : rx_cap;
        const uint8_t *lf = memchr(w + pos, '\n', look);
        if (lf == NULL) {
            /* No line end among the bytes that can be in the window with this line. */
            uint32_t seen = look;
            if (head + seen > limit) FAIL_AT(WSE_ERR_RESP_TOO_LARGE, pos + (uint32_t)(limit - head + 1));
            if (seen >= rx_cap) FAIL_AT(WSE_ERR_RESP_LINE_TOO_LONG, pos + rx_cap);
            m->outcome = H_PENDING;
            return;
        }
        uint32_t q = (uint32_t)(lf - w);
        uint32_t next = q + 1;
        if (head + (next - pos) > limit) {
            uint64_t first = limit - head + 1; /* the unfinished part may already show it */
            FAIL_AT(WSE_ERR_RESP_TOO_LARGE, pos + (uint32_t)(first < next - pos ? first : next - pos));
        }
        head += next - pos;
        uint32_t e = q;
        if (e > pos && w[e - 1] == '\r') e--;
        if (!have_status) {
            int st = status_line(w + pos, e - pos);
            if (st < 0) FAIL_AT(WSE_ERR_RESP_STATUS_LINE, next);
            status = (uint32_t)st;
            have_status = true;
        } else if (e != pos) {
            const uint8_t *p = w + pos;
            uint32_t n = e - pos, i = 0;
            while (i < n && fz_is_tchar(p[i])) i++;
            if (i == 0 || i == n || p[i] != ':') FAIL_AT(WSE_ERR_RESP_HEADER, next);
            uint32_t name_len = i;
            uint32_t v = i + 1, ve = n;
            for (uint32_t k = v; k < ve; k++) {
                if (fz_is_ctl(p[k])) FAIL_AT(WSE_ERR_RESP_HEADER, next);
            }
            while (v < ve && is_ows(p[v])) v++;
            while (ve > v && is_ows(p[ve - 1])) ve--;
            m->ev[m->n_ev++] = (hev_t){WSE_EV_HEADER, pos, n, 0};
            bool up = status == 101;
            if (name_len == 7 && fz_ieq(p, "upgrade", 7)) {
                if (token_in_value(p + v, ve - v, "websocket")) upgrade = true;
            } else if (name_len == 10 && fz_ieq(p, "connection", 10)) {
                if (token_in_value(p + v, ve - v, "upgrade")) connection = true;
            } else if (name_len == 20 && fz_ieq(p, "sec-websocket-accept", 20)) {
                if (up && (accept_seen || ve - v != 28 || memcmp(p + v, accept, 28) != 0)) {
                    FAIL_AT(WSE_ERR_RESP_ACCEPT, next);
                }
                accept_seen = true;
            } else if (name_len == 22 && fz_ieq(p, "sec-websocket-protocol", 22)) {
                if (up && ve != v) {
                    if (proto_seen || !proto_offered(off, p + v, ve - v)) FAIL_AT(WSE_ERR_RESP_PROTOCOL, next);
                    proto_seen = true;
                }
            } else if (name_len == 24 && fz_ieq(p, "sec-websocket-extensions", 24)) {
                if (up && ve != v) FAIL_AT(WSE_ERR_RESP_EXTENSION, next);
            } else if (name_len == 8 && fz_ieq(p, "location", 8)) {
                if (status >= 300 && status < 400 && !location && ve != v) {
                    m->ev[m->n_ev++] = (hev_t){WSE_EV_REDIRECT, pos + v, ve - v, status};
                    location = true;
                }
            }
        } else {
            if (status != 101) {
                FAIL_AT(status >= 300 && status < 400 && location ? WSE_ERR_RESP_REDIRECT : WSE_ERR_RESP_STATUS, next);
            }
            if (!upgrade) FAIL_AT(WSE_ERR_RESP_UPGRADE, next);
            if (!connection) FAIL_AT(WSE_ERR_RESP_CONNECTION, next);
            if (!accept_seen) FAIL_AT(WSE_ERR_RESP_ACCEPT_MISSING, next);
            m->outcome = H_OPEN;
            m->end = next;
            return;
        }
        pos = next;
    }
#undef FAIL_AT
}

/* ---------------------------------------------------------------------------------------------- */
/* Frame model                                                                                    */
/* ---------------------------------------------------------------------------------------------- */

typedef struct {
    uint32_t hdr, pay, len;   /* wire offsets of the header and payload; payload length */
    uint8_t op, fin, ctl;
    uint32_t fail_lim;        /* UTF-8: every delivered chunk must end before this; UINT32_MAX none */
} fitem_t;

enum { T_NONE, T_ERROR, T_CLOSE };

typedef struct {
    fitem_t *it;
    uint32_t n;
    int term;
    errset_t err_set;
    uint32_t term_item;       /* index of the item the terminal belongs to (n: none) */
    uint32_t close_code, reason_off, reason_len;
    bool partial;             /* T_NONE: the last item's payload is cut by the end of the stream */
    uint32_t stop;            /* T_NONE, !partial: where a cut header/control frame starts (or the end) */
} fmodel_t;

typedef struct {
    uint32_t utf8_policy, max_frame, max_msg, chunk;
} fcfg_t;

static void fmodel_build(fmodel_t *m, const uint8_t *w, uint32_t start, uint32_t end, const fcfg_t *cfg)
{
    uint32_t pos = start;
    uint32_t msg = 0;
    uint64_t total = 0;
    bool validate = false;
    fz_utf8_t u8;
    fz_utf8_reset(&u8);
    m->n = 0;
    m->term = T_NONE;
    m->err_set = 0;
    m->partial = false;
    for (;;) {
        uint32_t avail = end - pos;
        if (avail < 2) {
            m->stop = pos;
            return;
        }
        uint32_t b0 = w[pos], b1 = w[pos + 1];
        uint32_t op = b0 & 15, fin = b0 >> 7, len7 = b1 & 127;
        bool ctl = op >= 8 && op <= 10;
        errset_t set = 0;
        /* §5.2 RSV, reserved opcodes, §5.1 masked server frame, §5.5 control frame rules. */
        if (b0 & 0x70) set |= ERRBIT(WSE_ERR_RSV);
        if ((op >= 3 && op <= 7) || op > 10) set |= ERRBIT(WSE_ERR_OPCODE);
        if (b1 & 0x80) set |= ERRBIT(WSE_ERR_MASKED);
        if (ctl && !fin) set |= ERRBIT(WSE_ERR_CTRL_FRAGMENTED);
        if (ctl && len7 > 125) set |= ERRBIT(WSE_ERR_CTRL_TOO_LONG);
        if (set) {
            m->term = T_ERROR;
            m->err_set = set;
            m->term_item = m->n;
            return;
        }
        if (ctl) {
            if (avail < 2 + len7) {
                m->stop = pos;
                return;
            }
            const uint8_t *q = w + pos + 2;
            if (op == 8) {
                /* §5.5.1: an optional 2-byte status code, then a UTF-8 reason. */
                if (len7 == 1) set |= ERRBIT(WSE_ERR_CLOSE_1BYTE);
                if (len7 >= 2 && !fz_close_code_ok(be16(q))) set |= ERRBIT(WSE_ERR_CLOSE_CODE);
                if (len7 >= 2 && !fz_utf8_valid(q + 2, len7 - 2)) set |= ERRBIT(WSE_ERR_CLOSE_UTF8);
                if (set) {
                    m->term = T_ERROR;
                    m->err_set = set;
                    m->term_item = m->n;
                    return;
                }
            }
            m->it[m->n++] = (fitem_t){pos, pos + 2, len7, (uint8_t)op, 1, 1, UINT32_MAX};
            if (op == 8) {
                m->term = T_CLOSE;
                m->term_item = m->n - 1;
                m->close_code = len7 >= 2 ? be16(q) : 1005;
                m->reason_off = len7 >= 2 ? pos + 4 : pos + 2;
                m->reason_len = len7 >= 2 ? len7 - 2 : 0;
                return;
            }
            pos += 2 + len7;
            continue;
        }
        uint32_t hl = 2, len = len7;
        bool huge = false;
        if (len7 == 126) {
            if (avail < 4) {
                m->stop = pos;
                return;
            }
            len = be16(w + pos + 2);
            if (len < 126) set |= ERRBIT(WSE_ERR_LEN_NOT_MINIMAL);
            hl = 4;
        } else if (len7 == 127) {
            if (avail < 10) {
                m->stop = pos;
                return;
            }
            uint32_t hi = be32(w + pos + 2);
            len = be32(w + pos + 6);
            if (hi >> 31) set |= ERRBIT(WSE_ERR_LEN_TOP_BIT);
            else if (hi == 0 && len < 65536) set |= ERRBIT(WSE_ERR_LEN_NOT_MINIMAL);
            huge = hi != 0 || len > 0x7fffffffu;
            hl = 10;
        }
        /* §5.4 fragmentation sequence. */
        if (op == 0 && msg == 0) set |= ERRBIT(WSE_ERR_CONT_NO_MSG);
        if (op != 0 && msg != 0) set |= ERRBIT(WSE_ERR_DATA_IN_MSG);
        if (huge || len > cfg->max_frame) set |= ERRBIT(WSE_ERR_FRAME_TOO_BIG);
        uint64_t tot = (op == 0 ? total : 0) + len;
        if (tot > cfg->max_msg) set |= ERRBIT(WSE_ERR_MSG_TOO_BIG);
        if (set) {
            m->term = T_ERROR;
            m->err_set = set;
            m->term_item = m->n;
            return;
        }
        if (op != 0) {
            msg = op;
            validate = op == 1 && (cfg->utf8_policy & 1);
            fz_utf8_reset(&u8);
        }
        total = tot;
        fitem_t *it = &m->it[m->n++];
        *it = (fitem_t){pos, pos + hl, len, (uint8_t)op, (uint8_t)fin, 0, UINT32_MAX};
        uint32_t have = end - it->pay < len ? end - it->pay : len;
        if (validate) {
            /* A chunk is validated (and delivered) only once all of it is here: CHUNK bytes, or
             * the rest of the frame. So a bad byte in a chunk that is still cut is not seen yet. */
            uint32_t whole = have == len ? len : have / cfg->chunk * cfg->chunk;
            for (uint32_t i = 0; i < whole; i++) {
                if (!fz_utf8_byte(&u8, w[it->pay + i])) {
                    it->fail_lim = it->pay + i + 1;
                    m->term = T_ERROR;
                    m->err_set = ERRBIT(WSE_ERR_UTF8);
                    m->term_item = m->n - 1;
                    return;
                }
            }
            if (have == len && fin && !fz_utf8_complete(&u8)) {
                it->fail_lim = it->pay + len;
                m->term = T_ERROR;
                m->err_set = ERRBIT(WSE_ERR_UTF8);
                m->term_item = m->n - 1;
                return;
            }
        }
        if (have < len) {
            m->partial = true;
            return;
        }
        pos = it->pay + len;
        if (fin) {
            msg = 0;
            total = 0;
            validate = false;
        }
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* The driver                                                                                     */
/* ---------------------------------------------------------------------------------------------- */

typedef struct {
    fz_engine_t *e;
    uint32_t slot, c;
    uint32_t rx, rx_cap, tx, tx_cap, ctl, ev, ev_cap;
    uint32_t now;
    uint8_t poison;
    uint32_t rng;

    /* configuration as the engine should hold it */
    uint32_t ping_ms, pong_ms, close_ms, max_frame, max_msg, hs_limit, utf8_policy, chunk;

    /* the server stream and the models */
    const uint8_t *wire;
    uint32_t wire_len;
    uint32_t base;              /* wire offset of rx[0] */
    hmodel_t hm;
    uint32_t hi;                /* next head event */
    fmodel_t fm;
    uint32_t fi, fd;            /* next frame item; payload bytes of it delivered */
    bool expect_close_event;

    /* shadow state */
    uint32_t st, close_tx, close_rx, error;
    bool ping_out;
    uint32_t ping_since, last_ping, close_at;
    uint32_t smsg;
    fz_utf8_t sutf8;
} drv_t;

static uint32_t rng_next(drv_t *d)
{
    /* xorshift32: keys and payload bytes; deterministic per input */
    uint32_t x = d->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    d->rng = x;
    return x;
}

static uint32_t io(drv_t *d, uint32_t off)
{
    return fz_conn_field(d->e, d->c, off);
}

/* Event record at addr, decoded like ws_engine_event_at into type opcode fin ptr len a b code
 * (docs/engine-abi.md, Events): a full record, or a short DATA record (a frame address). */
static void ev_read(drv_t *d, uint32_t addr, uint32_t ev[8])
{
    uint32_t w[5];
    memcpy(w, fz_at(d->e, addr, WSE_EV_SIZE, "event record"), sizeof w);
    if ((w[0] & WSE_EV_FULL) == 0) {
        const uint8_t *f = fz_at(d->e, w[0], 2, "short record's frame header");
        uint32_t len = f[1];
        uint32_t dec[8] = { WSE_EV_DATA, f[0] & 0xfu, f[0] >> 7, w[0] + 2, len, len, 0, 0 };
        memcpy(ev, dec, sizeof dec);
        return;
    }
    uint32_t dec[8] = { (w[0] >> 8) & 0xffu, w[0] & 0xfu, (w[0] & WSE_EV_FIN) != 0, w[1], w[2], w[3], w[4],
                        (w[0] >> 16) & 0x7fffu };
    memcpy(ev, dec, sizeof dec);
}

static void check_state(drv_t *d, const char *after)
{
    uint32_t st = io(d, WSE_C_STATE);
    if (st != d->st) fz_fail("after %s: state %u, expected %u", after, st, d->st);
    if (io(d, WSE_C_CLOSE_TX) != d->close_tx) fz_fail("after %s: close_tx %u, expected %u", after, io(d, WSE_C_CLOSE_TX), d->close_tx);
    if (d->st == WSE_STATE_CLOSED && io(d, WSE_C_CLOSE_RX) != d->close_rx) {
        fz_fail("after %s: close_rx %u, expected %u", after, io(d, WSE_C_CLOSE_RX), d->close_rx);
    }
    if (d->st == WSE_STATE_FAILED && io(d, WSE_C_ERROR) != d->error) {
        fz_fail("after %s: error %u, expected %u", after, io(d, WSE_C_ERROR), d->error);
    }
}

/* Control output expected from one call: an optional PONG, then an optional CLOSE (or a PING). */
typedef struct {
    bool pong;
    uint32_t pong_off, pong_len;   /* wire offsets of the PING payload it echoes */
    bool ping;
    bool close;
    uint32_t close_code;           /* 0: empty Close */
} ctl_expect_t;

static uint32_t check_ctl_frame(drv_t *d, const uint8_t *p, uint32_t avail, uint32_t op, const uint8_t *payload,
                                uint32_t len, uint32_t key, const char *what)
{
    uint8_t k[4];
    key_bytes(key, k);
    if (avail < 6 + len) fz_fail("ctl output: %s needs %u bytes, %u left", what, 6 + len, avail);
    if (p[0] != (0x80 | op) || p[1] != (0x80 | len)) {
        fz_fail("ctl output: %s header %02x %02x, expected %02x %02x", what, p[0], p[1], 0x80 | op, 0x80 | len);
    }
    if (memcmp(p + 2, k, 4) != 0) fz_fail("ctl output: %s mask key is not the key passed", what);
    for (uint32_t i = 0; i < len; i++) {
        if ((uint8_t)(p[6 + i] ^ k[i & 3]) != payload[i]) fz_fail("ctl output: %s payload byte %u differs", what, i);
    }
    (void)d;
    return 6 + len;
}

static void check_ctl(drv_t *d, const ctl_expect_t *x, uint32_t key1, uint32_t key2, const char *call)
{
    uint32_t len = io(d, WSE_C_CTL_LEN);
    if (len > WSE_CTL_CAP) fz_fail("%s: ctl_len %u > CTL_CAP %u", call, len, WSE_CTL_CAP);
    if (io(d, WSE_C_CTL_PTR) != d->ctl) fz_fail("%s: ctl_ptr moved", call);
    const uint8_t *p = fz_at(d->e, d->ctl, len, "ctl output");
    uint32_t o = 0;
    if (x->pong) {
        o += check_ctl_frame(d, p + o, len - o, 0xA, d->wire + x->pong_off, x->pong_len, key1, "PONG");
    }
    if (x->ping) {
        o += check_ctl_frame(d, p + o, len - o, 0x9, NULL, 0, key1, "PING");
    }
    if (x->close) {
        uint8_t body[2] = {(uint8_t)(x->close_code >> 8), (uint8_t)x->close_code};
        o += check_ctl_frame(d, p + o, len - o, 0x8, body, x->close_code ? 2 : 0, key2, "CLOSE");
    }
    if (o != len) fz_fail("%s: ctl_len %u, expected %u (pong %d ping %d close %d)", call, len, o, x->pong, x->ping, x->close);
}

/* The ERROR event of a peer/timer failure: code known to the table, a = the close code queued. */
static void check_error_event(drv_t *d, const uint32_t *ev, ctl_expect_t *cx, bool handshake)
{
    int32_t code = (int32_t)ev[7];
    const wse_error_info_t *info = table_entry(code);
    uint32_t want_a = d->close_tx == 0 ? (uint32_t)info->close_code : 0;
    if (ev[5] != want_a) {
        fz_fail("ERROR %s: a = %u, expected %u (table close code %d, close_tx %u)", info->name, ev[5], want_a,
                info->close_code, d->close_tx);
    }
    if (!handshake && ev[6] != 0) fz_fail("ERROR %s: b = %u, expected 0", info->name, ev[6]);
    if (want_a != 0) {
        cx->close = true;
        cx->close_code = want_a;
        d->close_tx = want_a;
    }
    d->st = WSE_STATE_FAILED;
    d->error = (uint32_t)code;
}

/* Checks one event of a recv call whose input was wire[base, base + n). */
static void check_recv_event(drv_t *d, const uint32_t *ev, uint32_t n, uint32_t idx, uint32_t count, ctl_expect_t *cx)
{
    uint32_t type = ev[0], ptr = ev[3], len = ev[4];
    if (type < WSE_EV_HEADER || type > WSE_EV_ERROR) fz_fail("event %u: unknown type %u", idx, type);
    if (d->expect_close_event && type != WSE_EV_CLOSE) fz_fail("event %u: type %u after a Close DATA, expected CLOSE", idx, type);
    uint32_t wo = 0;
    if (type == WSE_EV_HEADER || type == WSE_EV_REDIRECT || type == WSE_EV_DATA || type == WSE_EV_CLOSE) {
        if (ptr < d->rx || ptr > d->rx + n || len > d->rx + n - ptr) {
            fz_fail("event %u (type %u): [%u, +%u) is not inside the call's input [%u, +%u)", idx, type, ptr, len, d->rx, n);
        }
        wo = d->base + (ptr - d->rx);
        if (memcmp(fz_at(d->e, ptr, len, "event bytes"), d->wire + wo, len) != 0) {
            fz_fail("event %u (type %u): bytes at %u differ from the wire bytes they point at", idx, type, ptr);
        }
    }
    if (type == WSE_EV_ERROR && idx + 1 != count) fz_fail("ERROR is event %u of %u, not the last", idx, count);

    if (d->st == WSE_STATE_CONNECTING) {
        hmodel_t *h = &d->hm;
        if (type == WSE_EV_HEADER || type == WSE_EV_REDIRECT) {
            if (d->hi >= h->n_ev) fz_fail("unexpected %s event (model has %u)", type == 1 ? "HEADER" : "REDIRECT", h->n_ev);
            const hev_t *x = &h->ev[d->hi++];
            if (x->type != type || x->off != wo || x->len != len || (type == WSE_EV_REDIRECT && ev[6] != x->status)) {
                fz_fail("head event %u: type %u at wire %u len %u b %u, expected type %u at %u len %u b %u", d->hi - 1,
                        type, wo, len, ev[6], x->type, x->off, x->len, x->status);
            }
            return;
        }
        if (type == WSE_EV_OPEN) {
            if (h->outcome != H_OPEN || d->hi != h->n_ev) {
                fz_fail("OPEN, but the model says outcome %d (%s) after %u/%u head events", h->outcome,
                        h->outcome == H_ERROR ? err_name(h->err) : "-", d->hi, h->n_ev);
            }
            d->st = WSE_STATE_OPEN;
            d->ping_out = false;
            d->ping_since = d->now;
            d->last_ping = d->now;
            return;
        }
        if (type == WSE_EV_ERROR) {
            int32_t code = (int32_t)ev[7];
            if (h->outcome != H_ERROR || code != h->err || d->hi != h->n_ev) {
                fz_fail("handshake ERROR %s (b %u), model: outcome %d %s after %u/%u head events", err_name(code), ev[6],
                        h->outcome, h->outcome == H_ERROR ? err_name(h->err) : "-", d->hi, h->n_ev);
            }
            if (ev[6] != h->status) fz_fail("handshake ERROR %s: b = %u, expected status %u", err_name(code), ev[6], h->status);
            check_error_event(d, ev, cx, true);
            return;
        }
        fz_fail("event type %u while CONNECTING", type);
    }

    if (d->st != WSE_STATE_OPEN && d->st != WSE_STATE_CLOSING) {
        fz_fail("event type %u in state %u (after FAILED/CLOSED nothing may be reported)", type, d->st);
    }
    fmodel_t *m = &d->fm;
    if (type == WSE_EV_DATA) {
        uint32_t op = ev[1], fin = ev[2], a = ev[5], b = ev[6];
        if (d->fi >= m->n) fz_fail("DATA at wire %u len %u: the model has no frame left (%u)", wo, len, m->n);
        const fitem_t *it = &m->it[d->fi];
        if (it->ctl) {
            if (op != it->op || fin != 1 || len != it->len || a != it->len || b != 0 || wo != it->pay) {
                fz_fail("control DATA op %u fin %u at wire %u len %u a %u b %u; model: op %u at %u len %u", op, fin, wo,
                        len, a, b, it->op, it->pay, it->len);
            }
            d->fi++;
            if (op == 9) {
                cx->pong = true;
                cx->pong_off = wo;
                cx->pong_len = len;
            } else if (op == 10) {
                d->ping_out = false;
            } else {
                d->expect_close_event = true;
            }
            return;
        }
        if (op != it->op || fin != it->fin || a != it->len || b != d->fd || wo != it->pay + d->fd) {
            fz_fail("DATA op %u fin %u wire %u len %u a %u b %u; model frame %u: op %u fin %u payload at %u len %u, %u delivered",
                    op, fin, wo, len, a, b, d->fi, it->op, it->fin, it->pay, it->len, d->fd);
        }
        /* Chunks of exactly CHUNK bytes, the frame's last one what remains (independent of reads). */
        uint32_t want = it->len - d->fd < d->chunk ? it->len - d->fd : d->chunk;
        if (len != want) fz_fail("DATA chunk of %u bytes at offset %u of %u, expected %u (CHUNK %u)", len, d->fd, it->len, want, d->chunk);
        if (b + len > a) fz_fail("DATA b + len = %u > a = %u", b + len, a);
        if (it->fail_lim != UINT32_MAX && wo + len >= it->fail_lim) {
            fz_fail("DATA delivers text up to wire %u, but the UTF-8 is invalid/incomplete at %u", wo + len, it->fail_lim - 1);
        }
        d->fd += len;
        if (d->fd == it->len) {
            d->fi++;
            d->fd = 0;
        }
        return;
    }
    if (type == WSE_EV_CLOSE) {
        if (!d->expect_close_event) fz_fail("CLOSE event without the Close DATA before it");
        d->expect_close_event = false;
        if (m->term != T_CLOSE || ev[1] != 8 || ev[7] != m->close_code || wo != m->reason_off || len != m->reason_len) {
            fz_fail("CLOSE code %u reason at %u len %u; model: code %u reason at %u len %u", ev[7], wo, len, m->close_code,
                    m->reason_off, m->reason_len);
        }
        d->close_rx = m->close_code;
        if (d->close_tx == 0) {
            cx->close = true;
            cx->close_code = m->reason_len || m->close_code != 1005 ? m->close_code : 0;
            d->close_tx = m->close_code;
        }
        d->st = WSE_STATE_CLOSED;
        return;
    }
    if (type == WSE_EV_ERROR) {
        int32_t code = (int32_t)ev[7];
        char names[256];
        set_names(m->err_set, names, sizeof names);
        if (m->term != T_ERROR || !in_set(m->err_set, code) || d->fi != m->term_item) {
            fz_fail("ERROR %s after %u frames; model: term %d (%s) at frame %u", err_name(code), d->fi, m->term, names,
                    m->term_item);
        }
        check_error_event(d, ev, cx, false);
        return;
    }
    fz_fail("event type %u while %s", type, d->st == WSE_STATE_OPEN ? "OPEN" : "CLOSING");
}

/*
 * One recv call over rx[0, n) = wire[base, base + n). Checks the I/O block, every event, the
 * control output and the state, then moves the kept bytes to the window start. Returns `more`.
 */
static bool do_recv(drv_t *d, uint32_t n, uint32_t *keep)
{
    uint8_t *rx = fz_at(d->e, d->rx, d->rx_cap, "rx window");
    /* Bytes right after the input get the poison value: parsing them would show as a wrong event.
     * (A few dozen bytes cover any header or line look-ahead; the whole window would cost more
     * than the call itself with one-byte reads.) */
    uint32_t pz = d->rx_cap - n < 32 ? d->rx_cap - n : 32;
    memset(rx + n, d->poison, pz);
    uint32_t key1 = rng_next(d), key2 = rng_next(d);
    uint32_t st_before = d->st;
    int32_t r = fz_e_recv(d->e, d->slot, n, d->now, key1, key2);
    if (r < 0) fz_fail("recv(%u) returned %d (%s)", n, r, err_name(-r));
    uint32_t count = io(d, WSE_C_EV_COUNT);
    if ((uint32_t)r != count) fz_fail("recv returned %d but ev_count is %u", r, count);
    if (count > d->ev_cap) fz_fail("ev_count %u > ev_cap %u", count, d->ev_cap);
    if (io(d, WSE_C_EV_PTR) != d->ev || io(d, WSE_C_RX_PTR) != d->rx || io(d, WSE_C_RX_CAP) != d->rx_cap) {
        fz_fail("recv moved a region pointer");
    }

    ctl_expect_t cx = {0};
    for (uint32_t i = 0; i < count; i++) {
        uint32_t ev[8];
        ev_read(d, d->ev + i * WSE_EV_SIZE, ev);
        check_recv_event(d, ev, n, i, count, &cx);
    }
    if (d->expect_close_event) fz_fail("Close DATA was the last event of the call: no CLOSE event");
    check_ctl(d, &cx, key1, key2, "recv");
    check_state(d, "recv");

    uint32_t koff = io(d, WSE_C_KEEP_OFF), klen = io(d, WSE_C_KEEP_LEN), more = io(d, WSE_C_MORE);
    if (koff > n || klen != n - koff) fz_fail("keep_off %u + keep_len %u != n %u", koff, klen, n);
    if (klen >= d->rx_cap) fz_fail("keep_len %u >= rx_cap %u: the C loop could never read again", klen, d->rx_cap);
    if (more > 1) fz_fail("more = %u", more);
    if (more && count + 1 < d->ev_cap) fz_fail("more = 1 with only %u of %u event records used", count, d->ev_cap);
    if (st_before == WSE_STATE_CLOSED || st_before == WSE_STATE_FAILED) {
        if (count != 0 || klen != 0 || more) fz_fail("recv after CLOSED/FAILED: %u events, keep %u, more %u", count, klen, more);
    }
    if (more && (d->st == WSE_STATE_CLOSED || d->st == WSE_STATE_FAILED)) fz_fail("more = 1 after the connection ended");
    memmove(rx, rx + koff, klen);
    d->base += koff;
    *keep = klen;
    return more != 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* Interleaved operations: send and tick                                                          */
/* ---------------------------------------------------------------------------------------------- */

static void do_tick(drv_t *d)
{
    uint32_t key = rng_next(d);
    ctl_expect_t cx = {0};
    uint32_t want_err = 0;
    if (d->st == WSE_STATE_OPEN) {
        if (d->pong_ms != 0 && d->ping_out && d->now - d->ping_since >= d->pong_ms) {
            want_err = WSE_ERR_PONG_TIMEOUT;
        } else if (d->ping_ms != 0 && d->now - d->last_ping >= d->ping_ms) {
            cx.ping = true;
            d->last_ping = d->now;
            if (!d->ping_out) {
                d->ping_out = true;
                d->ping_since = d->now;
            }
        }
    } else if (d->st == WSE_STATE_CLOSING && d->now - d->close_at >= d->close_ms) {
        want_err = WSE_ERR_CLOSE_TIMEOUT;
    }
    int32_t r = fz_e_tick(d->e, d->slot, d->now, key);
    if (r != (want_err ? 1 : 0)) fz_fail("tick(now %u) returned %d, expected %d event(s)", d->now, r, want_err ? 1 : 0);
    if (io(d, WSE_C_EV_COUNT) != (uint32_t)r) fz_fail("tick: ev_count %u != %d", io(d, WSE_C_EV_COUNT), r);
    if (want_err) {
        uint32_t ev[8];
        ev_read(d, d->ev, ev);
        if (ev[0] != WSE_EV_ERROR || ev[7] != want_err) fz_fail("tick: event type %u code %u, expected ERROR %u", ev[0], ev[7], want_err);
        check_error_event(d, ev, &cx, false);
    }
    check_ctl(d, &cx, key, key, "tick");
    check_state(d, "tick");
}

static const uint16_t k_close_codes[] = {1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1011, 1014, 1015, 1016,
                                         999, 0, 2999, 3000, 4999, 5000, 65535};

/* Payload bytes for a send: ASCII, multi-byte UTF-8 (possibly cut), or arbitrary bytes. */
static void fill_payload(drv_t *d, uint8_t *p, uint32_t len, uint8_t seed)
{
    static const uint8_t mb[] = {0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 'x'};
    for (uint32_t i = 0; i < len; i++) {
        if (seed & 0x80) p[i] = (uint8_t)('a' + (i + seed) % 26);
        else if (seed & 0x40) p[i] = mb[(i + (seed & 7)) % sizeof mb];
        else p[i] = (uint8_t)rng_next(d);
    }
}

static void do_send(drv_t *d, uint32_t opflags, uint32_t len, uint8_t seed, bool close_body)
{
    uint32_t tx_room = d->tx_cap;          /* payload room at tx + 14 */
    uint32_t wlen = len < tx_room ? len : tx_room;
    uint8_t *pay = fz_at(d->e, d->tx + WSE_TX_HDR, tx_room, "tx payload");
    fill_payload(d, pay, wlen, seed);
    if (close_body && wlen >= 2) {
        uint16_t code = k_close_codes[seed % (sizeof k_close_codes / sizeof k_close_codes[0])];
        pay[0] = (uint8_t)(code >> 8);
        pay[1] = (uint8_t)code;
    }
    uint8_t copy[WSE_TX_HDR + 4096];
    if (wlen > sizeof copy - WSE_TX_HDR) fz_fail("tx payload too large for the harness copy");
    memcpy(copy, pay, wlen);
    uint8_t rec[WSE_CONN_SIZE];
    memcpy(rec, fz_at(d->e, d->c, WSE_CONN_SIZE, "record"), WSE_CONN_SIZE);

    /* Model: every rule the call breaks (docs "Sending"). */
    uint32_t op = opflags & 0xf, fin = opflags & 0x80;
    bool strict = (d->utf8_policy & 2) != 0;
    errset_t set = 0;
    if (d->close_tx != 0 || d->st == WSE_STATE_CLOSING) set |= ERRBIT(WSE_ERR_CLOSE_SENT);
    else if (d->st != WSE_STATE_OPEN) set |= ERRBIT(WSE_ERR_NOT_OPEN);
    if (opflags & ~0x8fu) set |= ERRBIT(WSE_ERR_SEND_OPCODE);
    if (len > d->tx_cap) set |= ERRBIT(WSE_ERR_SEND_TOO_LONG);
    bool text = false;
    uint32_t close_code = 0;
    if ((op >= 3 && op <= 7) || op > 10) {
        set |= ERRBIT(WSE_ERR_SEND_OPCODE);
    } else if (op >= 8) {
        if (!fin) set |= ERRBIT(WSE_ERR_SEND_OPCODE);
        if (len > 125) set |= ERRBIT(WSE_ERR_SEND_CTRL_TOO_LONG);
        if (op == 8 && len <= 125) {
            close_code = 1005;
            if (len == 1) set |= ERRBIT(WSE_ERR_SEND_CLOSE_CODE);
            if (len >= 2) {
                close_code = be16(pay);
                if (!fz_close_code_ok(close_code)) set |= ERRBIT(WSE_ERR_SEND_CLOSE_CODE);
                if (strict && !fz_utf8_valid(pay + 2, len - 2)) set |= ERRBIT(WSE_ERR_SEND_UTF8);
            }
        }
    } else if (op == 0) {
        if (d->smsg == 0) set |= ERRBIT(WSE_ERR_SEND_CONT_NO_MSG);
        text = d->smsg == 1;
    } else {
        if (d->smsg != 0) set |= ERRBIT(WSE_ERR_SEND_MSG_OPEN);
        text = op == 1;
    }
    fz_utf8_t st2 = d->sutf8;
    if (text && strict && len <= d->tx_cap) {
        if (op == 1) fz_utf8_reset(&st2);
        bool ok = true;
        for (uint32_t i = 0; i < len && ok; i++) ok = fz_utf8_byte(&st2, pay[i]);
        if (!ok || (fin && !fz_utf8_complete(&st2))) set |= ERRBIT(WSE_ERR_SEND_UTF8);
    }

    uint32_t key = rng_next(d);
    int32_t s = fz_e_send(d->e, d->slot, opflags, len, key, d->now);
    if (s < 0) {
        char names[256];
        set_names(set, names, sizeof names);
        if (!in_set(set, -s)) fz_fail("send(op %#x, len %u) = -%s, model allows {%s}", opflags, len, err_name(-s), names);
        if (memcmp(rec, fz_at(d->e, d->c, WSE_CONN_SIZE, "record"), WSE_CONN_SIZE) != 0) fz_fail("failed send changed the record");
        if (memcmp(copy, pay, wlen) != 0) fz_fail("failed send changed the payload");
        return;
    }
    if (set) {
        char names[256];
        set_names(set, names, sizeof names);
        fz_fail("send(op %#x, len %u) = %d, model expects one of {%s}", opflags, len, s, names);
    }
    /* The frame: minimal length encoding, MASK bit, key low byte first, masked payload (§5.2). */
    uint32_t hl = len < 126 ? 2 : len < 65536 ? 4 : 10;
    if ((uint32_t)s != WSE_TX_HDR - hl - 4) fz_fail("send: start %d, expected %u for len %u", s, WSE_TX_HDR - hl - 4, len);
    const uint8_t *f = fz_at(d->e, d->tx + (uint32_t)s, WSE_TX_HDR - (uint32_t)s + len, "frame");
    if (f[0] != opflags) fz_fail("send: first byte %#x != opflags %#x", f[0], opflags);
    if (hl == 2 && f[1] != (0x80 | len)) fz_fail("send: length byte %#x for len %u", f[1], len);
    if (hl == 4 && (f[1] != 0xfe || be16(f + 2) != len)) fz_fail("send: bad 16-bit length for %u", len);
    if (hl == 10 && (f[1] != 0xff || be32(f + 2) != 0 || be32(f + 6) != len)) fz_fail("send: bad 64-bit length for %u", len);
    uint8_t k[4];
    key_bytes(key, k);
    if (memcmp(f + hl, k, 4) != 0) fz_fail("send: mask key bytes differ from the key passed");
    for (uint32_t i = 0; i < len; i++) {
        if ((uint8_t)(f[hl + 4 + i] ^ k[i & 3]) != copy[i]) fz_fail("send: masked payload byte %u wrong", i);
    }
    if (text && strict) d->sutf8 = st2;
    if ((op == 1 || op == 2) && !fin) d->smsg = op;
    if (op == 0 && fin) d->smsg = 0;
    if (op == 8) {
        d->st = WSE_STATE_CLOSING;
        d->close_tx = close_code;
        d->close_at = d->now;
    }
    check_state(d, "send");
}

static void do_op(drv_t *d, const fz_op_t *op)
{
    uint32_t what = op->kind >> 6;
    uint32_t len = op->len == 255 ? d->tx_cap : op->len == 254 ? d->tx_cap + 1 : op->len;
    switch (what) {
    case 0:
        d->now += (uint32_t)op->dt * 50u;
        do_tick(d);
        break;
    case 1: {
        uint32_t opflags = (op->kind & 0x0fu) | ((op->kind & 0x20u) ? 0x80u : 0) | ((op->kind & 0x10u) ? 0x40u : 0);
        d->now += op->dt;
        do_send(d, opflags, len, op->seed, false);
        break;
    }
    case 2:
        d->now += op->dt;
        do_send(d, (op->kind & 1) ? 0x08 : 0x88, len > 125 && !(op->kind & 2) ? len % 126 : len, op->seed, true);
        break;
    default:
        d->now += (uint32_t)op->dt * 1000u;
        do_tick(d);
        break;
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* Configuration                                                                                  */
/* ---------------------------------------------------------------------------------------------- */

static void do_config(drv_t *d, uint32_t param, uint32_t value)
{
    int32_t want = 0;
    uint32_t *field = NULL;
    switch (param) {
    case WSE_PARAM_PING_INTERVAL_MS: field = &d->ping_ms; break;
    case WSE_PARAM_PONG_TIMEOUT_MS: field = &d->pong_ms; break;
    case WSE_PARAM_CLOSE_TIMEOUT_MS: field = &d->close_ms; break;
    case WSE_PARAM_MAX_FRAME: field = &d->max_frame; if (value == 0 || value > 0x7fffffffu) want = -WSE_ERR_BAD_PARAM; break;
    case WSE_PARAM_MAX_MESSAGE: field = &d->max_msg; if (value == 0 || value > 0x7fffffffu) want = -WSE_ERR_BAD_PARAM; break;
    case WSE_PARAM_HS_LIMIT: field = &d->hs_limit; if (value < 64) want = -WSE_ERR_BAD_PARAM; break;
    case WSE_PARAM_UTF8_POLICY: field = &d->utf8_policy; if (value > 3) want = -WSE_ERR_BAD_PARAM; break;
    case WSE_PARAM_CHUNK: field = &d->chunk; if (value == 0 || value > d->tx_cap) want = -WSE_ERR_BAD_PARAM; break;
    default: want = -WSE_ERR_BAD_PARAM; break;
    }
    int32_t r = fz_e_conn_config(d->e, d->slot, param, value);
    if (r != want) fz_fail("conn_config(param %u, value %u) = %d, expected %d", param, value, r, want);
    if (r == 0) *field = value;
}

uint32_t fz_valid_101(const uint8_t key[16], char *out, uint32_t cap)
{
    char accept[29];
    fz_accept_for_key(key, accept);
    accept[28] = 0;
    int n = snprintf(out, cap,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
    if (n < 0 || (uint32_t)n >= cap) fz_fail("fz_valid_101: buffer too small");
    return (uint32_t)n;
}

/* ---------------------------------------------------------------------------------------------- */
/* The run                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

static int32_t do_request(drv_t *d, const fz_request_t *r, offered_t *off)
{
    /* Inputs one after another at the start of the rx window; what does not fit is not laid. */
    const uint8_t *parts[7] = {r->key, r->host, r->path, r->proto, r->ua, r->auth, r->hdr};
    uint32_t lens[7] = {16, r->host_len, r->path_len, r->proto_len, r->ua_len, r->auth_len, r->hdr_len};
    uint8_t *rx = fz_at(d->e, d->rx, d->rx_cap, "rx window");
    uint64_t total = 0;
    for (int i = 0; i < 7; i++) {
        if (lens[i] != 0 && total + lens[i] <= d->rx_cap) memcpy(rx + total, parts[i], lens[i]);
        total += lens[i];
    }
    if (total < d->rx_cap) memset(rx + total, d->poison, d->rx_cap - (uint32_t)total);

    errset_t set = 0;
    if (r->port < 1 || r->port > 65535) set |= ERRBIT(WSE_ERR_BAD_ARG);
    bool fits = total <= d->rx_cap;
    if (!fits) set |= ERRBIT(WSE_ERR_REQ_TOO_LARGE);
    static char expect[8192];
    uint32_t want_len = 0;
    if (fits) {
        uint32_t poff, plen;
        proto_trim(r, &poff, &plen);
        if (r->host_len == 0) set |= ERRBIT(WSE_ERR_REQ_HOST);
        for (uint32_t i = 0; i < r->host_len; i++) if (host_or_path_char_bad(r->host[i])) set |= ERRBIT(WSE_ERR_REQ_HOST);
        for (uint32_t i = 0; i < r->path_len; i++) if (host_or_path_char_bad(r->path[i])) set |= ERRBIT(WSE_ERR_REQ_PATH);
        if (r->proto_len && !token_list_ok(r->proto + poff, plen)) set |= ERRBIT(WSE_ERR_REQ_PROTOCOL);
        for (uint32_t i = 0; i < r->ua_len; i++) if (fz_is_ctl(r->ua[i])) set |= ERRBIT(WSE_ERR_REQ_USER_AGENT);
        if (headers_state(r->hdr, r->hdr_len) < 0) set |= ERRBIT(WSE_ERR_REQ_HEADER);
        want_len = request_build(r, expect, sizeof expect);
        if (want_len > WSE_TX_HDR + d->tx_cap) set |= ERRBIT(WSE_ERR_REQ_TOO_LARGE);
        off->list = r->proto + poff;
        off->len = plen;
    }

    /* Everything but the rx window, before the call: a refused request writes nothing. */
    uint32_t tx_len = WSE_TX_HDR + d->tx_cap;
    uint8_t *before = malloc(WSE_CONN_SIZE + tx_len);
    if (before == NULL) fz_fail("out of memory");
    memcpy(before, fz_at(d->e, d->c, WSE_CONN_SIZE, "record"), WSE_CONN_SIZE);
    memcpy(before + WSE_CONN_SIZE, fz_at(d->e, d->tx, tx_len, "tx window"), tx_len);

    int32_t res = fz_e_hs_request(d->e, d->slot, r->port, r->host_len, r->path_len, r->proto_len, r->ua_len,
                                  r->auth_len, r->hdr_len);
    if (res < 0) {
        char names[256];
        set_names(set, names, sizeof names);
        if (!in_set(set, -res)) fz_fail("hs_request = -%s, model allows {%s}", err_name(-res), names);
        if (memcmp(before, fz_at(d->e, d->c, WSE_CONN_SIZE, "record"), WSE_CONN_SIZE) != 0 ||
            memcmp(before + WSE_CONN_SIZE, fz_at(d->e, d->tx, tx_len, "tx window"), tx_len) != 0) {
            fz_fail("hs_request failed with -%s but changed the record or the tx window", err_name(-res));
        }
        free(before);
        return res;
    }
    free(before);
    if (set) {
        char names[256];
        set_names(set, names, sizeof names);
        fz_fail("hs_request = %d, model expects one of {%s}", res, names);
    }
    if ((uint32_t)res != want_len) fz_fail("hs_request length %d, expected %u", res, want_len);
    const uint8_t *req = fz_at(d->e, d->tx, (uint32_t)res, "request");
    request_check_wellformed(req, (uint32_t)res);
    if (memcmp(req, expect, want_len) != 0) {
        uint32_t i = 0;
        while (req[i] == (uint8_t)expect[i]) i++;
        fz_fail("request differs from the reference at byte %u: engine %02x, reference %02x", i, req[i], (uint8_t)expect[i]);
    }
    d->st = WSE_STATE_CONNECTING;
    check_state(d, "hs_request");
    return res;
}

int32_t fz_run_connection(const fz_run_t *run, const fz_request_t *req, const uint8_t *wire, uint32_t wire_len)
{
    static drv_t dd;
    static hev_t hevs[FZ_WIRE_MAX / 2 + 4];
    static fitem_t items[FZ_WIRE_MAX / 2 + 4];
    drv_t *d = &dd;
    memset(d, 0, sizeof *d);
    if (wire_len > FZ_WIRE_MAX) wire_len = FZ_WIRE_MAX;
    fz_engine_t *e = run->e;
    fz_engine_restore(e);
    d->e = e;
    d->slot = run->slot;
    int32_t c = fz_e_conn(e, run->slot);
    if (c <= 0) fz_fail("conn(%u) = %d", run->slot, c);
    d->c = (uint32_t)c;
    d->rx = io(d, WSE_C_RX_PTR);
    d->rx_cap = io(d, WSE_C_RX_CAP);
    d->tx = io(d, WSE_C_TX_PTR);
    d->tx_cap = io(d, WSE_C_TX_CAP);
    d->ctl = io(d, WSE_C_CTL_PTR);
    d->ev = io(d, WSE_C_EV_PTR);
    d->ev_cap = io(d, WSE_C_EV_CAP);
    /* The documented layout: rx = max(buf + 16, 256), tx payload = buf. */
    uint32_t want_rx = e->buf_size + 16 < WSE_RX_MIN ? WSE_RX_MIN : e->buf_size + 16;
    if (d->rx_cap != want_rx || d->tx_cap != e->buf_size || d->ev_cap != e->ev_cap) {
        fz_fail("layout: rx_cap %u tx_cap %u ev_cap %u for buf %u ev %u", d->rx_cap, d->tx_cap, d->ev_cap, e->buf_size, e->ev_cap);
    }
    d->now = run->now;
    d->poison = run->poison;
    d->rng = 0x9e3779b9u ^ run->now ^ (uint32_t)wire_len * 2654435761u;
    if (d->rng == 0) d->rng = 1;
    d->ping_ms = WSE_DEF_PING_MS;
    d->pong_ms = WSE_DEF_PONG_MS;
    d->close_ms = WSE_DEF_CLOSE_MS;
    d->max_frame = WSE_DEF_MAX_FRAME;
    d->max_msg = WSE_DEF_MAX_MSG;
    d->hs_limit = WSE_DEF_HS_LIMIT;
    d->utf8_policy = WSE_DEF_UTF8;
    d->chunk = d->tx_cap;
    d->st = WSE_STATE_IDLE;
    fz_utf8_reset(&d->sutf8);

    if (fz_e_conn_reset(e, run->slot) != 0) fz_fail("conn_reset failed");
    for (uint32_t i = 0; i < run->n_cfg; i++) do_config(d, run->cfg[i][0], run->cfg[i][1]);
    check_state(d, "conn_config");

    offered_t off = {0};
    int32_t res = do_request(d, req, &off);
    if (res < 0) return res;

    /* Models from the whole stream. */
    d->wire = wire;
    d->wire_len = wire_len;
    static uint8_t accept_key[16];
    static char accept[28];
    static bool accept_ready;
    if (!accept_ready || memcmp(accept_key, req->key, 16) != 0) {
        fz_accept_for_key(req->key, accept);
        memcpy(accept_key, req->key, 16);
        accept_ready = true;
    }
    d->hm.ev = hevs;
    hmodel_build(&d->hm, wire, wire_len, accept, &off, d->hs_limit, d->rx_cap);
    d->fm.it = items;
    d->fm.n = 0;
    d->fm.term = T_NONE;
    if (d->hm.outcome == H_OPEN) {
        fcfg_t fc = {d->utf8_policy, d->max_frame, d->max_msg, d->chunk};
        fmodel_build(&d->fm, wire, d->hm.end, wire_len, &fc);
    }

    /* The receive loop of docs/engine-abi.md, reads cut by the input's chunk sizes. */
    uint32_t fed = 0, keep = 0, ci = 0, oi = 0;
    while (fed < wire_len) {
        uint32_t room = d->rx_cap - keep;
        uint32_t cs = run->chunk_sizes[ci++ & 3];
        uint32_t n = cs == 0 || cs > room ? room : cs;
        if (n > wire_len - fed) n = wire_len - fed;
        /* The kept bytes are still the wire bytes (the engine does not modify its input). */
        if (memcmp(fz_at(e, d->rx, keep, "rx kept"), wire + d->base, keep) != 0) fz_fail("kept rx bytes were modified");
        memcpy(fz_at(e, d->rx + keep, n, "rx read"), wire + fed, n);
        fed += n;
        bool more = do_recv(d, keep + n, &keep);
        for (uint32_t guard = 0; more; guard++) {
            if (guard > wire_len + 8) fz_fail("more = 1 forever");
            more = do_recv(d, keep, &keep);
        }
        if (oi < run->n_ops) do_op(d, &run->ops[oi++]);
        d->now += 1;
    }
    while (oi < run->n_ops) do_op(d, &run->ops[oi++]);

    /* End of stream: what the model says must have been reported, was. */
    if (d->st == WSE_STATE_CONNECTING) {
        if (d->hm.outcome != H_PENDING && d->hm.end <= wire_len) {
            fz_fail("stream ended while CONNECTING, but the model %s at wire %u", d->hm.outcome == H_OPEN ? "opens" : "fails",
                    d->hm.end);
        }
        if (d->hi != d->hm.n_ev) fz_fail("only %u of %u head events reported", d->hi, d->hm.n_ev);
    } else if (d->st == WSE_STATE_OPEN || d->st == WSE_STATE_CLOSING) {
        fmodel_t *m = &d->fm;
        if (m->term != T_NONE) fz_fail("stream ended, but the model's %s was not reported", m->term == T_CLOSE ? "Close" : "failure");
        if (m->partial) {
            /* Every whole chunk of the cut frame delivered; the cut chunk kept. */
            const fitem_t *it = &m->it[m->n - 1];
            uint32_t have = wire_len - it->pay, whole = have / d->chunk * d->chunk;
            if (d->fi != m->n - 1 || d->fd != whole || d->base != it->pay + whole || keep != have - whole) {
                fz_fail("cut frame: delivered frame %u + %u bytes, window at %u, keep %u; model: frame %u + %u bytes, keep %u",
                        d->fi, d->fd, d->base, keep, m->n - 1, whole, have - whole);
            }
        } else if (d->fi != m->n || d->fd != 0 || d->base != m->stop || keep != wire_len - m->stop) {
            fz_fail("end: delivered %u frames (+%u), window at %u keep %u; model: %u frames, stop %u", d->fi, d->fd, d->base,
                    keep, m->n, m->stop);
        }
    }
    /* Nothing outside the slot was written, except the module's static data below the layout
     * (the SHA-1 kernel keeps its work areas there, in memory.data). */
    int32_t c0 = fz_e_conn(e, 0), c1 = e->max_conns > 1 ? fz_e_conn(e, 1) : (int32_t)e->layout_end;
    int32_t scratch = fz_e_scratch(e);
    if (scratch <= 0 || c0 <= scratch) fz_fail("scratch() = %d, conn(0) = %d", scratch, c0);
    uint32_t stride = (uint32_t)(c1 - c0);
    fz_check_untouched_outside_two(e, (uint32_t)scratch, d->c, d->c + stride, "run");
    return res;
}
