/*
 * integ_util.h - shared helpers of the integration tests (tests/integration/test_integ_*.c).
 *
 * Three parts:
 *   - checks and a case runner: CHECK() records a failure and carries on; RUN_CASE() prints one
 *     line per case; integ_finish() turns the failure count into the exit status. A watchdog
 *     (alarm) ends the process if a test ever hangs, on top of ctest's TIMEOUT.
 *   - test servers (tests/servers): spawned with posix_spawn, `PORT <n>` read with a timeout, every
 *     later stdout line kept for integ_server_wait_line(), stopped (stdin closed, SIGTERM, SIGKILL)
 *     and reaped by integ_server_stop().
 *   - an event recorder registered for WEBSOCKET_EVENT_ANY: counts and timestamps every event,
 *     reassembles DATA chunks into messages (payload_len / payload_offset / fin / op_code across
 *     chunks and fragments), checks the chunk contract on the way, and lets the test wait for
 *     events or messages with a bound (mutex + condition variable).
 *
 * Every wait here takes a timeout in milliseconds and returns false when it passes.
 */
#ifndef INTEG_UTIL_H
#define INTEG_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "esp_websocket_client.h"

/* ---------------------------------------------------------------------------------------- */
/* Checks and cases                                                                          */
/* ---------------------------------------------------------------------------------------- */

/* Records a failure (with file:line, the expression and an optional printf message) if !ok.
 * Returns ok, so a case can stop early with `if (!CHECK(...)) return;`. */
bool integ_check(bool ok, const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* CHECK(cond) or CHECK(cond, "format", args...) - the message must be a string literal (it is
 * pasted after a one-space literal, which integ_check drops). */
#define CHECK(cond, ...) integ_check(!!(cond), __FILE__, __LINE__, #cond, " " __VA_ARGS__)

/* Sets up the process: SIGPIPE ignored, a watchdog of watchdog_s seconds, the working directory
 * moved to the repository root (INTEG_REPO_ROOT) so server scripts are found. */
void integ_init(int argc, char **argv, int watchdog_s);

/* Runs one case: prints "[ RUN  ] name" and "[  OK  ] name (ms)" or "[ FAIL ] name (ms)". */
void integ_run_case(const char *name, void (*fn)(void));
#define RUN_CASE(fn) integ_run_case(#fn, fn)

/* Prints the summary; returns the process exit status (0 when nothing failed). */
int integ_finish(void);

/* Milliseconds on the monotonic clock. */
int64_t integ_now_ms(void);
void integ_sleep_ms(int ms);

/* ---------------------------------------------------------------------------------------- */
/* Test servers                                                                              */
/* ---------------------------------------------------------------------------------------- */

typedef enum {
    INTEG_SRV_WS,   /* tests/servers/ws_server.ts (Node, package ws) */
    INTEG_SRV_RAW,  /* tests/servers/raw_server.ts (Node, raw sockets) */
    INTEG_SRV_PY,   /* tests/servers/py_echo.py (python3-websockets, /usr/bin/python3) */
    INTEG_SRV_LWS,  /* lws_echo (libwebsockets), built next to the tests */
    INTEG_SRV_HOSTILE, /* tests/servers/hostile_server.ts (Node, scripted raw bytes) */
} integ_server_kind_t;

typedef struct integ_server {
    const char *name;
    pid_t pid;
    int stdin_fd;           /* our end of the server's stdin; closing it asks the server to exit */
    int stdout_fd;          /* drained by `reader` */
    int port;
    pthread_t reader;
    bool reader_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char **lines;           /* every stdout line, in order */
    bool *taken;            /* lines already returned by integ_server_wait_line */
    size_t n_lines, cap_lines;
    bool eof;
} integ_server_t;

/* Starts a server and waits (up to 20 s) for its PORT line. Returns true on success; on failure
 * everything is cleaned up and a check failure is recorded. */
bool integ_server_start(integ_server_t *s, integ_server_kind_t kind);

/* Waits for the first not-yet-taken stdout line starting with `prefix`, marks it taken and copies
 * it (without newline) to out (if out != NULL). Returns false on timeout. */
bool integ_server_wait_line(integ_server_t *s, const char *prefix, char *out, size_t cap, int timeout_ms);

/* Marks every stdout line received so far as taken (waits then only see newer lines). */
void integ_server_drain(integ_server_t *s);

/* Frees every stdout line received so far (and the list holding them): for heap measurements. */
void integ_server_forget_lines(integ_server_t *s);

/* Number of stdout lines so far that start with `prefix` (taken or not). */
int integ_server_count_lines(integ_server_t *s, const char *prefix);

/* Writes "ws://127.0.0.1:<port><path>" to out. */
void integ_server_uri(const integ_server_t *s, const char *path, char *out, size_t cap);

/* Closes stdin, then SIGTERM, then SIGKILL, reaping the process; bounded (about 3 s at most).
 * Safe to call on a server that failed to start or was already stopped. */
void integ_server_stop(integ_server_t *s);

/* A TCP port on 127.0.0.1 with nothing listening (bound once, then closed). */
int integ_unused_port(void);

/* ---------------------------------------------------------------------------------------- */
/* Event recorder                                                                            */
/* ---------------------------------------------------------------------------------------- */

typedef struct integ_msg {
    int opcode;             /* 1 text, 2 binary (the opcode of the message's first frame) */
    size_t len;
    unsigned char *data;    /* NUL-terminated copy (len + 1 bytes) */
    int frames;             /* frames the message arrived in */
    int chunks;             /* DATA events it arrived in */
} integ_msg_t;

typedef struct integ_ctrl {
    int opcode;             /* 8 close, 9 ping, 10 pong */
    int len;
    unsigned char data[128];
} integ_ctrl_t;

typedef struct integ_event_log {
    int32_t id;
    int64_t t_ms;
    esp_websocket_error_codes_t error_handle;
    int close_status_code;
} integ_event_log_t;

#define INTEG_EVENT_SLOTS 16    /* > WEBSOCKET_EVENT_MAX in both numberings */
#define INTEG_LOG_CAP 512
#define INTEG_CTRL_CAP 256
#define INTEG_HDR_CAP 64

typedef struct integ_rec {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    esp_websocket_client_handle_t client;   /* expected in every event's `client` */
    void *user_context;                      /* expected in every event's `user_context` */

    int counts[INTEG_EVENT_SLOTS];
    integ_event_log_t log[INTEG_LOG_CAP];    /* every non-DATA event, in order */
    int n_log;

    /* Completed messages; the array never moves, so pointers stay valid. */
    integ_msg_t *msgs;
    int n_msgs, cap_msgs;

    /* Control frames delivered as DATA. */
    integ_ctrl_t ctrl[INTEG_CTRL_CAP];
    int n_ctrl;

    /* Reassembly state. */
    bool in_msg, in_frame;
    int msg_opcode, frame_opcode, frame_fin;
    long frame_len, frame_got;
    int frame_chunk;           /* length of the frame's first chunk when it was not its last */
    unsigned char *acc;
    size_t acc_len, acc_cap;
    int acc_frames, acc_chunks;

    /* Contract checks done in the handler. */
    int data_chunks;
    int max_chunk;                           /* largest data_len of a DATA event */
    int reasm_errors;                        /* DATA chunks that break the payload_len/offset/fin rules */
    char first_reasm_error[200];
    int ctx_mismatch;                        /* events whose client/user_context were wrong */
    int chunk_cap;                           /* if > 0: data_len above it is a reasm error */

    /* Header lines from the header_cb hook (config.header_cb = integ_header_cb, ctx = rec). */
    char *headers[INTEG_HDR_CAP];
    int n_headers;
    int headers_after_connected;             /* header lines seen when CONNECTED was already posted */

    /* Optional hook run in the client task for every completed message (for reply tests). */
    void (*on_msg)(struct integ_rec *rec, const integ_msg_t *m);
    void *on_msg_arg;
} integ_rec_t;

/* Prepares a recorder that keeps up to max_msgs messages. */
void integ_rec_init(integ_rec_t *r, int max_msgs);
void integ_rec_free(integ_rec_t *r);

/* The handler to register for WEBSOCKET_EVENT_ANY with the recorder as its argument. */
void integ_rec_handler(void *arg, esp_event_base_t base, int32_t event_id, void *event_data);

/* config.header_cb for a recorder (config.header_cb_ctx = the recorder). */
void integ_header_cb(void *ctx, const char *line, int len);

/* esp_websocket_client_init(cfg) + register the recorder for every event; sets r->client and
 * r->user_context = cfg->user_context. Returns NULL (and records a failure) if init fails. */
esp_websocket_client_handle_t integ_client_new(integ_rec_t *r, const esp_websocket_client_config_t *cfg);

/* Waits until at least n events of `id` were posted. */
bool integ_rec_wait_event(integ_rec_t *r, int32_t id, int n, int timeout_ms);
/* Waits until at least n messages were completed. */
bool integ_rec_wait_msgs(integ_rec_t *r, int n, int timeout_ms);
/* Waits until at least n control frames with `opcode` were delivered. */
bool integ_rec_wait_ctrl(integ_rec_t *r, int opcode, int n, int timeout_ms);
/* Waits until at least n header lines were seen. */
bool integ_rec_wait_headers(integ_rec_t *r, int n, int timeout_ms);

int integ_rec_count(integ_rec_t *r, int32_t id);
int integ_rec_msg_count(integ_rec_t *r);
/* Message i (0-based); NULL if it does not exist yet. The pointer stays valid. */
const integ_msg_t *integ_rec_msg(integ_rec_t *r, int i);
/* Control frames of `opcode` so far; copies the k-th one to out if out != NULL. */
int integ_rec_ctrl(integ_rec_t *r, int opcode, int k, integ_ctrl_t *out);
/* The k-th (0-based) logged event with `id`; false if there is none. */
bool integ_rec_event(integ_rec_t *r, int32_t id, int k, integ_event_log_t *out);
/* True if a header line starting with `prefix` (case-insensitive) was seen; copies it to out. */
bool integ_rec_header(integ_rec_t *r, const char *prefix, char *out, size_t cap);

/* Name of an event id ("CONNECTED", ...). */
const char *integ_event_name(int32_t id);

/* ---------------------------------------------------------------------------------------- */
/* Payloads                                                                                  */
/* ---------------------------------------------------------------------------------------- */

/* len bytes of printable ASCII (valid UTF-8), varying with seed. Caller frees. */
char *integ_text_payload(size_t len, unsigned seed);
/* len pseudo-random bytes covering 0x00..0xFF, varying with seed. Caller frees. */
char *integ_bin_payload(size_t len, unsigned seed);

/* The default send timeout of the tests. */
#define INTEG_SEND_TIMEOUT pdMS_TO_TICKS(10000)

#endif /* INTEG_UTIL_H */
