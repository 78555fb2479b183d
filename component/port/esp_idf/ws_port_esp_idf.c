/*
 * ws_port_esp_idf.c - the port contract (ws_port.h) for ESP-IDF: esp-tls over lwIP sockets for the
 * byte stream, FreeRTOS for tasks, locks and signals, esp_timer for the clock.
 *
 * Connecting, step by step (each wait is a select() sliced to WS_PORT_ABORT_CHECK_MS, so the abort
 * flag and the deadline are both seen in time):
 *   1. Name lookup in a short-lived helper task, because getaddrinfo() cannot be interrupted:
 *      on timeout or abort the caller stops waiting and whichever side finishes last frees the job.
 *      Literal addresses skip the helper.
 *   2. Each resolved address in turn gets the time still left. esp-tls is given the address as a
 *      literal (so its own lookup is instant) and the original host name as common_name, so the
 *      certificate check and SNI see the name, exactly as if esp-tls had resolved it.
 *   3. The first esp_tls_conn_new_async() call creates the socket (non-blocking, keep-alive and
 *      interface options applied by esp-tls) and starts the TCP connect; this file then waits
 *      for the connect itself. esp-tls's own connect wait is not reused: a select() that times
 *      out clears the fd sets esp-tls keeps, and every later call would then wait on nothing.
 *   4. TLS: further esp_tls_conn_new_async() calls, with non_block off so esp-tls skips that
 *      select, drive the handshake; between calls this file waits for the socket to be readable.
 * The socket stays non-blocking for the life of the connection; reads and writes wait in select().
 * One CPU-bound handshake step (certificate verification, key exchange) cannot be interrupted
 * and may run for a few hundred milliseconds past the deadline or an abort on a slow core.
 */
#include "ws_port.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#include "freertos/task.h"
#include "esp_heap_caps.h"
#include "esp_idf_version.h"
#include "esp_log.h"
#include "esp_random.h"
#include "esp_timer.h"
#include "esp_tls.h"
#include "sdkconfig.h"

#if CONFIG_ESP_TLS_USING_MBEDTLS
#include "mbedtls/net_sockets.h"
#include "mbedtls/ssl.h"
#endif

#if CONFIG_ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM && ESP_IDF_VERSION < ESP_IDF_VERSION_VAL(5, 3, 1)
#error "CONFIG_ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM needs ESP-IDF >= 5.3.1 (a task created with caps that deletes itself)"
#endif

static const char *TAG = "websocket_client";

/* Stack of a task created with stack_bytes = 0, and of the name-lookup helper. */
#define PORT_DEFAULT_STACK 4096
#define DNS_TASK_STACK 3072

/* Guards the reference counts of task handles and lookup jobs. Held for a few instructions. */
static portMUX_TYPE s_mux = portMUX_INITIALIZER_UNLOCKED;

/* Drops one reference; true when it was the last. */
static bool unref(int *refs)
{
    taskENTER_CRITICAL(&s_mux);
    bool last = --*refs == 0;
    taskEXIT_CRITICAL(&s_mux);
    return last;
}

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
/* Memory                                                                                      */
/* ------------------------------------------------------------------------------------------ */

#if defined(WS_PORT_HAVE_CUSTOM_ALLOC)
/* CONFIG_ESP_WS_CLIENT_ALLOC_IN_EXT_RAM: the client's own allocations (client struct, copied
 * configuration, engine bookkeeping) go to PSRAM, with no fallback to internal RAM, as upstream.
 * Memory the runtime allocates itself (wasm3's code pages and linear memory) follows the
 * system-wide malloc policy (CONFIG_SPIRAM_USE_MALLOC). */
#define PORT_ALLOC_CAPS (MALLOC_CAP_SPIRAM | MALLOC_CAP_8BIT)

void *ws_port_malloc(size_t size)
{
    return heap_caps_malloc(size, PORT_ALLOC_CAPS);
}

void *ws_port_calloc(size_t n, size_t size)
{
    return heap_caps_calloc(n, size, PORT_ALLOC_CAPS);
}

void ws_port_free(void *p)
{
    heap_caps_free(p);
}
#endif

/* ------------------------------------------------------------------------------------------ */
/* Time                                                                                        */
/* ------------------------------------------------------------------------------------------ */

uint32_t ws_port_now_ms(void)
{
    return (uint32_t)(esp_timer_get_time() / 1000);
}

/* Ticks for a wait of ms milliseconds, rounded up (a wait never ends early by design); negative
 * means no bound. */
static TickType_t ms_to_ticks(int32_t ms)
{
    if (ms < 0) {
        return portMAX_DELAY;
    }
    uint64_t ticks = ((uint64_t)ms * configTICK_RATE_HZ + 999) / 1000;
    return ticks >= portMAX_DELAY ? portMAX_DELAY - 1 : (TickType_t)ticks;
}

/* A point in time a wait must not pass; `forever` for WS_PORT_WAIT_FOREVER. */
typedef struct {
    bool forever;
    int64_t end_us;
} deadline_t;

static deadline_t deadline_in(int32_t timeout_ms)
{
    deadline_t d = { .forever = timeout_ms < 0, .end_us = 0 };
    if (!d.forever) {
        d.end_us = esp_timer_get_time() + (int64_t)timeout_ms * 1000;
    }
    return d;
}

/* Milliseconds left, rounded up (0 when passed), or -1 for forever. */
static int32_t deadline_left(const deadline_t *d)
{
    if (d->forever) {
        return -1;
    }
    int64_t left_us = d->end_us - esp_timer_get_time();
    if (left_us <= 0) {
        return 0;
    }
    int64_t left_ms = (left_us + 999) / 1000;
    return left_ms > INT32_MAX ? INT32_MAX : (int32_t)left_ms;
}

/* The next wait: what is left, cut to one abort-check period when someone may abort. */
static int32_t slice_ms(const deadline_t *d, const volatile bool *abort_flag)
{
    int32_t left = deadline_left(d);
    if (abort_flag != NULL && (left < 0 || left > WS_PORT_ABORT_CHECK_MS)) {
        return WS_PORT_ABORT_CHECK_MS;
    }
    return left;
}

/* An atomic load: the flag is set by another task (ws_port.h says how). */
static bool aborted(const volatile bool *abort_flag)
{
    return abort_flag != NULL && __atomic_load_n(abort_flag, __ATOMIC_ACQUIRE);
}

void ws_port_sleep_ms(uint32_t ms)
{
    if (ms == 0) {
        taskYIELD();
        return;
    }
    /* vTaskDelay(n) may end up to one tick early (it counts tick interrupts): add one. */
    TickType_t ticks = ms_to_ticks(ms > INT32_MAX ? INT32_MAX : (int32_t)ms);
    vTaskDelay(ticks < portMAX_DELAY - 1 ? ticks + 1 : ticks);
}

/* ------------------------------------------------------------------------------------------ */
/* Randomness                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* Hardware RNG. It is only truly random while Wi-Fi or Bluetooth runs, or once the bootloader has
 * seeded it (ESP-IDF docs, "Random Number Generation"); a WebSocket client runs with a network up. */
void ws_port_random(void *buf, size_t len)
{
    esp_fill_random(buf, len);
}

/* ------------------------------------------------------------------------------------------ */
/* Socket waits                                                                                */
/* ------------------------------------------------------------------------------------------ */

/* Waits until fd is readable (or writable, with for_write), the deadline passes, or *abort.
 * Returns 1 (ready, including an error condition the following call reports), 0 (deadline),
 * WS_PORT_ERR_ABORTED, or WS_PORT_ERR_IO with *err_no. */
static int wait_fd(int fd, bool for_write, const deadline_t *dl, const volatile bool *abort_flag, int *err_no)
{
    for (;;) {
        if (aborted(abort_flag)) {
            return WS_PORT_ERR_ABORTED;
        }
        int32_t slice = slice_ms(dl, abort_flag);
        fd_set io_set, err_set;
        FD_ZERO(&io_set);
        FD_ZERO(&err_set);
        FD_SET(fd, &io_set);
        FD_SET(fd, &err_set);
        struct timeval tv = { .tv_sec = slice / 1000, .tv_usec = (slice % 1000) * 1000 };
        int r = select(fd + 1, for_write ? NULL : &io_set, for_write ? &io_set : NULL, &err_set,
                       slice < 0 ? NULL : &tv);
        if (r > 0) {
            return 1;
        }
        if (r < 0 && errno != EINTR) {
            *err_no = errno;
            return WS_PORT_ERR_IO;
        }
        if (deadline_left(dl) == 0) {
            return 0;
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Name lookup in a helper task                                                                */
/* ------------------------------------------------------------------------------------------ */

typedef struct {
    int refs;                 /* 2 while both the caller and the helper hold it (s_mux) */
    SemaphoreHandle_t done;   /* given by the helper when rc/res are set */
    int rc;                   /* getaddrinfo result */
    struct addrinfo *res;     /* owned by the job until the caller takes it */
    char host[];              /* copy: the caller may return before the helper finishes */
} dns_job_t;

static void dns_job_release(dns_job_t *job)
{
    if (unref(&job->refs)) {
        if (job->res != NULL) {
            freeaddrinfo(job->res);
        }
        vSemaphoreDelete(job->done);
        free(job);
    }
}

static void dns_job_run(void *arg)
{
    dns_job_t *job = arg;
    const struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    job->rc = getaddrinfo(job->host, NULL, &hints, &res);
    job->res = job->rc == 0 ? res : NULL;
    xSemaphoreGive(job->done);
    dns_job_release(job);
    vTaskDelete(NULL);
}

/* Resolves host. Returns 0 with *out (freeaddrinfo it), WS_PORT_ERR_DNS (*rc_out = EAI_*),
 * WS_PORT_ERR_TIMEOUT, WS_PORT_ERR_ABORTED, WS_PORT_ERR_NO_MEM or WS_PORT_ERR_SYSTEM. */
static int resolve(const char *host, const deadline_t *dl, const volatile bool *abort_flag,
                   struct addrinfo **out, int *rc_out)
{
    /* Literal addresses need no helper. */
    const struct addrinfo numeric = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                                      .ai_flags = AI_NUMERICHOST };
    if (getaddrinfo(host, NULL, &numeric, out) == 0) {
        return 0;
    }

    size_t host_len = strlen(host);
    dns_job_t *job = calloc(1, sizeof(*job) + host_len + 1);
    if (job == NULL) {
        return WS_PORT_ERR_NO_MEM;
    }
    memcpy(job->host, host, host_len + 1);
    job->refs = 2;
    job->done = xSemaphoreCreateBinary();
    if (job->done == NULL) {
        free(job);
        return WS_PORT_ERR_NO_MEM;
    }
    if (xTaskCreate(dns_job_run, "ws_dns", DNS_TASK_STACK, job, uxTaskPriorityGet(NULL), NULL) != pdPASS) {
        vSemaphoreDelete(job->done);
        free(job);
        return WS_PORT_ERR_NO_MEM;
    }

    int result = 0;
    for (;;) {
        if (aborted(abort_flag)) {
            result = WS_PORT_ERR_ABORTED;
            break;
        }
        int32_t left = deadline_left(dl);
        if (left == 0) {
            result = WS_PORT_ERR_TIMEOUT;
            break;
        }
        if (xSemaphoreTake(job->done, ms_to_ticks(slice_ms(dl, abort_flag))) == pdTRUE) {
            if (job->rc == 0 && job->res != NULL) {
                *out = job->res;
                job->res = NULL;   /* now the caller's */
            } else {
                *rc_out = job->rc != 0 ? job->rc : EAI_FAIL;
                result = WS_PORT_ERR_DNS;
            }
            break;
        }
    }
    dns_job_release(job);
    return result;
}

/* ------------------------------------------------------------------------------------------ */
/* Connections                                                                                 */
/* ------------------------------------------------------------------------------------------ */

struct ws_port_conn {
    esp_tls_t *tls;
    int fd;                            /* esp-tls's socket (non-blocking) */
    bool is_tls;
    bool eof;                          /* the peer's FIN / close_notify was read */
    bool broken;                       /* an I/O or TLS error: no close_notify on close */
    const volatile bool *abort_flag;
    ws_port_error_t last;              /* details of the last failed call */
};

static void set_error(ws_port_error_t *err, esp_err_t esp_err, int sock_errno)
{
    if (err != NULL) {
        memset(err, 0, sizeof(*err));
        err->esp_err = esp_err;
        err->sock_errno = sock_errno;
    }
}

/* The socket's pending error (SO_ERROR), or errno when that cannot be read. */
static int socket_error(int fd)
{
    int so_error = 0;
    socklen_t so_len = sizeof(so_error);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &so_len) != 0) {
        return errno;
    }
    return so_error;
}

/* What esp-tls recorded about a failure: its esp_err, the TLS stack's error (esp-tls stores it
 * negated; ws_port.h wants mbedTLS's own negative value) and the certificate flags. */
static void tls_error(esp_tls_t *tls, ws_port_error_t *out)
{
    esp_tls_error_handle_t h = NULL;
    if (esp_tls_get_error_handle(tls, &h) != ESP_OK || h == NULL) {
        return;
    }
    int stack_err = 0, flags = 0, sys_errno = 0;
    esp_tls_get_and_clear_error_type(h, ESP_TLS_ERR_TYPE_SYSTEM, &sys_errno);
    esp_err_t e = esp_tls_get_and_clear_last_error(h, &stack_err, &flags);
    if (e != ESP_OK) {
        out->esp_err = e;
    }
    out->tls_stack_err = stack_err > 0 ? -stack_err : stack_err;
    out->tls_verify_flags = flags;
    if (sys_errno != 0) {
        out->sock_errno = sys_errno;
    }
}

/* True for TLS stack errors that are really socket errors (reset, send/recv failure). */
static bool tls_error_is_socket(int ret)
{
#if CONFIG_ESP_TLS_USING_MBEDTLS
    return ret == MBEDTLS_ERR_NET_CONN_RESET || ret == MBEDTLS_ERR_NET_RECV_FAILED ||
           ret == MBEDTLS_ERR_NET_SEND_FAILED;
#else
    (void)ret;
    return false;
#endif
}

/* True when the TLS stack saw the TCP stream end without close_notify. */
static bool tls_error_is_eof(int ret)
{
#if CONFIG_ESP_TLS_USING_MBEDTLS
    return ret == MBEDTLS_ERR_SSL_CONN_EOF;
#else
    (void)ret;
    return false;
#endif
}

/* Turns a failed esp_tls_conn_new_async() into a WS_PORT_* code, with *err filled. A socket that
 * failed under the TLS set-up or handshake (refused, reset) is a connect failure, not a TLS one. */
static int connect_failure(esp_tls_t *tls, int fd, esp_err_t fallback, ws_port_error_t *err)
{
    set_error(err, fallback, 0);
    tls_error(tls, err);
    esp_err_t e = err->esp_err;
    if (e == ESP_ERR_NO_MEM) {
        return WS_PORT_ERR_NO_MEM;
    }
    if (e == ESP_ERR_ESP_TLS_CANNOT_CREATE_SOCKET || e == ESP_ERR_ESP_TLS_SOCKET_SETOPT_FAILED ||
        e == ESP_ERR_ESP_TLS_FAILED_CONNECT_TO_HOST || e == ESP_ERR_ESP_TLS_CONNECTION_TIMEOUT ||
        e == ESP_ERR_ESP_TLS_UNSUPPORTED_PROTOCOL_FAMILY) {
        return WS_PORT_ERR_CONNECT;
    }
    if (tls_error_is_socket(err->tls_stack_err)) {
        int so = fd >= 0 ? socket_error(fd) : 0;
        int why = so != 0 ? so : err->sock_errno != 0 ? err->sock_errno : ECONNRESET;
        set_error(err, ESP_ERR_ESP_TLS_FAILED_CONNECT_TO_HOST, why);
        return WS_PORT_ERR_CONNECT;
    }
    return WS_PORT_ERR_TLS;
}

/* The esp-tls settings for one attempt. `lit` is the address as a literal; the certificate name
 * stays the original host (or the configured common_name). */
typedef struct {
    esp_tls_cfg_t cfg;
    tls_keep_alive_cfg_t keepalive;
    struct ifreq ifr;
} attempt_cfg_t;

/* Fills a->cfg from cfg. Returns 0, or WS_PORT_ERR_TLS / WS_PORT_ERR_CONNECT with *err filled. */
static int attempt_cfg_init(attempt_cfg_t *a, const ws_port_connect_cfg_t *cfg, int family, ws_port_error_t *err)
{
    memset(a, 0, sizeof(*a));
    esp_tls_cfg_t *c = &a->cfg;
    c->non_block = true;                 /* the first call only starts the TCP connect */
    c->timeout_ms = 1;                   /* esp-tls's own connect wait: as short as it gets */
#if ESP_IDF_VERSION >= ESP_IDF_VERSION_VAL(5, 1, 0)
    c->addr_family = family == AF_INET6 ? ESP_TLS_AF_INET6 : ESP_TLS_AF_INET;   /* a hint: the host is a literal */
#else
    (void)family;
#endif
    c->is_plain_tcp = cfg->tls == NULL;

    const ws_port_keepalive_t *ka = &cfg->keepalive;
    if (ka->enable) {
        /* esp-tls sets all three knobs; <= 0 means the platform default (lwIP's, RFC 1122). */
        a->keepalive.keep_alive_enable = true;
        a->keepalive.keep_alive_idle = ka->idle_s > 0 ? ka->idle_s : 7200;
        a->keepalive.keep_alive_interval = ka->interval_s > 0 ? ka->interval_s : 75;
        a->keepalive.keep_alive_count = ka->count > 0 ? ka->count : 9;
        c->keep_alive_cfg = &a->keepalive;
    }
    if (cfg->if_name != NULL) {
        size_t n = strlen(cfg->if_name);
        if (n == 0 || n >= sizeof(a->ifr.ifr_name)) {
            set_error(err, ESP_ERR_ESP_TLS_SOCKET_SETOPT_FAILED, ENODEV);
            return WS_PORT_ERR_CONNECT;
        }
        memcpy(a->ifr.ifr_name, cfg->if_name, n + 1);
        c->if_name = &a->ifr;
    }

    const ws_port_tls_cfg_t *t = cfg->tls;
    if (t == NULL) {
        return 0;
    }
    /* Exactly one verification source, in ws_port.h's order of precedence. */
    if (t->skip_verify) {
        /* Nothing to verify against: esp-tls accepts this only with
         * CONFIG_ESP_TLS_SKIP_SERVER_CERT_VERIFY, and fails the handshake otherwise. */
    } else if (t->use_global_ca_store) {
        c->use_global_ca_store = true;
    } else if (t->crt_bundle_attach != NULL) {
        c->crt_bundle_attach = t->crt_bundle_attach;
    } else if (t->ca != NULL) {
        c->cacert_buf = (const unsigned char *)t->ca;
        c->cacert_bytes = (unsigned)(t->ca_len > 0 ? t->ca_len : strlen(t->ca) + 1);   /* PEM: with its NUL */
    } else {
        set_error(err, ESP_ERR_MBEDTLS_SSL_SETUP_FAILED, 0);
        return WS_PORT_ERR_TLS;   /* no silent "insecure" default */
    }
    if (t->client_cert != NULL) {
        if (t->client_key == NULL && t->ds_data == NULL) {
            set_error(err, ESP_ERR_MBEDTLS_PK_PARSE_KEY_FAILED, 0);
            return WS_PORT_ERR_TLS;
        }
        c->clientcert_buf = (const unsigned char *)t->client_cert;
        c->clientcert_bytes = (unsigned)(t->client_cert_len > 0 ? t->client_cert_len : strlen(t->client_cert) + 1);
        if (t->client_key != NULL) {
            c->clientkey_buf = (const unsigned char *)t->client_key;
            c->clientkey_bytes = (unsigned)(t->client_key_len > 0 ? t->client_key_len : strlen(t->client_key) + 1);
        } else {
            c->ds_data = t->ds_data;
        }
    }
    if (t->skip_cn_check) {
        c->skip_common_name = true;      /* esp-tls also drops SNI then */
    } else {
        c->common_name = t->common_name != NULL ? t->common_name : cfg->host;
    }
    return 0;
}

/* One address. Returns 0 with a connected (and, for TLS, handshaken) esp-tls handle in *out, or
 * a WS_PORT_ERR_* with *err filled. */
static int connect_one(const struct addrinfo *ai, const ws_port_connect_cfg_t *cfg, const deadline_t *dl,
                       esp_tls_t **out, ws_port_error_t *err)
{
    char lit[INET6_ADDRSTRLEN];
    const void *addr = ai->ai_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
                                                 : (const void *)&((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
    if (inet_ntop(ai->ai_family, addr, lit, sizeof(lit)) == NULL) {
        set_error(err, ESP_ERR_ESP_TLS_UNSUPPORTED_PROTOCOL_FAMILY, errno);
        return WS_PORT_ERR_CONNECT;
    }
    attempt_cfg_t a;
    int rc = attempt_cfg_init(&a, cfg, ai->ai_family, err);
    if (rc != 0) {
        return rc;
    }
    esp_tls_t *tls = esp_tls_init();
    if (tls == NULL) {
        set_error(err, ESP_ERR_NO_MEM, ENOMEM);
        return WS_PORT_ERR_NO_MEM;
    }

    /* 1. Socket + non-blocking connect (and, if the connect completed at once, the TLS setup). */
    int r = esp_tls_conn_new_async(lit, (int)strlen(lit), cfg->port, &a.cfg, tls);
    int fd = -1;
    if (r < 0 || esp_tls_get_conn_sockfd(tls, &fd) != ESP_OK || fd < 0) {
        rc = connect_failure(tls, fd, ESP_ERR_ESP_TLS_FAILED_CONNECT_TO_HOST, err);
        esp_tls_conn_destroy(tls);
        return rc;
    }

    /* 2. Wait for the TCP connect ourselves. */
    int sys_errno = 0;
    int w = wait_fd(fd, true, dl, cfg->abort, &sys_errno);
    if (w == 1) {
        sys_errno = socket_error(fd);
        w = sys_errno == 0 ? 1 : WS_PORT_ERR_IO;
    }
    if (w != 1) {
        esp_tls_conn_destroy(tls);
        if (w == 0) {
            set_error(err, ESP_ERR_ESP_TLS_CONNECTION_TIMEOUT, ETIMEDOUT);
            return WS_PORT_ERR_TIMEOUT;
        }
        if (w == WS_PORT_ERR_ABORTED) {
            set_error(err, ESP_OK, ECANCELED);
            return WS_PORT_ERR_ABORTED;
        }
        set_error(err, ESP_ERR_ESP_TLS_FAILED_CONNECT_TO_HOST, sys_errno);
        return WS_PORT_ERR_CONNECT;
    }
    /* Frames are written whole; small control frames must not wait for Nagle. */
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
        set_error(err, ESP_ERR_ESP_TLS_SOCKET_SETOPT_FAILED, errno);
        esp_tls_conn_destroy(tls);
        return WS_PORT_ERR_CONNECT;
    }

    /* 3. TLS handshake, one non-blocking step per readable socket. esp-tls does not say whether
     * a step stopped on WANT_READ or WANT_WRITE; the latter is rare (the client's flights are
     * small), so each wait is for readability but lasts at most one abort-check period before
     * the step is retried. */
    a.cfg.non_block = false;   /* skip esp-tls's connect select (see the top of this file) */
    while (cfg->tls != NULL && r != 1) {
        r = esp_tls_conn_new_async(lit, (int)strlen(lit), cfg->port, &a.cfg, tls);
        if (r == 1) {
            break;
        }
        if (r < 0) {
            rc = connect_failure(tls, fd, ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED, err);
            esp_tls_conn_destroy(tls);
            return rc;
        }
        int32_t left = deadline_left(dl);
        deadline_t step = deadline_in(left < WS_PORT_ABORT_CHECK_MS ? left : WS_PORT_ABORT_CHECK_MS);
        w = wait_fd(fd, false, &step, cfg->abort, &sys_errno);
        if (w == 0 && deadline_left(dl) > 0) {
            continue;          /* the step's wait ended, not the deadline: retry the step */
        }
        if (w != 1) {
            esp_tls_conn_destroy(tls);
            if (w == 0) {
                set_error(err, ESP_ERR_ESP_TLS_CONNECTION_TIMEOUT, ETIMEDOUT);
                return WS_PORT_ERR_TIMEOUT;
            }
            if (w == WS_PORT_ERR_ABORTED) {
                set_error(err, ESP_OK, ECANCELED);
                return WS_PORT_ERR_ABORTED;
            }
            set_error(err, ESP_ERR_ESP_TLS_FAILED_CONNECT_TO_HOST, sys_errno);
            return WS_PORT_ERR_CONNECT;
        }
    }
    *out = tls;
    return 0;
}

int ws_port_connect(ws_port_conn_t **out, const ws_port_connect_cfg_t *cfg, ws_port_error_t *err)
{
    set_error(err, ESP_OK, 0);
    if (out == NULL) {
        return WS_PORT_ERR_INVALID_ARG;
    }
    *out = NULL;
    if (cfg == NULL || cfg->host == NULL || cfg->host[0] == '\0' || cfg->port == 0 || cfg->timeout_ms <= 0) {
        return WS_PORT_ERR_INVALID_ARG;
    }
    if (aborted(cfg->abort)) {
        set_error(err, ESP_OK, ECANCELED);
        return WS_PORT_ERR_ABORTED;
    }
    ws_port_error_t scratch;
    if (err == NULL) {
        err = &scratch;
    }

    deadline_t dl = deadline_in(cfg->timeout_ms);
    struct addrinfo *list = NULL;
    int dns_rc = 0;
    int rc = resolve(cfg->host, &dl, cfg->abort, &list, &dns_rc);
    if (rc != 0) {
        switch (rc) {
        case WS_PORT_ERR_DNS:
            set_error(err, ESP_ERR_ESP_TLS_CANNOT_RESOLVE_HOSTNAME, 0);
            err->dns_err = dns_rc;
            break;
        case WS_PORT_ERR_TIMEOUT:
            set_error(err, ESP_ERR_ESP_TLS_CONNECTION_TIMEOUT, ETIMEDOUT);
            break;
        case WS_PORT_ERR_ABORTED:
            set_error(err, ESP_OK, ECANCELED);
            break;
        default:
            set_error(err, ESP_ERR_NO_MEM, ENOMEM);
            break;
        }
        ESP_LOGD(TAG, "resolving %s failed: %s (%d)", cfg->host, ws_port_strerror(rc), dns_rc);
        return rc;
    }

    ws_port_conn_t *conn = calloc(1, sizeof(*conn));
    if (conn == NULL) {
        freeaddrinfo(list);
        set_error(err, ESP_ERR_NO_MEM, ENOMEM);
        return WS_PORT_ERR_NO_MEM;
    }

    /* Resolver order; each address gets the time still left; the last failure is reported.
     * Failures that would repeat on every address (options, TLS set-up, memory) stop at once. */
    esp_tls_t *tls = NULL;
    rc = WS_PORT_ERR_CONNECT;
    set_error(err, ESP_ERR_ESP_TLS_FAILED_CONNECT_TO_HOST, EAFNOSUPPORT);   /* if no address is usable */
    for (const struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) {
            continue;
        }
        rc = connect_one(ai, cfg, &dl, &tls, err);
        if (rc == 0 || rc != WS_PORT_ERR_CONNECT || err->esp_err == ESP_ERR_ESP_TLS_SOCKET_SETOPT_FAILED) {
            break;
        }
        if (deadline_left(&dl) == 0) {
            set_error(err, ESP_ERR_ESP_TLS_CONNECTION_TIMEOUT, ETIMEDOUT);
            rc = WS_PORT_ERR_TIMEOUT;
            break;
        }
    }
    freeaddrinfo(list);
    if (rc != 0) {
        free(conn);
        ESP_LOGD(TAG, "connect to %s:%u failed: %s (esp_err 0x%x, tls %d, flags 0x%x, errno %d)", cfg->host,
                 (unsigned)cfg->port, ws_port_strerror(rc), (unsigned)err->esp_err, err->tls_stack_err,
                 (unsigned)err->tls_verify_flags, err->sock_errno);
        return rc;
    }
    esp_tls_get_conn_sockfd(tls, &conn->fd);
    conn->tls = tls;
    conn->is_tls = cfg->tls != NULL;
    conn->abort_flag = cfg->abort;
    set_error(err, ESP_OK, 0);
    *out = conn;
    return 0;
}

/* Records a failure of a read/write/poll on conn and returns code. */
static int conn_fail(ws_port_conn_t *conn, int code, esp_err_t esp_err, int tls_err, int sys_errno)
{
    memset(&conn->last, 0, sizeof(conn->last));
    conn->last.esp_err = esp_err;
    conn->last.tls_stack_err = tls_err;
    conn->last.sock_errno = sys_errno;
    if (code == WS_PORT_ERR_IO || code == WS_PORT_ERR_TLS || code == WS_PORT_ERR_PARTIAL) {
        conn->broken = true;
    }
    return code;
}

/* Classifies a negative result of esp_tls_conn_read/write (`writing`: which of the two). Returns
 * WAIT_READABLE or WAIT_WRITABLE to retry once the socket is ready, or a WS_PORT_* code (the
 * failure recorded in conn->last). `sys_errno` is errno right after the call. */
#define WAIT_READABLE 1
#define WAIT_WRITABLE 2
static int io_result(ws_port_conn_t *conn, bool writing, ssize_t n, int sys_errno, esp_err_t io_esp_err)
{
    if (!conn->is_tls) {
        if (sys_errno == EAGAIN || sys_errno == EWOULDBLOCK || sys_errno == EINTR) {
            return writing ? WAIT_WRITABLE : WAIT_READABLE;
        }
        return conn_fail(conn, WS_PORT_ERR_IO, ESP_FAIL, 0, sys_errno);
    }
    /* TLS may need the other direction (renegotiation, post-handshake messages). */
    if (n == ESP_TLS_ERR_SSL_WANT_READ) {
        return WAIT_READABLE;
    }
    if (n == ESP_TLS_ERR_SSL_WANT_WRITE) {
        return WAIT_WRITABLE;
    }
    if (tls_error_is_socket((int)n)) {
        int e = sys_errno != 0 ? sys_errno : socket_error(conn->fd);
        return conn_fail(conn, WS_PORT_ERR_IO, ESP_FAIL, (int)n, e != 0 ? e : ECONNRESET);
    }
    return conn_fail(conn, WS_PORT_ERR_TLS, io_esp_err, (int)n, 0);
}

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
    deadline_t dl = deadline_in(timeout_ms);
    for (;;) {
        if (aborted(conn->abort_flag)) {
            return WS_PORT_ERR_ABORTED;
        }
        /* First try: TLS may hold decrypted bytes the socket no longer shows. */
        errno = 0;
        ssize_t n = esp_tls_conn_read(conn->tls, buf, len);
        int sys_errno = errno;
        if (n > 0) {
            return (int)n;
        }
        if (n == 0 || (conn->is_tls && tls_error_is_eof((int)n))) {
            conn->eof = true;      /* TCP FIN, or TLS close_notify (esp-tls returns 0 for it) */
            return WS_PORT_EOF;
        }
        int r = io_result(conn, false, n, sys_errno, ESP_ERR_MBEDTLS_SSL_READ_FAILED);
        if (r <= 0) {
            return r;
        }
        int w = wait_fd(conn->fd, r == WAIT_WRITABLE, &dl, conn->abort_flag, &sys_errno);
        if (w == 0) {
            return 0;
        }
        if (w < 0) {
            return w == WS_PORT_ERR_IO ? conn_fail(conn, w, ESP_FAIL, 0, sys_errno) : w;
        }
    }
}

int ws_port_write(ws_port_conn_t *conn, const void *buf, size_t len, int32_t timeout_ms)
{
    if (conn == NULL || (buf == NULL && len > 0) || len > INT_MAX) {
        return WS_PORT_ERR_INVALID_ARG;
    }
    if (len == 0) {
        return 0;
    }
    const uint8_t *p = buf;
    size_t done = 0;
    /* TLS: once mbedTLS has taken a record, part of it may be on the wire even when the call says
     * WANT_WRITE, so from then on a timeout is PARTIAL. Waiting for writability before the first
     * call keeps "nothing written" (TIMEOUT) honest. Plain TCP: EAGAIN means nothing was sent. */
    bool committed = !conn->is_tls;
    deadline_t dl = deadline_in(timeout_ms);
    for (;;) {
        if (aborted(conn->abort_flag)) {
            return done > 0 || (conn->is_tls && committed) ? conn_fail(conn, WS_PORT_ERR_PARTIAL, ESP_OK, 0, ECANCELED)
                                                           : WS_PORT_ERR_ABORTED;
        }
        int sys_errno = 0;
        if (!committed) {
            int w = wait_fd(conn->fd, true, &dl, conn->abort_flag, &sys_errno);
            if (w == 0) {
                return conn_fail(conn, WS_PORT_ERR_TIMEOUT, ESP_OK, 0, ETIMEDOUT);
            }
            if (w < 0) {
                return w == WS_PORT_ERR_IO ? conn_fail(conn, w, ESP_FAIL, 0, sys_errno) : w;
            }
            committed = true;
        }
        errno = 0;
        ssize_t n = esp_tls_conn_write(conn->tls, p + done, len - done);
        sys_errno = errno;
        if (n > 0) {
            done += (size_t)n;
            if (done == len) {
                return (int)len;
            }
            continue;
        }
        int r = WAIT_WRITABLE;    /* n == 0: nothing taken, wait for room */
        if (n < 0) {
            r = io_result(conn, true, n, sys_errno, ESP_ERR_MBEDTLS_SSL_WRITE_FAILED);
            if (r <= 0) {
                return r;
            }
        }
        bool partial = done > 0 || conn->is_tls;
        int w = wait_fd(conn->fd, r == WAIT_WRITABLE, &dl, conn->abort_flag, &sys_errno);
        if (w == 0 || w == WS_PORT_ERR_ABORTED) {
            if (partial) {
                return conn_fail(conn, WS_PORT_ERR_PARTIAL, ESP_OK, 0, w == 0 ? ETIMEDOUT : ECANCELED);
            }
            return w == 0 ? conn_fail(conn, WS_PORT_ERR_TIMEOUT, ESP_OK, 0, ETIMEDOUT) : w;
        }
        if (w < 0) {
            return conn_fail(conn, w, ESP_FAIL, 0, sys_errno);
        }
    }
}

/* esp-tls writes without send() flags: lwIP pushes each write as the stock client's writes are
 * pushed, so the hint is not taken. */
int ws_port_write_more(ws_port_conn_t *conn, const void *buf, size_t len, int32_t timeout_ms)
{
    return ws_port_write(conn, buf, len, timeout_ms);
}

int ws_port_poll_readable(ws_port_conn_t *conn, int32_t timeout_ms)
{
    if (conn == NULL) {
        return WS_PORT_ERR_INVALID_ARG;
    }
    if (conn->eof || (conn->is_tls && esp_tls_get_bytes_avail(conn->tls) > 0)) {
        return 1;
    }
    deadline_t dl = deadline_in(timeout_ms);
    int sys_errno = 0;
    int w = wait_fd(conn->fd, false, &dl, conn->abort_flag, &sys_errno);
    return w == WS_PORT_ERR_IO ? conn_fail(conn, w, ESP_FAIL, 0, sys_errno) : w;
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
#if CONFIG_ESP_TLS_USING_MBEDTLS
    /* One non-blocking close_notify attempt on a healthy TLS connection; never waits. */
    if (conn->is_tls && !conn->broken && !conn->eof) {
        mbedtls_ssl_context *ssl = esp_tls_get_ssl_context(conn->tls);
        if (ssl != NULL) {
            (void)mbedtls_ssl_close_notify(ssl);
        }
    }
#endif
    esp_tls_conn_destroy(conn->tls);   /* closes the socket */
    free(conn);
}

/* ------------------------------------------------------------------------------------------ */
/* Tasks                                                                                       */
/* ------------------------------------------------------------------------------------------ */

/* The handle is shared by the creator (until join succeeds or detach) and the task (until fn has
 * returned and `done` is given): whichever lets go last frees it. */
struct ws_port_task {
    TaskHandle_t handle;
    SemaphoreHandle_t done;   /* given once, after fn returned */
    int refs;                 /* s_mux */
    bool ext_stack;           /* created with caps: delete with vTaskDeleteWithCaps */
    ws_port_task_fn_t fn;
    void *arg;
};

static void task_release(ws_port_task_t *t)
{
    if (unref(&t->refs)) {
        vSemaphoreDelete(t->done);
        free(t);
    }
}

static void task_main(void *p)
{
    ws_port_task_t *t = p;
    /* Wait until the creator has stored t->handle, so ws_port_task_self_is() is right from fn's
     * first instruction (with caps, the handle is only known after the create call returns). */
    ulTaskNotifyTake(pdTRUE, portMAX_DELAY);

    t->fn(t->arg);

    bool ext_stack = t->ext_stack;
    xSemaphoreGive(t->done);
    task_release(t);          /* t may be gone from here on */
#if CONFIG_ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM
    if (ext_stack) {
        vTaskDeleteWithCaps(NULL);
    }
#else
    (void)ext_stack;
#endif
    vTaskDelete(NULL);
}

int ws_port_task_create(ws_port_task_t **out, const ws_port_task_cfg_t *cfg, ws_port_task_fn_t fn, void *arg)
{
    if (out == NULL) {
        return WS_PORT_ERR_INVALID_ARG;
    }
    *out = NULL;
    if (cfg == NULL || fn == NULL || cfg->core >= portNUM_PROCESSORS) {
        return WS_PORT_ERR_INVALID_ARG;
    }
    ws_port_task_t *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return WS_PORT_ERR_NO_MEM;
    }
    t->done = xSemaphoreCreateBinary();
    if (t->done == NULL) {
        free(t);
        return WS_PORT_ERR_NO_MEM;
    }
    t->refs = 2;
    t->fn = fn;
    t->arg = arg;
    const char *name = cfg->name != NULL ? cfg->name : "ws_task";
    uint32_t stack = cfg->stack_bytes > 0 ? (uint32_t)cfg->stack_bytes : PORT_DEFAULT_STACK;
    UBaseType_t prio = cfg->priority < 0 ? 0
                     : cfg->priority >= configMAX_PRIORITIES ? configMAX_PRIORITIES - 1 : (UBaseType_t)cfg->priority;
    BaseType_t core = cfg->core < 0 ? tskNO_AFFINITY : (BaseType_t)cfg->core;

    *out = t;
    TaskHandle_t h = NULL;
    BaseType_t ok;
#if CONFIG_ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM
    t->ext_stack = true;
    ok = xTaskCreatePinnedToCoreWithCaps(task_main, name, stack, t, prio, &h, core,
                                         MALLOC_CAP_SPIRAM | MALLOC_CAP_8BIT);
#else
    ok = xTaskCreatePinnedToCore(task_main, name, stack, t, prio, &h, core);
#endif
    if (ok != pdPASS || h == NULL) {
        *out = NULL;
        vSemaphoreDelete(t->done);
        free(t);
        return WS_PORT_ERR_NO_MEM;
    }
    t->handle = h;
    xTaskNotifyGive(h);       /* opens task_main's gate */
    return 0;
}

bool ws_port_task_self_is(const ws_port_task_t *task)
{
    return task != NULL && task->handle == xTaskGetCurrentTaskHandle();
}

int ws_port_task_join(ws_port_task_t *task, int32_t timeout_ms)
{
    if (task == NULL || ws_port_task_self_is(task)) {
        return WS_PORT_ERR_INVALID_ARG;
    }
    if (xSemaphoreTake(task->done, ms_to_ticks(timeout_ms)) != pdTRUE) {
        return WS_PORT_ERR_TIMEOUT;
    }
    task_release(task);
    return 0;
}

void ws_port_task_detach(ws_port_task_t *task)
{
    if (task != NULL) {
        task_release(task);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Mutex: a FreeRTOS mutex (priority inheritance), the handle itself is the ws_port_mutex_t.    */
/* ------------------------------------------------------------------------------------------ */

int ws_port_mutex_create(ws_port_mutex_t **out)
{
    if (out == NULL) {
        return WS_PORT_ERR_INVALID_ARG;
    }
    SemaphoreHandle_t m = xSemaphoreCreateMutex();
    *out = (ws_port_mutex_t *)m;
    return m != NULL ? 0 : WS_PORT_ERR_NO_MEM;
}

int ws_port_mutex_lock(ws_port_mutex_t *m, int32_t timeout_ms)
{
    if (m == NULL) {
        return WS_PORT_ERR_INVALID_ARG;
    }
    SemaphoreHandle_t s = (SemaphoreHandle_t)m;
    if (xSemaphoreGetMutexHolder(s) == xTaskGetCurrentTaskHandle()) {
        return WS_PORT_ERR_INVALID_ARG;   /* not recursive: this would wait for itself */
    }
    return xSemaphoreTake(s, ms_to_ticks(timeout_ms)) == pdTRUE ? 0 : WS_PORT_ERR_TIMEOUT;
}

void ws_port_mutex_unlock(ws_port_mutex_t *m)
{
    if (m != NULL) {
        xSemaphoreGive((SemaphoreHandle_t)m);
    }
}

void ws_port_mutex_destroy(ws_port_mutex_t *m)
{
    if (m != NULL) {
        vSemaphoreDelete((SemaphoreHandle_t)m);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Signal: a binary semaphore is exactly the latched flag ws_port.h describes.                  */
/* ------------------------------------------------------------------------------------------ */

int ws_port_signal_create(ws_port_signal_t **out)
{
    if (out == NULL) {
        return WS_PORT_ERR_INVALID_ARG;
    }
    SemaphoreHandle_t s = xSemaphoreCreateBinary();   /* created empty: flag clear */
    *out = (ws_port_signal_t *)s;
    return s != NULL ? 0 : WS_PORT_ERR_NO_MEM;
}

void ws_port_signal_raise(ws_port_signal_t *sig)
{
    if (sig != NULL) {
        xSemaphoreGive((SemaphoreHandle_t)sig);   /* already raised: stays raised (count 1) */
    }
}

bool ws_port_signal_wait(ws_port_signal_t *sig, int32_t timeout_ms)
{
    return sig != NULL && xSemaphoreTake((SemaphoreHandle_t)sig, ms_to_ticks(timeout_ms)) == pdTRUE;
}

void ws_port_signal_destroy(ws_port_signal_t *sig)
{
    if (sig != NULL) {
        vSemaphoreDelete((SemaphoreHandle_t)sig);
    }
}
