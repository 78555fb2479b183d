/*
 * integ_util.c - see integ_util.h.
 */
#define _GNU_SOURCE 1   /* pipe2 */
#include "integ_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---------------------------------------------------------------------------------------- */
/* Checks and cases                                                                          */
/* ---------------------------------------------------------------------------------------- */

static int g_failures;      /* failed checks in the whole run */
static int g_cases_failed;
static int g_cases;
static const char *g_prog = "integ";

bool integ_check(bool ok, const char *file, int line, const char *expr, const char *fmt, ...)
{
    if (ok) {
        return true;
    }
    __atomic_add_fetch(&g_failures, 1, __ATOMIC_SEQ_CST);
    const char *base = strrchr(file, '/');
    fprintf(stderr, "  CHECK FAILED %s:%d: %s", base ? base + 1 : file, line, expr);
    if (fmt && fmt[0] == ' ') {
        fmt++;   /* the separator CHECK() pastes in front */
    }
    if (fmt && fmt[0]) {
        va_list ap;
        va_start(ap, fmt);
        fputs(" -- ", stderr);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
    fflush(stderr);
    return false;
}

static void on_watchdog(int sig)
{
    (void)sig;
    static const char msg[] = "integ watchdog: the test ran past its time limit, aborting\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)w;
    _exit(3);
}

void integ_init(int argc, char **argv, int watchdog_s)
{
    (void)argc;
    if (argv && argv[0]) {
        const char *b = strrchr(argv[0], '/');
        g_prog = b ? b + 1 : argv[0];
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_watchdog);
    alarm((unsigned)watchdog_s);
#ifdef INTEG_REPO_ROOT
    if (chdir(INTEG_REPO_ROOT) != 0) {
        fprintf(stderr, "cannot chdir to %s: %s\n", INTEG_REPO_ROOT, strerror(errno));
    }
#endif
    setvbuf(stdout, NULL, _IOLBF, 0);
}

void integ_run_case(const char *name, void (*fn)(void))
{
    int before = __atomic_load_n(&g_failures, __ATOMIC_SEQ_CST);
    printf("[ RUN  ] %s\n", name);
    int64_t t0 = integ_now_ms();
    fn();
    int64_t dt = integ_now_ms() - t0;
    bool ok = __atomic_load_n(&g_failures, __ATOMIC_SEQ_CST) == before;
    g_cases++;
    if (!ok) {
        g_cases_failed++;
    }
    printf("[ %s ] %s (%lld ms)\n", ok ? " OK " : "FAIL", name, (long long)dt);
}

int integ_finish(void)
{
    printf("%s: %d cases, %d passed, %d failed (%d failed checks)\n", g_prog, g_cases,
           g_cases - g_cases_failed, g_cases_failed, g_failures);
    return g_failures ? 1 : 0;
}

int64_t integ_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void integ_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Absolute CLOCK_REALTIME deadline for pthread_cond_timedwait (the condvars use the default clock). */
static struct timespec deadline_in(int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static void cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_REALTIME);
    pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
}

/* ---------------------------------------------------------------------------------------- */
/* Test servers                                                                              */
/* ---------------------------------------------------------------------------------------- */

static void server_push_line(integ_server_t *s, const char *line, size_t len)
{
    char *copy = malloc(len + 1);
    if (!copy) {
        return;
    }
    memcpy(copy, line, len);
    copy[len] = '\0';
    if (getenv("INTEG_VERBOSE")) {
        fprintf(stderr, "    [%s] %s\n", s->name, copy);
    }
    pthread_mutex_lock(&s->mu);
    if (s->n_lines == s->cap_lines) {
        size_t cap = s->cap_lines ? s->cap_lines * 2 : 64;
        char **nl = realloc(s->lines, cap * sizeof(*nl));
        bool *nt = nl ? realloc(s->taken, cap * sizeof(*nt)) : NULL;
        if (!nl || !nt) {
            if (nl) {
                s->lines = nl;
            }
            pthread_mutex_unlock(&s->mu);
            free(copy);
            return;
        }
        s->lines = nl;
        s->taken = nt;
        s->cap_lines = cap;
    }
    s->lines[s->n_lines] = copy;
    s->taken[s->n_lines] = false;
    s->n_lines++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Drains the server's stdout so it never blocks on a full pipe, splitting it into lines. */
static void *server_reader(void *arg)
{
    integ_server_t *s = arg;
    char buf[4096];
    char line[16384];   /* request lines of the hostile tests can be long */
    size_t ll = 0;
    for (;;) {
        ssize_t n = read(s->stdout_fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n') {
                server_push_line(s, line, ll);
                ll = 0;
            } else if (ll < sizeof(line) - 1) {
                line[ll++] = buf[i];
            }
        }
    }
    if (ll) {
        server_push_line(s, line, ll);
    }
    pthread_mutex_lock(&s->mu);
    s->eof = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static const char *const *server_argv(integ_server_kind_t kind, const char **name)
{
    static const char *const ws[] = { "node", "--import", "tsx", "tests/servers/ws_server.ts", NULL };
    static const char *const raw[] = { "node", "--import", "tsx", "tests/servers/raw_server.ts", NULL };
    static const char *const py[] = { "/usr/bin/python3", "tests/servers/py_echo.py", NULL };
    static const char *const hostile[] = { "node", "--import", "tsx", "tests/servers/hostile_server.ts", NULL };
#ifdef INTEG_LWS_ECHO
    static const char *const lws[] = { INTEG_LWS_ECHO, NULL };
#else
    static const char *const lws[] = { "lws_echo", NULL };
#endif
    switch (kind) {
    case INTEG_SRV_WS:
        *name = "ws";
        return ws;
    case INTEG_SRV_RAW:
        *name = "raw";
        return raw;
    case INTEG_SRV_PY:
        *name = "py";
        return py;
    case INTEG_SRV_LWS:
        *name = "lws";
        return lws;
    case INTEG_SRV_HOSTILE:
        *name = "hostile";
        return hostile;
    }
    *name = "?";
    return NULL;
}

static bool line_has_prefix(const char *line, const char *prefix)
{
    return strncmp(line, prefix, strlen(prefix)) == 0;
}

bool integ_server_start(integ_server_t *s, integ_server_kind_t kind)
{
    memset(s, 0, sizeof(*s));
    s->pid = -1;
    s->stdin_fd = -1;
    s->stdout_fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    cond_init(&s->cv);
    const char *const *argv = server_argv(kind, &s->name);

    int in_pipe[2], out_pipe[2];
    if (pipe2(in_pipe, O_CLOEXEC) != 0) {
        CHECK(false, "pipe2: %s", strerror(errno));
        return false;
    }
    if (pipe2(out_pipe, O_CLOEXEC) != 0) {
        close(in_pipe[0]);
        close(in_pipe[1]);
        CHECK(false, "pipe2: %s", strerror(errno));
        return false;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_pipe[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], STDOUT_FILENO);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in_pipe[0]);
    close(out_pipe[1]);
    if (rc != 0) {
        close(in_pipe[1]);
        close(out_pipe[0]);
        CHECK(false, "cannot spawn %s: %s", argv[0], strerror(rc));
        return false;
    }
    s->pid = pid;
    s->stdin_fd = in_pipe[1];
    s->stdout_fd = out_pipe[0];
    if (pthread_create(&s->reader, NULL, server_reader, s) != 0) {
        integ_server_stop(s);
        CHECK(false, "cannot start the reader thread");
        return false;
    }
    s->reader_started = true;

    char line[64];
    if (!integ_server_wait_line(s, "PORT ", line, sizeof(line), 20000)) {
        CHECK(false, "server %s printed no PORT line within 20 s", s->name);
        integ_server_stop(s);
        return false;
    }
    s->port = atoi(line + 5);
    if (!CHECK(s->port > 0 && s->port < 65536, "server %s: bad line '%s'", s->name, line)) {
        integ_server_stop(s);
        return false;
    }
    return true;
}

bool integ_server_wait_line(integ_server_t *s, const char *prefix, char *out, size_t cap, int timeout_ms)
{
    struct timespec dl = deadline_in(timeout_ms);
    bool found = false;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        for (size_t i = 0; i < s->n_lines; i++) {
            if (!s->taken[i] && line_has_prefix(s->lines[i], prefix)) {
                s->taken[i] = true;
                if (out && cap) {
                    snprintf(out, cap, "%s", s->lines[i]);
                }
                found = true;
                break;
            }
        }
        if (found || s->eof) {
            break;
        }
        if (pthread_cond_timedwait(&s->cv, &s->mu, &dl) == ETIMEDOUT) {
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return found;
}

void integ_server_drain(integ_server_t *s)
{
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n_lines; i++) {
        s->taken[i] = true;
    }
    pthread_mutex_unlock(&s->mu);
}

void integ_server_forget_lines(integ_server_t *s)
{
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n_lines; i++) {
        free(s->lines[i]);
    }
    free(s->lines);
    free(s->taken);
    s->lines = NULL;
    s->taken = NULL;
    s->n_lines = s->cap_lines = 0;
    pthread_mutex_unlock(&s->mu);
}

int integ_server_count_lines(integ_server_t *s, const char *prefix)
{
    int n = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n_lines; i++) {
        if (line_has_prefix(s->lines[i], prefix)) {
            n++;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

void integ_server_uri(const integ_server_t *s, const char *path, char *out, size_t cap)
{
    snprintf(out, cap, "ws://127.0.0.1:%d%s", s->port, path);
}

/* Waits up to ms for the child to exit; true if it was reaped. */
static bool reap_within(pid_t pid, int ms)
{
    int64_t end = integ_now_ms() + ms;
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD)) {
            return true;
        }
        if (integ_now_ms() >= end) {
            return false;
        }
        integ_sleep_ms(10);
    }
}

void integ_server_stop(integ_server_t *s)
{
    if (s->stdin_fd >= 0) {
        close(s->stdin_fd);
        s->stdin_fd = -1;
    }
    if (s->pid > 0) {
        if (!reap_within(s->pid, 1500)) {
            kill(s->pid, SIGTERM);
            if (!reap_within(s->pid, 1000)) {
                kill(s->pid, SIGKILL);
                reap_within(s->pid, 1000);
            }
        }
        s->pid = -1;
    }
    if (s->reader_started) {
        pthread_join(s->reader, NULL);
        s->reader_started = false;
    }
    if (s->stdout_fd >= 0) {
        close(s->stdout_fd);
        s->stdout_fd = -1;
    }
    for (size_t i = 0; i < s->n_lines; i++) {
        free(s->lines[i]);
    }
    free(s->lines);
    free(s->taken);
    s->lines = NULL;
    s->taken = NULL;
    s->n_lines = s->cap_lines = 0;
}

int integ_unused_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof(a);
    int port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &al) == 0) {
        port = ntohs(a.sin_port);
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}

/* ---------------------------------------------------------------------------------------- */
/* Event recorder                                                                            */
/* ---------------------------------------------------------------------------------------- */

const char *integ_event_name(int32_t id)
{
    switch (id) {
    case WEBSOCKET_EVENT_ANY: return "ANY";
    case WEBSOCKET_EVENT_ERROR: return "ERROR";
#if WS_TRANSPORT_HEADER_CALLBACK_SUPPORT
    case WEBSOCKET_EVENT_HEADER_RECEIVED: return "HEADER_RECEIVED";
#endif
    case WEBSOCKET_EVENT_CONNECTED: return "CONNECTED";
    case WEBSOCKET_EVENT_DISCONNECTED: return "DISCONNECTED";
    case WEBSOCKET_EVENT_DATA: return "DATA";
    case WEBSOCKET_EVENT_CLOSED: return "CLOSED";
    case WEBSOCKET_EVENT_BEFORE_CONNECT: return "BEFORE_CONNECT";
    case WEBSOCKET_EVENT_BEGIN: return "BEGIN";
    case WEBSOCKET_EVENT_FINISH: return "FINISH";
    default: return "?";
    }
}

void integ_rec_init(integ_rec_t *r, int max_msgs)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    cond_init(&r->cv);
    r->cap_msgs = max_msgs > 0 ? max_msgs : 256;
    r->msgs = calloc((size_t)r->cap_msgs, sizeof(*r->msgs));
}

void integ_rec_free(integ_rec_t *r)
{
    for (int i = 0; i < r->n_msgs; i++) {
        free(r->msgs[i].data);
    }
    free(r->msgs);
    free(r->acc);
    for (int i = 0; i < r->n_headers; i++) {
        free(r->headers[i]);
    }
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    memset(r, 0, sizeof(*r));
}

static void reasm_error(integ_rec_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reasm_error(integ_rec_t *r, const char *fmt, ...)
{
    if (r->reasm_errors++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->first_reasm_error, sizeof(r->first_reasm_error), fmt, ap);
        va_end(ap);
    }
}

static bool acc_append(integ_rec_t *r, const char *p, size_t n)
{
    if (r->acc_len + n + 1 > r->acc_cap) {
        size_t cap = r->acc_cap ? r->acc_cap : 1024;
        while (cap < r->acc_len + n + 1) {
            cap *= 2;
        }
        unsigned char *na = realloc(r->acc, cap);
        if (!na) {
            return false;
        }
        r->acc = na;
        r->acc_cap = cap;
    }
    if (n) {
        memcpy(r->acc + r->acc_len, p, n);
    }
    r->acc_len += n;
    return true;
}

/* One DATA event, with the recorder locked. Enforces the chunk contract:
 *  - control frames (opcode >= 8) come whole: offset 0, data_len == payload_len <= 125;
 *  - a frame's chunks come in order: offset == bytes of the frame so far, same payload_len and
 *    opcode on every chunk, data_len <= chunk_cap (buffer_size) when set, and every chunk but the
 *    frame's last has the same length (the client's chunk size, as 1.8.0's buffer_size chunks);
 *  - a message starts with TEXT/BINARY and continues with CONT (opcode 0) frames; it ends with the
 *    last chunk of a frame with FIN. */
static void on_data(integ_rec_t *r, const esp_websocket_event_data_t *d, const integ_msg_t **done)
{
    int op = d->op_code;
    *done = NULL;
    r->data_chunks++;
    if (d->data_len > r->max_chunk) {
        r->max_chunk = d->data_len;
    }
    if (d->data_len < 0 || (d->data_len > 0 && !d->data_ptr)) {
        reasm_error(r, "DATA with data_len %d and data_ptr %p", d->data_len, (const void *)d->data_ptr);
        return;
    }
    if (r->chunk_cap > 0 && d->data_len > r->chunk_cap) {
        reasm_error(r, "DATA chunk of %d bytes is larger than buffer_size %d", d->data_len, r->chunk_cap);
    }
    if (op >= 8) {
        if (d->payload_offset != 0 || d->data_len != d->payload_len || d->data_len > 125 || !d->fin) {
            reasm_error(r, "control frame op %d not whole: offset %d data_len %d payload_len %d fin %d", op,
                        d->payload_offset, d->data_len, d->payload_len, d->fin);
        }
        if (r->n_ctrl < INTEG_CTRL_CAP) {
            integ_ctrl_t *c = &r->ctrl[r->n_ctrl++];
            c->opcode = op;
            c->len = d->data_len > 125 ? 125 : d->data_len;
            if (c->len > 0) {
                memcpy(c->data, d->data_ptr, (size_t)c->len);
            }
            c->data[c->len] = 0;
        }
        return;
    }
    if (op != 0 && op != 1 && op != 2) {
        reasm_error(r, "DATA with reserved opcode %d", op);
        return;
    }
    if (!r->in_frame) {
        /* First chunk of a frame. */
        if (d->payload_offset != 0) {
            reasm_error(r, "frame starts at offset %d", d->payload_offset);
        }
        if (op != 0) {
            if (r->in_msg) {
                reasm_error(r, "new message (op %d) while a fragmented one is unfinished", op);
            }
            r->in_msg = true;
            r->msg_opcode = op;
            r->acc_len = 0;
            r->acc_frames = 0;
            r->acc_chunks = 0;
        } else if (!r->in_msg) {
            reasm_error(r, "continuation frame with no message in progress");
            r->in_msg = true;
            r->msg_opcode = 0;
            r->acc_len = 0;
            r->acc_frames = 0;
            r->acc_chunks = 0;
        }
        r->in_frame = true;
        r->frame_opcode = op;
        r->frame_fin = d->fin;
        r->frame_len = d->payload_len;
        r->frame_got = 0;
        r->frame_chunk = d->data_len < d->payload_len ? d->data_len : 0;
        r->acc_frames++;
    } else {
        bool last = d->payload_offset + d->data_len == d->payload_len;
        if (last ? d->data_len > r->frame_chunk : d->data_len != r->frame_chunk) {
            reasm_error(r, "chunk of %d bytes at offset %d of %d: chunks before a frame's last must all have "
                        "the first chunk's length %d (the last may be shorter)",
                        d->data_len, d->payload_offset, d->payload_len, r->frame_chunk);
        }
        if (op != r->frame_opcode || d->payload_len != r->frame_len || d->payload_offset != r->frame_got ||
            (int)d->fin != r->frame_fin) {
            reasm_error(r,
                        "chunk breaks its frame: op %d/%d payload_len %d/%ld offset %d/%ld fin %d/%d "
                        "(got/expected)",
                        op, r->frame_opcode, d->payload_len, r->frame_len, d->payload_offset, r->frame_got, d->fin,
                        r->frame_fin);
        }
    }
    r->acc_chunks++;
    if (!acc_append(r, d->data_ptr, (size_t)d->data_len)) {
        reasm_error(r, "out of memory");
        return;
    }
    r->frame_got += d->data_len;
    if (r->frame_got > r->frame_len) {
        reasm_error(r, "frame got %ld bytes, payload_len %ld", r->frame_got, r->frame_len);
    }
    if (r->frame_got < r->frame_len) {
        return;
    }
    r->in_frame = false;
    if (!r->frame_fin) {
        return;
    }
    r->in_msg = false;
    if (r->n_msgs >= r->cap_msgs) {
        reasm_error(r, "more than %d messages", r->cap_msgs);
        return;
    }
    integ_msg_t *m = &r->msgs[r->n_msgs];
    m->opcode = r->msg_opcode;
    m->len = r->acc_len;
    m->data = malloc(r->acc_len + 1);
    if (!m->data) {
        reasm_error(r, "out of memory");
        return;
    }
    if (r->acc_len) {
        memcpy(m->data, r->acc, r->acc_len);
    }
    m->data[r->acc_len] = 0;
    m->frames = r->acc_frames;
    m->chunks = r->acc_chunks;
    r->n_msgs++;
    *done = m;
}

void integ_rec_handler(void *arg, esp_event_base_t base, int32_t event_id, void *event_data)
{
    (void)base;
    integ_rec_t *r = arg;
    const esp_websocket_event_data_t *d = event_data;
    const integ_msg_t *done = NULL;
    pthread_mutex_lock(&r->mu);
    if (event_id >= 0 && event_id < INTEG_EVENT_SLOTS) {
        r->counts[event_id]++;
    }
    if (d && (d->client != r->client || d->user_context != r->user_context)) {
        r->ctx_mismatch++;
    }
    if (event_id == WEBSOCKET_EVENT_DATA) {
        if (d) {
            on_data(r, d, &done);
        } else {
            reasm_error(r, "DATA event without event data");
        }
    } else if (r->n_log < INTEG_LOG_CAP) {
        integ_event_log_t *l = &r->log[r->n_log++];
        l->id = event_id;
        l->t_ms = integ_now_ms();
        if (d) {
            l->error_handle = d->error_handle;
            l->close_status_code = d->close_status_code;
        }
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (getenv("INTEG_VERBOSE") && event_id != WEBSOCKET_EVENT_DATA) {
        fprintf(stderr, "    event %s", integ_event_name(event_id));
        if (d && event_id == WEBSOCKET_EVENT_ERROR) {
            fprintf(stderr, " type %d hs %d errno %d '%.*s'", d->error_handle.error_type,
                    d->error_handle.esp_ws_handshake_status_code, d->error_handle.esp_transport_sock_errno,
                    d->data_len > 0 ? d->data_len : 0, d->data_ptr ? d->data_ptr : "");
        }
        if (d && event_id == WEBSOCKET_EVENT_CLOSED) {
            fprintf(stderr, " code %d", d->close_status_code);
        }
        fputc('\n', stderr);
    }
    if (done && r->on_msg) {
        r->on_msg(r, done);
    }
}

void integ_header_cb(void *ctx, const char *line, int len)
{
    integ_rec_t *r = ctx;
    pthread_mutex_lock(&r->mu);
    if (r->n_headers < INTEG_HDR_CAP && len >= 0) {
        char *c = malloc((size_t)len + 1);
        if (c) {
            memcpy(c, line, (size_t)len);
            c[len] = 0;
            r->headers[r->n_headers++] = c;
        }
    }
    if (r->counts[WEBSOCKET_EVENT_CONNECTED] > r->counts[WEBSOCKET_EVENT_DISCONNECTED] +
                                                   r->counts[WEBSOCKET_EVENT_CLOSED]) {
        /* A header line while a connection is up (not between attempts): it came after CONNECTED. */
        r->headers_after_connected++;
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

esp_websocket_client_handle_t integ_client_new(integ_rec_t *r, const esp_websocket_client_config_t *cfg)
{
    esp_websocket_client_handle_t c = esp_websocket_client_init(cfg);
    if (!CHECK(c != NULL, "esp_websocket_client_init failed for uri %s", cfg->uri ? cfg->uri : "(null)")) {
        return NULL;
    }
    pthread_mutex_lock(&r->mu);
    r->client = c;
    r->user_context = cfg->user_context;
    r->chunk_cap = cfg->buffer_size > 0 ? cfg->buffer_size : 1024;
    pthread_mutex_unlock(&r->mu);
    esp_err_t err = esp_websocket_register_events(c, WEBSOCKET_EVENT_ANY, integ_rec_handler, r);
    CHECK(err == ESP_OK, "register_events: %d", err);
    return c;
}

/* Waits until pred(r, a, b) holds; r->mu is held while pred runs. */
static bool rec_wait(integ_rec_t *r, bool (*pred)(integ_rec_t *, int, int), int a, int b, int timeout_ms)
{
    struct timespec dl = deadline_in(timeout_ms);
    bool ok;
    pthread_mutex_lock(&r->mu);
    while (!(ok = pred(r, a, b))) {
        if (pthread_cond_timedwait(&r->cv, &r->mu, &dl) == ETIMEDOUT) {
            ok = pred(r, a, b);
            break;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return ok;
}

static bool pred_event(integ_rec_t *r, int id, int n)
{
    return id >= 0 && id < INTEG_EVENT_SLOTS && r->counts[id] >= n;
}

static bool pred_msgs(integ_rec_t *r, int n, int unused)
{
    (void)unused;
    return r->n_msgs >= n;
}

static int ctrl_count_locked(integ_rec_t *r, int opcode)
{
    int n = 0;
    for (int i = 0; i < r->n_ctrl; i++) {
        if (r->ctrl[i].opcode == opcode) {
            n++;
        }
    }
    return n;
}

static bool pred_ctrl(integ_rec_t *r, int opcode, int n)
{
    return ctrl_count_locked(r, opcode) >= n;
}

static bool pred_headers(integ_rec_t *r, int n, int unused)
{
    (void)unused;
    return r->n_headers >= n;
}

bool integ_rec_wait_event(integ_rec_t *r, int32_t id, int n, int timeout_ms)
{
    return rec_wait(r, pred_event, id, n, timeout_ms);
}

bool integ_rec_wait_msgs(integ_rec_t *r, int n, int timeout_ms)
{
    return rec_wait(r, pred_msgs, n, 0, timeout_ms);
}

bool integ_rec_wait_ctrl(integ_rec_t *r, int opcode, int n, int timeout_ms)
{
    return rec_wait(r, pred_ctrl, opcode, n, timeout_ms);
}

bool integ_rec_wait_headers(integ_rec_t *r, int n, int timeout_ms)
{
    return rec_wait(r, pred_headers, n, 0, timeout_ms);
}

int integ_rec_count(integ_rec_t *r, int32_t id)
{
    if (id < 0 || id >= INTEG_EVENT_SLOTS) {
        return 0;
    }
    pthread_mutex_lock(&r->mu);
    int n = r->counts[id];
    pthread_mutex_unlock(&r->mu);
    return n;
}

int integ_rec_msg_count(integ_rec_t *r)
{
    pthread_mutex_lock(&r->mu);
    int n = r->n_msgs;
    pthread_mutex_unlock(&r->mu);
    return n;
}

const integ_msg_t *integ_rec_msg(integ_rec_t *r, int i)
{
    pthread_mutex_lock(&r->mu);
    const integ_msg_t *m = (i >= 0 && i < r->n_msgs) ? &r->msgs[i] : NULL;
    pthread_mutex_unlock(&r->mu);
    return m;
}

int integ_rec_ctrl(integ_rec_t *r, int opcode, int k, integ_ctrl_t *out)
{
    pthread_mutex_lock(&r->mu);
    int n = 0;
    for (int i = 0; i < r->n_ctrl; i++) {
        if (r->ctrl[i].opcode == opcode) {
            if (n == k && out) {
                *out = r->ctrl[i];
            }
            n++;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return n;
}

bool integ_rec_event(integ_rec_t *r, int32_t id, int k, integ_event_log_t *out)
{
    bool found = false;
    pthread_mutex_lock(&r->mu);
    int n = 0;
    for (int i = 0; i < r->n_log; i++) {
        if (r->log[i].id == id) {
            if (n == k) {
                if (out) {
                    *out = r->log[i];
                }
                found = true;
                break;
            }
            n++;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return found;
}

bool integ_rec_header(integ_rec_t *r, const char *prefix, char *out, size_t cap)
{
    bool found = false;
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < r->n_headers; i++) {
        if (strncasecmp(r->headers[i], prefix, strlen(prefix)) == 0) {
            if (out && cap) {
                snprintf(out, cap, "%s", r->headers[i]);
            }
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return found;
}

/* ---------------------------------------------------------------------------------------- */
/* Payloads                                                                                  */
/* ---------------------------------------------------------------------------------------- */

char *integ_text_payload(size_t len, unsigned seed)
{
    char *p = malloc(len + 1);
    if (!p) {
        return NULL;
    }
    for (size_t i = 0; i < len; i++) {
        p[i] = (char)(' ' + (int)((i * 7 + seed * 13 + i / 95) % 95));   /* 0x20..0x7e */
    }
    p[len] = 0;
    return p;
}

char *integ_bin_payload(size_t len, unsigned seed)
{
    char *p = malloc(len + 1);
    if (!p) {
        return NULL;
    }
    uint32_t x = 0x9e3779b9u ^ (seed * 0x85ebca6bu);
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (char)(x >> 24);
    }
    if (len > 1) {
        p[0] = 0x00;                  /* make sure both ends of the byte range appear */
        p[len - 1] = (char)0xff;
    }
    p[len] = 0;
    return p;
}
