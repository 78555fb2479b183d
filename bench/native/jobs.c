/*
 * jobs.c - inputs, and one job = one path x one row x one input x one payload size.
 *
 * Every row works on buffers with the same alignment (8-byte aligned windows; the payload sits
 * after its header exactly as on the wire), and every row hands its output to the same
 * out-of-line sinks (wsb_sock_write for frames, wsb_deliver for received payloads), so the rows
 * differ only in the work the path does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ws_engine_abi.h"
#include "../../component/src/ws_engine_copy.h"
#include "wsbench.h"

const char *const path_name[PATH_COUNT] = { "send", "recv", "recv32", "utf8" };
const char *const row_name[ROW_COUNT] = { "wasm3", "wasm2c", "stock", "cbyte", "cword" };
const char *const input_name[IN_COUNT] = { "binary", "ascii", "chinese", "emoji", "invalid" };

static const char ASCII_TEXT[] =
    "{\"type\":\"telemetry\",\"device\":\"esp32-c3\",\"seq\":12345,\"temp\":21.5,\"rssi\":-61,\"ok\":true} ";
static const char CHINESE_TEXT[] =
    "WebSocket 协议在单个 TCP 连接上提供全双工通信。客户端发送握手请求，服务器返回 101 状态码，"
    "之后双方以帧为单位交换数据；文本帧必须是有效的 UTF-8。";
static const char EMOJI_TEXT[] = "🙂👍🚀🎉😀🔥💡📦🌍✨ ";

static const uint32_t KEY = 0x3d21fa37;
enum { EV_CAP = 64, RECV32_FRAMES = 32, RECV32_SIZE = 16 };

static void text_of_size(uint8_t *out, size_t size, const char *text)
{
    size_t unit = strlen(text);
    size_t at = 0;
    memset(out, ' ', size);
    while (at < size) {
        size_t n = size - at < unit ? size - at : unit;
        while (n > 0 && n < unit && ((uint8_t)text[n] & 0xc0) == 0x80) {
            n--;   /* back to a character boundary */
        }
        if (n == 0) {
            break;
        }
        memcpy(out + at, text, n);
        at += n;
    }
}

void input_make(input_t in, uint8_t *out, size_t size)
{
    if (in == IN_BINARY) {
        uint32_t s = 0x1234567;
        for (size_t i = 0; i < size; i++) {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            out[i] = (uint8_t)s;
        }
        return;
    }
    if (in == IN_INVALID && size > 0) {
        /* Whole characters up to the last byte, so that byte alone is the fault: 0xFF can never
         * appear in UTF-8, so every validator says "invalid", not "unfinished". */
        text_of_size(out, size - 1, CHINESE_TEXT);
        out[size - 1] = 0xff;
        return;
    }
    text_of_size(out, size, in == IN_ASCII ? ASCII_TEXT : in == IN_CHINESE ? CHINESE_TEXT : EMOJI_TEXT);
}

void (*wsb_unmeasured)(int begin);

static uint32_t s_max;
static uint8_t *s_src;     /* the application's payload */
static uint8_t *s_stock;   /* stock tx buffer */
static uint8_t *s_cword;   /* word-loop tx window: payload at +16 */
static uint8_t *s_rx;      /* C rx buffer: the frames as they arrive */
static size_t s_rx_len;
static uint8_t *s_cap[ROW_COUNT];   /* check captures */
static eng_t *s_eng[2];

static eng_t *engine_of(row_t row)
{
    return row == ROW_WASM3 ? s_eng[ENG_WASM3] : row == ROW_WASM2C ? s_eng[ENG_WASM2C] : NULL;
}

static void *alloc8(size_t n)
{
    void *p = malloc(n + 16);
    return p == NULL ? NULL : (void *)(((uintptr_t)p + 7) & ~(uintptr_t)7);
}

int jobs_init(uint32_t max_size, uint32_t wasm3_stack)
{
    s_max = max_size;
    size_t frames = (size_t)max_size + 16 > RECV32_FRAMES * (RECV32_SIZE + 2) ? (size_t)max_size + 16
                                                                                : RECV32_FRAMES * (RECV32_SIZE + 2);
    s_src = alloc8(max_size);
    s_stock = alloc8(max_size);
    s_cword = alloc8((size_t)max_size + 16);
    s_rx = alloc8(frames);
    if (s_src == NULL || s_stock == NULL || s_cword == NULL || s_rx == NULL) {
        printf("out of memory for the buffers\n");
        return -1;
    }
    uint32_t buf = max_size < 1024 ? 1024 : max_size;
    for (int k = 0; k < 2; k++) {
        if (eng_available((eng_kind_t)k)) {
            s_eng[k] = eng_open((eng_kind_t)k, 1, buf, EV_CAP, 0, wasm3_stack);
            if (s_eng[k] == NULL) {
                printf("engine on %s could not be opened\n", k == ENG_WASM3 ? "wasm3" : "wasm2c");
                return -1;
            }
        }
    }
    return 0;
}

int job_applies(const job_t *j)
{
    if (j->size > s_max || j->size < 1) {
        return 0;
    }
    if ((j->row == ROW_WASM3 || j->row == ROW_WASM2C) && engine_of(j->row) == NULL) {
        return 0;
    }
    int text = j->input != IN_BINARY;
    switch (j->path) {
    /* send does not read the payload (UTF8_POLICY 1), and in 32 frames with a bad byte each the
     * engine stops at the first: the invalid input only has receive and UTF-8 jobs */
    case PATH_SEND: return j->row != ROW_CBYTE && j->input != IN_INVALID;
    case PATH_RECV32: return j->input != IN_INVALID && (text || (j->row != ROW_CBYTE && j->row != ROW_CWORD));
    case PATH_RECV: return text || (j->row != ROW_CBYTE && j->row != ROW_CWORD);
    case PATH_UTF8: return text && j->row != ROW_STOCK;
    default: return 0;
    }
}

uint32_t job_bytes(const job_t *j)
{
    return j->path == PATH_RECV32 ? RECV32_FRAMES * RECV32_SIZE : j->size;
}

static uint32_t opcode_of(input_t in)
{
    return in == IN_BINARY ? 2 : 1;
}

/* One server frame (unmasked, FIN) with the minimal header in front of `len` payload bytes. */
static size_t put_frame(uint8_t *out, uint32_t opcode, const uint8_t *pay, uint32_t len)
{
    size_t hl = 2;
    out[0] = (uint8_t)(0x80 | opcode);
    if (len < 126) {
        out[1] = (uint8_t)len;
    } else if (len < 65536) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        hl = 4;
    } else {
        out[1] = 127;
        memset(out + 2, 0, 4);
        out[6] = (uint8_t)(len >> 24);
        out[7] = (uint8_t)(len >> 16);
        out[8] = (uint8_t)(len >> 8);
        out[9] = (uint8_t)len;
        hl = 10;
    }
    memcpy(out + hl, pay, len);
    return hl + len;
}

static uint32_t rd32(const uint8_t *m, uint32_t at);

/* Slot 0 OPEN again after a run that failed it (the handshake overwrites the rx window). */
static void rearm(eng_t *e)
{
    if (rd32(eng_mem(e), eng_conn(e) + WSE_C_STATE) != WSE_STATE_OPEN && eng_handshake(e) != 0) {
        printf("could not re-open the engine's slot\n");
    }
}

void job_prepare(const job_t *j)
{
    uint32_t op = opcode_of(j->input);
    eng_t *e = engine_of(j->row);
    if (e != NULL && j->path != PATH_UTF8) {
        rearm(e);   /* an IN_INVALID receive left the connection FAILED */
    }
    switch (j->path) {
    case PATH_SEND:
    case PATH_UTF8:
        input_make(j->input, s_src, j->size);
        if (j->path == PATH_UTF8 && e != NULL) {
            memcpy(eng_mem(e) + eng_rx(e), s_src, j->size);   /* validated where it would arrive */
        }
        break;
    case PATH_RECV:
        input_make(j->input, s_src, j->size);
        s_rx_len = put_frame(s_rx, op, s_src, j->size);
        break;
    case PATH_RECV32:
        input_make(j->input, s_src, RECV32_SIZE);
        s_rx_len = 0;
        for (int i = 0; i < RECV32_FRAMES; i++) {
            s_rx_len += put_frame(s_rx + s_rx_len, op, s_src, RECV32_SIZE);
        }
        break;
    default:
        break;
    }
    if ((j->path == PATH_RECV || j->path == PATH_RECV32) && e != NULL) {
        memcpy(eng_mem(e) + eng_rx(e), s_rx, s_rx_len);
    }
}

static uint32_t rd32(const uint8_t *m, uint32_t at)
{
    uint32_t v;
    memcpy(&v, m + at, 4);
    return v;
}

/* Hands the DATA events of one recv call to wsb_deliver, decoded as ws_engine_event_at does: a
 * full record (kind ptr len a b) or the short form (the address of a whole small data frame). */
static void dispatch_events(const uint8_t *m, uint32_t c, int32_t count)
{
    uint32_t ev = rd32(m, c + WSE_C_EV_PTR);
    for (int32_t i = 0; i < count; i++, ev += WSE_EV_SIZE) {
        const uint32_t *r = (const uint32_t *)(const void *)(m + ev);
        uint32_t kind = r[0];
        if ((kind & WSE_EV_FULL) == 0) {
            const uint8_t *f = m + kind;
            wsb_deliver(f[0] & 0xfu, 1, f + 2, f[1]);
        } else if (((kind >> 8) & 0xff) == WSE_EV_DATA) {
            wsb_deliver(kind & 0xfu, (kind >> 7) & 1, m + r[1], r[2]);
        }
    }
}

/* The receive loop of docs/engine-abi.md minus the socket: recv, dispatch the DATA events. The
 * input is complete frames, so nothing is kept and no control output is produced. */
static void engine_recv(eng_t *e, uint32_t n)
{
    int32_t count = eng_recv(e, n, 0, 0x11111111, 0x22222222);
    const uint8_t *m = eng_mem(e);
    uint32_t c = eng_conn(e);
    dispatch_events(m, c, count);
    if (rd32(m, c + WSE_C_KEEP_LEN) != 0 || rd32(m, c + WSE_C_CTL_LEN) != 0) {
        printf("unexpected keep/ctl output after recv\n");
    }
}

/* The receive loop on input that fails the connection: the control output (the Close 1007) goes
 * to the socket before the events are dispatched; no DATA comes, the last event is the ERROR. */
static void engine_recv_failing(eng_t *e, uint32_t n)
{
    int32_t count = eng_recv(e, n, 0, 0x11111111, 0x22222222);
    const uint8_t *m = eng_mem(e);
    uint32_t c = eng_conn(e);
    uint32_t ctl = rd32(m, c + WSE_C_CTL_LEN);
    if (ctl != 0) {
        wsb_sock_write(m + rd32(m, c + WSE_C_CTL_PTR), ctl);
    }
    dispatch_events(m, c, count);
}

void job_run(const job_t *j, long reps)
{
    uint32_t op = opcode_of(j->input);
    uint32_t size = j->size;
    eng_t *e = engine_of(j->row);
    volatile int32_t sink = 0;
    switch (j->path) {
    case PATH_SEND:
        if (e != NULL) {
            uint8_t *m = eng_mem(e);
            uint32_t tx = eng_tx(e);
            for (long r = 0; r < reps; r++) {
                ws_engine_copy_in(m + tx + WSE_TX_HDR, s_src, size);   /* as the component does; the caller's data is never modified */
                int32_t s = eng_send(e, 0x80 | op, size, KEY, 0);
                wsb_sock_write(m + tx + s, WSE_TX_HDR - (uint32_t)s + size);
            }
        } else if (j->row == ROW_STOCK) {
            for (long r = 0; r < reps; r++) {
                stock_send(s_stock, s_src, (int)size, KEY, op);
            }
        } else {
            for (long r = 0; r < reps; r++) {
                uint8_t *pay = s_cword + 16;
                uint8_t *h = cword_send(pay, s_src, size, KEY, op);
                wsb_sock_write(h, (size_t)(pay - h) + size);
            }
        }
        break;
    case PATH_RECV:
    case PATH_RECV32:
        if (e != NULL && j->input == IN_INVALID) {
            uint8_t *m = eng_mem(e);
            for (long r = 0; r < reps; r++) {
                if (rd32(m, eng_conn(e) + WSE_C_STATE) != WSE_STATE_OPEN) {
                    /* each run starts on an open connection; re-opening it is not in the figure */
                    if (wsb_unmeasured != NULL) {
                        wsb_unmeasured(1);
                    }
                    rearm(e);
                    memcpy(m + eng_rx(e), s_rx, s_rx_len);
                    if (wsb_unmeasured != NULL) {
                        wsb_unmeasured(0);
                    }
                }
                engine_recv_failing(e, (uint32_t)s_rx_len);
            }
        } else if (e != NULL) {
            for (long r = 0; r < reps; r++) {
                engine_recv(e, (uint32_t)s_rx_len);
            }
        } else {
            int v = j->row == ROW_CBYTE ? 1 : j->row == ROW_CWORD ? 2 : 0;
            for (long r = 0; r < reps; r++) {
                sink += (int32_t)c_recv(s_rx, s_rx_len, v);
            }
        }
        break;
    case PATH_UTF8:
        if (e != NULL) {
            for (long r = 0; r < reps; r++) {
                sink += eng_k_utf8(e, eng_rx(e), size);
            }
        } else if (j->row == ROW_CBYTE) {
            for (long r = 0; r < reps; r++) {
                sink += utf8_byteloop(s_src, size);
            }
        } else {
            for (long r = 0; r < reps; r++) {
                sink += utf8_wordloop(s_src, size);
            }
        }
        break;
    default:
        break;
    }
    (void)sink;
}

/* Runs the job once with capture on; returns the captured bytes (in s_cap[row]) and its length. */
static size_t capture(const job_t *j, int *result)
{
    if (s_cap[j->row] == NULL) {
        s_cap[j->row] = malloc((size_t)s_max + 4096);
    }
    wsb_cap_buf = s_cap[j->row];
    wsb_cap_len = 0;
    wsb_delivered = 0;
    job_prepare(j);
    wsb_capture = 1;
    *result = 0;
    if (j->path == PATH_UTF8) {
        eng_t *e = engine_of(j->row);
        *result = e != NULL ? eng_k_utf8(e, eng_rx(e), j->size)
                  : j->row == ROW_CBYTE ? utf8_byteloop(s_src, j->size) : utf8_wordloop(s_src, j->size);
    } else {
        job_run(j, 1);
    }
    wsb_capture = 0;
    return wsb_cap_len;
}

/* The text frame whose last byte is invalid. Stock C has no UTF-8 check: it delivers the frame
 * (its figure is the cost of not detecting the fault). The C validators reject it and deliver
 * nothing. The engine delivers nothing, reports one ERROR UTF8 with close code 1007, is FAILED,
 * and the receive loop writes the Close it queued: masked with key2, status 1007. */
static int check_invalid_recv(const job_t *j)
{
    int r;
    eng_t *e = engine_of(j->row);
    size_t n = capture(j, &r);
    int bad = 0;
    if (j->row == ROW_STOCK) {
        bad = wsb_delivered != 1 || n != 12 + j->size || memcmp(s_cap[j->row] + 12, s_src, j->size) != 0;
    } else if (e == NULL) {
        wsb_capture = 1;   /* capture() ran it with the return value dropped: once more, kept */
        long got = c_recv(s_rx, s_rx_len, j->row == ROW_CBYTE ? 1 : 2);
        wsb_capture = 0;
        bad = got != -1 || wsb_delivered != 0 || wsb_cap_len != 0;
    } else {
        const uint8_t *m = eng_mem(e);
        uint32_t c = eng_conn(e);
        uint32_t count = rd32(m, c + WSE_C_EV_COUNT);
        const uint8_t *ev = m + rd32(m, c + WSE_C_EV_PTR) + (count > 0 ? count - 1 : 0) * WSE_EV_SIZE;
        const uint8_t *f = s_cap[j->row];
        static const uint8_t key2[4] = { 0x22, 0x22, 0x22, 0x22 };
        uint32_t kind = rd32(ev, WSE_EV_KIND);   /* a full record: opflags | type << 8 | code << 16 */
        bad = wsb_delivered != 0 || count != 1 || (kind & WSE_EV_FULL) == 0 || ((kind >> 8) & 0xff) != WSE_EV_ERROR ||
              ((kind >> 16) & 0x7fff) != WSE_ERR_UTF8 ||
              rd32(ev, WSE_EV_A) != 1007 || rd32(m, c + WSE_C_STATE) != WSE_STATE_FAILED ||
              rd32(m, c + WSE_C_ERROR) != WSE_ERR_UTF8 || rd32(m, c + WSE_C_CLOSE_TX) != 1007 ||
              n < 8 || f[0] != 0x88 || (f[1] & 0x80) == 0 || n != 6u + (f[1] & 0x7fu) ||
              memcmp(f + 2, key2, 4) != 0 || (uint8_t)(f[6] ^ key2[0]) != (1007 >> 8) ||
              (uint8_t)(f[7] ^ key2[1]) != (1007 & 0xff);
    }
    if (bad) {
        printf("check %s/%s/%s/%u FAILED: %zu bytes written or delivered, delivered %u\n", path_name[j->path],
               row_name[j->row], input_name[j->input], (unsigned)j->size, n, (unsigned)wsb_delivered);
        return -1;
    }
    return 0;
}

int job_check(const job_t *j)
{
    if (j->path == PATH_RECV && j->input == IN_INVALID) {
        return check_invalid_recv(j);
    }
    /* The stock row is the oracle for send and receive (for UTF-8: the byte loop must say valid). */
    job_t ref = *j;
    ref.row = j->path == PATH_UTF8 ? ROW_CBYTE : ROW_STOCK;
    int rr, r;
    size_t nref = capture(&ref, &rr);
    uint32_t dref = wsb_delivered;
    if (j->row == ref.row) {
        if (j->path == PATH_UTF8 && rr != (j->input == IN_INVALID ? -1 : 0)) {
            printf("check %s/%s/%s/%u: byte loop says %d\n", path_name[j->path], row_name[j->row],
                   input_name[j->input], (unsigned)j->size, rr);
            return -1;
        }
        return 0;
    }
    size_t n = capture(j, &r);
    int bad = 0;
    if (j->path == PATH_UTF8) {
        bad = r != rr;
    } else if (j->path == PATH_SEND) {
        /* stock writes the header, then the masked payload: the same bytes as one frame */
        bad = n != nref || memcmp(s_cap[j->row], s_cap[ref.row], n) != 0 || n != job_bytes(j) + 6 + (j->size >= 126) * 2 + (j->size >= 65536) * 6;
    } else {
        uint32_t want = j->path == PATH_RECV32 ? RECV32_FRAMES : 1;
        bad = n != nref || memcmp(s_cap[j->row], s_cap[ref.row], n) != 0 || wsb_delivered != want || dref != want;
        eng_t *e = engine_of(j->row);
        if (e != NULL && rd32(eng_mem(e), eng_conn(e) + WSE_C_STATE) != WSE_STATE_OPEN) {
            bad = 1;
        }
    }
    if (bad) {
        printf("check %s/%s/%s/%u FAILED: %zu bytes vs %zu, result %d vs %d, delivered %u\n", path_name[j->path],
               row_name[j->row], input_name[j->input], (unsigned)j->size, n, nref, r, rr, (unsigned)wsb_delivered);
        return -1;
    }
    return 0;
}
