/*
 * tls_fixture.h - what the TLS tests share: a throw-away PKI and the TLS test servers.
 *
 * Header-only (static functions) so that both the port-level test (tests/c/test_tls_posix.c,
 * linked to the library alone) and the API-level test (tests/integration/test_integ_tls.c) can
 * use it without a build change. Include it as "../tls/tls_fixture.h", with _GNU_SOURCE defined
 * before the first system header (pipe2, strndup).
 *
 *   tls_fx_chdir_root()        moves to the repository root (the servers are started from there)
 *   tls_fx_make_certs(dir)     a fresh temporary directory filled by tests/tls/make_certs.sh
 *   tls_fx_read_file()         a certificate or key file as a NUL-terminated buffer (+ its size)
 *   tls_fx_server_start()      spawns a server, collects its stdout lines in a thread
 *   tls_fx_wait_line()/port()  waits for a line / a "PORT <name> <n>" line
 *   tls_fx_server_stop()       closes its stdin, SIGTERM, then SIGKILL; reaps it (bounded)
 * Every wait takes a timeout in milliseconds and returns false / -1 when it passes.
 */
#ifndef TLS_FIXTURE_H
#define TLS_FIXTURE_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Not every test uses every helper. */
#define TLS_FX_FN static __attribute__((unused))

/* ---- processes ---------------------------------------------------------------------------- */

/* Runs argv to completion with stdout/stderr as they are; returns its exit status, or -1. */
TLS_FX_FN int tls_fx_run(const char *const argv[])
{
    pid_t pid;
    if (posix_spawnp(&pid, argv[0], NULL, NULL, (char *const *)argv, environ) != 0) {
        return -1;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The repository root, found from this header's own path (.../tests/tls/tls_fixture.h). */
TLS_FX_FN bool tls_fx_chdir_root(void)
{
    char root[1024];
    const char *at = strstr(__FILE__, "/tests/");
    if (at == NULL || (size_t)(at - __FILE__) >= sizeof(root)) {
        return false;
    }
    memcpy(root, __FILE__, (size_t)(at - __FILE__));
    root[at - __FILE__] = '\0';
    return chdir(root) == 0;
}

/* ---- certificates ------------------------------------------------------------------------- */

TLS_FX_FN bool tls_fx_make_certs(char *dir, size_t cap)
{
    snprintf(dir, cap, "/tmp/ws_tls_test.XXXXXX");
    if (mkdtemp(dir) == NULL) {
        return false;
    }
    const char *const argv[] = { "sh", "tests/tls/make_certs.sh", dir, NULL };
    return tls_fx_run(argv) == 0;
}

TLS_FX_FN void tls_fx_remove_dir(const char *dir)
{
    if (dir[0] != '\0' && strncmp(dir, "/tmp/ws_tls_test.", 17) == 0) {
        const char *const argv[] = { "rm", "-rf", dir, NULL };
        tls_fx_run(argv);
    }
}

/* dir/name, read whole and NUL-terminated (the NUL is not counted in *len). NULL on failure. */
TLS_FX_FN char *tls_fx_read_file(const char *dir, const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf != NULL) {
        buf[n] = '\0';
        if (len != NULL) {
            *len = (size_t)n;
        }
    }
    return buf;
}

/* ---- servers ------------------------------------------------------------------------------ */

typedef struct tls_fx_server {
    pid_t pid;
    int stdin_fd, stdout_fd;
    pthread_t reader;
    bool reader_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char **lines;      /* every stdout line, in order */
    bool *taken;       /* lines already returned by tls_fx_wait_line */
    size_t n, cap;
    bool eof;
} tls_fx_server_t;

TLS_FX_FN void tls_fx_push_line(tls_fx_server_t *s, const char *line, size_t len)
{
    pthread_mutex_lock(&s->mu);
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **lines = realloc(s->lines, cap * sizeof(*lines));
        bool *taken = lines ? realloc(s->taken, cap * sizeof(*taken)) : NULL;
        if (lines != NULL) {
            s->lines = lines;
        }
        if (taken == NULL) {
            pthread_mutex_unlock(&s->mu);
            return;
        }
        s->taken = taken;
        s->cap = cap;
    }
    s->lines[s->n] = strndup(line, len);
    s->taken[s->n] = false;
    if (s->lines[s->n] != NULL) {
        s->n++;
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

TLS_FX_FN void *tls_fx_reader(void *arg)
{
    tls_fx_server_t *s = arg;
    char buf[4096], line[4096];
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
                tls_fx_push_line(s, line, ll);
                ll = 0;
            } else if (ll < sizeof(line)) {
                line[ll++] = buf[i];
            }
        }
    }
    pthread_mutex_lock(&s->mu);
    s->eof = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

TLS_FX_FN void tls_fx_server_stop(tls_fx_server_t *s)
{
    if (s->stdin_fd >= 0) {
        close(s->stdin_fd);   /* the servers exit when stdin closes */
        s->stdin_fd = -1;
    }
    if (s->pid > 0) {
        int status;
        bool gone = false;
        for (int i = 0; i < 300 && !gone; i++) {   /* 1 s, then SIGTERM, then SIGKILL at 2 s */
            if (i == 100) {
                kill(s->pid, SIGTERM);
            } else if (i == 200) {
                kill(s->pid, SIGKILL);
            }
            gone = waitpid(s->pid, &status, WNOHANG) == s->pid;
            if (!gone) {
                usleep(10000);
            }
        }
        if (!gone) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
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
    for (size_t i = 0; i < s->n; i++) {
        free(s->lines[i]);
    }
    free(s->lines);
    free(s->taken);
    s->lines = NULL;
    s->taken = NULL;
    s->n = s->cap = 0;
}

/* Spawns argv (relative paths from the repository root) with piped stdin/stdout. */
TLS_FX_FN bool tls_fx_server_start(tls_fx_server_t *s, const char *const argv[])
{
    memset(s, 0, sizeof(*s));
    s->pid = -1;
    s->stdin_fd = s->stdout_fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0) {
        return false;
    }
    if (pipe2(out, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        return false;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    s->stdin_fd = in[1];
    s->stdout_fd = out[0];
    if (rc != 0) {
        tls_fx_server_stop(s);
        return false;
    }
    s->pid = pid;
    if (pthread_create(&s->reader, NULL, tls_fx_reader, s) != 0) {
        tls_fx_server_stop(s);
        return false;
    }
    s->reader_started = true;
    return true;
}

/* Waits for the first line not yet taken that starts with prefix; takes it, copies it to out. */
TLS_FX_FN bool tls_fx_wait_line(tls_fx_server_t *s, const char *prefix, char *out, size_t cap, int timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    bool found = false;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        for (size_t i = 0; i < s->n && !found; i++) {
            if (!s->taken[i] && strncmp(s->lines[i], prefix, strlen(prefix)) == 0) {
                s->taken[i] = true;
                if (out != NULL && cap > 0) {
                    snprintf(out, cap, "%s", s->lines[i]);
                }
                found = true;
            }
        }
        if (found || s->eof || pthread_cond_timedwait(&s->cv, &s->mu, &dl) == ETIMEDOUT) {
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return found;
}

/* Lines so far (taken or not) that start with prefix. */
TLS_FX_FN int tls_fx_count_lines(tls_fx_server_t *s, const char *prefix)
{
    int n = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n; i++) {
        n += strncmp(s->lines[i], prefix, strlen(prefix)) == 0;
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* Marks every line so far as taken. */
TLS_FX_FN void tls_fx_drain(tls_fx_server_t *s)
{
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n; i++) {
        s->taken[i] = true;
    }
    pthread_mutex_unlock(&s->mu);
}

/* The port of the line "<prefix><n>" (e.g. prefix "PORT main "), or -1. */
TLS_FX_FN int tls_fx_port(tls_fx_server_t *s, const char *prefix, int timeout_ms)
{
    char line[128];
    if (!tls_fx_wait_line(s, prefix, line, sizeof(line), timeout_ms)) {
        return -1;
    }
    int port = atoi(line + strlen(prefix));
    return port > 0 && port < 65536 ? port : -1;
}

/* The Node servers (main, other, mtls listeners) and the Python ones, started on cert dir. */
TLS_FX_FN bool tls_fx_start_node(tls_fx_server_t *s, const char *cert_dir)
{
    const char *const argv[] = { "node", "--import", "tsx", "tests/servers/tls_ws_server.ts", cert_dir, NULL };
    return tls_fx_server_start(s, argv);
}

/* mode: NULL (wss echo), "--client-ca" or "--close-check". Debian's python3 has websockets. */
TLS_FX_FN bool tls_fx_start_py(tls_fx_server_t *s, const char *cert_dir, const char *mode)
{
    const char *const argv[] = { "/usr/bin/python3", "tests/servers/tls_py_echo.py", cert_dir, mode, NULL };
    return tls_fx_server_start(s, argv);
}

#endif /* TLS_FIXTURE_H */
