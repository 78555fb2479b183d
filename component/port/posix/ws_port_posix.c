/*
 * ws_port_posix.c - the port contract (ws_port.h) for Linux / POSIX hosts.
 *
 * Sockets are non-blocking from creation; every wait is a poll() sliced into pieces of at most
 * WS_PORT_ABORT_CHECK_MS when an abort flag is attached, so stop() stays bounded. Name lookup runs
 * in a helper thread because getaddrinfo() cannot be interrupted: the caller stops waiting on
 * timeout or abort, and whichever side finishes last frees the lookup.
 * Threads are pthreads; waits use CLOCK_MONOTONIC so wall-clock jumps do not stretch them.
 * TLS (wss://) runs on mbedTLS through ws_tls_mbedtls.c, which never waits: the waits for its
 * "want read / want write" results are made here, under the same deadlines and abort flag.
 * Built without mbedTLS (WS_PORT_HAVE_MBEDTLS unset), TLS connects report WS_PORT_ERR_UNSUPPORTED.
 */
#define _GNU_SOURCE
#include "ws_port.h"
#include "host_park.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#if WS_PORT_HAVE_MBEDTLS
#include "ws_tls_mbedtls.h"
#endif

/* ASan and UBSan need several times the stack of a plain build. */
#if defined(__SANITIZE_ADDRESS__)
#define POSIX_STACK_FLOOR (4 * WS_PORT_POSIX_MIN_STACK)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POSIX_STACK_FLOOR (4 * WS_PORT_POSIX_MIN_STACK)
#endif
#endif
#ifndef POSIX_STACK_FLOOR
#define POSIX_STACK_FLOOR WS_PORT_POSIX_MIN_STACK
#endif

/* ------------------------------------------------------------------------------------------ */
/* Status names                                                                                */
/* ------------------------------------------------------------------------------------------ */

const char *ws_port_strerror(int code)
{
    switch (code) {
    case WS_PORT_OK:              return "ok";
    case WS_PORT_EOF:             return "eof";
    case WS_PORT_ERR_TIMEOUT:     return "timeout";
    case WS_PORT_ERR_ABORTED:     return "aborted";
    case WS_PORT_ERR_IO:          return "socket error";
    case WS_PORT_ERR_DNS:         return "host name not resolved";
    case WS_PORT_ERR_CONNECT:     return "connect failed";
    case WS_PORT_ERR_NO_MEM:      return "out of memory";
    case WS_PORT_ERR_INVALID_ARG: return "invalid argument";
    case WS_PORT_ERR_UNSUPPORTED: return "unsupported";
    case WS_PORT_ERR_TLS:         return "tls error";
    case WS_PORT_ERR_PARTIAL:     return "partial write";
    case WS_PORT_ERR_SYSTEM:      return "system resource error";
    default:                      return "unknown";
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Time                                                                                        */
/* ------------------------------------------------------------------------------------------ */

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint32_t ws_port_now_ms(void)
{
    return (uint32_t)mono_ms();
}

/* A point in time a wait must not pass; `forever` for WS_PORT_WAIT_FOREVER. */
typedef struct {
    bool forever;
    uint64_t end_ms;
} deadline_t;

static deadline_t deadline_in(int32_t timeout_ms)
{
    deadline_t d = { .forever = timeout_ms < 0, .end_ms = 0 };
    if (!d.forever) {
        d.end_ms = mono_ms() + (uint64_t)timeout_ms;
    }
    return d;
}

/* Milliseconds left (0 when passed), or -1 for forever. */
static int deadline_left(const deadline_t *d)
{
    if (d->forever) {
        return -1;
    }
    uint64_t now = mono_ms();
    if (now >= d->end_ms) {
        return 0;
    }
    uint64_t left = d->end_ms - now;
    return left > INT_MAX ? INT_MAX : (int)left;
}

/* An absolute CLOCK_MONOTONIC time `ms` from now, for the *clock* / cond waits. */
static struct timespec mono_abs_in(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec += 1;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* An atomic load, so that a flag set by another thread is not a data race (ws_port.h says how to
 * set it). */
static bool aborted(const volatile bool *abort_flag)
{
    return abort_flag != NULL && __atomic_load_n(abort_flag, __ATOMIC_ACQUIRE);
}

void ws_port_sleep_ms(uint32_t ms)
{
    if (ms == 0) {
        sched_yield();
        return;
    }
    struct timespec until = mono_abs_in((int)(ms > INT_MAX ? INT_MAX : ms));
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR) {
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Randomness                                                                                  */
/* ------------------------------------------------------------------------------------------ */

static void random_from_urandom(uint8_t *p, size_t len)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "ws_port: no random source (getrandom and /dev/urandom failed)\n");
        abort();
    }
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            fprintf(stderr, "ws_port: reading /dev/urandom failed\n");
            abort();
        }
        p += n;
        len -= (size_t)n;
    }
    close(fd);
}

void ws_port_random(void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            random_from_urandom(p, len);   /* ENOSYS on very old kernels; aborts if that fails too */
            return;
        }
        p += n;
        len -= (size_t)n;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Connections                                                                                 */
/* ------------------------------------------------------------------------------------------ */

struct ws_port_conn {
    int fd;
    bool eof;                          /* the peer's FIN was read; reads keep returning EOF */
    const volatile bool *abort_flag;
    ws_port_error_t last;              /* details of the last failed call */
#if WS_PORT_HAVE_MBEDTLS
    ws_tls_t *tls;                     /* NULL for plain TCP */
#endif
};

/* Bound on sending TLS close_notify in ws_port_close (ws_port.h promises 100 ms). */
#define WS_PORT_TLS_CLOSE_NOTIFY_MS 100

/* Waits for `events` on fd until the deadline or abort. Returns 1 (ready, including error/hangup
 * conditions, which the following recv/send reports), 0 (deadline passed), WS_PORT_ERR_ABORTED,
 * or WS_PORT_ERR_IO with *err_no set. */
static int wait_fd(int fd, short events, const deadline_t *dl, const volatile bool *abort_flag, int *err_no)
{
    for (;;) {
        if (aborted(abort_flag)) {
            return WS_PORT_ERR_ABORTED;
        }
        int left = deadline_left(dl);
        int slice = left;
        if (abort_flag != NULL && (slice < 0 || slice > WS_PORT_ABORT_CHECK_MS)) {
            slice = WS_PORT_ABORT_CHECK_MS;
        }
        struct pollfd pfd = { .fd = fd, .events = events, .revents = 0 };
        int r = poll(&pfd, 1, slice);
        if (r > 0) {
            return 1;
        }
        if (r < 0 && errno != EINTR) {
            *err_no = errno;
            return WS_PORT_ERR_IO;
        }
        if (left == 0 || (left > 0 && deadline_left(dl) == 0)) {
            return 0;
        }
    }
}

static void set_error(ws_port_error_t *err, esp_err_t esp_err, int sock_errno, int dns_err)
{
    if (err != NULL) {
        memset(err, 0, sizeof(*err));
        err->esp_err = esp_err;
        err->sock_errno = sock_errno;
        err->dns_err = dns_err;
    }
}

/* -- name lookup in a helper thread -------------------------------------------------------- */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;                 /* 2 while both the caller and the helper hold it */
    bool done;
    int rc;                   /* getaddrinfo result */
    int sys_errno;            /* errno when rc == EAI_SYSTEM */
    struct addrinfo *res;     /* owned by the lookup until the caller takes it */
    char port[8];
    char host[];              /* copy: the caller may return before the helper finishes */
} dns_job_t;

static void dns_job_release(dns_job_t *job)
{
    pthread_mutex_lock(&job->mu);
    bool last = --job->refs == 0;
    pthread_mutex_unlock(&job->mu);
    if (last) {
        if (job->res != NULL) {
            freeaddrinfo(job->res);
        }
        pthread_cond_destroy(&job->cv);
        pthread_mutex_destroy(&job->mu);
        free(job);
    }
}

static void *dns_job_run(void *arg)
{
    dns_job_t *job = arg;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_protocol = IPPROTO_TCP };
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(job->host, job->port, &hints, &res);
    int sys_errno = errno;
    pthread_mutex_lock(&job->mu);
    job->rc = rc;
    job->sys_errno = rc == EAI_SYSTEM ? sys_errno : 0;
    job->res = rc == 0 ? res : NULL;
    job->done = true;
    pthread_cond_broadcast(&job->cv);
    pthread_mutex_unlock(&job->mu);
    dns_job_release(job);
    return NULL;
}

/* Resolves host:port. Returns 0 with *out (freeaddrinfo it), WS_PORT_ERR_DNS (*rc_out = EAI_*),
 * WS_PORT_ERR_TIMEOUT, WS_PORT_ERR_ABORTED, WS_PORT_ERR_NO_MEM or WS_PORT_ERR_SYSTEM. */
static int resolve(const char *host, uint16_t port, const deadline_t *dl, const volatile bool *abort_flag,
                   struct addrinfo **out, int *rc_out, int *errno_out)
{
    char port_str[8];
    snprintf(port_str, sizeof(port_str), "%u", (unsigned)port);

    /* Literal addresses need no lookup thread. */
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_protocol = IPPROTO_TCP, .ai_flags = AI_NUMERICHOST };
    if (getaddrinfo(host, port_str, &hints, out) == 0) {
        return 0;
    }

    size_t host_len = strlen(host);
    dns_job_t *job = calloc(1, sizeof(*job) + host_len + 1);
    if (job == NULL) {
        return WS_PORT_ERR_NO_MEM;
    }
    memcpy(job->host, host, host_len + 1);
    memcpy(job->port, port_str, sizeof(job->port));
    job->refs = 2;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&job->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&job->mu, NULL);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t tid;
    int prc = pthread_create(&tid, &attr, dns_job_run, job);
    pthread_attr_destroy(&attr);
    if (prc != 0) {
        job->refs = 1;
        dns_job_release(job);
        *errno_out = prc;
        return WS_PORT_ERR_SYSTEM;
    }

    int result = 0;
    pthread_mutex_lock(&job->mu);
    while (!job->done) {
        if (aborted(abort_flag)) {
            result = WS_PORT_ERR_ABORTED;
            break;
        }
        int left = deadline_left(dl);
        if (left == 0) {
            result = WS_PORT_ERR_TIMEOUT;
            break;
        }
        int slice = left;
        if (abort_flag != NULL && (slice < 0 || slice > WS_PORT_ABORT_CHECK_MS)) {
            slice = WS_PORT_ABORT_CHECK_MS;
        }
        if (slice < 0) {
            pthread_cond_wait(&job->cv, &job->mu);
        } else {
            struct timespec until = mono_abs_in(slice);
            pthread_cond_timedwait(&job->cv, &job->mu, &until);
        }
    }
    if (result == 0) {
        if (job->rc == 0) {
            *out = job->res;
            job->res = NULL;       /* now the caller's */
        } else {
            *rc_out = job->rc;
            *errno_out = job->sys_errno;
            result = WS_PORT_ERR_DNS;
        }
    }
    pthread_mutex_unlock(&job->mu);
    dns_job_release(job);
    return result;
}

/* -- connect ------------------------------------------------------------------------------- */

static int set_int_opt(int fd, int level, int name, int value)
{
    return setsockopt(fd, level, name, &value, sizeof(value));
}

/* Applies keep-alive, interface binding and TCP_NODELAY. Returns 0 or an errno. */
static int apply_socket_options(int fd, const ws_port_connect_cfg_t *cfg)
{
    if (cfg->if_name != NULL &&
        setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, cfg->if_name, (socklen_t)strlen(cfg->if_name)) != 0) {
        return errno;
    }
    const ws_port_keepalive_t *ka = &cfg->keepalive;
    if (ka->enable) {
        if (set_int_opt(fd, SOL_SOCKET, SO_KEEPALIVE, 1) != 0 ||
            (ka->idle_s > 0 && set_int_opt(fd, IPPROTO_TCP, TCP_KEEPIDLE, ka->idle_s) != 0) ||
            (ka->interval_s > 0 && set_int_opt(fd, IPPROTO_TCP, TCP_KEEPINTVL, ka->interval_s) != 0) ||
            (ka->count > 0 && set_int_opt(fd, IPPROTO_TCP, TCP_KEEPCNT, ka->count) != 0)) {
            return errno;
        }
    }
    /* Frames are written whole; small control frames must not wait for Nagle. */
    if (set_int_opt(fd, IPPROTO_TCP, TCP_NODELAY, 1) != 0) {
        return errno;
    }
    return 0;
}

/* One address. Returns 0 with *fd_out, or a WS_PORT_ERR_* with *err_no and *esp_err. */
static int connect_one(const struct addrinfo *ai, const ws_port_connect_cfg_t *cfg, const deadline_t *dl,
                       int *fd_out, int *err_no, esp_err_t *esp_err)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        *err_no = errno;
        *esp_err = WS_PORT_ESP_ERR_TLS_CANNOT_CREATE_SOCKET;
        return WS_PORT_ERR_CONNECT;
    }
    int opt_errno = apply_socket_options(fd, cfg);
    if (opt_errno != 0) {
        close(fd);
        *err_no = opt_errno;
        *esp_err = WS_PORT_ESP_ERR_TLS_SOCKET_SETOPT_FAILED;
        return WS_PORT_ERR_CONNECT;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS && errno != EINTR) {
            *err_no = errno;
            *esp_err = WS_PORT_ESP_ERR_TLS_FAILED_CONNECT_TO_HOST;
            close(fd);
            return WS_PORT_ERR_CONNECT;
        }
        int poll_errno = 0;
        int w = wait_fd(fd, POLLOUT, dl, cfg->abort, &poll_errno);
        if (w <= 0) {
            close(fd);
            if (w == 0) {
                *err_no = ETIMEDOUT;
                *esp_err = WS_PORT_ESP_ERR_TLS_CONNECTION_TIMEOUT;
                return WS_PORT_ERR_TIMEOUT;
            }
            *err_no = w == WS_PORT_ERR_ABORTED ? ECANCELED : poll_errno;
            *esp_err = w == WS_PORT_ERR_ABORTED ? ESP_OK : WS_PORT_ESP_ERR_TLS_FAILED_CONNECT_TO_HOST;
            return w == WS_PORT_ERR_ABORTED ? w : WS_PORT_ERR_CONNECT;
        }
        int so_error = 0;
        socklen_t so_len = sizeof(so_error);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &so_len) != 0) {
            so_error = errno;
        }
        if (so_error != 0) {
            *err_no = so_error;
            *esp_err = WS_PORT_ESP_ERR_TLS_FAILED_CONNECT_TO_HOST;
            close(fd);
            return WS_PORT_ERR_CONNECT;
        }
    }
    *fd_out = fd;
    return 0;
}

#if WS_PORT_HAVE_MBEDTLS
/* TLS handshake on the connected conn->fd, bounded by the connect deadline and the abort flag.
 * Returns 0, or WS_PORT_ERR_TLS / _TIMEOUT / _ABORTED / _NO_MEM with err filled; the caller frees
 * conn->tls (which may be NULL) and the socket. */
static int tls_connect(ws_port_conn_t *conn, const ws_port_connect_cfg_t *cfg, const deadline_t *dl,
                       ws_port_error_t *err)
{
    int rc = ws_tls_create(&conn->tls, conn->fd, cfg->host, cfg->tls, err);
    if (rc != 0) {
        return rc;
    }
    for (;;) {
        int h = ws_tls_handshake(conn->tls);
        if (h == WS_PORT_OK) {
            return 0;
        }
        if (h != WS_TLS_WANT_READ && h != WS_TLS_WANT_WRITE) {
            if (err != NULL) {
                ws_tls_error(conn->tls, err);
            }
            return WS_PORT_ERR_TLS;
        }
        int poll_errno = 0;
        int w = wait_fd(conn->fd, h == WS_TLS_WANT_READ ? POLLIN : POLLOUT, dl, cfg->abort, &poll_errno);
        if (w == 0) {
            set_error(err, WS_PORT_ESP_ERR_TLS_CONNECTION_TIMEOUT, ETIMEDOUT, 0);
            return WS_PORT_ERR_TIMEOUT;
        }
        if (w == WS_PORT_ERR_ABORTED) {
            set_error(err, ESP_OK, ECANCELED, 0);
            return w;
        }
        if (w < 0) {
            set_error(err, WS_TLS_ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED, poll_errno, 0);
            return WS_PORT_ERR_TLS;
        }
    }
}
#endif

int ws_port_connect(ws_port_conn_t **out, const ws_port_connect_cfg_t *cfg, ws_port_error_t *err)
{
    set_error(err, ESP_OK, 0, 0);
    if (out == NULL) {
        return WS_PORT_ERR_INVALID_ARG;
    }
    *out = NULL;
    if (cfg == NULL || cfg->host == NULL || cfg->host[0] == '\0' || cfg->port == 0 || cfg->timeout_ms <= 0) {
        set_error(err, ESP_ERR_INVALID_ARG, 0, 0);
        return WS_PORT_ERR_INVALID_ARG;
    }
#if !WS_PORT_HAVE_MBEDTLS
    if (cfg->tls != NULL) {
        set_error(err, ESP_ERR_NOT_SUPPORTED, 0, 0);   /* built without mbedTLS */
        return WS_PORT_ERR_UNSUPPORTED;
    }
#endif
    if (aborted(cfg->abort)) {
        set_error(err, ESP_OK, ECANCELED, 0);
        return WS_PORT_ERR_ABORTED;
    }

    deadline_t dl = deadline_in(cfg->timeout_ms);
    struct addrinfo *list = NULL;
    int dns_rc = 0, dns_errno = 0;
    int rc = resolve(cfg->host, cfg->port, &dl, cfg->abort, &list, &dns_rc, &dns_errno);
    if (rc != 0) {
        switch (rc) {
        case WS_PORT_ERR_DNS:
            set_error(err, WS_PORT_ESP_ERR_TLS_CANNOT_RESOLVE_HOSTNAME, dns_errno, dns_rc);
            break;
        case WS_PORT_ERR_TIMEOUT:
            set_error(err, WS_PORT_ESP_ERR_TLS_CONNECTION_TIMEOUT, ETIMEDOUT, 0);
            break;
        case WS_PORT_ERR_ABORTED:
            set_error(err, ESP_OK, ECANCELED, 0);
            break;
        case WS_PORT_ERR_NO_MEM:
            set_error(err, ESP_ERR_NO_MEM, ENOMEM, 0);
            break;
        default:
            set_error(err, ESP_FAIL, dns_errno, 0);
            break;
        }
        return rc;
    }

    ws_port_conn_t *conn = calloc(1, sizeof(*conn));
    if (conn == NULL) {
        freeaddrinfo(list);
        set_error(err, ESP_ERR_NO_MEM, ENOMEM, 0);
        return WS_PORT_ERR_NO_MEM;
    }

    /* Resolver order; each address gets the time still left. The errno of the last failure is
     * the one reported. A setsockopt failure would repeat on every address: stop at once. */
    int last_errno = 0;
    esp_err_t last_esp = WS_PORT_ESP_ERR_TLS_FAILED_CONNECT_TO_HOST;
    rc = WS_PORT_ERR_CONNECT;
    for (const struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
        int fd = -1;
        rc = connect_one(ai, cfg, &dl, &fd, &last_errno, &last_esp);
        if (rc == 0) {
            conn->fd = fd;
            break;
        }
        if (rc == WS_PORT_ERR_TIMEOUT || rc == WS_PORT_ERR_ABORTED ||
            last_esp == WS_PORT_ESP_ERR_TLS_SOCKET_SETOPT_FAILED) {
            break;
        }
        if (deadline_left(&dl) == 0) {
            rc = WS_PORT_ERR_TIMEOUT;
            last_errno = ETIMEDOUT;
            last_esp = WS_PORT_ESP_ERR_TLS_CONNECTION_TIMEOUT;
            break;
        }
    }
    freeaddrinfo(list);
    if (rc != 0) {
        free(conn);
        set_error(err, last_esp, last_errno, 0);
        return rc;
    }
#if WS_PORT_HAVE_MBEDTLS
    if (cfg->tls != NULL) {
        rc = tls_connect(conn, cfg, &dl, err);   /* within what is left of the same deadline */
        if (rc != 0) {
            ws_tls_free(conn->tls);
            close(conn->fd);
            free(conn);
            return rc;
        }
    }
#endif
    conn->abort_flag = cfg->abort;
    *out = conn;
    return 0;
}

static int conn_fail(ws_port_conn_t *conn, int code, int err_no)
{
    memset(&conn->last, 0, sizeof(conn->last));
    conn->last.sock_errno = err_no;
    conn->last.esp_err = code == WS_PORT_ERR_IO ? ESP_FAIL : ESP_OK;
    return code;
}

#if WS_PORT_HAVE_MBEDTLS
/* Waits for what a TLS call asked for. Returns 1 (go on), 0 (deadline passed), WS_PORT_ERR_ABORTED
 * or WS_PORT_ERR_IO (recorded in conn->last). */
static int tls_wait(ws_port_conn_t *conn, int want, const deadline_t *dl)
{
    int poll_errno = 0;
    int w = wait_fd(conn->fd, want == WS_TLS_WANT_READ ? POLLIN : POLLOUT, dl, conn->abort_flag, &poll_errno);
    return w == WS_PORT_ERR_IO ? conn_fail(conn, w, poll_errno) : w;
}

/* ws_port_read over TLS: decrypted bytes first, then records as they arrive. */
static int tls_read(ws_port_conn_t *conn, void *buf, size_t len, int32_t timeout_ms)
{
    deadline_t dl = deadline_in(timeout_ms);
    for (;;) {
        if (aborted(conn->abort_flag)) {
            return WS_PORT_ERR_ABORTED;
        }
        int n = ws_tls_read(conn->tls, buf, len);
        if (n > 0) {
            return n;
        }
        if (n == WS_PORT_EOF) {
            conn->eof = true;
            return n;
        }
        if (n != WS_TLS_WANT_READ && n != WS_TLS_WANT_WRITE) {
            ws_tls_error(conn->tls, &conn->last);
            return n;
        }
        int w = tls_wait(conn, n, &dl);
        if (w <= 0) {
            return w;   /* 0: timeout with nothing read; the record layer keeps any partial record */
        }
    }
}

/* ws_port_write over TLS. Once mbedTLS has encrypted a record of these bytes the stream is
 * committed to it (the next mbedTLS write must repeat the same bytes), so a timeout or abort
 * from then on is WS_PORT_ERR_PARTIAL even if the kernel took none of it yet. Before that the
 * socket is first waited on, which keeps WS_PORT_ERR_TIMEOUT/ABORTED truthful: nothing moved. */
static int tls_write(ws_port_conn_t *conn, const uint8_t *p, size_t len, int32_t timeout_ms)
{
    deadline_t dl = deadline_in(timeout_ms);
    int w = tls_wait(conn, WS_TLS_WANT_WRITE, &dl);
    if (w == 0) {
        return conn_fail(conn, WS_PORT_ERR_TIMEOUT, ETIMEDOUT);
    }
    if (w < 0) {
        return w;
    }
    size_t done = 0;
    for (;;) {
        int n = ws_tls_write(conn->tls, p + done, len - done);
        if (n > 0) {
            done += (size_t)n;
            if (done == len) {
                return (int)len;
            }
            if (aborted(conn->abort_flag)) {
                return conn_fail(conn, WS_PORT_ERR_PARTIAL, ECANCELED);
            }
            continue;
        }
        if (n != WS_TLS_WANT_READ && n != WS_TLS_WANT_WRITE) {
            ws_tls_error(conn->tls, &conn->last);
            return n;
        }
        w = tls_wait(conn, n, &dl);
        if (w == 0 || w == WS_PORT_ERR_ABORTED) {
            return conn_fail(conn, WS_PORT_ERR_PARTIAL, w == 0 ? ETIMEDOUT : ECANCELED);
        }
        if (w < 0) {
            return w;
        }
    }
}
#endif

int ws_port_read(ws_port_conn_t *conn, void *buf, size_t len, int32_t timeout_ms)
{
    if (conn == NULL || buf == NULL || len == 0) {
        return WS_PORT_ERR_INVALID_ARG;
    }
    if (len > INT_MAX) {
        len = INT_MAX;
    }
    if (conn->eof) {
        return WS_PORT_EOF;
    }
#if WS_PORT_HAVE_MBEDTLS
    if (conn->tls != NULL) {
        return tls_read(conn, buf, len, timeout_ms);
    }
#endif
    deadline_t dl = { .forever = true, .end_ms = 0 };
    bool timed = false;   /* the clock is read at the first wait, not on every read that finds data */
    for (;;) {
        if (aborted(conn->abort_flag)) {
            return WS_PORT_ERR_ABORTED;
        }
        ssize_t n = recv(conn->fd, buf, len, 0);
        if (n > 0) {
            return (int)n;
        }
        if (n == 0) {
            conn->eof = true;
            return WS_PORT_EOF;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return conn_fail(conn, WS_PORT_ERR_IO, errno);
        }
        if (timeout_ms == 0) {
            return 0;   /* try once: recv just said nothing is there, a poll would only repeat it */
        }
        if (!timed) {
            dl = deadline_in(timeout_ms);
            timed = true;
        }
        int poll_errno = 0;
        int w = wait_fd(conn->fd, POLLIN, &dl, conn->abort_flag, &poll_errno);
        if (w == 0) {
            return 0;
        }
        if (w < 0) {
            return w == WS_PORT_ERR_IO ? conn_fail(conn, w, poll_errno) : w;
        }
    }
}

/* ws_port_write and ws_port_write_more; `flags` is added to every send() (MSG_MORE or 0). */
static int write_all(ws_port_conn_t *conn, const void *buf, size_t len, int32_t timeout_ms, int flags)
{
    if (conn == NULL || (buf == NULL && len > 0) || len > INT_MAX) {
        return WS_PORT_ERR_INVALID_ARG;
    }
    if (len == 0) {
        return 0;
    }
#if WS_PORT_HAVE_MBEDTLS
    if (conn->tls != NULL) {
        return tls_write(conn, buf, len, timeout_ms);
    }
#endif
    const uint8_t *p = buf;
    size_t done = 0;
    deadline_t dl = { .forever = true, .end_ms = 0 };
    bool timed = false;   /* as in ws_port_read: the clock is read at the first wait */
    for (;;) {
        if (aborted(conn->abort_flag)) {
            return done > 0 ? WS_PORT_ERR_PARTIAL : WS_PORT_ERR_ABORTED;
        }
        ssize_t n = send(conn->fd, p + done, len - done, MSG_NOSIGNAL | flags);
        if (n > 0) {
            done += (size_t)n;
            if (done == len) {
                return (int)len;
            }
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            return conn_fail(conn, WS_PORT_ERR_IO, errno);
        }
        if (!timed) {
            dl = deadline_in(timeout_ms);
            timed = true;
        }
        int poll_errno = 0;
        int w = wait_fd(conn->fd, POLLOUT, &dl, conn->abort_flag, &poll_errno);
        if (w == 0 || w == WS_PORT_ERR_ABORTED) {
            if (done > 0) {
                return conn_fail(conn, WS_PORT_ERR_PARTIAL, w == 0 ? ETIMEDOUT : ECANCELED);
            }
            return w == 0 ? conn_fail(conn, WS_PORT_ERR_TIMEOUT, ETIMEDOUT) : w;
        }
        if (w < 0) {
            return conn_fail(conn, w, poll_errno);
        }
    }
}

int ws_port_write(ws_port_conn_t *conn, const void *buf, size_t len, int32_t timeout_ms)
{
    return write_all(conn, buf, len, timeout_ms, 0);
}

/* MSG_MORE: the kernel queues the bytes without pushing a segment, so the frames of one message
 * leave in as few segments as fit (over loopback, one per 64 KiB instead of one per frame) and the
 * peer wakes once for them; the next send without it pushes everything queued. TLS ignores the
 * hint (each record is its own send in the BIO). */
int ws_port_write_more(ws_port_conn_t *conn, const void *buf, size_t len, int32_t timeout_ms)
{
    return write_all(conn, buf, len, timeout_ms, MSG_MORE);
}

int ws_port_poll_readable(ws_port_conn_t *conn, int32_t timeout_ms)
{
    if (conn == NULL) {
        return WS_PORT_ERR_INVALID_ARG;
    }
    if (conn->eof) {
        return 1;
    }
#if WS_PORT_HAVE_MBEDTLS
    if (conn->tls != NULL && ws_tls_pending(conn->tls)) {
        return 1;   /* decrypted bytes, or a record already in hand */
    }
#endif
    deadline_t dl = deadline_in(timeout_ms);
    int poll_errno = 0;
    int w = wait_fd(conn->fd, POLLIN, &dl, conn->abort_flag, &poll_errno);
    return w == WS_PORT_ERR_IO ? conn_fail(conn, w, poll_errno) : w;
}

void ws_port_get_error(const ws_port_conn_t *conn, ws_port_error_t *err)
{
    if (err == NULL) {
        return;
    }
    if (conn == NULL) {
        memset(err, 0, sizeof(*err));
        return;
    }
    *err = conn->last;
}

void ws_port_close(ws_port_conn_t *conn)
{
    if (conn == NULL) {
        return;
    }
#if WS_PORT_HAVE_MBEDTLS
    if (conn->tls != NULL) {
        /* close_notify, best effort and bounded: the peer may be gone or not reading. */
        deadline_t dl = deadline_in(WS_PORT_TLS_CLOSE_NOTIFY_MS);
        int r = ws_tls_close_notify(conn->tls);
        while (r == WS_TLS_WANT_READ || r == WS_TLS_WANT_WRITE) {
            int poll_errno = 0;
            if (wait_fd(conn->fd, r == WS_TLS_WANT_READ ? POLLIN : POLLOUT, &dl, NULL, &poll_errno) != 1) {
                break;
            }
            r = ws_tls_close_notify(conn->tls);
        }
        ws_tls_free(conn->tls);
    }
#endif
    close(conn->fd);
    free(conn);
}

/* ------------------------------------------------------------------------------------------ */
/* Parking lot                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* The waits of tasks, mutexes and signals, and esp_event_host.c's queues, sleep on the pairs of
 * one static table (host_park.h, which states the rules every user follows). */
#define PARK_STRIPES 64

static ws_park_t park_table[PARK_STRIPES];
static pthread_once_t park_once = PTHREAD_ONCE_INIT;

static void park_init(void)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    for (int i = 0; i < PARK_STRIPES; i++) {
        pthread_mutex_init(&park_table[i].mu, NULL);
        pthread_cond_init(&park_table[i].cv, &ca);
    }
    pthread_condattr_destroy(&ca);
}

ws_park_t *ws_park_of(const void *obj)
{
    pthread_once(&park_once, park_init);
    uintptr_t a = (uintptr_t)obj;
    return &park_table[((a >> 4) ^ (a >> 10)) % PARK_STRIPES];
}

/* ------------------------------------------------------------------------------------------ */
/* Tasks                                                                                       */
/* ------------------------------------------------------------------------------------------ */

struct ws_port_task {
    pthread_t thread;
    bool finished;            /* fn has returned (under the stripe's mu) */
    bool detached;            /* nobody will join: the thread frees the handle (under the stripe's mu) */
    ws_port_task_fn_t fn;
    void *arg;
    char name[16];            /* pthread names are at most 15 characters + NUL */
};

static void task_free(ws_port_task_t *t)
{
    free(t);
}

static void *task_main(void *p)
{
    ws_port_task_t *t = p;
    ws_park_t *pk = ws_park_of(t);
    /* The creator holds the stripe's mu until pthread_create() has stored t->thread: wait for
     * that, so ws_port_task_self_is() is right from fn's first instruction. */
    pthread_mutex_lock(&pk->mu);
    pthread_mutex_unlock(&pk->mu);
    pthread_setname_np(pthread_self(), t->name);

    t->fn(t->arg);

    pthread_mutex_lock(&pk->mu);
    t->finished = true;
    bool detached = t->detached;
    pthread_cond_broadcast(&pk->cv);
    pthread_mutex_unlock(&pk->mu);
    if (detached) {
        task_free(t);     /* nobody else holds it */
    }
    return NULL;
}

int ws_port_task_create(ws_port_task_t **out, const ws_port_task_cfg_t *cfg, ws_port_task_fn_t fn, void *arg)
{
    if (out == NULL) {
        return WS_PORT_ERR_INVALID_ARG;
    }
    *out = NULL;
    if (cfg == NULL || fn == NULL) {
        return WS_PORT_ERR_INVALID_ARG;
    }
    ws_port_task_t *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return WS_PORT_ERR_NO_MEM;
    }
    snprintf(t->name, sizeof(t->name), "%s", cfg->name != NULL ? cfg->name : "ws_task");
    t->fn = fn;
    t->arg = arg;
    ws_park_t *pk = ws_park_of(t);

    size_t stack = cfg->stack_bytes > POSIX_STACK_FLOOR ? cfg->stack_bytes : POSIX_STACK_FLOOR;
    long page = sysconf(_SC_PAGESIZE);
    if (page > 0) {
        stack = (stack + (size_t)page - 1) / (size_t)page * (size_t)page;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, stack);

    *out = t;
    pthread_mutex_lock(&pk->mu);
    int rc = pthread_create(&t->thread, &attr, task_main, t);
    pthread_mutex_unlock(&pk->mu);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        *out = NULL;
        task_free(t);
        return rc == ENOMEM ? WS_PORT_ERR_NO_MEM : WS_PORT_ERR_SYSTEM;
    }
    return 0;
}

bool ws_port_task_self_is(const ws_port_task_t *task)
{
    return task != NULL && pthread_equal(task->thread, pthread_self());
}

int ws_port_task_join(ws_port_task_t *task, int32_t timeout_ms)
{
    if (task == NULL || ws_port_task_self_is(task)) {
        return WS_PORT_ERR_INVALID_ARG;
    }
    ws_park_t *pk = ws_park_of(task);
    pthread_mutex_lock(&pk->mu);
    if (timeout_ms < 0) {
        while (!task->finished) {
            pthread_cond_wait(&pk->cv, &pk->mu);
        }
    } else {
        struct timespec until = mono_abs_in(timeout_ms);
        while (!task->finished) {
            if (pthread_cond_timedwait(&pk->cv, &pk->mu, &until) == ETIMEDOUT && !task->finished) {
                pthread_mutex_unlock(&pk->mu);
                return WS_PORT_ERR_TIMEOUT;
            }
        }
    }
    pthread_mutex_unlock(&pk->mu);
    pthread_join(task->thread, NULL);   /* fn has returned; only the thread's exit is left */
    task_free(task);
    return 0;
}

void ws_port_task_detach(ws_port_task_t *task)
{
    if (task == NULL) {
        return;
    }
    ws_park_t *pk = ws_park_of(task);
    pthread_mutex_lock(&pk->mu);
    bool finished = task->finished;
    task->detached = true;
    pthread_detach(task->thread);
    pthread_mutex_unlock(&pk->mu);
    if (finished) {
        task_free(task);   /* the thread will not touch it again */
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Mutex                                                                                       */
/* ------------------------------------------------------------------------------------------ */

/* Built from an atomic owner word, with a parking stripe's mutex + condition variable for the waits, rather
 * than pthread_mutex_clocklock(): the timeout runs on CLOCK_MONOTONIC, the owner is known (to
 * refuse a recursive lock), and every sanitizer understands it.
 *
 * Fast path: a free lock is taken by one compare-and-swap of `owner` (0 -> the caller), and an
 * unlock with nobody waiting is one store: no clock read, no inner mutex, no futex call.
 * Slow path: a waiter counts itself in `waiters` under its parking stripe's mu, then retries the
 * swap and sleeps on the stripe's cv; an unlock that sees a waiter broadcasts under that mu. The swap and the count are sequentially
 * consistent, so an unlock either sees the waiter (and wakes it) or the waiter's retry sees the lock
 * free: no wake-up is lost. */

/* Each thread's identity for owner tracking: the address of a thread-local byte. */
static _Thread_local char thread_marker;

struct ws_port_mutex {
    _Atomic uintptr_t owner;  /* &thread_marker of the holder, 0 when free */
    atomic_int waiters;       /* threads in the slow path (changed under the stripe's mu) */
};

int ws_port_mutex_create(ws_port_mutex_t **out)
{
    if (out == NULL) {
        return WS_PORT_ERR_INVALID_ARG;
    }
    *out = NULL;
    ws_port_mutex_t *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        return WS_PORT_ERR_NO_MEM;
    }
    atomic_init(&m->owner, 0);
    atomic_init(&m->waiters, 0);
    *out = m;
    return 0;
}

/* Spins of ws_port_mutex_lock before it sleeps: about 2-4 microseconds of pause instructions. */
#define WS_PORT_MUTEX_SPINS 100

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#else
    atomic_signal_fence(memory_order_seq_cst);
#endif
}

static bool mutex_try(ws_port_mutex_t *m, uintptr_t self)
{
    uintptr_t expected = 0;
    return atomic_compare_exchange_strong(&m->owner, &expected, self);
}

int ws_port_mutex_lock(ws_port_mutex_t *m, int32_t timeout_ms)
{
    if (m == NULL) {
        return WS_PORT_ERR_INVALID_ARG;
    }
    uintptr_t self = (uintptr_t)&thread_marker;
    if (atomic_load(&m->owner) == self) {
        return WS_PORT_ERR_INVALID_ARG;          /* not recursive: this would deadlock */
    }
    if (mutex_try(m, self)) {
        return 0;
    }
    if (timeout_ms == 0) {
        return WS_PORT_ERR_TIMEOUT;
    }
    /* A short spin first: the client's locks are held for one engine call or one send() (a few
     * microseconds), and sleeping on the condition variable costs the waiter and the unlocker
     * several futex calls each. */
    for (int i = 0; i < WS_PORT_MUTEX_SPINS; i++) {
        cpu_relax();
        if (atomic_load_explicit(&m->owner, memory_order_relaxed) == 0 && mutex_try(m, self)) {
            return 0;
        }
    }
    int result = 0;
    ws_park_t *pk = ws_park_of(m);
    pthread_mutex_lock(&pk->mu);
    atomic_fetch_add(&m->waiters, 1);
    if (timeout_ms < 0) {
        while (!mutex_try(m, self)) {
            pthread_cond_wait(&pk->cv, &pk->mu);
        }
    } else {
        struct timespec until = mono_abs_in(timeout_ms);
        while (!mutex_try(m, self)) {
            if (pthread_cond_timedwait(&pk->cv, &pk->mu, &until) == ETIMEDOUT) {
                result = mutex_try(m, self) ? 0 : WS_PORT_ERR_TIMEOUT;   /* one last look */
                break;
            }
        }
    }
    atomic_fetch_sub(&m->waiters, 1);
    pthread_mutex_unlock(&pk->mu);
    return result;
}

void ws_port_mutex_unlock(ws_port_mutex_t *m)
{
    if (m == NULL) {
        return;
    }
    atomic_store(&m->owner, 0);
    if (atomic_load(&m->waiters) > 0) {
        ws_park_t *pk = ws_park_of(m);
        pthread_mutex_lock(&pk->mu);
        pthread_cond_broadcast(&pk->cv);
        pthread_mutex_unlock(&pk->mu);
    }
}

void ws_port_mutex_destroy(ws_port_mutex_t *m)
{
    free(m);
}

/* ------------------------------------------------------------------------------------------ */
/* Signal                                                                                      */
/* ------------------------------------------------------------------------------------------ */

struct ws_port_signal {
    bool raised;              /* under the stripe's mu */
};

int ws_port_signal_create(ws_port_signal_t **out)
{
    if (out == NULL) {
        return WS_PORT_ERR_INVALID_ARG;
    }
    *out = NULL;
    ws_port_signal_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return WS_PORT_ERR_NO_MEM;
    }
    *out = s;
    return 0;
}

void ws_port_signal_raise(ws_port_signal_t *sig)
{
    if (sig == NULL) {
        return;
    }
    ws_park_t *pk = ws_park_of(sig);
    pthread_mutex_lock(&pk->mu);
    sig->raised = true;
    pthread_cond_broadcast(&pk->cv);    /* the stripe may hold other objects' waiters */
    pthread_mutex_unlock(&pk->mu);
}

bool ws_port_signal_wait(ws_port_signal_t *sig, int32_t timeout_ms)
{
    if (sig == NULL) {
        return false;
    }
    ws_park_t *pk = ws_park_of(sig);
    pthread_mutex_lock(&pk->mu);
    if (timeout_ms < 0) {
        while (!sig->raised) {
            pthread_cond_wait(&pk->cv, &pk->mu);
        }
    } else if (timeout_ms > 0) {
        struct timespec until = mono_abs_in(timeout_ms);
        while (!sig->raised) {
            if (pthread_cond_timedwait(&pk->cv, &pk->mu, &until) == ETIMEDOUT) {
                break;
            }
        }
    }
    bool raised = sig->raised;
    sig->raised = false;
    pthread_mutex_unlock(&pk->mu);
    return raised;
}

void ws_port_signal_destroy(ws_port_signal_t *sig)
{
    free(sig);
}
