/*
 * ws_client_task.c - the client task: connect, opening handshake, the receive loop of
 * docs/engine-abi.md, timers, close handshake, events, redirects and reconnects.
 *
 * One task per started client. It is the only place that posts events, so handlers run one at a
 * time in this task, in order, as in esp_websocket_client 1.8.0 (esp_event_post_to on a private
 * loop with a queue of one, then esp_event_loop_run in the same task).
 *
 * Order of events per start():
 *   BEGIN, then per attempt BEFORE_CONNECT, [HEADER_RECEIVED...], CONNECTED, DATA..., and one of
 *     CLOSED                  close handshake done (close_status_code = the server's code)
 *     ERROR + DISCONNECTED    any failure: connect, handshake, protocol, pong timeout, I/O
 *   then a reconnect wait (auto-reconnect; after CLOSED only with enable_close_reconnect) or
 *   FINISH. stop() leaves at once with FINISH only (no CLOSE frame, no DISCONNECTED), as 1.8.0.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "esp_log.h"
#include "ws_client.h"

static const char *TAG = "websocket_client";

/* How one connection attempt ended. */
typedef enum {
    OUT_STOP,        /* stop() asked: leave without events */
    OUT_FAILED,      /* ERROR + DISCONNECTED were posted */
    OUT_CLOSED,      /* close handshake done, CLOSED posted */
    OUT_REDIRECT,    /* a 3xx was followed: connect again at once */
} outcome_t;

/* What the events of the current attempt said. */
typedef struct {
    bool open;
    bool failed;         /* an ERROR was posted (or is to be) */
    bool redirect;       /* follow c->redirect */
} attempt_t;

static bool stopping(esp_websocket_client_handle_t c)
{
    return atomic_load(&c->stop_requested);
}

static void post(esp_websocket_client_handle_t c, int32_t id, const char *data, int len)
{
    c->ev.data_ptr = data;
    c->ev.data_len = len;
    if (esp_event_post_to(c->loop, WEBSOCKET_EVENTS, id, &c->ev, sizeof c->ev, 0) == ESP_OK) {
        esp_event_loop_run(c->loop, 0);
    } else {
        ESP_LOGE(TAG, "could not post event %d", (int)id);
    }
}

/* Posts ERROR with a formatted message in data_ptr. The message lives in a buffer allocated for
 * the post (errors are rare; a buffer in every client would cost its RAM all the time); without
 * memory the event is posted with no message. */
static void post_error(esp_websocket_client_handle_t c, esp_websocket_error_type_t type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void post_error(esp_websocket_client_handle_t c, esp_websocket_error_type_t type, const char *fmt, ...)
{
    char *msg = ws_port_malloc(WS_CLIENT_ERRMSG_LEN);
    int n = 0;
    if (msg != NULL) {
        va_list ap;
        va_start(ap, fmt);
        n = vsnprintf(msg, WS_CLIENT_ERRMSG_LEN, fmt, ap);
        va_end(ap);
        if (n < 0) {
            n = 0;
            msg[0] = '\0';
        } else if (n >= WS_CLIENT_ERRMSG_LEN) {
            n = WS_CLIENT_ERRMSG_LEN - 1;
        }
    }
    c->ev.error_handle.error_type = type;
    ESP_LOGE(TAG, "%s", msg != NULL ? msg : "error (no memory for its message)");
    post(c, WEBSOCKET_EVENT_ERROR, msg, n);
    c->ev.data_ptr = NULL;   /* the message is freed below: leave no stale pointer in ev */
    ws_port_free(msg);
}

static void fill_port_error(esp_websocket_client_handle_t c, const ws_port_error_t *e)
{
    c->ev.error_handle.esp_tls_last_esp_err = e->esp_err;
    c->ev.error_handle.esp_tls_stack_err = e->tls_stack_err;
    c->ev.error_handle.esp_tls_cert_verify_flags = e->tls_verify_flags;
    c->ev.error_handle.esp_transport_sock_errno = e->sock_errno;
}

/* Takes tx_lock, giving up when stop() is asked. */
static bool lock_tx(esp_websocket_client_handle_t c)
{
    while (ws_port_mutex_lock(c->tx_lock, WS_PORT_ABORT_CHECK_MS) != WS_PORT_OK) {
        if (stopping(c)) {
            return false;
        }
    }
    return true;
}

/* Forgets the message being reassembled; frees the buffer when `release` or when it grew past
 * WS_CLIENT_REASSEMBLY_KEEP (a small one is kept for the next message). */
static void msg_reset(esp_websocket_client_handle_t c, bool release)
{
    c->msg_len = 0;
    c->msg_op = 0;
    if (release || c->msg_cap > WS_CLIENT_REASSEMBLY_KEEP) {
        ws_port_free(c->msg);
        c->msg = NULL;
        c->msg_cap = 0;
    }
}

/* Closes TCP. Any sender still writing is aborted first and has left when tx_lock is ours. */
static void drop_connection(esp_websocket_client_handle_t c)
{
    msg_reset(c, true);   /* a partial message dies with its connection */
    if (c->conn == NULL) {
        return;
    }
    __atomic_store_n(&c->abort_io, true, __ATOMIC_SEQ_CST);
    ws_port_mutex_lock(c->tx_lock, WS_PORT_WAIT_FOREVER);   /* bounded: the holder sees abort_io */
    ws_port_close(c->conn);
    c->conn = NULL;
    c->tx_broken = false;
    c->keep = 0;
    ws_port_mutex_unlock(c->tx_lock);
}

/* Ends a failed attempt: TCP down, then DISCONNECTED (after the ERROR the caller posted). */
static outcome_t fail(esp_websocket_client_handle_t c, esp_websocket_error_type_t type)
{
    drop_connection(c);
    if (stopping(c)) {
        return OUT_STOP;
    }
    atomic_store(&c->state, WS_STATE_WAITING);
    c->ev.error_handle.error_type = type;
    post(c, WEBSOCKET_EVENT_DISCONNECTED, NULL, 0);
    c->failures++;
    return OUT_FAILED;
}

/* ---- redirects ---- */

/* Resolves a Location against the current URI and applies it (set_uri semantics). */
static int follow_redirect(esp_websocket_client_handle_t c, const char *loc)
{
    const char *scheme = c->cfg.tls ? "wss:" : "ws:";
    char *uri = NULL;
    size_t n = strlen(loc);
    if (strncmp(loc, "http://", 7) == 0 || strncmp(loc, "https://", 8) == 0) {
        /* RFC 6455 4.1 allows a redirect; map the HTTP scheme onto the WebSocket one */
        bool s = loc[4] == 's';
        uri = ws_port_malloc(n + 2);
        if (uri != NULL) {
            snprintf(uri, n + 2, "%s%s", s ? "wss" : "ws", loc + (s ? 5 : 4));
        }
    } else if (strstr(loc, "://") != NULL) {
        uri = ws_client_strdup(loc);
    } else if (strncmp(loc, "//", 2) == 0) {
        uri = ws_port_malloc(strlen(scheme) + n + 1);
        if (uri != NULL) {
            snprintf(uri, strlen(scheme) + n + 1, "%s%s", scheme, loc);
        }
    } else {
        /* a path: absolute, or relative to the directory of the current path */
        ws_port_mutex_lock(c->lock, WS_PORT_WAIT_FOREVER);
        const char *host = c->cfg.host != NULL ? c->cfg.host : "";
        const char *path = c->cfg.path != NULL && c->cfg.path[0] != '\0' ? c->cfg.path : "/";
        size_t dir = 1;
        if (loc[0] != '/') {
            const char *q = strchr(path, '?');
            size_t plen = q != NULL ? (size_t)(q - path) : strlen(path);
            while (plen > 0 && path[plen - 1] != '/') {
                plen--;
            }
            dir = plen > 0 ? plen : 1;
        }
        size_t cap = strlen(scheme) + 2 + 2 + strlen(host) + 8 + dir + n + 2;
        uri = ws_port_malloc(cap);
        if (uri != NULL) {
            bool v6 = strchr(host, ':') != NULL;
            int k = snprintf(uri, cap, "%s//%s%s%s:%d", scheme, v6 ? "[" : "", host, v6 ? "]" : "",
                             c->cfg.port);
            if (loc[0] != '/') {
                k += snprintf(uri + k, cap - (size_t)k, "%.*s", (int)dir, path[0] == '/' ? path : "/");
            }
            snprintf(uri + k, cap - (size_t)k, "%s", loc);
        }
        ws_port_mutex_unlock(c->lock);
    }
    if (uri == NULL) {
        return -WSE_ERR_NO_MEMORY;
    }
    int rc = ws_client_apply_uri(c, uri);
    ESP_LOGI(TAG, "redirected to %s%s", uri, rc == 0 ? "" : " (invalid)");
    ws_port_free(uri);
    return rc;
}

/* ---- events of one engine call ---- */

static void on_error_event(esp_websocket_client_handle_t c, const ws_engine_event_t *e, attempt_t *at)
{
    int code = (int)e->code;
    bool handshake = code >= 20 && code < 40;
    c->ev.error_handle.esp_ws_handshake_status_code = handshake ? (int)e->b : 0;
    at->failed = true;
    if (code == WSE_ERR_RESP_REDIRECT && c->redirect != NULL) {
        if (c->cfg.max_redirects >= 0 && c->redirects < c->cfg.max_redirects) {
            at->redirect = true;
            at->failed = false;
            return;
        }
        post_error(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT, "too many redirects (%d followed, limit %d), last "
                   "Location: %s, esp_ws_handshake_status_code=%d", c->redirects, c->cfg.max_redirects,
                   c->redirect, (int)e->b);
        return;
    }
    if (code == WSE_ERR_PONG_TIMEOUT) {
        post_error(c, WEBSOCKET_ERROR_TYPE_PONG_TIMEOUT, "Error, no PONG received for more than %d seconds "
                   "after PING", c->cfg.pingpong_timeout_sec);
        return;
    }
    if (handshake) {
        post_error(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT, "opening handshake failed: %s (engine error %d), "
                   "esp_ws_handshake_status_code=%d", ws_engine_strerror(code), code, (int)e->b);
        return;
    }
    post_error(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT, "connection failed: %s (engine error %d, close code %d sent)",
               ws_engine_strerror(code), code, (int)e->a);
}

/* reassemble_messages: adds one DATA chunk of a TEXT/BINARY/CONT frame to the message in
 * progress and posts the whole message at the last chunk of its FIN frame. The engine enforces
 * MAX_MESSAGE (= cfg.max_message_len, always set in this mode) before it delivers a byte, so the
 * buffer never grows past it; the check below only keeps a broken engine from overrunning it.
 * Without memory for the buffer the connection fails (ERROR, then DISCONNECTED). */
static void on_data_reassemble(esp_websocket_client_handle_t c, const ws_engine_event_t *e, const char *p,
                               attempt_t *at)
{
    bool last = e->fin != 0 && e->b + e->len == e->a;
    if (e->opcode != 0 && e->b == 0) {
        /* the first chunk of a TEXT/BINARY frame starts a message (every chunk of a frame carries
         * its opcode; the engine never starts a message inside another) */
        msg_reset(c, false);
        if (last) {
            /* the whole message is this one chunk: post it from the engine's window, no copy */
            c->ev.op_code = (uint8_t)e->opcode;
            c->ev.fin = true;
            c->ev.payload_len = (int)e->len;
            c->ev.payload_offset = 0;
            post(c, WEBSOCKET_EVENT_DATA, p, (int)e->len);
            return;
        }
        c->msg_op = (uint8_t)e->opcode;
    } else if (c->msg_op == 0) {
        return;   /* the rest of a message already dropped */
    }
    uint32_t limit = (uint32_t)c->cfg.max_message_len;
    if (e->len > limit - c->msg_len) {
        msg_reset(c, false);
        return;
    }
    uint32_t need = c->msg_len + e->len;
    if (need > c->msg_cap) {
        uint32_t cap = c->msg_cap > 0 ? c->msg_cap : limit < 256 ? limit : 256;
        while (cap < need) {
            cap = cap > limit / 2 ? limit : cap * 2;
        }
        uint8_t *grown = ws_port_malloc(cap);
        if (grown == NULL) {
            msg_reset(c, true);
            at->failed = true;
            post_error(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT, "out of memory reassembling a message "
                       "(%u bytes)", (unsigned)need);
            return;
        }
        if (c->msg_len > 0) {
            memcpy(grown, c->msg, c->msg_len);
        }
        ws_port_free(c->msg);
        c->msg = grown;
        c->msg_cap = cap;
    }
    if (e->len > 0) {
        memcpy(c->msg + c->msg_len, p, e->len);
    }
    c->msg_len = need;
    if (last) {
        c->ev.op_code = c->msg_op;
        c->ev.fin = true;
        c->ev.payload_len = (int)c->msg_len;
        c->ev.payload_offset = 0;
        /* an empty message may have no buffer: point at the (empty) chunk, never NULL */
        post(c, WEBSOCKET_EVENT_DATA, c->msg != NULL ? (const char *)c->msg : p, (int)c->msg_len);
        c->ev.data_ptr = NULL;   /* the buffer may be freed below: leave no stale pointer in ev */
        msg_reset(c, false);
    }
}

/* Dispatches the n events of the last recv/tick call, each read in place from the slot's event
 * area: only this task's recv/tick/conn_reset write it (send never does), and the slot's memory
 * stays valid while the slot is held, even if its instance trapped meanwhile (ws_engine.h). */
static void dispatch(esp_websocket_client_handle_t c, uint32_t n, attempt_t *at)
{
    for (uint32_t i = 0; i < n; i++) {
        ws_engine_event_t rec;
        ws_engine_event_at(&c->slot, i, &rec);
        const ws_engine_event_t *e = &rec;
        const char *p = (const char *)ws_engine_ptr(&c->slot, e->ptr);
        switch (e->type) {
        case WSE_EV_HEADER:
#if WS_TRANSPORT_HEADER_CALLBACK_SUPPORT
            post(c, WEBSOCKET_EVENT_HEADER_RECEIVED, p, (int)e->len);
#endif
            if (c->cfg.header_cb != NULL) {
                c->cfg.header_cb(c->cfg.header_cb_ctx, p, (int)e->len);
            }
            break;
        case WSE_EV_REDIRECT:
            ws_port_free(c->redirect);
            c->redirect = ws_port_malloc(e->len + 1);
            if (c->redirect != NULL) {
                memcpy(c->redirect, p, e->len);
                c->redirect[e->len] = '\0';
            }
            break;
        case WSE_EV_OPEN:
            at->open = true;
            c->failures = 0;
            c->redirects = 0;
            memset(&c->ev.error_handle, 0, sizeof c->ev.error_handle);
            atomic_store(&c->state, WS_STATE_CONNECTED);
            post(c, WEBSOCKET_EVENT_CONNECTED, NULL, 0);
            break;
        case WSE_EV_DATA:
            if (c->cfg.reassemble && e->opcode <= 2) {
                if (!at->failed) {
                    on_data_reassemble(c, e, p, at);
                }
                break;
            }
            c->ev.op_code = (uint8_t)e->opcode;
            c->ev.fin = e->fin != 0;
            c->ev.payload_len = (int)e->a;
            c->ev.payload_offset = (int)e->b;
            post(c, WEBSOCKET_EVENT_DATA, p, (int)e->len);
            break;
        case WSE_EV_CLOSE:
            c->ev.close_status_code = (int)e->code;
            break;
        case WSE_EV_ERROR:
            msg_reset(c, false);   /* the partial message is dropped; so is the connection */
            on_error_event(c, e, at);
            break;
        default:
            break;
        }
    }
}

/* ---- one engine step ---- */

typedef enum { STEP_OK, STEP_STOP, STEP_EOF, STEP_IO, STEP_ENGINE } step_t;

/* Bytes read from the socket ahead of the rx window (WS_PORT_READ_AHEAD, on the task's stack),
 * handed to the engine a window at a time. */
typedef struct {
    uint8_t *buf;
    uint32_t cap;
    uint32_t off, len;   /* the bytes not yet copied into the rx window */
    bool filled;         /* the last socket read filled buf: more may be waiting */
} ahead_t;

/* Reads what is there (read = true) or runs the timers, writes control output, dispatches the
 * events and, after a read, keeps the unconsumed bytes at the start of the rx window. The bytes
 * come from the read-ahead while it holds some, else from one socket read (into the read-ahead
 * when it is larger than the window's free part). *full is set when bytes are still in hand or the
 * socket read filled its buffer: more may be waiting, so the caller reads again at once instead of
 * polling (the socket is non-blocking: a read with nothing there returns 0 and costs no wait).
 * *now gets the clock value of the last engine call. */
static step_t step(esp_websocket_client_handle_t c, bool read, attempt_t *at, int *err, bool *full, uint32_t *now,
                   ahead_t *ra)
{
    ws_engine_slot_t *s = &c->slot;
    uint8_t *rx = ws_engine_ptr(s, ws_engine_io(s, WSE_C_RX_PTR));
    uint32_t rx_cap = ws_engine_io(s, WSE_C_RX_CAP);
    bool more = false;
    *full = false;
    do {
        if (!lock_tx(c)) {
            return STEP_STOP;
        }
        int32_t count;
        uint32_t got = 0;
        if (read && !more) {
            if (c->keep >= rx_cap) {   /* the engine must consume something of a full window */
                ws_port_mutex_unlock(c->tx_lock);
                *err = -WSE_ERR_BAD_STATE;
                return STEP_ENGINE;
            }
            uint32_t room = rx_cap - c->keep;
            if (ra->len == 0) {
                /* into the read-ahead when it holds more than the window's free part */
                bool ahead = ra->cap > room;
                int n = ws_port_read(c->conn, ahead ? ra->buf : rx + c->keep, ahead ? ra->cap : room, 0);
                if (n <= 0) {
                    ws_port_mutex_unlock(c->tx_lock);
                    *err = n;
                    return n == 0 ? STEP_OK : n == WS_PORT_EOF ? STEP_EOF : STEP_IO;
                }
                if (ahead) {
                    ra->off = 0;
                    ra->len = (uint32_t)n;
                    ra->filled = (uint32_t)n == ra->cap;
                } else {
                    got = (uint32_t)n;
                    *full = got == room;
                }
            }
            if (ra->len > 0) {
                got = ra->len < room ? ra->len : room;
                memcpy(rx + c->keep, ra->buf + ra->off, got);
                ra->off += got;
                ra->len -= got;
                *full = ra->len > 0 || ra->filled;   /* bytes in hand, or maybe in the socket */
            }
        }
        uint32_t key1, key2;
        ws_client_mask_keys_peek(c, &key1, &key2);
        *now = ws_port_now_ms();
        if (read) {
            count = ws_engine_recv(s, c->keep + got, *now, key1, key2);
        } else {
            count = ws_engine_tick(s, *now, key1);
        }
        if (count < 0) {
            ws_port_mutex_unlock(c->tx_lock);
            *err = count;
            return STEP_ENGINE;
        }
        if (ws_engine_io(s, WSE_C_CTL_LEN) != 0) {
            ws_client_mask_keys_spent(c);   /* a control frame went out masked with them */
        }
        int w = ws_client_write_ctl(c);   /* control frames overtake any later data frame */
        uint32_t n = ws_engine_event_count(s);
        uint32_t keep_off = ws_engine_io(s, WSE_C_KEEP_OFF);
        uint32_t keep_len = ws_engine_io(s, WSE_C_KEEP_LEN);
        more = read && ws_engine_io(s, WSE_C_MORE) != 0;
        ws_port_mutex_unlock(c->tx_lock);

        dispatch(c, n, at);   /* event pointers stay valid until the bytes move below */
        if (read) {
            if (keep_off + keep_len > rx_cap) {
                keep_off = keep_len = 0;
            }
            memmove(rx, rx + keep_off, keep_len);
            c->keep = keep_len;
        }
        if (w != 0) {
            return STEP_OK;   /* tx_broken is set; the loop reports it */
        }
        if (stopping(c)) {
            return STEP_STOP;
        }
    } while (more && !at->failed);
    return STEP_OK;
}

/* ---- the attempt ---- */

static void apply_ping(esp_websocket_client_handle_t c)
{
    size_t sec = atomic_load(&c->ping_interval_sec);
    uint64_t ms = (uint64_t)sec * 1000u;
    (void)ws_engine_conn_config(&c->slot, WSE_PARAM_PING_INTERVAL_MS, ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms);
}

static void configure_engine(esp_websocket_client_handle_t c)
{
    ws_client_cfg_t *cfg = &c->cfg;
    atomic_store(&c->ping_changed, false);
    apply_ping(c);
    struct { uint32_t param; uint32_t value; bool set; } p[] = {
        { WSE_PARAM_PONG_TIMEOUT_MS, (uint32_t)cfg->pingpong_timeout_sec * 1000u, true },
        { WSE_PARAM_CLOSE_TIMEOUT_MS, (uint32_t)cfg->close_timeout_ms, true },
        { WSE_PARAM_MAX_FRAME, (uint32_t)cfg->max_frame_len, cfg->max_frame_len > 0 },
        { WSE_PARAM_MAX_MESSAGE, (uint32_t)cfg->max_message_len, cfg->max_message_len > 0 },
        { WSE_PARAM_HS_LIMIT, (uint32_t)cfg->response_header_limit, cfg->response_header_limit > 0 },
        { WSE_PARAM_UTF8_POLICY, cfg->utf8_policy, true },
        { WSE_PARAM_CHUNK, c->chunk, true },
    };
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
        if (p[i].set) {
            int32_t rc = ws_engine_conn_config(&c->slot, p[i].param, p[i].value);
            if (rc < 0) {
                ESP_LOGW(TAG, "engine parameter %u = %u refused: %s", (unsigned)p[i].param,
                         (unsigned)p[i].value, ws_engine_strerror(rc));
            }
        }
    }
}

/* Lays the hs_request inputs into the rx window (under c->lock: set_uri may run) and builds the
 * request in the tx window. Returns its length or -Err. */
static int32_t build_request(esp_websocket_client_handle_t c)
{
    ws_engine_slot_t *s = &c->slot;
    uint8_t *rx = ws_engine_ptr(s, ws_engine_io(s, WSE_C_RX_PTR));
    uint32_t cap = ws_engine_io(s, WSE_C_RX_CAP);
    ws_port_mutex_lock(c->lock, WS_PORT_WAIT_FOREVER);
    ws_client_cfg_t *cfg = &c->cfg;
    const char *path = cfg->path != NULL && cfg->path[0] != '\0' ? cfg->path : "/";
    const char *parts[6] = { cfg->host, path, cfg->subprotocol,
                             cfg->user_agent != NULL ? cfg->user_agent : WS_CLIENT_DEFAULT_USER_AGENT, NULL, cfg->headers };
    size_t lens[6];
    size_t user = cfg->username != NULL ? strlen(cfg->username) : 0;
    size_t pass = cfg->password != NULL ? strlen(cfg->password) : 0;
    size_t need = 16;
    for (int i = 0; i < 6; i++) {
        lens[i] = parts[i] != NULL ? strlen(parts[i]) : 0;
        need += lens[i];
    }
    lens[4] = cfg->username != NULL ? user + 1 + pass : 0;   /* "user:password" */
    need += lens[4];
    int32_t rc = -WSE_ERR_REQ_TOO_LARGE;
    if (need <= cap) {
        uint8_t *p = rx;
        ws_port_random(p, 16);   /* Sec-WebSocket-Key nonce, RFC 6455 4.1 */
        p += 16;
        for (int i = 0; i < 6; i++) {
            if (i == 4 && lens[4] > 0) {
                memcpy(p, cfg->username, user);
                p[user] = ':';
                if (pass > 0) {
                    memcpy(p + user + 1, cfg->password, pass);
                }
            } else if (lens[i] > 0) {
                memcpy(p, parts[i], lens[i]);
            }
            p += lens[i];
        }
        int port = cfg->port > 0 ? cfg->port : (cfg->tls ? 443 : 80);
        rc = ws_engine_hs_request(s, (uint32_t)port, (uint32_t)lens[0], (uint32_t)lens[1], (uint32_t)lens[2],
                                  (uint32_t)lens[3], (uint32_t)lens[4], (uint32_t)lens[5]);
    }
    ws_port_mutex_unlock(c->lock);
    return rc;
}

/* Waits for the server to close TCP after the close handshake, then posts CLOSED. */
/* Reads and discards what the server still sends until it closes TCP, bound_ms passes or a stop is
 * requested; true when the server closed. Data after a Close is ignored (RFC 6455 5.5.1), but it
 * must be read: closing a socket with unread data makes the kernel answer with RST, and the server
 * may then lose the Close frame just written to it. */
static bool drain_until_closed(esp_websocket_client_handle_t c, uint32_t bound_ms)
{
    uint32_t start = ws_port_now_ms();
    uint8_t *rx = ws_engine_ptr(&c->slot, ws_engine_io(&c->slot, WSE_C_RX_PTR));
    uint32_t cap = ws_engine_io(&c->slot, WSE_C_RX_CAP);
    bool closed = false;
    while (!closed && !stopping(c) && ws_port_now_ms() - start < bound_ms) {
        int r = ws_port_poll_readable(c->conn, (int32_t)(bound_ms - (ws_port_now_ms() - start)));
        if (r < 0) {
            closed = true;
        } else if (r == 1 && lock_tx(c)) {
            int n = ws_port_read(c->conn, rx, cap, 0);
            ws_port_mutex_unlock(c->tx_lock);
            closed = n < 0;
        }
    }
    return closed;
}

static outcome_t finish_close(esp_websocket_client_handle_t c)
{
    atomic_store(&c->state, WS_STATE_CLOSING);
    c->ev.close_status_code = (int)ws_engine_io(&c->slot, WSE_C_CLOSE_RX);
    bool closed = drain_until_closed(c, WS_CLIENT_TCP_CLOSE_WAIT_MS);
    if (!closed && !stopping(c)) {
        ESP_LOGW(TAG, "Did not get TCP close within expected delay");
    }
    drop_connection(c);
    if (stopping(c)) {
        return OUT_STOP;
    }
    bool reconnect = c->cfg.close_reconnect && c->cfg.auto_reconnect && !atomic_load(&c->close_requested);
    if (reconnect) {
        c->ev.error_handle.error_type = WEBSOCKET_ERROR_TYPE_SERVER_CLOSE;
    }
    atomic_store(&c->state, reconnect ? WS_STATE_WAITING : WS_STATE_STOPPED);
    post(c, WEBSOCKET_EVENT_CLOSED, NULL, 0);
    return OUT_CLOSED;
}

static outcome_t run_connection(esp_websocket_client_handle_t c, attempt_t *at)
{
    uint32_t deadline_start = ws_port_now_ms();
    uint32_t last_tick = deadline_start;
    bool full = false;   /* bytes in hand or the last read filled its buffer: read again without polling */
#if WS_PORT_READ_AHEAD > 0
    uint8_t ahead_buf[WS_PORT_READ_AHEAD];
    ahead_t ra = { .buf = ahead_buf, .cap = WS_PORT_READ_AHEAD };
#else
    ahead_t ra = { .buf = NULL, .cap = 0 };
#endif
    for (;;) {
        if (stopping(c)) {
            drop_connection(c);
            return OUT_STOP;
        }
        if (at->redirect) {
            drop_connection(c);
            c->redirects++;
            char *loc = c->redirect;
            c->redirect = NULL;
            int rc = follow_redirect(c, loc);
            ws_port_free(loc);
            if (rc == 0) {
                return OUT_REDIRECT;
            }
            post_error(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT, "invalid redirect Location: %s", ws_engine_strerror(rc));
            return fail(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT);
        }
        if (at->failed) {
            /* The engine failed the connection and queued a Close with its code (1002, 1007,
             * 1009): give the server a moment to read it before TCP goes down. */
            if (c->conn != NULL && !c->tx_broken && ws_engine_io_locked(&c->slot, WSE_C_STATE) == WSE_STATE_FAILED &&
                ws_engine_io_locked(&c->slot, WSE_C_CLOSE_TX) != 0) {
                (void)drain_until_closed(c, WS_CLIENT_FAIL_DRAIN_MS);
            }
            return fail(c, c->ev.error_handle.error_type);
        }
        if (c->tx_broken) {
            fill_port_error(c, &c->tx_error);
            post_error(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT, "write failed, errno=%d", c->tx_error.sock_errno);
            return fail(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT);
        }
        uint32_t st = ws_engine_io_locked(&c->slot, WSE_C_STATE);
        if (st == WSE_STATE_CLOSED) {
            return finish_close(c);
        }
        if (st == WSE_STATE_CLOSING) {
            atomic_store(&c->state, WS_STATE_CLOSING);
        }
        if (at->open && atomic_exchange(&c->ping_changed, false)) {
            apply_ping(c);
        }

        /* The clock is read once per engine call (step) and, before a poll, for its bound. */
        uint32_t now = 0;
        int32_t wait = WS_CLIENT_TICK_MS;
        if (!at->open) {
            now = ws_port_now_ms();
            uint32_t spent = now - deadline_start;
            if (spent >= (uint32_t)c->cfg.network_timeout_ms) {
                post_error(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT, "no handshake response within %d ms",
                           c->cfg.network_timeout_ms);
                return fail(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT);
            }
            if ((uint32_t)c->cfg.network_timeout_ms - spent < (uint32_t)wait) {
                wait = (int32_t)((uint32_t)c->cfg.network_timeout_ms - spent);
            }
        } else if (!full) {
            uint32_t since = ws_port_now_ms() - last_tick;
            wait = since >= WS_CLIENT_TICK_MS ? 0 : (int32_t)(WS_CLIENT_TICK_MS - since);
        }

        /* Poll only after a read that drained the socket; the timers below still run at least
         * every WS_CLIENT_TICK_MS while reads keep coming back full. */
        int r = full ? 1 : ws_port_poll_readable(c->conn, wait);
        int err = 0;
        step_t res = STEP_OK;
        full = false;
        uint32_t stepped = 0;   /* the clock as the last engine call of the step saw it */
        if (r == 1) {
            res = step(c, true, at, &err, &full, &stepped, &ra);
        } else if (r < 0) {
            res = r == WS_PORT_ERR_ABORTED ? STEP_STOP : STEP_IO;
            err = r;
        }
        now = stepped != 0 ? stepped : ws_port_now_ms();   /* 0: no engine call read it */
        if (res == STEP_OK && at->open && !at->failed && now - last_tick >= WS_CLIENT_TICK_MS) {
            bool unused;
            res = step(c, false, at, &err, &unused, &last_tick, &ra);
        }
        switch (res) {
        case STEP_OK:
            break;
        case STEP_STOP:
            drop_connection(c);
            return OUT_STOP;
        case STEP_EOF:
            memset(&c->ev.error_handle, 0, sizeof c->ev.error_handle);
            c->ev.error_handle.esp_tls_last_esp_err = WS_PORT_ESP_ERR_TLS_TCP_CLOSED_FIN;
            post_error(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT, "connection closed by the server without a close "
                       "handshake");
            return fail(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT);
        case STEP_IO: {
            ws_port_error_t pe;
            ws_port_get_error(c->conn, &pe);
            fill_port_error(c, &pe);
            post_error(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT, "read failed: %s, errno=%d", ws_port_strerror(err),
                       pe.sock_errno);
            return fail(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT);
        }
        case STEP_ENGINE:
            post_error(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT, "engine call failed: %s", ws_engine_strerror(err));
            return fail(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT);
        }
    }
}

/* One connection attempt: slot, TCP/TLS, handshake, then the connection until it ends. */
static outcome_t attempt(esp_websocket_client_handle_t c)
{
    attempt_t at = { 0 };
    atomic_store(&c->state, WS_STATE_CONNECTING);
    memset(&c->ev.error_handle, 0, sizeof c->ev.error_handle);
    if (c->slot.inst != NULL && !ws_engine_alive(&c->slot)) {
        ws_engine_release(&c->slot);   /* its instance trapped */
    }
    if (c->slot.inst == NULL) {
        int rc = ws_engine_acquire(&c->slot);
        if (rc != 0) {
            post_error(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT, "no engine slot: %s", ws_engine_strerror(rc));
            return fail(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT);
        }
        c->chunk = (uint32_t)c->cfg.buffer_size < c->slot.buf_size ? (uint32_t)c->cfg.buffer_size : c->slot.buf_size;
        if ((uint32_t)c->cfg.buffer_size > c->slot.buf_size) {
            ESP_LOGW(TAG, "buffer_size %d capped at the engine's %u while other clients hold slots",
                     c->cfg.buffer_size, (unsigned)c->slot.buf_size);
        }
    }
    c->keep = 0;
    ws_port_free(c->redirect);   /* a Location belongs to the response that carried it */
    c->redirect = NULL;
    post(c, WEBSOCKET_EVENT_BEFORE_CONNECT, NULL, 0);

    ws_port_mutex_lock(c->lock, WS_PORT_WAIT_FOREVER);
    char *host = ws_client_strdup(c->cfg.host);
    int port = c->cfg.port > 0 ? c->cfg.port : (c->cfg.tls ? 443 : 80);
    bool tls = c->cfg.tls;
    ws_port_mutex_unlock(c->lock);
    if (host == NULL) {
        post_error(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT, "no host configured");
        return fail(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT);
    }
    /* Verification is skipped only on an explicit opt-in: the config field, or (ESP-IDF, as
     * upstream) CONFIG_ESP_TLS_SKIP_SERVER_CERT_VERIFY when no CA source is configured. */
    static const ws_client_tls_t no_options;
    const ws_client_tls_t *t = c->cfg.tls_opts != NULL ? c->cfg.tls_opts : &no_options;
    bool skip_verify = t->skip_verify;
#if defined(CONFIG_ESP_TLS_INSECURE) && defined(CONFIG_ESP_TLS_SKIP_SERVER_CERT_VERIFY)
    skip_verify = skip_verify || (t->cert == NULL && !t->use_global_ca_store && t->crt_bundle_attach == NULL);
#endif
    if (tls && skip_verify) {
        ESP_LOGW(TAG, "the server's certificate is NOT verified (skip_server_cert_verify): the connection is not secure");
    }
    ws_port_tls_cfg_t tcfg = {
        .ca = t->cert, .ca_len = t->cert_len,
        .client_cert = t->client_cert, .client_cert_len = t->client_cert_len,
        .client_key = t->client_key, .client_key_len = t->client_key_len,
        .ds_data = t->ds_data, .common_name = t->common_name, .skip_cn_check = t->skip_cn_check,
        .skip_verify = skip_verify, .use_global_ca_store = t->use_global_ca_store,
        .crt_bundle_attach = t->crt_bundle_attach,
    };
    ws_port_connect_cfg_t ccfg = {
        .host = host, .port = (uint16_t)port, .timeout_ms = c->cfg.network_timeout_ms,
        .keepalive = c->cfg.keepalive, .if_name = c->cfg.if_name, .abort = &c->abort_io,
        .tls = tls ? &tcfg : NULL,
    };
    /* stop() sets stop_requested, then abort_io: clearing abort_io before looking at
     * stop_requested cannot lose a stop. */
    __atomic_store_n(&c->abort_io, false, __ATOMIC_SEQ_CST);
    if (stopping(c)) {
        ws_port_free(host);
        return OUT_STOP;
    }
    ws_port_error_t pe;
    ws_port_conn_t *conn = NULL;
    int rc = ws_port_connect(&conn, &ccfg, &pe);
    if (rc != WS_PORT_OK) {
        if (stopping(c)) {
            ws_port_free(host);
            return OUT_STOP;
        }
        fill_port_error(c, &pe);
        post_error(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT, "esp_transport_connect() failed with %d (%s) to %s:%d, "
                   "transport_error=0x%x, tls_error_code=%d, tls_flags=%d, errno=%d", rc, ws_port_strerror(rc),
                   host, port, (unsigned)pe.esp_err, pe.tls_stack_err, pe.tls_verify_flags, pe.sock_errno);
        ws_port_free(host);
        return fail(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT);
    }
    ws_port_free(host);
    ws_port_mutex_lock(c->tx_lock, WS_PORT_WAIT_FOREVER);   /* no sender yet: state is CONNECTING */
    c->conn = conn;
    c->tx_broken = false;
    ws_port_mutex_unlock(c->tx_lock);

    int32_t n = ws_engine_conn_reset(&c->slot);
    if (n >= 0) {
        configure_engine(c);
        n = build_request(c);
    }
    if (n < 0) {
        post_error(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT, "handshake request not built: %s", ws_engine_strerror(n));
        return fail(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT);
    }
    uint8_t *tx = ws_engine_ptr(&c->slot, ws_engine_io(&c->slot, WSE_C_TX_PTR));
    int w = ws_port_write(c->conn, tx, (size_t)n, c->cfg.network_timeout_ms);
    if (w != n) {
        if (stopping(c)) {
            drop_connection(c);
            return OUT_STOP;
        }
        ws_port_get_error(c->conn, &pe);
        fill_port_error(c, &pe);
        post_error(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT, "handshake request write failed: %s, errno=%d",
                   ws_port_strerror(w), pe.sock_errno);
        return fail(c, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT);
    }
    return run_connection(c, &at);
}

/* The delay before the next attempt (fixed, or exponential backoff with jitter). */
static uint32_t reconnect_delay(esp_websocket_client_handle_t c, uint32_t jitter_seed)
{
    uint32_t base = (uint32_t)atomic_load(&c->reconnect_timeout_ms);
    if (!c->cfg.backoff || c->failures <= 1) {
        return base;
    }
    uint64_t d = base;
    for (int i = 1; i < c->failures && d < (uint64_t)c->cfg.backoff_max_ms; i++) {
        d *= 2;
    }
    if (d > (uint64_t)c->cfg.backoff_max_ms) {
        d = (uint64_t)c->cfg.backoff_max_ms;
    }
    return (uint32_t)d + jitter_seed % ((uint32_t)d / 4 + 1);
}

/* Waits before reconnecting. set_reconnect_timeout() wakes it: it then ends once the new delay
 * has passed since the wait began (at once if that is already the case). False on stop(). */
static bool wait_reconnect(esp_websocket_client_handle_t c)
{
    atomic_store(&c->state, WS_STATE_WAITING);
    uint32_t seed;
    ws_port_random(&seed, sizeof seed);
    uint32_t start = ws_port_now_ms();
    ESP_LOGI(TAG, "Reconnect after %u ms", (unsigned)reconnect_delay(c, seed));
    for (;;) {
        if (stopping(c)) {
            return false;
        }
        uint32_t delay = reconnect_delay(c, seed);
        uint32_t spent = ws_port_now_ms() - start;
        if (spent >= delay) {
            return true;
        }
        uint32_t left = delay - spent;
        (void)ws_port_signal_wait(c->wake, left > INT32_MAX ? INT32_MAX : (int32_t)left);
    }
}

void ws_client_task(void *arg)
{
    esp_websocket_client_handle_t c = arg;
    post(c, WEBSOCKET_EVENT_BEGIN, NULL, 0);
    c->failures = 0;
    c->redirects = 0;
    for (;;) {
        outcome_t out = attempt(c);
        if (out == OUT_STOP || stopping(c)) {
            break;
        }
        if (out == OUT_REDIRECT) {
            continue;   /* no wait, no DISCONNECTED: the next BEFORE_CONNECT follows */
        }
        c->redirects = 0;
        if (atomic_load(&c->close_requested)) {
            break;
        }
        if (out == OUT_CLOSED && !(c->cfg.close_reconnect && c->cfg.auto_reconnect)) {
            break;
        }
        if (out == OUT_FAILED && !c->cfg.auto_reconnect) {
            break;
        }
        if (!wait_reconnect(c)) {
            break;
        }
    }
    drop_connection(c);
    ws_engine_release(&c->slot);
    atomic_store(&c->state, WS_STATE_STOPPED);
    post(c, WEBSOCKET_EVENT_FINISH, NULL, 0);

    ws_port_mutex_lock(c->lock, WS_PORT_WAIT_FOREVER);
    c->running = false;
    c->exiting = true;
    bool free_me = c->destroy_on_exit;
    ws_port_mutex_unlock(c->lock);
    if (free_me) {
        /* start() may still be returning: it holds life_lock until it no longer touches c */
        ws_port_mutex_lock(c->life_lock, WS_PORT_WAIT_FOREVER);
        ws_port_mutex_unlock(c->life_lock);
        ws_port_task_detach(c->task);
        ws_client_free(c);
    }
}
