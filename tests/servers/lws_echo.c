/*
 * lws_echo.c - libwebsockets echo server for the C integration tests (tests/integration).
 *
 * Built by tests/integration/CMakeLists.txt against the system libwebsockets (pkg-config).
 * Listens on 127.0.0.1 port 0 and prints `PORT <n>` once listening. Each message (a fragmented
 * one reassembled first) is sent back whole with its type. Exits on SIGTERM, SIGINT or when
 * stdin closes.
 *
 * Protocol: "echo". A client that offers no subprotocol is bound to it too (lws binds such
 * clients to the first protocol of the vhost). UTF-8 of text messages is validated by lws.
 *
 * Lines on stdout:
 *   PORT <n>                 listening
 *   CONN                     a WebSocket connection was established
 *   CLOSE <code> <reason>    the client sent a Close frame (1005 when it had no code)
 */
#include <libwebsockets.h>

#include <pthread.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One queued outgoing message; the payload follows LWS_PRE bytes of headroom. */
struct echo_msg {
    struct echo_msg *next;
    size_t len;
    int binary;
    unsigned char buf[];
};

/* Per-connection state: the message being reassembled and the queue of echoes to write. */
struct echo_session {
    unsigned char *acc;
    size_t acc_len;
    size_t acc_cap;
    int acc_binary;
    int in_msg;
    struct echo_msg *head;
    struct echo_msg *tail;
};

static int interrupted;   /* set by a signal or the stdin thread; accessed with __atomic builtins */
static struct lws_context *context;

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

static int append(struct echo_session *s, const void *in, size_t len)
{
    if (s->acc_len + len > s->acc_cap) {
        size_t cap = s->acc_cap ? s->acc_cap : 4096;
        while (cap < s->acc_len + len) {
            cap *= 2;
        }
        unsigned char *p = realloc(s->acc, cap);
        if (!p) {
            return -1;
        }
        s->acc = p;
        s->acc_cap = cap;
    }
    if (len) {
        memcpy(s->acc + s->acc_len, in, len);
    }
    s->acc_len += len;
    return 0;
}

static int enqueue_echo(struct echo_session *s)
{
    struct echo_msg *m = malloc(sizeof(*m) + LWS_PRE + s->acc_len);
    if (!m) {
        return -1;
    }
    m->next = NULL;
    m->len = s->acc_len;
    m->binary = s->acc_binary;
    if (s->acc_len) {
        memcpy(m->buf + LWS_PRE, s->acc, s->acc_len);
    }
    if (s->tail) {
        s->tail->next = m;
    } else {
        s->head = m;
    }
    s->tail = m;
    return 0;
}

static void session_free(struct echo_session *s)
{
    while (s->head) {
        struct echo_msg *n = s->head->next;
        free(s->head);
        s->head = n;
    }
    s->tail = NULL;
    free(s->acc);
    s->acc = NULL;
    s->acc_len = s->acc_cap = 0;
}

static int callback_echo(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct echo_session *s = user;

    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        memset(s, 0, sizeof(*s));
        say("CONN");
        break;

    case LWS_CALLBACK_RECEIVE:
        if (!s->in_msg) {
            s->in_msg = 1;
            s->acc_len = 0;
            s->acc_binary = lws_frame_is_binary(wsi);
        }
        if (append(s, in, len) != 0) {
            return -1;
        }
        if (lws_is_final_fragment(wsi)) {
            s->in_msg = 0;
            if (enqueue_echo(s) != 0) {
                return -1;
            }
            lws_callback_on_writable(wsi);
        }
        break;

    case LWS_CALLBACK_SERVER_WRITEABLE: {
        struct echo_msg *m = s->head;
        if (!m) {
            break;
        }
        int n = lws_write(wsi, m->buf + LWS_PRE, m->len, m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
        if (n < (int)m->len) {
            return -1;
        }
        s->head = m->next;
        if (!s->head) {
            s->tail = NULL;
        }
        free(m);
        if (s->head) {
            lws_callback_on_writable(wsi);
        }
        break;
    }

    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: {
        const unsigned char *p = in;
        if (len >= 2) {
            say("CLOSE %u %.*s", (unsigned)(p[0] << 8 | p[1]), (int)(len - 2), (const char *)p + 2);
        } else {
            say("CLOSE 1005 ");
        }
        break;
    }

    case LWS_CALLBACK_CLOSED:
        session_free(s);
        break;

    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    { "echo", callback_echo, sizeof(struct echo_session), 4096, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void on_signal(int sig)
{
    (void)sig;
    __atomic_store_n(&interrupted, 1, __ATOMIC_SEQ_CST);   /* lock-free, so async-signal-safe */
}

/* Reads stdin until EOF, then asks the service loop to stop. */
static void *watch_stdin(void *arg)
{
    (void)arg;
    char buf[256];
    while (read(STDIN_FILENO, buf, sizeof(buf)) > 0) {
    }
    __atomic_store_n(&interrupted, 1, __ATOMIC_SEQ_CST);
    if (context) {
        lws_cancel_service(context);
    }
    return NULL;
}

int main(void)
{
    struct lws_context_creation_info info;
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);

    memset(&info, 0, sizeof(info));
    info.port = 0; /* the kernel picks the port; read back below */
    info.iface = "127.0.0.1";
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_DISABLE_IPV6;

    context = lws_create_context(&info);
    if (!context) {
        fprintf(stderr, "lws_echo: lws_create_context failed\n");
        return 1;
    }
    struct lws_vhost *vh = lws_get_vhost_by_name(context, "default");
    int port = vh ? lws_get_vhost_listen_port(vh) : 0;
    if (port <= 0) {
        fprintf(stderr, "lws_echo: no listening port\n");
        lws_context_destroy(context);
        return 1;
    }

    pthread_t stdin_thread;
    if (pthread_create(&stdin_thread, NULL, watch_stdin, NULL) == 0) {
        pthread_detach(stdin_thread);
    }

    say("PORT %d", port);

    while (!__atomic_load_n(&interrupted, __ATOMIC_SEQ_CST)) {
        if (lws_service(context, 0) < 0) {
            break;
        }
    }
    lws_context_destroy(context);
    return 0;
}
