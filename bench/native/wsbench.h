/*
 * wsbench.h - the receive and send paths of a WebSocket client, measured four ways:
 *
 *   engine on wasm3    engine.wasm (component/generated/engine_wasm.c) run by the wasm3 interpreter
 *   engine on wasm2c   its wasm2c translation (component/generated/engine_wasm2c.c)
 *   stock C            the algorithm of ESP-IDF's transport_ws.c / esp_websocket_client, written
 *                      plainly: copy into the tx buffer, byte-wise header, byte-at-a-time XOR mask
 *                      in place, write, XOR again to restore; receive: byte-wise header decode,
 *                      no UTF-8 check
 *   C word loop        good plain C: one pass copy + mask in machine words, header decode plus a
 *                      word-at-a-time UTF-8 validator for text
 *
 * Shared by the host bench (bench/native/main.c, callgrind and wall-clock) and the rv32 bench
 * (bench/rv32/main.c, minstret on qemu). Nothing here does I/O or reads a counter: a `job` is one
 * operation repeated `reps` times, and each main decides how to measure it.
 */
#ifndef WSBENCH_H
#define WSBENCH_H

#include <stddef.h>
#include <stdint.h>

/* What one job does. */
typedef enum {
    PATH_SEND,    /* copy the payload into the tx buffer, frame + mask it, hand it to the "socket" */
    PATH_RECV,    /* one server frame (2/4/10-byte header + payload) in the rx buffer: parse, check, dispatch */
    PATH_RECV32,  /* 32 frames of 16 bytes arriving in one buffer */
    PATH_UTF8,    /* the UTF-8 validator alone over the payload (engine: the k_utf8 export) */
    PATH_COUNT
} path_t;

/* Who does it. */
typedef enum {
    ROW_WASM3,   /* engine on wasm3 */
    ROW_WASM2C,  /* engine on wasm2c */
    ROW_STOCK,   /* stock C algorithm (receive: no UTF-8 check) */
    ROW_CBYTE,   /* stock C receive + a byte-at-a-time UTF-8 validator (the validator baseline) */
    ROW_CWORD,   /* good plain C: word loops */
    ROW_COUNT
} row_t;

typedef enum {
    IN_BINARY,   /* random bytes, sent and received as BINARY frames */
    IN_ASCII,    /* JSON-like ASCII text, TEXT frames */
    IN_CHINESE,  /* Chinese prose with some ASCII, TEXT frames */
    IN_EMOJI,    /* emoji (4-byte sequences) separated by spaces, TEXT frames */
    IN_INVALID,  /* Chinese+ASCII text whose last byte is 0xFF (never valid UTF-8), TEXT frames:
                  * a validator reads every byte before it finds the fault; the engine fails the
                  * connection (1007), the C validators reject it, the stock path delivers it */
    IN_COUNT
} input_t;

extern const char *const path_name[PATH_COUNT];
extern const char *const row_name[ROW_COUNT];
extern const char *const input_name[IN_COUNT];

/* Largest payload of any job (1 MiB). */
#define WSB_MAX_PAYLOAD (1u << 20)

/* ---- engine instances (engine.c) ---- */

typedef enum { ENG_WASM3, ENG_WASM2C } eng_kind_t;

typedef struct eng eng_t;

/* The scratch size passed to init: the component's WS_ENGINE_SCRATCH_SIZE (URIs up to 1 KiB). */
#define WSB_SCRATCH 1088u

/* Instantiates engine.wasm on a runtime, init(max_conns, buf_size, ev_cap, WSB_SCRATCH), then opens slot 0
 * (conn_reset, hs_request, a synthetic 101 response with the expected accept) so that it is OPEN.
 * mem_limit: wasm3's runtime memoryLimit (0 = none; ignored by wasm2c). wasm3_stack: bytes of
 * wasm3 value stack. Returns NULL and prints why on failure. Slots other than 0 stay IDLE. */
eng_t *eng_open(eng_kind_t kind, uint32_t max_conns, uint32_t buf_size, uint32_t ev_cap,
                uint32_t mem_limit, uint32_t wasm3_stack);
void eng_close(eng_t *e);
int eng_available(eng_kind_t kind);  /* 0 when built without wasm3 */

uint8_t *eng_mem(eng_t *e);
uint32_t eng_conn(eng_t *e);    /* slot 0's record address */
uint32_t eng_rx(eng_t *e);      /* its rx window */
uint32_t eng_tx(eng_t *e);      /* its tx window */
int32_t eng_recv(eng_t *e, uint32_t n, uint32_t now, uint32_t key1, uint32_t key2);
int32_t eng_send(eng_t *e, uint32_t opflags, uint32_t len, uint32_t key, uint32_t now);
int32_t eng_k_utf8(eng_t *e, uint32_t ptr, uint32_t len);
/* Brings slot 0 to OPEN again (conn_reset, hs_request, the server's 101): 0, or -1 after printing why. */
int eng_handshake(eng_t *e);
/* tick on slot 0 (generic call path, not a data-path figure). */
int32_t eng_tick(eng_t *e, uint32_t now, uint32_t key);
/* Non-zero: eng_open compiles every wasm3 function at load (m3_CompileModule), as the component
 * does, instead of leaving callees to be compiled at their first call. */
extern int eng_wasm3_compile_all;

/* Set by eng_open's steps when heap accounting is on: called after each instantiation step. */
extern void (*eng_step_hook)(const char *step);

/* ---- the plain C paths (cpaths.c) ---- */

/* "Socket" and "application" sinks: out of line, so the compiler cannot drop the work. They
 * capture what they are given only while wsb_capture is set (correctness checks). */
void wsb_sock_write(const uint8_t *p, size_t n);
void wsb_deliver(uint32_t opcode, uint32_t fin, const uint8_t *p, size_t n);
extern int wsb_capture;
extern uint8_t *wsb_cap_buf;   /* capture area (checks) */
extern size_t wsb_cap_len;
extern uint32_t wsb_delivered; /* frames delivered while capturing */

/* Stock algorithm, send: copy into txbuf, byte-wise header in a small array, mask txbuf in place
 * byte by byte, write header and payload, unmask again. */
void stock_send(uint8_t *txbuf, const uint8_t *data, int len, uint32_t key, uint32_t opcode);

/* Word loop, send: header written just before payload at `pay` (which must have 14 free bytes in
 * front), payload copied and masked in one pass of machine words. Returns the frame start. */
uint8_t *cword_send(uint8_t *pay, const uint8_t *data, size_t len, uint32_t key, uint32_t opcode);

/* Receive: decodes every whole frame in [buf, buf + n) byte by byte (FIN, opcode, 7/16/64-bit
 * length, mask) and delivers it; text is validated with `validator` (0 none, 1 byte loop,
 * 2 word loop). Returns bytes consumed, or -1 on a text validation failure. */
long c_recv(const uint8_t *buf, size_t n, int validator);

/* UTF-8 chunk validators with the engine's contract: 0 valid, 1..3 unfinished tail, -1 invalid. */
int utf8_byteloop(const uint8_t *p, size_t len);
int utf8_wordloop(const uint8_t *p, size_t len);

/* ---- jobs (jobs.c) ---- */

typedef struct {
    path_t path;
    row_t row;
    input_t input;
    uint32_t size;   /* payload bytes (RECV32: 16) */
} job_t;

/* Sets up buffers and engine instances (buf_size = the largest job). mem_limit/wasm3_stack: see
 * eng_open. Returns 0, or -1 after printing why. */
int jobs_init(uint32_t max_size, uint32_t wasm3_stack);

/* Whether the row exists for this path (e.g. ROW_CBYTE only where text is validated, wasm3 only
 * when built in). */
int job_applies(const job_t *j);

/* Puts the job's input in place (engine rx/tx windows or C buffers). Call before job_run. */
void job_prepare(const job_t *j);

/* Runs the job reps times. */
void job_run(const job_t *j, long reps);

/* Called by job_run around work it does between runs that is not part of the figure (re-arming an
 * engine whose connection the previous run failed): begin = 1 before it, 0 after. The measuring
 * main sets it only while it measures (callgrind: toggle collection; clocks: stop them). */
extern void (*wsb_unmeasured)(int begin);

/* Checks the job's output against the other rows (send: identical frames; receive: the same
 * frames delivered, accepted). Returns 0 or -1 after printing why. */
int job_check(const job_t *j);

/* Payload bytes one run of the job handles (RECV32: 32 * 16). */
uint32_t job_bytes(const job_t *j);

/* ---- heap accounting (heapcount.c; link with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free) ---- */

extern size_t heap_live;    /* bytes requested and not yet freed */
extern size_t heap_peak;    /* highest heap_live so far */
extern size_t heap_blocks;  /* live blocks */

/* Fills `out` with `size` bytes of the input (text repeated and cut on a character boundary,
 * padded with spaces; binary from a fixed xorshift seed; IN_INVALID: `size - 1` bytes of the
 * Chinese+ASCII text, then 0xFF). */
void input_make(input_t in, uint8_t *out, size_t size);

#endif /* WSBENCH_H */
