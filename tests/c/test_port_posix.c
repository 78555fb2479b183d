/*
 * test_port_posix.c - the POSIX port checked against the wording of ws_port.h.
 *
 * All sockets are on loopback and made by the test. The "address that never answers" is a
 * listening socket with backlog 0 whose accept queue the test fills and never drains: Linux then
 * drops further SYNs, so a connect to it stays in SYN_SENT until its bound or the abort flag.
 */
#define _GNU_SOURCE
#include "ws_port.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"

static uint32_t elapsed_since(uint32_t start)
{
    return (uint32_t)(ws_port_now_ms() - start);
}

/* ------------------------------------------------------------------------------------------ */
/* A loopback server in a thread                                                               */
/* ------------------------------------------------------------------------------------------ */

typedef enum {
    SERVER_ECHO,          /* echo everything until the client closes, then close */
    SERVER_SEND_THEN_CLOSE, /* send `payload` then close */
    SERVER_SILENT,        /* accept and hold the connection until told to stop */
    SERVER_SINK,          /* read and count everything until EOF */
} server_mode_t;

typedef struct {
    int family;
    int listen_fd;
    uint16_t port;
    server_mode_t mode;
    const char *payload;
    pthread_t thread;
    atomic_bool stop;
    atomic_size_t received;
    uint64_t checksum;
} server_t;

static void *server_main(void *arg)
{
    server_t *s = arg;
    int fd = accept(s->listen_fd, NULL, NULL);
    if (fd < 0) {
        return NULL;
    }
    char buf[65536];
    switch (s->mode) {
    case SERVER_ECHO:
        for (;;) {
            ssize_t n = recv(fd, buf, sizeof(buf), 0);
            if (n <= 0 || send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n) {
                break;
            }
        }
        break;
    case SERVER_SEND_THEN_CLOSE:
        send(fd, s->payload, strlen(s->payload), MSG_NOSIGNAL);
        break;
    case SERVER_SILENT:
        while (!atomic_load(&s->stop)) {
            usleep(10000);
        }
        break;
    case SERVER_SINK:
        for (;;) {
            ssize_t n = recv(fd, buf, sizeof(buf), 0);
            if (n <= 0) {
                break;
            }
            for (ssize_t i = 0; i < n; i++) {
                s->checksum = s->checksum * 31 + (uint8_t)buf[i];
            }
            atomic_fetch_add(&s->received, (size_t)n);
        }
        break;
    }
    close(fd);
    return NULL;
}

/* Listens on the loopback address of `family` (port chosen by the OS). False if the family is
 * not available on this machine. */
static bool server_listen(server_t *s, int family, int backlog)
{
    memset(s, 0, sizeof(*s));
    s->family = family;
    s->listen_fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0) {
        return false;
    }
    int one = 1;
    setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*a);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof(*a);
    }
    if (bind(s->listen_fd, (struct sockaddr *)&ss, len) != 0 || listen(s->listen_fd, backlog) != 0) {
        close(s->listen_fd);
        return false;
    }
    getsockname(s->listen_fd, (struct sockaddr *)&ss, &len);
    s->port = family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return true;
}

static bool server_start(server_t *s, int family, server_mode_t mode, const char *payload)
{
    if (!server_listen(s, family, 8)) {
        return false;
    }
    s->mode = mode;
    s->payload = payload;
    pthread_create(&s->thread, NULL, server_main, s);
    return true;
}

static void server_finish(server_t *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
}

static ws_port_connect_cfg_t plain_cfg(const char *host, uint16_t port, int32_t timeout_ms)
{
    ws_port_connect_cfg_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.host = host;
    cfg.port = port;
    cfg.timeout_ms = timeout_ms;
    return cfg;
}

/* ------------------------------------------------------------------------------------------ */
/* Byte stream                                                                                 */
/* ------------------------------------------------------------------------------------------ */

static void roundtrip(int family, const char *host)
{
    server_t srv;
    if (!server_start(&srv, family, SERVER_ECHO, NULL)) {
        fprintf(stderr, "  SKIP: %s loopback not available on this machine\n", host);
        return;
    }
    ws_port_connect_cfg_t cfg = plain_cfg(host, srv.port, 2000);
    cfg.keepalive = (ws_port_keepalive_t){ .enable = true, .idle_s = 5, .interval_s = 5, .count = 3 };
    ws_port_conn_t *conn = NULL;
    ws_port_error_t err;
    CHECK_EQ_INT(ws_port_connect(&conn, &cfg, &err), 0);
    CHECK(conn != NULL);
    CHECK_EQ_INT(err.esp_err, 0);
    CHECK_EQ_INT(err.sock_errno, 0);
    if (conn == NULL) {
        server_finish(&srv);
        return;
    }
    static const char msg[] = "hello over loopback";
    CHECK_EQ_INT(ws_port_write(conn, msg, sizeof(msg), 1000), (int)sizeof(msg));
    char got[64];
    size_t have = 0;
    while (have < sizeof(msg)) {
        int n = ws_port_read(conn, got + have, sizeof(got) - have, 1000);
        CHECK(n > 0);
        if (n <= 0) {
            break;
        }
        have += (size_t)n;
    }
    CHECK_EQ_INT(have, sizeof(msg));
    CHECK(memcmp(got, msg, sizeof(msg)) == 0);
    ws_port_close(conn);
    server_finish(&srv);
}

static void connect_read_write_over_ipv4_loopback(void)
{
    roundtrip(AF_INET, "127.0.0.1");
}

static void connect_read_write_over_ipv6_loopback(void)
{
    roundtrip(AF_INET6, "::1");
}

static void connect_resolves_a_host_name(void)
{
    /* "localhost" goes through the resolver thread (not the numeric fast path). */
    server_t srv;
    CHECK(server_start(&srv, AF_INET, SERVER_SEND_THEN_CLOSE, "x"));
    ws_port_connect_cfg_t cfg = plain_cfg("localhost", srv.port, 2000);
    ws_port_conn_t *conn = NULL;
    CHECK_EQ_INT(ws_port_connect(&conn, &cfg, NULL), 0);
    ws_port_close(conn);
    server_finish(&srv);
}

static void read_timeout_returns_zero_within_bounds(void)
{
    server_t srv;
    CHECK(server_start(&srv, AF_INET, SERVER_SILENT, NULL));
    ws_port_connect_cfg_t cfg = plain_cfg("127.0.0.1", srv.port, 2000);
    ws_port_conn_t *conn = NULL;
    CHECK_EQ_INT(ws_port_connect(&conn, &cfg, NULL), 0);
    char buf[16];
    uint32_t t0 = ws_port_now_ms();
    CHECK_EQ_INT(ws_port_read(conn, buf, sizeof(buf), 200), 0);
    CHECK_BETWEEN(elapsed_since(t0), 199, 400);
    t0 = ws_port_now_ms();
    CHECK_EQ_INT(ws_port_read(conn, buf, sizeof(buf), 0), 0);     /* 0 = try once */
    CHECK_BETWEEN(elapsed_since(t0), 0, 50);
    CHECK_EQ_INT(ws_port_poll_readable(conn, 100), 0);
    ws_port_close(conn);
    server_finish(&srv);
}

static void read_returns_available_bytes_without_waiting(void)
{
    /* Contrapositive of the timeout test: data present -> returned at once, even with timeout 0. */
    server_t srv;
    CHECK(server_start(&srv, AF_INET, SERVER_SEND_THEN_CLOSE, "abc"));
    ws_port_connect_cfg_t cfg = plain_cfg("127.0.0.1", srv.port, 2000);
    ws_port_conn_t *conn = NULL;
    CHECK_EQ_INT(ws_port_connect(&conn, &cfg, NULL), 0);
    CHECK_EQ_INT(ws_port_poll_readable(conn, 1000), 1);
    ws_port_sleep_ms(20);              /* let all three bytes arrive */
    char buf[64];
    uint32_t t0 = ws_port_now_ms();
    CHECK_EQ_INT(ws_port_read(conn, buf, sizeof(buf), 0), 3);    /* fewer than len: no waiting for more */
    CHECK_BETWEEN(elapsed_since(t0), 0, 50);
    CHECK(memcmp(buf, "abc", 3) == 0);
    ws_port_close(conn);
    server_finish(&srv);
}

static void eof_is_reported_after_peer_close_and_repeats(void)
{
    server_t srv;
    CHECK(server_start(&srv, AF_INET, SERVER_SEND_THEN_CLOSE, "bye"));
    ws_port_connect_cfg_t cfg = plain_cfg("127.0.0.1", srv.port, 2000);
    ws_port_conn_t *conn = NULL;
    CHECK_EQ_INT(ws_port_connect(&conn, &cfg, NULL), 0);
    char buf[16];
    size_t have = 0;
    int n;
    while ((n = ws_port_read(conn, buf + have, sizeof(buf) - have, 1000)) > 0) {
        have += (size_t)n;
    }
    CHECK_EQ_INT(have, 3);
    CHECK_EQ_INT(n, WS_PORT_EOF);
    CHECK_EQ_INT(ws_port_read(conn, buf, sizeof(buf), 1000), WS_PORT_EOF);
    CHECK_EQ_INT(ws_port_poll_readable(conn, 0), 1);     /* EOF counts as readable */
    ws_port_close(conn);
    server_finish(&srv);
}

static void write_sends_every_byte_of_a_large_buffer(void)
{
    server_t srv;
    CHECK(server_start(&srv, AF_INET, SERVER_SINK, NULL));
    ws_port_connect_cfg_t cfg = plain_cfg("127.0.0.1", srv.port, 2000);
    ws_port_conn_t *conn = NULL;
    CHECK_EQ_INT(ws_port_connect(&conn, &cfg, NULL), 0);
    size_t len = 8u << 20;   /* far more than the socket buffers: needs many partial sends */
    uint8_t *big = malloc(len);
    ws_port_random(big, len);
    uint64_t expect = 0;
    for (size_t i = 0; i < len; i++) {
        expect = expect * 31 + big[i];
    }
    CHECK_EQ_INT(ws_port_write(conn, big, len, 10000), (int)len);
    ws_port_close(conn);          /* the sink sees EOF and stops */
    pthread_join(srv.thread, NULL);
    close(srv.listen_fd);
    CHECK_EQ_INT(atomic_load(&srv.received), len);
    CHECK(srv.checksum == expect);
    free(big);
}

/* The frames of one message: every piece but the last with the "more follows" hint. The last
 * plain write pushes what the hint held back, so the peer gets every byte, in order, without
 * waiting for the connection to close (the sink is asked for the count before the close). */
static void write_more_pieces_then_write_arrive_whole_and_in_order(void)
{
    server_t srv;
    CHECK(server_start(&srv, AF_INET, SERVER_SINK, NULL));
    ws_port_connect_cfg_t cfg = plain_cfg("127.0.0.1", srv.port, 2000);
    ws_port_conn_t *conn = NULL;
    CHECK_EQ_INT(ws_port_connect(&conn, &cfg, NULL), 0);
    enum { PIECE = 1030, PIECES = 8 };   /* under 64 KiB: all-hinted bytes would wait ~200 ms */
    uint8_t *big = malloc((size_t)PIECE * PIECES);
    ws_port_random(big, (size_t)PIECE * PIECES);
    uint64_t expect = 0;
    for (size_t i = 0; i < (size_t)PIECE * PIECES; i++) {
        expect = expect * 31 + big[i];
    }
    for (int i = 0; i < PIECES - 1; i++) {
        CHECK_EQ_INT(ws_port_write_more(conn, big + (size_t)i * PIECE, PIECE, 1000), PIECE);
    }
    CHECK_EQ_INT(ws_port_write(conn, big + (size_t)(PIECES - 1) * PIECE, PIECE, 1000), PIECE);
    uint32_t t0 = ws_port_now_ms();
    while (atomic_load(&srv.received) < (size_t)PIECE * PIECES && elapsed_since(t0) < 150) {
        ws_port_sleep_ms(1);
    }
    CHECK_EQ_INT(atomic_load(&srv.received), (size_t)PIECE * PIECES);   /* nothing left held back */
    CHECK_EQ_INT(ws_port_write_more(conn, big, 0, 100), 0);
    CHECK_EQ_INT(ws_port_write_more(NULL, "x", 1, 0), WS_PORT_ERR_INVALID_ARG);
    ws_port_close(conn);
    pthread_join(srv.thread, NULL);
    close(srv.listen_fd);
    CHECK(srv.checksum == expect);
    free(big);
}

static void write_timeout_distinguishes_no_progress_from_partial(void)
{
    server_t srv;
    CHECK(server_start(&srv, AF_INET, SERVER_SILENT, NULL));   /* never reads */
    ws_port_connect_cfg_t cfg = plain_cfg("127.0.0.1", srv.port, 2000);
    ws_port_conn_t *conn = NULL;
    CHECK_EQ_INT(ws_port_connect(&conn, &cfg, NULL), 0);
    size_t len = 64u << 20;
    uint8_t *big = calloc(1, len);
    uint32_t t0 = ws_port_now_ms();
    CHECK_EQ_INT(ws_port_write(conn, big, len, 200), WS_PORT_ERR_PARTIAL);  /* some bytes went out */
    CHECK_BETWEEN(elapsed_since(t0), 199, 600);
    ws_port_error_t err;
    ws_port_get_error(conn, &err);
    CHECK_EQ_INT(err.sock_errno, ETIMEDOUT);
    /* Top up whatever room the kernel freed meanwhile; then the buffers are full for good. */
    int topped = 0;
    while (topped < 100000 && ws_port_write(conn, big, 1024, 0) == 1024) {
        topped++;
    }
    CHECK(topped < 100000);
    /* A further write makes no progress at all. */
    t0 = ws_port_now_ms();
    CHECK_EQ_INT(ws_port_write(conn, big, 1024, 100), WS_PORT_ERR_TIMEOUT);
    CHECK_BETWEEN(elapsed_since(t0), 99, 400);
    CHECK_EQ_INT(ws_port_write(conn, big, 0, 100), 0);     /* nothing to write: done at once */
    ws_port_close(conn);
    server_finish(&srv);
    free(big);
}

typedef struct {
    volatile bool *flag;
    uint32_t after_ms;
} raiser_t;

static void *raise_after(void *arg)
{
    raiser_t *r = arg;
    ws_port_sleep_ms(r->after_ms);
    __atomic_store_n(r->flag, true, __ATOMIC_RELEASE);   /* as ws_port.h asks */
    return NULL;
}

static void read_and_write_stop_within_100ms_of_abort(void)
{
    server_t srv;
    CHECK(server_start(&srv, AF_INET, SERVER_SILENT, NULL));
    volatile bool abort_flag = false;
    ws_port_connect_cfg_t cfg = plain_cfg("127.0.0.1", srv.port, 2000);
    cfg.abort = &abort_flag;
    ws_port_conn_t *conn = NULL;
    CHECK_EQ_INT(ws_port_connect(&conn, &cfg, NULL), 0);

    raiser_t r = { &abort_flag, 150 };
    pthread_t th;
    pthread_create(&th, NULL, raise_after, &r);
    char buf[16];
    uint32_t t0 = ws_port_now_ms();
    CHECK_EQ_INT(ws_port_read(conn, buf, sizeof(buf), WS_PORT_WAIT_FOREVER), WS_PORT_ERR_ABORTED);
    CHECK_BETWEEN(elapsed_since(t0), 140, 150 + WS_PORT_ABORT_CHECK_MS + 60);
    pthread_join(th, NULL);

    /* Flag already set: write refuses before sending anything; poll too. */
    CHECK_EQ_INT(ws_port_write(conn, "x", 1, 1000), WS_PORT_ERR_ABORTED);
    CHECK_EQ_INT(ws_port_poll_readable(conn, 1000), WS_PORT_ERR_ABORTED);
    ws_port_close(conn);
    server_finish(&srv);
}

/* ------------------------------------------------------------------------------------------ */
/* Connect failures                                                                            */
/* ------------------------------------------------------------------------------------------ */

static void connect_to_closed_port_fails_with_econnrefused(void)
{
    /* A port that was just bound and released: nothing listens there. */
    server_t tmp;
    CHECK(server_listen(&tmp, AF_INET, 1));
    uint16_t port = tmp.port;
    close(tmp.listen_fd);

    ws_port_connect_cfg_t cfg = plain_cfg("127.0.0.1", port, 2000);
    ws_port_conn_t *conn = (ws_port_conn_t *)&cfg;   /* must be cleared on failure */
    ws_port_error_t err;
    uint32_t t0 = ws_port_now_ms();
    CHECK_EQ_INT(ws_port_connect(&conn, &cfg, &err), WS_PORT_ERR_CONNECT);
    CHECK(conn == NULL);
    CHECK_EQ_INT(err.sock_errno, ECONNREFUSED);
    CHECK_EQ_INT(err.esp_err, WS_PORT_ESP_ERR_TLS_FAILED_CONNECT_TO_HOST);
    CHECK_BETWEEN(elapsed_since(t0), 0, 500);
}

/* Fills the accept queue of a backlog-0 listener so that the next SYN is dropped. Returns the
 * listener and the filler sockets (closed by the caller), or false if the kernel kept answering. */
static bool make_unanswering_listener(server_t *s, int fillers[], int *n_fillers)
{
    if (!server_listen(s, AF_INET, 0)) {
        return false;
    }
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(s->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    *n_fillers = 0;
    for (int i = 0; i < 16; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        fillers[(*n_fillers)++] = fd;
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
            continue;
        }
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        if (poll(&p, 1, 200) == 0) {
            return true;     /* this SYN went unanswered: the queue is full */
        }
    }
    return false;
}

static void connect_to_unanswering_address_returns_at_its_timeout(void)
{
    server_t s;
    int fillers[16];
    int n = 0;
    bool ready = make_unanswering_listener(&s, fillers, &n);
    CHECK(ready);
    if (ready) {
        ws_port_connect_cfg_t cfg = plain_cfg("127.0.0.1", s.port, 300);
        ws_port_conn_t *conn = NULL;
        ws_port_error_t err;
        uint32_t t0 = ws_port_now_ms();
        CHECK_EQ_INT(ws_port_connect(&conn, &cfg, &err), WS_PORT_ERR_TIMEOUT);
        CHECK_BETWEEN(elapsed_since(t0), 299, 500);
        CHECK_EQ_INT(err.esp_err, WS_PORT_ESP_ERR_TLS_CONNECTION_TIMEOUT);
        CHECK_EQ_INT(err.sock_errno, ETIMEDOUT);
        CHECK(conn == NULL);
    }
    for (int i = 0; i < n; i++) {
        close(fillers[i]);
    }
    close(s.listen_fd);
}

static void connect_stops_within_100ms_of_abort(void)
{
    server_t s;
    int fillers[16];
    int n = 0;
    bool ready = make_unanswering_listener(&s, fillers, &n);
    CHECK(ready);
    if (ready) {
        volatile bool abort_flag = false;
        ws_port_connect_cfg_t cfg = plain_cfg("127.0.0.1", s.port, 10000);
        cfg.abort = &abort_flag;
        raiser_t r = { &abort_flag, 200 };
        pthread_t th;
        pthread_create(&th, NULL, raise_after, &r);
        ws_port_conn_t *conn = NULL;
        ws_port_error_t err;
        uint32_t t0 = ws_port_now_ms();
        CHECK_EQ_INT(ws_port_connect(&conn, &cfg, &err), WS_PORT_ERR_ABORTED);
        CHECK_BETWEEN(elapsed_since(t0), 190, 200 + WS_PORT_ABORT_CHECK_MS + 60);
        CHECK_EQ_INT(err.sock_errno, ECANCELED);
        CHECK(conn == NULL);
        pthread_join(th, NULL);
        /* A flag that is already set stops the call before it starts. */
        t0 = ws_port_now_ms();
        CHECK_EQ_INT(ws_port_connect(&conn, &cfg, &err), WS_PORT_ERR_ABORTED);
        CHECK_BETWEEN(elapsed_since(t0), 0, 20);
    }
    for (int i = 0; i < n; i++) {
        close(fillers[i]);
    }
    close(s.listen_fd);
}

static void connect_to_unresolvable_name_reports_dns_error(void)
{
    ws_port_connect_cfg_t cfg = plain_cfg("no.such.host.invalid", 80, 5000);
    ws_port_conn_t *conn = NULL;
    ws_port_error_t err;
    int rc = ws_port_connect(&conn, &cfg, &err);
    CHECK_EQ_INT(rc, WS_PORT_ERR_DNS);
    CHECK(conn == NULL);
    CHECK_EQ_INT(err.esp_err, WS_PORT_ESP_ERR_TLS_CANNOT_RESOLVE_HOSTNAME);
    CHECK(err.dns_err != 0);
    CHECK(strcmp(ws_port_strerror(rc), "host name not resolved") == 0);
    fprintf(stderr, "  (resolver said: %s)\n", gai_strerror(err.dns_err));
}

static void connect_rejects_tls_and_bad_arguments(void)
{
    ws_port_tls_cfg_t tls;
    memset(&tls, 0, sizeof(tls));
    tls.skip_verify = true;
    ws_port_connect_cfg_t cfg = plain_cfg("127.0.0.1", 443, 1000);
    cfg.tls = &tls;
    ws_port_conn_t *conn = NULL;
    ws_port_error_t err;
#if !WS_PORT_HAVE_MBEDTLS
    /* Built without mbedTLS: wss:// is refused, not attempted in the clear. */
    CHECK_EQ_INT(ws_port_connect(&conn, &cfg, &err), WS_PORT_ERR_UNSUPPORTED);
    CHECK_EQ_INT(err.esp_err, ESP_ERR_NOT_SUPPORTED);
#endif

    cfg = plain_cfg("127.0.0.1", 80, 0);
    CHECK_EQ_INT(ws_port_connect(&conn, &cfg, &err), WS_PORT_ERR_INVALID_ARG);
    cfg = plain_cfg("127.0.0.1", 0, 1000);
    CHECK_EQ_INT(ws_port_connect(&conn, &cfg, &err), WS_PORT_ERR_INVALID_ARG);
    cfg = plain_cfg(NULL, 80, 1000);
    CHECK_EQ_INT(ws_port_connect(&conn, &cfg, &err), WS_PORT_ERR_INVALID_ARG);
    CHECK_EQ_INT(ws_port_connect(NULL, &cfg, &err), WS_PORT_ERR_INVALID_ARG);
    CHECK_EQ_INT(ws_port_read(NULL, &err, 1, 0), WS_PORT_ERR_INVALID_ARG);
    CHECK_EQ_INT(ws_port_write(NULL, "x", 1, 0), WS_PORT_ERR_INVALID_ARG);
}

/* ------------------------------------------------------------------------------------------ */
/* Time and randomness                                                                         */
/* ------------------------------------------------------------------------------------------ */

static void random_bytes_differ_between_calls(void)
{
    uint8_t a[32], b[32], zero[32];
    memset(zero, 0, sizeof(zero));
    ws_port_random(a, sizeof(a));
    ws_port_random(b, sizeof(b));
    CHECK(memcmp(a, b, sizeof(a)) != 0);
    CHECK(memcmp(a, zero, sizeof(a)) != 0);
    /* Every byte value shows up in a large sample (a stuck bit or constant byte would not). */
    static uint8_t big[1 << 16];
    ws_port_random(big, sizeof(big));
    int seen[256] = { 0 };
    for (size_t i = 0; i < sizeof(big); i++) {
        seen[big[i]]++;
    }
    int values = 0;
    for (int i = 0; i < 256; i++) {
        values += seen[i] > 0;
    }
    CHECK_EQ_INT(values, 256);
}

static void now_ms_is_monotonic_and_tracks_sleep(void)
{
    uint32_t prev = ws_port_now_ms();
    bool never_backwards = true;
    for (int i = 0; i < 100000; i++) {
        uint32_t now = ws_port_now_ms();
        never_backwards = never_backwards && (int32_t)(now - prev) >= 0;
        prev = now;
    }
    CHECK(never_backwards);
    uint32_t t0 = ws_port_now_ms();
    ws_port_sleep_ms(50);
    CHECK_BETWEEN(elapsed_since(t0), 50, 150);
}

/* ------------------------------------------------------------------------------------------ */
/* Tasks, mutex, signal                                                                        */
/* ------------------------------------------------------------------------------------------ */

typedef struct {
    ws_port_task_t *handle;       /* written by ws_port_task_create before the task runs */
    ws_port_signal_t *go;
    atomic_bool self_is;
    char name[32];
    size_t stack;
    atomic_bool done;
} task_probe_t;

static void probe_task(void *arg)
{
    task_probe_t *p = arg;
    atomic_store(&p->self_is, ws_port_task_self_is(p->handle));
    pthread_getname_np(pthread_self(), p->name, sizeof(p->name));
    pthread_attr_t attr;
    pthread_getattr_np(pthread_self(), &attr);
    pthread_attr_getstacksize(&attr, &p->stack);
    pthread_attr_destroy(&attr);
    if (p->go != NULL) {
        ws_port_signal_wait(p->go, WS_PORT_WAIT_FOREVER);
    }
    atomic_store(&p->done, true);
}

static void task_knows_itself_and_gets_name_and_stack(void)
{
    task_probe_t p;
    memset(&p, 0, sizeof(p));
    CHECK_EQ_INT(ws_port_signal_create(&p.go), 0);
    ws_port_task_cfg_t cfg = { .name = "websocket_task_with_a_long_name", .stack_bytes = 1u << 20,
                               .priority = 5, .core = -1 };
    CHECK_EQ_INT(ws_port_task_create(&p.handle, &cfg, probe_task, &p), 0);
    CHECK(!ws_port_task_self_is(p.handle));           /* the creator is not the task */
    CHECK(!ws_port_task_self_is(NULL));
    /* Still blocked on `go`: a bounded join times out and leaves the handle usable. */
    uint32_t t0 = ws_port_now_ms();
    CHECK_EQ_INT(ws_port_task_join(p.handle, 100), WS_PORT_ERR_TIMEOUT);
    CHECK_BETWEEN(elapsed_since(t0), 99, 300);
    CHECK(!atomic_load(&p.done));
    ws_port_signal_raise(p.go);
    CHECK_EQ_INT(ws_port_task_join(p.handle, 2000), 0);
    CHECK(atomic_load(&p.done));
    CHECK(atomic_load(&p.self_is));
    CHECK(strcmp(p.name, "websocket_task_") == 0);    /* 15 characters */
    CHECK(p.stack >= (1u << 20));

    /* A small MCU-sized stack is raised to the host minimum. */
    task_probe_t q;
    memset(&q, 0, sizeof(q));
    ws_port_task_cfg_t small = { .name = NULL, .stack_bytes = 4096, .priority = 5, .core = 0 };
    CHECK_EQ_INT(ws_port_task_create(&q.handle, &small, probe_task, &q), 0);
    CHECK_EQ_INT(ws_port_task_join(q.handle, 2000), 0);
    CHECK(q.stack >= WS_PORT_POSIX_MIN_STACK);
    CHECK(strcmp(q.name, "ws_task") == 0);
    ws_port_signal_destroy(p.go);
}

static void self_join(void *arg)
{
    task_probe_t *p = arg;
    atomic_store(&p->self_is, ws_port_task_join(p->handle, 0) == WS_PORT_ERR_INVALID_ARG);
}

static void task_cannot_join_itself(void)
{
    task_probe_t p;
    memset(&p, 0, sizeof(p));
    ws_port_task_cfg_t cfg = { .name = "selfjoin", .stack_bytes = 0, .priority = 1, .core = -1 };
    CHECK_EQ_INT(ws_port_task_create(&p.handle, &cfg, self_join, &p), 0);
    CHECK_EQ_INT(ws_port_task_join(p.handle, 2000), 0);
    CHECK(atomic_load(&p.self_is));
    CHECK_EQ_INT(ws_port_task_join(NULL, 0), WS_PORT_ERR_INVALID_ARG);
}

static void self_detach(void *arg)
{
    task_probe_t *p = arg;
    ws_port_task_detach(p->handle);        /* as destroy_on_exit does */
    atomic_store(&p->done, true);
}

static void detached_tasks_free_themselves(void)
{
    /* Run under ASan/LSan: a handle that is never freed shows up as a leak. */
    task_probe_t p;
    memset(&p, 0, sizeof(p));
    ws_port_task_cfg_t cfg = { .name = "detach", .stack_bytes = 0, .priority = 1, .core = -1 };
    CHECK_EQ_INT(ws_port_task_create(&p.handle, &cfg, self_detach, &p), 0);
    task_probe_t q;
    memset(&q, 0, sizeof(q));
    CHECK_EQ_INT(ws_port_signal_create(&q.go), 0);
    CHECK_EQ_INT(ws_port_task_create(&q.handle, &cfg, probe_task, &q), 0);
    ws_port_task_detach(q.handle);         /* from outside, while it runs */
    ws_port_signal_raise(q.go);
    for (int i = 0; i < 200 && !(atomic_load(&p.done) && atomic_load(&q.done)); i++) {
        ws_port_sleep_ms(5);
    }
    CHECK(atomic_load(&p.done));
    CHECK(atomic_load(&q.done));
    ws_port_sleep_ms(20);                  /* let both threads finish freeing */
    ws_port_signal_destroy(q.go);
}

typedef struct {
    ws_port_mutex_t *m;
    int rc;
    uint32_t waited;
} locker_t;

static void *try_lock_for_100ms(void *arg)
{
    locker_t *l = arg;
    uint32_t t0 = ws_port_now_ms();
    l->rc = ws_port_mutex_lock(l->m, 100);
    l->waited = elapsed_since(t0);
    if (l->rc == 0) {
        ws_port_mutex_unlock(l->m);
    }
    return NULL;
}

static void mutex_lock_times_out_while_held_and_succeeds_when_free(void)
{
    ws_port_mutex_t *m = NULL;
    CHECK_EQ_INT(ws_port_mutex_create(&m), 0);
    CHECK_EQ_INT(ws_port_mutex_lock(m, WS_PORT_WAIT_FOREVER), 0);
    CHECK_EQ_INT(ws_port_mutex_lock(m, 0), WS_PORT_ERR_INVALID_ARG);   /* not recursive */

    locker_t l = { m, 1, 0 };
    pthread_t th;
    pthread_create(&th, NULL, try_lock_for_100ms, &l);
    pthread_join(th, NULL);
    CHECK_EQ_INT(l.rc, WS_PORT_ERR_TIMEOUT);
    CHECK_BETWEEN(l.waited, 99, 300);

    ws_port_mutex_unlock(m);
    l.rc = 1;
    pthread_create(&th, NULL, try_lock_for_100ms, &l);
    pthread_join(th, NULL);
    CHECK_EQ_INT(l.rc, 0);
    CHECK_BETWEEN(l.waited, 0, 50);
    CHECK_EQ_INT(ws_port_mutex_lock(m, 0), 0);
    ws_port_mutex_unlock(m);
    ws_port_mutex_destroy(m);
}

/* Contention: threads taking the lock with and without a bound must each get it every time,
 * never two at once, and an unlock must wake a thread blocked in the wait (a lost wake-up hangs
 * the waiter, which the time bound below catches). */
enum { CONTENDERS = 3, ROUNDS = 20000 };

typedef struct {
    ws_port_mutex_t *m;
    atomic_int inside;            /* holders at this moment: more than 1 breaks exclusion */
    atomic_int overlaps;
    atomic_int failures;          /* lock calls that did not return 0 */
    long counter;                 /* plain: only ever touched under the lock */
} contention_t;

static void *contend(void *arg)
{
    contention_t *t = arg;
    for (int i = 0; i < ROUNDS; i++) {
        int rc = ws_port_mutex_lock(t->m, (i & 1) != 0 ? 2000 : WS_PORT_WAIT_FOREVER);
        if (rc != 0) {
            atomic_fetch_add(&t->failures, 1);
            continue;
        }
        if (atomic_fetch_add(&t->inside, 1) != 0) {
            atomic_fetch_add(&t->overlaps, 1);
        }
        long v = t->counter;
        if ((i & 63) == 0) {
            sched_yield();            /* widen the window a second holder would need */
        }
        t->counter = v + 1;
        atomic_fetch_sub(&t->inside, 1);
        ws_port_mutex_unlock(t->m);
    }
    return NULL;
}

typedef struct {
    ws_port_mutex_t *m;
    atomic_bool released;         /* set by the holder just before it unlocks */
    atomic_int rc;                /* 1 until the waiter's lock call returns */
    atomic_bool saw_released;     /* what the waiter saw once it held the lock */
} lock_waiter_t;

static void *lock_forever_then_unlock(void *arg)
{
    lock_waiter_t *w = arg;
    int rc = ws_port_mutex_lock(w->m, WS_PORT_WAIT_FOREVER);
    atomic_store(&w->saw_released, atomic_load(&w->released));
    atomic_store(&w->rc, rc);
    if (rc == 0) {
        ws_port_mutex_unlock(w->m);
    }
    return NULL;
}

static void mutex_excludes_under_contention_and_unlock_wakes_a_waiter(void)
{
    contention_t t;
    memset(&t, 0, sizeof(t));
    CHECK_EQ_INT(ws_port_mutex_create(&t.m), 0);
    pthread_t th[CONTENDERS];
    for (int i = 0; i < CONTENDERS; i++) {
        pthread_create(&th[i], NULL, contend, &t);
    }
    for (int i = 0; i < CONTENDERS; i++) {
        pthread_join(th[i], NULL);
    }
    CHECK_EQ_INT(atomic_load(&t.failures), 0);
    CHECK_EQ_INT(atomic_load(&t.overlaps), 0);
    CHECK(t.counter == (long)CONTENDERS * ROUNDS);

    /* A waiter blocked without a bound gets the lock once it is released, not before. */
    CHECK_EQ_INT(ws_port_mutex_lock(t.m, WS_PORT_WAIT_FOREVER), 0);
    lock_waiter_t wt = { .m = t.m, .released = false, .rc = 1, .saw_released = false };
    pthread_t w;
    pthread_create(&w, NULL, lock_forever_then_unlock, &wt);
    ws_port_sleep_ms(60);
    CHECK_EQ_INT(atomic_load(&wt.rc), 1);                                /* blocked while held */
    CHECK_EQ_INT(ws_port_mutex_lock(t.m, 0), WS_PORT_ERR_INVALID_ARG);   /* still ours */
    atomic_store(&wt.released, true);
    ws_port_mutex_unlock(t.m);
    pthread_join(w, NULL);
    CHECK_EQ_INT(atomic_load(&wt.rc), 0);
    CHECK(atomic_load(&wt.saw_released));
    CHECK_EQ_INT(ws_port_mutex_lock(t.m, 0), 0);                        /* the waiter released it */
    ws_port_mutex_unlock(t.m);
    ws_port_mutex_destroy(t.m);
}

typedef struct {
    ws_port_signal_t *sig;
    bool result;
    uint32_t waited;
} waiter_t;

static void wait_up_to_5s(void *arg)
{
    waiter_t *w = arg;
    uint32_t t0 = ws_port_now_ms();
    w->result = ws_port_signal_wait(w->sig, 5000);
    w->waited = elapsed_since(t0);
}

static void signal_wakes_a_waiting_task_early(void)
{
    waiter_t w = { NULL, false, 0 };
    CHECK_EQ_INT(ws_port_signal_create(&w.sig), 0);
    ws_port_task_t *t = NULL;
    ws_port_task_cfg_t cfg = { .name = "waiter", .stack_bytes = 0, .priority = 1, .core = -1 };
    CHECK_EQ_INT(ws_port_task_create(&t, &cfg, wait_up_to_5s, &w), 0);
    ws_port_sleep_ms(50);
    ws_port_signal_raise(w.sig);
    CHECK_EQ_INT(ws_port_task_join(t, 2000), 0);
    CHECK(w.result);
    CHECK_BETWEEN(w.waited, 45, 1000);
    ws_port_signal_destroy(w.sig);
}

static void signal_wait_times_out_without_raise(void)
{
    ws_port_signal_t *sig = NULL;
    CHECK_EQ_INT(ws_port_signal_create(&sig), 0);
    uint32_t t0 = ws_port_now_ms();
    CHECK(!ws_port_signal_wait(sig, 100));
    CHECK_BETWEEN(elapsed_since(t0), 99, 300);
    CHECK(!ws_port_signal_wait(sig, 0));
    /* A raise with nobody waiting is remembered; several count as one. */
    ws_port_signal_raise(sig);
    ws_port_signal_raise(sig);
    CHECK(ws_port_signal_wait(sig, 0));
    CHECK(!ws_port_signal_wait(sig, 0));
    ws_port_signal_destroy(sig);
}

/* The port's waits sleep on a fixed table of shared condition variables (64 on POSIX): with 200
 * signals each one is shared, and a raise of the others must not end a wait on one not raised. */
static void signal_wait_ignores_raises_of_other_signals(void)
{
    enum { N = 200 };
    ws_port_signal_t *sigs[N];
    for (int i = 0; i < N; i++) {
        CHECK_EQ_INT(ws_port_signal_create(&sigs[i]), 0);
    }
    waiter_t w = { sigs[0], false, 0 };
    ws_port_task_t *t = NULL;
    ws_port_task_cfg_t cfg = { .name = "waiter", .stack_bytes = 0, .priority = 1, .core = -1 };
    CHECK_EQ_INT(ws_port_task_create(&t, &cfg, wait_up_to_5s, &w), 0);
    ws_port_sleep_ms(50);
    for (int i = 1; i < N; i++) {
        ws_port_signal_raise(sigs[i]);
    }
    ws_port_sleep_ms(50);
    CHECK_EQ_INT(ws_port_task_join(t, 0), WS_PORT_ERR_TIMEOUT);   /* still waiting */
    ws_port_signal_raise(sigs[0]);
    CHECK_EQ_INT(ws_port_task_join(t, 2000), 0);
    CHECK(w.result);
    CHECK_BETWEEN(w.waited, 95, 1500);
    for (int i = 1; i < N; i++) {
        CHECK(ws_port_signal_wait(sigs[i], 0));                    /* each raise was kept */
    }
    for (int i = 0; i < N; i++) {
        ws_port_signal_destroy(sigs[i]);
    }
}

int main(void)
{
    RUN(connect_read_write_over_ipv4_loopback);
    RUN(connect_read_write_over_ipv6_loopback);
    RUN(connect_resolves_a_host_name);
    RUN(read_timeout_returns_zero_within_bounds);
    RUN(read_returns_available_bytes_without_waiting);
    RUN(eof_is_reported_after_peer_close_and_repeats);
    RUN(write_sends_every_byte_of_a_large_buffer);
    RUN(write_more_pieces_then_write_arrive_whole_and_in_order);
    RUN(write_timeout_distinguishes_no_progress_from_partial);
    RUN(read_and_write_stop_within_100ms_of_abort);
    RUN(connect_to_closed_port_fails_with_econnrefused);
    RUN(connect_to_unanswering_address_returns_at_its_timeout);
    RUN(connect_stops_within_100ms_of_abort);
    RUN(connect_to_unresolvable_name_reports_dns_error);
    RUN(connect_rejects_tls_and_bad_arguments);
    RUN(random_bytes_differ_between_calls);
    RUN(now_ms_is_monotonic_and_tracks_sleep);
    RUN(task_knows_itself_and_gets_name_and_stack);
    RUN(task_cannot_join_itself);
    RUN(detached_tasks_free_themselves);
    RUN(mutex_lock_times_out_while_held_and_succeeds_when_free);
    RUN(mutex_excludes_under_contention_and_unlock_wakes_a_waiter);
    RUN(signal_wakes_a_waiting_task_early);
    RUN(signal_wait_times_out_without_raise);
    RUN(signal_wait_ignores_raises_of_other_signals);
    return check_finish();
}
