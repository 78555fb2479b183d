/*
 * ws_port.h - the port contract: everything the client core needs from the platform.
 *
 * The client core (component/src) calls only these functions for I/O, time, randomness,
 * tasks and locking. Each platform implements all of them once:
 *   - component/port/posix/    Linux / POSIX host (sockets; TLS on mbedTLS 2.28 or 3.x, when
 *                              built with it, else wss:// reports UNSUPPORTED)
 *   - component/port/esp_idf/  ESP-IDF (lwIP sockets + esp-tls, FreeRTOS)
 * The POSIX port is tested against the wording below (tests/c/test_port_posix.c); the ESP-IDF port
 * is compile-checked (scripts/idf_compile_check.sh). Where a port may differ it says so.
 *
 * Conventions used throughout
 *   - Status: functions returning `int` return 0 (or a count, where stated) on success and one
 *     of the negative WS_PORT_ERR_* codes below on failure. Nothing else is ever returned.
 *   - Timeouts are in milliseconds as `int32_t`:
 *       > 0  wait at most that long (the call may return up to one scheduler tick later),
 *         0  do not wait: try once and return,
 *       < 0  (WS_PORT_WAIT_FOREVER) wait without bound - only where a function says it is allowed.
 *   - Interrupted system calls (EINTR) are retried inside the port with the remaining time;
 *     they never surface to the caller.
 *   - Buffers passed in are borrowed for the duration of the call only. The port keeps no
 *     pointer to caller memory after returning, with one exception: `abort` (see connect).
 *   - No function here prints or logs on its success path. Failure details go into
 *     ws_port_error_t, never to a global.
 */
#ifndef WS_PORT_H
#define WS_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------ */
/* Status codes (negative; 0 is success). Append only, never renumber.                        */
/* ------------------------------------------------------------------------------------------ */

#define WS_PORT_OK                  0
#define WS_PORT_EOF               (-1)  /* peer closed its sending side in order (TCP FIN / TLS close_notify) */
#define WS_PORT_ERR_TIMEOUT       (-2)  /* the time bound passed and nothing was done (no byte moved) */
#define WS_PORT_ERR_ABORTED       (-3)  /* *abort became true while the call waited */
#define WS_PORT_ERR_IO            (-4)  /* socket error on an established connection; errno in ws_port_error_t */
#define WS_PORT_ERR_DNS           (-5)  /* host name could not be resolved */
#define WS_PORT_ERR_CONNECT       (-6)  /* every resolved address refused or was unreachable */
#define WS_PORT_ERR_NO_MEM        (-7)  /* allocation failed */
#define WS_PORT_ERR_INVALID_ARG   (-8)  /* NULL/zero where not allowed, or a call that would deadlock */
#define WS_PORT_ERR_UNSUPPORTED   (-9)  /* this port cannot do what was asked (e.g. TLS on POSIX for now) */
#define WS_PORT_ERR_TLS          (-10)  /* TLS setup or handshake failed; details in ws_port_error_t */
#define WS_PORT_ERR_PARTIAL      (-11)  /* write: time bound passed after SOME bytes went out (stream broken) */
#define WS_PORT_ERR_SYSTEM       (-12)  /* the OS refused a resource (thread, socket, lock) */

/* A short, static, NUL-terminated English name for a WS_PORT_* code ("timeout", "eof", ...).
 * Unknown codes give "unknown". Never NULL. */
const char *ws_port_strerror(int code);

/* Timeout value meaning "no bound", where a function allows it. */
#define WS_PORT_WAIT_FOREVER (-1)

/* Longest interval between two checks of an abort flag inside any blocking call of this port. */
#define WS_PORT_ABORT_CHECK_MS 100

/* ESP-TLS error numbers used in ws_port_error_t.esp_err. The ESP-IDF port passes esp-tls's own
 * values through (these are equal to ESP_ERR_ESP_TLS_* of ESP-IDF 5.x); the POSIX port uses these. */
#define WS_PORT_ESP_ERR_TLS_CANNOT_RESOLVE_HOSTNAME  0x8001
#define WS_PORT_ESP_ERR_TLS_CANNOT_CREATE_SOCKET     0x8002
#define WS_PORT_ESP_ERR_TLS_FAILED_CONNECT_TO_HOST   0x8004
#define WS_PORT_ESP_ERR_TLS_SOCKET_SETOPT_FAILED     0x8005
#define WS_PORT_ESP_ERR_TLS_CONNECTION_TIMEOUT       0x8006
#define WS_PORT_ESP_ERR_TLS_TCP_CLOSED_FIN           0x8008

/* Failure details, filled by ws_port_connect() and ws_port_get_error(). All fields are 0 when
 * unknown or not applicable. The first four map 1:1 onto esp_websocket_error_codes_t
 * (esp_tls_last_esp_err, esp_tls_stack_err, esp_tls_cert_verify_flags, esp_transport_sock_errno). */
typedef struct ws_port_error {
    esp_err_t esp_err;       /* ESP-TLS style code (WS_PORT_ESP_ERR_TLS_* / ESP_ERR_ESP_TLS_*), or ESP_ERR_NO_MEM ... */
    int tls_stack_err;       /* TLS library error as esp-tls stores it: mbedTLS's code negated
                              * (positive, e.g. 0x2700 = X509_CERT_VERIFY_FAILED); 0 for plain TCP */
    int tls_verify_flags;    /* certificate verification flags (mbedTLS MBEDTLS_X509_BADCERT_*) */
    int sock_errno;          /* errno of the failing socket call (ECONNREFUSED, ETIMEDOUT, ECONNRESET, ...) */
    int dns_err;             /* resolver error (POSIX: EAI_* code, negative in glibc), 0 if DNS succeeded */
} ws_port_error_t;

/* ------------------------------------------------------------------------------------------ */
/* Memory                                                                                      */
/* ------------------------------------------------------------------------------------------ */
/* The core allocates through these three only. On POSIX they are plain malloc/calloc/free. The
 * ESP-IDF port may route them to heap_caps_* (e.g. PSRAM when CONFIG_ESP_WS_CLIENT_ALLOC_IN_EXT_RAM),
 * which is why they exist. Same contract as the C library: NULL on failure, free(NULL) is a no-op. */
#if !defined(WS_PORT_HAVE_CUSTOM_ALLOC)
static inline void *ws_port_malloc(size_t size) { return malloc(size); }
static inline void *ws_port_calloc(size_t n, size_t size) { return calloc(n, size); }
static inline void ws_port_free(void *p) { free(p); }
#else
void *ws_port_malloc(size_t size);
void *ws_port_calloc(size_t n, size_t size);
void ws_port_free(void *p);
#endif

/* ------------------------------------------------------------------------------------------ */
/* Byte stream (TCP, or TLS over TCP)                                                          */
/* ------------------------------------------------------------------------------------------ */

typedef struct ws_port_conn ws_port_conn_t;   /* opaque; owned by the caller from connect to close */

/* TCP keep-alive (RFC 1122 4.2.3.6). Values <= 0 keep the platform default for that knob. */
typedef struct ws_port_keepalive {
    bool enable;          /* false: keep-alive is left off and the other fields are ignored */
    int idle_s;           /* seconds of silence before the first probe (TCP_KEEPIDLE) */
    int interval_s;       /* seconds between probes (TCP_KEEPINTVL) */
    int count;            /* unanswered probes before the connection is dropped (TCP_KEEPCNT) */
} ws_port_keepalive_t;

/* TLS settings for wss://. Every pointer is read only during ws_port_connect(); the port copies or
 * parses what it needs, so the caller may free them afterwards.
 *
 * Verification: the server certificate is verified against exactly one source, in this order of
 * precedence: use_global_ca_store, crt_bundle_attach, ca. If none is given and skip_verify is
 * false: ESP-IDF fails the connect with WS_PORT_ERR_TLS (as esp-tls does); POSIX verifies against
 * the system CA store ($SSL_CERT_FILE, $SSL_CERT_DIR, /etc/ssl/certs), which is also what
 * use_global_ca_store and crt_bundle_attach mean there. Never a silent "insecure" default:
 * skip_verify = true is the only way to connect without verification, chosen explicitly (the
 * port logs a warning). */
typedef struct ws_port_tls_cfg {
    const char *ca;               /* server CA: PEM (NUL-terminated) or DER */
    size_t ca_len;                /* 0: PEM, length taken with strlen; > 0: DER (or PEM incl. its NUL) */
    const char *client_cert;      /* mutual TLS: client certificate, PEM or DER; NULL = none */
    size_t client_cert_len;       /* as ca_len */
    const char *client_key;       /* mutual TLS: private key, PEM or DER; required with client_cert */
    size_t client_key_len;        /* as ca_len */
    void *ds_data;                /* ESP-IDF only: digital-signature peripheral context (client_key wins) */
    const char *common_name;      /* name checked against the certificate and sent as SNI; NULL = host */
    bool skip_cn_check;           /* do not check the certificate name (chain is still verified) */
    bool skip_verify;             /* explicit opt-in: accept any server certificate */
    bool use_global_ca_store;     /* ESP-IDF: esp-tls global CA store */
    esp_err_t (*crt_bundle_attach)(void *conf);  /* ESP-IDF: e.g. esp_crt_bundle_attach; NULL = none */
} ws_port_tls_cfg_t;

typedef struct ws_port_connect_cfg {
    const char *host;             /* NUL-terminated DNS name or literal (IPv4 dotted, IPv6 without []) */
    uint16_t port;                /* TCP port, 1..65535 */
    int32_t timeout_ms;           /* > 0: bound on the WHOLE call: name lookup + every address tried
                                   * + TLS handshake. Addresses are tried in resolver order, each with
                                   * the time still left. 0 or negative is WS_PORT_ERR_INVALID_ARG. */
    ws_port_keepalive_t keepalive;
    const char *if_name;          /* bind to this network interface (POSIX: SO_BINDTODEVICE); NULL = any */
    const volatile bool *abort;   /* NULL, or a flag another task may set to true at any time. It is
                                   * checked at least every WS_PORT_ABORT_CHECK_MS while connecting AND
                                   * later by every blocking call on the returned connection, so it
                                   * must stay valid until ws_port_close(). Ports read it with an
                                   * atomic load; set it with __atomic_store_n(&flag, true,
                                   * __ATOMIC_RELEASE) (a plain store works on the targets, but is a
                                   * data race for the C11 memory model and ThreadSanitizer). Once
                                   * set, every blocking call fails with WS_PORT_ERR_ABORTED until
                                   * it is cleared; clearing it is allowed between calls. */
    const ws_port_tls_cfg_t *tls; /* NULL = plain TCP; non-NULL = TLS with these settings */
} ws_port_connect_cfg_t;

/* Opens a connection.
 *  Blocks: up to cfg->timeout_ms (plus one abort-check period), or until *abort is seen true.
 *  Returns 0 and *out = the connection, or a negative code with *out = NULL:
 *    WS_PORT_ERR_INVALID_ARG   NULL out/cfg/host, port 0, timeout_ms <= 0
 *    WS_PORT_ERR_DNS           name not resolved (err->esp_err = ..._CANNOT_RESOLVE_HOSTNAME, err->dns_err)
 *    WS_PORT_ERR_CONNECT       every address failed (err->esp_err = ..._FAILED_CONNECT_TO_HOST,
 *                              err->sock_errno = the errno of the LAST address tried, e.g. ECONNREFUSED)
 *    WS_PORT_ERR_TIMEOUT       timeout_ms passed (err->esp_err = ..._CONNECTION_TIMEOUT, sock_errno = ETIMEDOUT)
 *    WS_PORT_ERR_ABORTED       *abort was seen true (sock_errno = ECANCELED)
 *    WS_PORT_ERR_TLS           handshake or verification failed (tls_stack_err, tls_verify_flags)
 *    WS_PORT_ERR_UNSUPPORTED   cfg->tls != NULL on a port without TLS (the POSIX port, for now)
 *    WS_PORT_ERR_NO_MEM, WS_PORT_ERR_SYSTEM
 *  err may be NULL; otherwise it is always written (all zero on success).
 *  Keep-alive or if_name options the OS rejects fail the call with WS_PORT_ERR_CONNECT and
 *  esp_err = ..._SOCKET_SETOPT_FAILED (sock_errno says why, e.g. EPERM for SO_BINDTODEVICE). */
int ws_port_connect(ws_port_conn_t **out, const ws_port_connect_cfg_t *cfg, ws_port_error_t *err);

/* Reads what is available, up to len bytes, into buf (owned by the caller).
 *  Blocks: until at least one byte is available, EOF, an error, timeout_ms (WAIT_FOREVER allowed),
 *  or *abort. Never waits for len bytes to accumulate: returns as soon as any byte can be read.
 *  Returns:
 *    > 0                   number of bytes stored at buf (1 .. min(len, INT_MAX))
 *    0                     timeout_ms passed with nothing to read (the connection is intact)
 *    WS_PORT_EOF           the peer closed its side in order; every later read returns EOF again
 *    WS_PORT_ERR_ABORTED   *abort was set (checked on entry and at least every WS_PORT_ABORT_CHECK_MS)
 *    WS_PORT_ERR_IO        reset or other socket error (ws_port_get_error: sock_errno)
 *    WS_PORT_ERR_TLS       TLS record error (ws_port_get_error: tls_stack_err)
 *    WS_PORT_ERR_INVALID_ARG  conn or buf NULL, or len == 0
 *  For TLS, bytes already decrypted inside the port are returned without waiting. */
int ws_port_read(ws_port_conn_t *conn, void *buf, size_t len, int32_t timeout_ms);

/* Writes all len bytes of buf (borrowed; never modified).
 *  Blocks: until every byte is handed to the OS, an error, timeout_ms (a bound on the whole call,
 *  not per chunk; WAIT_FOREVER allowed), or *abort.
 *  Returns:
 *    len                   all bytes were written (len == 0 returns 0 at once)
 *    WS_PORT_ERR_TIMEOUT   the time bound passed and NO byte was written: the stream is intact and
 *                          the caller may retry the same buffer later
 *    WS_PORT_ERR_PARTIAL   the time bound passed (or *abort was set) after SOME but not all bytes
 *                          were written (TLS: after a record was encrypted and committed): the
 *                          peer holds a truncated frame, the caller must close
 *    WS_PORT_ERR_ABORTED   *abort was set before any byte was written
 *    WS_PORT_ERR_IO        reset, EPIPE or other socket error (ws_port_get_error: sock_errno);
 *                          whether some bytes went out is unknown, so the stream is broken
 *    WS_PORT_ERR_TLS       TLS error
 *    WS_PORT_ERR_INVALID_ARG  conn NULL, buf NULL with len > 0, or len > INT_MAX
 *  Never raises SIGPIPE. */
int ws_port_write(ws_port_conn_t *conn, const void *buf, size_t len, int32_t timeout_ms);

/* As ws_port_write() (same blocking, returns and errors), with a hint: the caller writes the next
 * piece of the same stream right after this call returns (the frames of one message that a send
 * splits at buffer_size). The port may let the OS hold these bytes back so that they leave with
 * that next piece in fewer segments (POSIX, plain TCP: MSG_MORE); a port without such a hint
 * writes as ws_port_write(). The caller ends every such run with ws_port_write(), which sends
 * everything held; a failed run breaks the stream anyway (the caller closes it). */
int ws_port_write_more(ws_port_conn_t *conn, const void *buf, size_t len, int32_t timeout_ms);

/* Read-ahead: bytes of the client task's STACK into which the core reads the socket before it
 * copies them, a window at a time, into the engine's rx window (whose size is fixed per slot).
 * POSIX: 16 KiB, out of the WS_PORT_POSIX_MIN_STACK every task gets: a read is a system call there,
 * so a 64 KiB message takes 4 reads instead of 64 at buffer_size 1024. ESP-IDF: 0, the core reads
 * into the rx window directly (lwIP's recv copies from its own buffers without a system call, and
 * task stacks are small). Never heap; a build may set another value with -D. */
#ifndef WS_PORT_READ_AHEAD
#if defined(ESP_PLATFORM)
#define WS_PORT_READ_AHEAD 0
#else
#define WS_PORT_READ_AHEAD 16384
#endif
#endif

/* Write batch: bytes of the SENDING task's stack in which a send gathers the frames of one message
 * (each built in the engine's tx window, buffer_size payload at most) to write several per
 * ws_port_write call. POSIX: 16 KiB (15 frames of 1 KiB per write; thread stacks are megabytes
 * there, the port's own tasks at least WS_PORT_POSIX_MIN_STACK). ESP-IDF: 0, one write per frame
 * (task stacks are small, and an lwIP write is no system call). Never heap; -D may change it. */
#ifndef WS_PORT_WRITE_BATCH
#if defined(ESP_PLATFORM)
#define WS_PORT_WRITE_BATCH 0
#else
#define WS_PORT_WRITE_BATCH 16384
#endif
#endif

/* Waits until a ws_port_read() would not block (data, EOF or a pending error).
 *  Blocks: up to timeout_ms (WAIT_FOREVER allowed) or *abort.
 *  Returns 1 readable, 0 timeout, WS_PORT_ERR_ABORTED, WS_PORT_ERR_IO or WS_PORT_ERR_INVALID_ARG.
 *  For TLS, already-decrypted bytes count as readable. */
int ws_port_poll_readable(ws_port_conn_t *conn, int32_t timeout_ms);

/* Details of the last failed ws_port_read / ws_port_write / ws_port_poll_readable on conn
 * (all zero if none failed). err must not be NULL. */
void ws_port_get_error(const ws_port_conn_t *conn, ws_port_error_t *err);

/* Closes the connection and frees it. NULL is a no-op. Does not wait for the peer: plain TCP closes
 * at once; TLS may send close_notify bounded by 100 ms. The abort pointer is released. */
void ws_port_close(ws_port_conn_t *conn);

/* Calls on one connection must not overlap in time (one task owns it), with one exception: the
 * owning task may wait in ws_port_poll_readable() while one other task is inside ws_port_write()
 * (the client task waits for data while an application task sends). Ports make that pair safe:
 * the poll looks only at the socket and at how many decrypted bytes are already buffered, never at
 * the write side. ws_port_read() and ws_port_write() never overlap. */

/* ------------------------------------------------------------------------------------------ */
/* Time and randomness                                                                         */
/* ------------------------------------------------------------------------------------------ */

/* Milliseconds from an arbitrary origin. Monotonic (never jumps with wall-clock changes), wraps
 * modulo 2^32 (about 49.7 days): compare with unsigned differences, `(uint32_t)(b - a)`. Never blocks. */
uint32_t ws_port_now_ms(void);

/* Fills buf with len cryptographically strong random bytes (POSIX: getrandom(2); ESP-IDF:
 * esp_fill_random). Cannot fail: if the OS source is unusable the POSIX port aborts the process
 * rather than return predictable mask keys. May block only until the OS pool is seeded (boot). */
void ws_port_random(void *buf, size_t len);

/* Suspends the calling task for at least ms milliseconds (0 = yield). Not interruptible; use
 * ws_port_signal_wait() for a wait that another task can end early. */
void ws_port_sleep_ms(uint32_t ms);

/* ------------------------------------------------------------------------------------------ */
/* Tasks                                                                                       */
/* ------------------------------------------------------------------------------------------ */

typedef struct ws_port_task ws_port_task_t;   /* opaque */

/* Smallest stack the POSIX port gives a task, whatever stack_bytes asks for. */
#define WS_PORT_POSIX_MIN_STACK ((size_t)256 * 1024)
typedef void (*ws_port_task_fn_t)(void *arg);

typedef struct ws_port_task_cfg {
    const char *name;     /* task name; POSIX truncates to 15 characters (pthread limit). NULL = "ws_task" */
    size_t stack_bytes;   /* stack size in bytes (ESP-IDF convention). POSIX raises it to at least
                           * WS_PORT_POSIX_MIN_STACK because libc calls (getaddrinfo, printf) need more
                           * than an MCU task does. 0 = port default. */
    int priority;         /* FreeRTOS priority; ignored by the POSIX port */
    int core;             /* core to pin to; < 0 = any core. Ignored by the POSIX port */
} ws_port_task_cfg_t;

/* Starts fn(arg) in a new task.
 *  *out is written BEFORE fn starts, so fn may find its own handle through shared storage when out
 *  points there. Returns 0, WS_PORT_ERR_INVALID_ARG, WS_PORT_ERR_NO_MEM or WS_PORT_ERR_SYSTEM
 *  (*out = NULL on failure). The task ends when fn returns; a task must not end any other way. */
int ws_port_task_create(ws_port_task_t **out, const ws_port_task_cfg_t *cfg, ws_port_task_fn_t fn, void *arg);

/* True if the calling task is `task` (false for NULL). Lets the core refuse stop/destroy from
 * inside its own task (an event handler), which would otherwise wait for itself. */
bool ws_port_task_self_is(const ws_port_task_t *task);

/* Waits up to timeout_ms (WAIT_FOREVER allowed) for fn of `task` to have returned.
 *  Returns 0: fn returned and the handle is freed (do not use it again);
 *          WS_PORT_ERR_TIMEOUT: still running, the handle stays valid (join or detach later);
 *          WS_PORT_ERR_INVALID_ARG: task is NULL or is the calling task. */
int ws_port_task_join(ws_port_task_t *task, int32_t timeout_ms);

/* Gives up the handle: the port frees it when fn returns (or now, if it already has). Never blocks.
 * May be called from the task itself (e.g. destroy_on_exit) or from another task; after it, the
 * handle must not be used. */
void ws_port_task_detach(ws_port_task_t *task);

/* ------------------------------------------------------------------------------------------ */
/* Mutex                                                                                       */
/* ------------------------------------------------------------------------------------------ */
/* NOT recursive. Locking a mutex the calling task already holds is a bug: the port detects it
 * and returns WS_PORT_ERR_INVALID_ARG (both ports). */

typedef struct ws_port_mutex ws_port_mutex_t;

/* Returns 0 and *out, or WS_PORT_ERR_NO_MEM / WS_PORT_ERR_SYSTEM (*out = NULL). */
int ws_port_mutex_create(ws_port_mutex_t **out);

/* Returns 0 (held), WS_PORT_ERR_TIMEOUT (not acquired within timeout_ms; 0 = try once;
 * WAIT_FOREVER allowed), or WS_PORT_ERR_INVALID_ARG (NULL, or already held by the caller). */
int ws_port_mutex_lock(ws_port_mutex_t *m, int32_t timeout_ms);

/* Releases a mutex the calling task holds. */
void ws_port_mutex_unlock(ws_port_mutex_t *m);

/* Frees an unlocked mutex. NULL is a no-op. */
void ws_port_mutex_destroy(ws_port_mutex_t *m);

/* ------------------------------------------------------------------------------------------ */
/* Signal: a latched wake-up flag (binary semaphore)                                            */
/* ------------------------------------------------------------------------------------------ */
/* raise() sets the flag and wakes one waiter; wait() returns as soon as the flag is set and clears
 * it. A raise with nobody waiting is remembered, so the next wait returns at once; several raises
 * before a wait count as one. Any task may raise; one task at a time should wait. */

typedef struct ws_port_signal ws_port_signal_t;

/* Returns 0 and *out (flag clear), or WS_PORT_ERR_NO_MEM / WS_PORT_ERR_SYSTEM (*out = NULL). */
int ws_port_signal_create(ws_port_signal_t **out);

/* Sets the flag and wakes the waiter. Never blocks (beyond a short internal lock). */
void ws_port_signal_raise(ws_port_signal_t *sig);

/* Waits up to timeout_ms (0 = just test; WAIT_FOREVER allowed) for the flag.
 * Returns true if it was set (and clears it), false if the time passed first. */
bool ws_port_signal_wait(ws_port_signal_t *sig, int32_t timeout_ms);

/* Frees the signal; nobody may be waiting on it. NULL is a no-op. */
void ws_port_signal_destroy(ws_port_signal_t *sig);

#ifdef __cplusplus
}
#endif

#endif /* WS_PORT_H */
