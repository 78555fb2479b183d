/*
 * ws_client.h - the client core's private structure and the functions its files share
 * (esp_websocket_client.c: public API and configuration; ws_client_task.c: the client task;
 * ws_client_tx.c: the send path).
 *
 * Ownership and threading
 *   - The client task owns the connection: it connects, reads, calls recv/tick on the engine,
 *     writes control frames, posts every event and tears the connection down.
 *   - Other tasks (and event handlers, which run in the client task) send through ws_client_send(),
 *     which holds tx_lock for a whole message. The task holds tx_lock for each read + recv/tick +
 *     control-frame write, never while it waits for data (it waits in poll_readable without it)
 *     and never while a handler runs, so a handler may send.
 *   - `lock` guards the configuration strings and the lifecycle fields (task, running, ...);
 *     it is only ever held for short, non-blocking sections.
 *   - Lifecycle calls (start, stop, close, destroy) are serialised by `life_lock`.
 */
#ifndef WS_CLIENT_H
#define WS_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "esp_websocket_client.h"
#include "ws_engine.h"
#include "ws_port.h"

/* How often the engine's timers run while connected (ping, pong and close timeouts). */
#ifndef WS_CLIENT_TICK_MS
#define WS_CLIENT_TICK_MS 100
#endif
/* How long stop()/destroy() wait for the task: it sees the request within one abort-check period
 * of whatever it waits on (twice if it was just entering a second wait), plus the time of a
 * handler running at that moment; the rest is grace for that handler. */
#ifndef WS_CLIENT_STOP_WAIT_MS
#define WS_CLIENT_STOP_WAIT_MS (2 * WS_PORT_ABORT_CHECK_MS + 1800)
#endif
/* After the close handshake, how long the task waits for the server to close TCP (RFC 6455 7.1.1:
 * the server closes first). */
#ifndef WS_CLIENT_TCP_CLOSE_WAIT_MS
#define WS_CLIENT_TCP_CLOSE_WAIT_MS 1000
#endif
/* After a protocol failure the client sent a Close for: how long it reads (and discards) before
 * dropping TCP, so that the server reads the Close instead of a reset. */
#ifndef WS_CLIENT_FAIL_DRAIN_MS
#define WS_CLIENT_FAIL_DRAIN_MS 300
#endif
#ifndef WS_CLIENT_DEFAULT_TASK_STACK
#ifdef CONFIG_ESP_WS_CLIENT_TASK_STACK
#define WS_CLIENT_DEFAULT_TASK_STACK CONFIG_ESP_WS_CLIENT_TASK_STACK
#else
#define WS_CLIENT_DEFAULT_TASK_STACK 6144   /* 1.8.0: 4096; the wasm3 interpreter needs more */
#endif
#endif
#define WS_CLIENT_DEFAULT_TASK_PRIO 5
#define WS_CLIENT_DEFAULT_TASK_NAME "websocket_task"
#define WS_CLIENT_DEFAULT_BUFFER 1024
#define WS_CLIENT_DEFAULT_USER_AGENT "ESP32 Websocket Client"
#define WS_CLIENT_DEFAULT_PING_SEC 10
#define WS_CLIENT_DEFAULT_PONG_SEC 120
#define WS_CLIENT_DEFAULT_RECONNECT_MS 10000
#define WS_CLIENT_DEFAULT_NETWORK_MS 10000
#define WS_CLIENT_DEFAULT_BACKOFF_MAX_MS 60000
#define WS_CLIENT_DEFAULT_REDIRECTS 5
#define WS_CLIENT_DEFAULT_CLOSE_MS 5000
#define WS_CLIENT_DEFAULT_REASSEMBLY_MAX 65536   /* max_message_len when reassemble_messages is set */
/* A reassembly buffer up to this size is kept for the next message; a larger one is freed. */
#ifndef WS_CLIENT_REASSEMBLY_KEEP
#define WS_CLIENT_REASSEMBLY_KEEP 4096
#endif
#define WS_CLIENT_ERRMSG_LEN 160   /* ERROR event message, allocated only while it is posted */
/* Mask keys (RFC 6455 5.3) are drawn from the port's strong source in batches of this many bytes:
 * one ws_port_random call serves WS_CLIENT_KEY_POOL / 4 keys, each used once. */
#ifndef WS_CLIENT_KEY_POOL
#define WS_CLIENT_KEY_POOL 64
#endif

typedef enum {
    WS_STATE_STOPPED = 0,     /* no task, or the task is exiting */
    WS_STATE_CONNECTING,      /* task started: connecting or doing the opening handshake */
    WS_STATE_CONNECTED,       /* handshake done */
    WS_STATE_CLOSING,         /* close handshake in progress */
    WS_STATE_WAITING,         /* waiting before reconnecting */
} ws_client_state_t;

/* TLS options, allocated only when the configuration sets one: a ws:// client pays one pointer.
 * Never changed after init. */
typedef struct ws_client_tls {
    char *cert;               /* copied bytes; *_len is what the port gets */
    size_t cert_len;
    char *client_cert;
    size_t client_cert_len;
    char *client_key;
    size_t client_key_len;
    void *ds_data;
    char *common_name;
    esp_err_t (*crt_bundle_attach)(void *conf);
    bool skip_cn_check;
    bool use_global_ca_store;
    bool skip_verify;         /* skip_server_cert_verify (explicit opt-in) */
} ws_client_tls_t;

/* The configuration, copied at init. Strings are owned (ws_port_malloc). Fields are grouped by
 * size (pointers, then 4-byte, then 1-byte fields) so that the struct has no padding holes: every
 * client pays for them. */
typedef struct ws_client_cfg {
    char *host;
    char *path;               /* "" or NULL: "/" */
    char *username;
    char *password;
    char *subprotocol;
    char *user_agent;         /* NULL: WS_CLIENT_DEFAULT_USER_AGENT */
    char *headers;            /* "Name: value\r\n" lines */
    void *user_context;
    char *task_name;          /* NULL: WS_CLIENT_DEFAULT_TASK_NAME */
    ws_client_tls_t *tls_opts;  /* NULL: no TLS option set (all off) */
    char *if_name;
    void (*header_cb)(void *ctx, const char *line, int len);   /* added by this component */
    void *header_cb_ctx;
    ws_port_keepalive_t keepalive;
    int port;                 /* 0: 80 / 443 by scheme */
    int task_prio;
    int task_core;            /* -1: any */
    int task_stack;
    int buffer_size;
    int network_timeout_ms;
    int pingpong_timeout_sec;  /* 0: never fail (disable_pingpong_discon) */
    /* fields added by this component */
    int backoff_max_ms;
    int max_redirects;        /* < 0: none */
    uint32_t utf8_policy;     /* engine UTF8_POLICY bits */
    int max_message_len;      /* 0: engine default */
    int max_frame_len;
    int close_timeout_ms;
    int response_header_limit;
    bool tls;
    bool auto_reconnect;
    bool close_reconnect;
    bool backoff;
    bool reassemble;          /* reassemble_messages: one DATA event per whole message */
} ws_client_cfg_t;

struct esp_websocket_client {
    ws_client_cfg_t cfg;
    esp_websocket_event_data_t ev;     /* task: last values, as upstream: stale for unrelated events */
    ws_engine_slot_t slot;             /* task (and a sender while it holds tx_lock) */

    esp_event_loop_handle_t loop;      /* private loop: queue 1, no task; run in the client task */
    ws_port_mutex_t *lock;
    ws_port_mutex_t *tx_lock;
    ws_port_mutex_t *life_lock;
    ws_port_signal_t *wake;            /* ends a reconnect wait early (stop, set_reconnect_timeout) */

    /* lifecycle (under lock) */
    ws_port_task_t *task;              /* until joined */

    /* owned by the task (and by a sender while it holds tx_lock) */
    ws_port_conn_t *conn;

    /* owned by the task */
    char *redirect;                    /* Location of the last 3xx */
    uint8_t *msg;                      /* reassembly buffer (reassemble_messages), ws_port_malloc */

    _Atomic size_t ping_interval_sec;
    _Atomic int reconnect_timeout_ms;
    _Atomic int state;                 /* ws_client_state_t */

    /* owned by the task (and by a sender while it holds tx_lock) */
    uint32_t chunk;                    /* this client's slice: min(buffer_size, slot buf_size) */
    ws_port_error_t tx_error;
    uint32_t keys[WS_CLIENT_KEY_POOL / 4];   /* unused mask keys: keys[0 .. keys_left - 1] */
    uint32_t keys_left;

    /* owned by the task */
    uint32_t keep;                     /* bytes kept at the start of the rx window */
    int redirects;                     /* hops followed in this connection attempt */
    int failures;                      /* failed attempts in a row (backoff) */
    uint32_t msg_len;                  /* bytes of the message in progress */
    uint32_t msg_cap;
    uint8_t msg_op;                    /* opcode of the message in progress (0: none) */

    atomic_bool ping_changed;          /* the task applies a new ping interval to the engine */
    atomic_bool stop_requested;        /* stop(): leave at once, no CLOSE */
    atomic_bool close_requested;       /* close(): leave after the close handshake, no reconnect */
    volatile bool abort_io;            /* port abort flag of the current connection (stop, teardown) */
    bool tx_broken;                    /* task/sender: a sender's write broke the stream: the task tears down */

    /* lifecycle (under lock) */
    bool running;                      /* start() .. the task's last step */
    bool destroy_on_exit;
    bool exiting;                      /* the task has passed its destroy_on_exit check */
};

/* esp_websocket_client.c */
char *ws_client_strdup(const char *s);
/* Applies uri to cfg (scheme, host, port, path, userinfo), under c->lock. 0 or -Err / WS_ENGINE_E_*. */
int ws_client_apply_uri(esp_websocket_client_handle_t c, const char *uri);
int32_t ws_client_ticks_to_ms(TickType_t ticks);
void ws_client_free(esp_websocket_client_handle_t c);

/* ws_client_task.c */
void ws_client_task(void *arg);

/* ws_client_tx.c: sends one message (or the given part of one) of `len` bytes, sliced by the
 * client's chunk size: the first frame carries `opcode`, later ones CONT; FIN on the last frame
 * when `fin`. Returns bytes sent, -1 when nothing was sent (bad argument, not connected, lock or
 * write timeout before the first byte, refused by the engine), or a negative WS_PORT_ERR_* when
 * the stream broke (the task then tears the connection down). When the engine refused the first
 * frame (nothing sent, connection unaffected) and `refused` is not NULL, *refused is set to the
 * engine's -WSE_ERR_* code; otherwise to 0. */
int ws_client_send(esp_websocket_client_handle_t c, uint32_t opcode, bool fin, const uint8_t *data, int len,
                   int32_t timeout_ms, int32_t *refused);
/* A fresh mask key (RFC 6455 5.3: unpredictable, from the port's strong source), never handed out
 * twice; caller holds tx_lock (recv/tick keys in the task, send keys in any sender). */
uint32_t ws_client_mask_key(esp_websocket_client_handle_t c);
/* The next two keys, not taken (caller holds tx_lock): the keys of a recv/tick call go on the wire
 * only inside its control output, so ws_client_mask_keys_spent() takes them after a call that left
 * control output and keys no control frame used serve the next call (one getrandom per 8 reads,
 * not per 8 frames read, when data streams in). */
void ws_client_mask_keys_peek(esp_websocket_client_handle_t c, uint32_t *key1, uint32_t *key2);
void ws_client_mask_keys_spent(esp_websocket_client_handle_t c);
/* Writes the slot's pending control output; caller holds tx_lock. 0 or a WS_PORT_ERR_*. */
int ws_client_write_ctl(esp_websocket_client_handle_t c);

#endif /* WS_CLIENT_H */
