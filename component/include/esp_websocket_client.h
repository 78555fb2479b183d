/*
 * esp_websocket_client.h - WebSocket (RFC 6455) client, source-compatible with Espressif's
 * esp_websocket_client 1.8.0.
 *
 * Compatibility promise
 *   - Every function, type, enumerator and config field of 1.8.0 exists here with the identical
 *     name, signature and order, so an application written for 1.8.0 compiles and links unchanged.
 *   - esp_websocket_client_config_t keeps the 1.8.0 field order (incl. `client_ds_data`, present
 *     only with CONFIG_ESP_TLS_USE_DS_PERIPHERAL); fields added by this component come after the
 *     last 1.8.0 field (`ext_transport`). A zero-initialised struct gives 1.8.0 behaviour except
 *     where a new field's comment says otherwise.
 *   - esp_websocket_event_id_t numbering depends on the ESP-IDF version exactly as upstream:
 *     WEBSOCKET_EVENT_HEADER_RECEIVED exists only when ESP_IDF_VERSION >= 6.0.0 and shifts every
 *     later event by one. Both numberings are pinned below with compile-time checks (and run on
 *     the host under both: tests/integration/test_integ_events.c).
 *
 * Error conventions (kept from 1.8.0, stated once here)
 *   - Functions returning esp_err_t: ESP_OK on success; ESP_ERR_INVALID_ARG for a NULL client or a
 *     bad argument; ESP_FAIL / ESP_ERR_INVALID_STATE for a call in the wrong state, as each says.
 *   - send functions return int: the number of payload bytes sent (>= 0) on success, -1 when
 *     nothing could be sent (bad argument, not connected, lock not acquired in time), and 0 or a
 *     negative value when the connection failed during the write (the connection is then dropped:
 *     ERROR and DISCONNECTED are posted and reconnect applies).
 *   - TickType_t timeouts are FreeRTOS ticks (pdMS_TO_TICKS(ms)); portMAX_DELAY means no bound.
 *
 * Threading
 *   - Each started client runs one task that owns the connection. Event handlers run in that task,
 *     one at a time, in posting order. `data_ptr` of an event is valid only during the handler.
 *   - Any other task may call the send, close, stop, get/set functions. stop(), close() and
 *     destroy() called from an event handler (i.e. from the client task) return ESP_FAIL.
 */
#ifndef _ESP_WEBSOCKET_CLIENT_H_
#define _ESP_WEBSOCKET_CLIENT_H_

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include "freertos/FreeRTOS.h"
#include "esp_err.h"
#include "esp_event.h"
#include "esp_idf_version.h"
#include "esp_transport_ws.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ifreq;   /* <net/if.h>; only a pointer to it is stored */

/* 1 when the ESP-IDF in use has the tcp_transport header hook (ESP-IDF >= 6.0.0). It decides
 * whether WEBSOCKET_EVENT_HEADER_RECEIVED exists and therefore the numbering of later events. */
#if ESP_IDF_VERSION >= ESP_IDF_VERSION_VAL(6, 0, 0)
#define WS_TRANSPORT_HEADER_CALLBACK_SUPPORT 1
#else
#define WS_TRANSPORT_HEADER_CALLBACK_SUPPORT 0
#endif

typedef struct esp_websocket_client *esp_websocket_client_handle_t;

ESP_EVENT_DECLARE_BASE(WEBSOCKET_EVENTS);   /* event base of every event this client posts */

/* Websocket client events. Values depend on WS_TRANSPORT_HEADER_CALLBACK_SUPPORT (see top). */
typedef enum {
    WEBSOCKET_EVENT_ANY = -1,           /* registration wildcard: every event */
    WEBSOCKET_EVENT_ERROR = 0,          /* connect/read/write failure, handshake rejection, pong timeout;
                                           error_handle says which */
#if WS_TRANSPORT_HEADER_CALLBACK_SUPPORT
    WEBSOCKET_EVENT_HEADER_RECEIVED,    /* one response header line of the opening handshake
                                           (data_ptr/data_len, no CRLF), before CONNECTED */
#endif
    WEBSOCKET_EVENT_CONNECTED,          /* opening handshake completed */
    WEBSOCKET_EVENT_DISCONNECTED,       /* connection dropped without a clean close handshake */
    WEBSOCKET_EVENT_DATA,               /* one chunk of a received frame (data, PING, PONG or CLOSE) */
    WEBSOCKET_EVENT_CLOSED,             /* close handshake completed; close_status_code is set */
    WEBSOCKET_EVENT_BEFORE_CONNECT,     /* about to start a connection attempt */
    WEBSOCKET_EVENT_BEGIN,              /* the client task started (once per start()) */
    WEBSOCKET_EVENT_FINISH,             /* the client task is about to exit (once per start()) */
    WEBSOCKET_EVENT_MAX
} esp_websocket_event_id_t;

/* The numbering is ABI: applications compiled against upstream headers compare raw ids. */
#if defined(__cplusplus)
#define WS_CLIENT_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define WS_CLIENT_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif
WS_CLIENT_STATIC_ASSERT(WEBSOCKET_EVENT_ANY == -1 && WEBSOCKET_EVENT_ERROR == 0,
                        "esp_websocket_event_id_t: ANY/ERROR numbering is fixed");
#if WS_TRANSPORT_HEADER_CALLBACK_SUPPORT
WS_CLIENT_STATIC_ASSERT(WEBSOCKET_EVENT_HEADER_RECEIVED == 1 && WEBSOCKET_EVENT_CONNECTED == 2 &&
                        WEBSOCKET_EVENT_DISCONNECTED == 3 && WEBSOCKET_EVENT_DATA == 4 &&
                        WEBSOCKET_EVENT_CLOSED == 5 && WEBSOCKET_EVENT_BEFORE_CONNECT == 6 &&
                        WEBSOCKET_EVENT_BEGIN == 7 && WEBSOCKET_EVENT_FINISH == 8 &&
                        WEBSOCKET_EVENT_MAX == 9,
                        "esp_websocket_event_id_t must match esp_websocket_client 1.8.0 on ESP-IDF >= 6");
#else
WS_CLIENT_STATIC_ASSERT(WEBSOCKET_EVENT_CONNECTED == 1 && WEBSOCKET_EVENT_DISCONNECTED == 2 &&
                        WEBSOCKET_EVENT_DATA == 3 && WEBSOCKET_EVENT_CLOSED == 4 &&
                        WEBSOCKET_EVENT_BEFORE_CONNECT == 5 && WEBSOCKET_EVENT_BEGIN == 6 &&
                        WEBSOCKET_EVENT_FINISH == 7 && WEBSOCKET_EVENT_MAX == 8,
                        "esp_websocket_event_id_t must match esp_websocket_client 1.8.0 on ESP-IDF < 6");
#endif

/* What kind of failure an ERROR / DISCONNECTED event reports. */
typedef enum {
    WEBSOCKET_ERROR_TYPE_NONE = 0,
    WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT,  /* socket/TLS failure, or handshake rejected (see
                                            esp_ws_handshake_status_code) */
    WEBSOCKET_ERROR_TYPE_PONG_TIMEOUT,   /* no PONG within pingpong_timeout_sec */
    WEBSOCKET_ERROR_TYPE_HANDSHAKE,      /* declared by 1.8.0 */
    WEBSOCKET_ERROR_TYPE_SERVER_CLOSE,   /* the server closed and close-reconnect is active */
} esp_websocket_error_type_t;

/* Failure details carried by every event (stale for events that are not about a failure).
 * The first three fields are layout-compatible with ESP-IDF's struct esp_tls_last_error. */
typedef struct {
    esp_err_t esp_tls_last_esp_err;      /* ESP-TLS error code (ESP_ERR_ESP_TLS_*), 0 if none */
    int esp_tls_stack_err;               /* TLS library error (mbedTLS), 0 if none */
    int esp_tls_cert_verify_flags;       /* certificate verification flags, 0 if none */
    esp_websocket_error_type_t error_type;
    int esp_ws_handshake_status_code;    /* HTTP status of a rejected opening handshake, else 0 */
    int esp_transport_sock_errno;        /* errno of the failed socket call, 0 if none */
} esp_websocket_error_codes_t;

/* Data passed (as event_data) to every handler of WEBSOCKET_EVENTS. */
typedef struct {
    const char *data_ptr;                /* DATA: chunk payload (not NUL-terminated); ERROR: message text.
                                            Valid only during the handler. */
    int data_len;                        /* bytes at data_ptr */
    bool fin;                            /* DATA: FIN bit of the frame this chunk belongs to */
    uint8_t op_code;                     /* DATA: frame opcode (0 for a continuation frame) */
    esp_websocket_client_handle_t client;
    void *user_context;                  /* config.user_context */
    int payload_len;                     /* DATA: total payload length of the current frame */
    int payload_offset;                  /* DATA: offset of this chunk within the frame */
    esp_websocket_error_codes_t error_handle;
    int close_status_code;               /* status code of the peer's CLOSE (1005 when it had none) */
} esp_websocket_event_data_t;

/* Transport used when the URI has no scheme. */
typedef enum {
    WEBSOCKET_TRANSPORT_UNKNOWN = 0x0,
    WEBSOCKET_TRANSPORT_OVER_TCP,        /* ws:// */
    WEBSOCKET_TRANSPORT_OVER_SSL,        /* wss:// */
} esp_websocket_transport_t;

/* UTF-8 checking (new field utf8_policy). 0 selects the default. */
typedef enum {
    WEBSOCKET_UTF8_POLICY_DEFAULT = 0,   /* Kconfig ESP_WS_CLIENT_UTF8_POLICY (VALIDATE_RX unless
                                            changed there; host: CMake WS_HOST_KCONFIG) */
    WEBSOCKET_UTF8_POLICY_NONE,          /* received TEXT is not checked (as 1.8.0); Close reasons
                                            still are, they are protocol data (RFC 6455 5.5.1) */
    WEBSOCKET_UTF8_POLICY_VALIDATE_RX,   /* received TEXT messages and CLOSE reasons must be valid
                                            UTF-8 (RFC 6455 8.1); otherwise the client closes with
                                            1007 and reports ERROR */
    WEBSOCKET_UTF8_POLICY_VALIDATE_RX_TX,/* as VALIDATE_RX, and send_text / text partial sends with
                                            invalid UTF-8 are refused (-1, nothing sent) */
} esp_websocket_utf8_policy_t;

/* The new on/off options below are three-valued so that a zero-initialised config can tell "not
 * set" (0: the Kconfig default) from "off". ENABLED is 1, so C code that assigns `true` keeps
 * working; `false` is 0 and therefore means DEFAULT, not DISABLED. C++ must use the enumerators.
 * Any other value makes esp_websocket_client_init() fail (NULL). */

/* Message reassembly (new field reassemble_messages). */
typedef enum {
    WEBSOCKET_REASSEMBLY_DEFAULT = 0,    /* Kconfig ESP_WS_CLIENT_REASSEMBLE_MESSAGES (off unless
                                            set there; host: CMake WS_HOST_KCONFIG) */
    WEBSOCKET_REASSEMBLY_ENABLED = 1,    /* one DATA event per whole TEXT/BINARY message */
    WEBSOCKET_REASSEMBLY_DISABLED = 2,   /* DATA events are chunks of each frame, as 1.8.0 */
} esp_websocket_reassembly_t;

/* Reconnect delay growth (new field reconnect_backoff). */
typedef enum {
    WEBSOCKET_RECONNECT_BACKOFF_DEFAULT = 0,  /* Kconfig ESP_WS_CLIENT_RECONNECT_BACKOFF (off unless
                                                 set there; host: CMake WS_HOST_KCONFIG) */
    WEBSOCKET_RECONNECT_BACKOFF_ENABLED = 1,  /* exponential delay with jitter */
    WEBSOCKET_RECONNECT_BACKOFF_DISABLED = 2, /* fixed reconnect_timeout_ms, as 1.8.0 */
} esp_websocket_reconnect_backoff_t;

/* Client configuration. Strings are copied by esp_websocket_client_init(); the caller may free
 * them afterwards. Certificates/keys are copied too (they are needed at every connect). */
typedef struct {
    const char *uri;                        /* ws:// or wss:// URI; path and query are kept */
    const char *host;                       /* overrides the URI host */
    int port;                               /* overrides the URI port (0: 80 for ws, 443 for wss) */
    const char *username;                   /* with password: Basic authorization */
    const char *password;
    const char *path;                       /* overrides the URI path (default "/") */
    bool disable_auto_reconnect;            /* true: do not reconnect after a failure */
    bool enable_close_reconnect;            /* also reconnect after a clean close (needs auto-reconnect) */
    void *user_context;                     /* echoed in every event's user_context */
    bool task_core_id_set;                  /* true: pin the task to task_core_id */
    int task_core_id;                       /* core for the task when task_core_id_set */
    int task_prio;                          /* task priority (default 5 when <= 0) */
    const char *task_name;                  /* task name (default "websocket_task") */
    int task_stack;                         /* task stack in bytes (default 4096 on 1.8.0; this
                                               component's default is set by Kconfig because the
                                               WASM engine needs more) */
    int buffer_size;                        /* rx and tx buffer size, = largest DATA chunk and largest
                                               outgoing frame payload (default 1024 when <= 0) */
    const char *cert_pem;                   /* server CA: PEM (NUL-terminated) or DER with cert_len */
    size_t cert_len;                        /* 0: PEM */
    const char *client_cert;                /* mutual TLS client certificate, PEM or DER */
    size_t client_cert_len;                 /* 0: PEM */
    const char *client_key;                 /* mutual TLS key, PEM or DER (wins over client_ds_data) */
    size_t client_key_len;                  /* 0: PEM */
#if CONFIG_ESP_TLS_USE_DS_PERIPHERAL
    void *client_ds_data;                   /* digital-signature peripheral context */
#endif
    esp_websocket_transport_t transport;    /* used only if the URI has no scheme */
    const char *subprotocol;                /* Sec-WebSocket-Protocol request value */
    const char *user_agent;                 /* User-Agent (default "ESP32 Websocket Client") */
    const char *headers;                    /* extra request headers, each "Name: value\r\n" */
    int pingpong_timeout_sec;               /* fail when a PING is unanswered this long (default 120) */
    bool disable_pingpong_discon;           /* true: never fail on a missing PONG (PINGs still sent) */
    bool use_global_ca_store;               /* verify with the esp-tls global CA store */
    esp_err_t (*crt_bundle_attach)(void *conf); /* e.g. esp_crt_bundle_attach */
    const char *cert_common_name;           /* name to verify instead of host (not with skip below) */
    bool skip_cert_common_name_check;       /* do not verify the certificate name */
    bool keep_alive_enable;                 /* TCP keep-alive */
    int keep_alive_idle;                    /* seconds (default 5) */
    int keep_alive_interval;                /* seconds (default 5) */
    int keep_alive_count;                   /* probes (default 3) */
    int reconnect_timeout_ms;               /* delay before reconnecting (default 10000 when <= 0) */
    int network_timeout_ms;                 /* connect/read/write bound (default 10000 when <= 0) */
    size_t ping_interval_sec;               /* client PING period (default 10) */
    struct ifreq *if_name;                  /* bind to this interface; copied at init */
    esp_transport_handle_t ext_transport;   /* 1.8.0: caller-built ws transport. Not supported by
                                               this component: init() fails (NULL) when set */

    /* ---- Fields added by this component (not in 1.8.0). Zero = documented default; for
     *      utf8_policy, reconnect_backoff and reassemble_messages that default is set by Kconfig. */

    void (*header_cb)(void *ctx, const char *line, int len);
                                            /* called in the client task for every response header
                                               line of each opening handshake (status line excluded,
                                               no CRLF, not NUL-terminated, valid only during the
                                               call), before CONNECTED. Works on every ESP-IDF
                                               version; HEADER_RECEIVED exists only on IDF >= 6. */
    void *header_cb_ctx;                    /* first argument of header_cb */
    esp_websocket_reconnect_backoff_t reconnect_backoff;
                                            /* ENABLED: the reconnect delay starts at
                                               reconnect_timeout_ms and doubles after each failed
                                               attempt up to reconnect_backoff_max_ms, with random
                                               jitter of up to 1/4 of the delay; it returns to
                                               reconnect_timeout_ms after a successful handshake.
                                               DISABLED: fixed delay. DEFAULT (0): Kconfig
                                               ESP_WS_CLIENT_RECONNECT_BACKOFF, off by default. */
    int reconnect_backoff_max_ms;           /* ceiling of the backoff delay (default when <= 0:
                                               Kconfig ESP_WS_CLIENT_RECONNECT_BACKOFF_MAX_MS, 60000) */
    int max_redirects;                      /* 3xx Location hops followed per connection attempt
                                               (default 5 when 0; < 0: follow none, report ERROR) */
    esp_websocket_utf8_policy_t utf8_policy;/* DEFAULT (0): Kconfig ESP_WS_CLIENT_UTF8_POLICY,
                                               WEBSOCKET_UTF8_POLICY_VALIDATE_RX by default */
    int max_message_len;                    /* largest received message (sum of its frames) in bytes;
                                               larger closes with 1009 (default/<= 0: INT32_MAX, or
                                               with reassembly Kconfig
                                               ESP_WS_CLIENT_REASSEMBLY_MAX_LEN, 65536 by default) */
    int max_frame_len;                      /* largest received frame payload in bytes; larger closes
                                               with 1009 (default/<= 0: INT32_MAX) */
    int close_timeout_ms;                   /* how long close() waits for the server's CLOSE before
                                               dropping TCP (default 5000 when <= 0) */
    int response_header_limit;              /* largest accepted handshake response (status line +
                                               headers) in bytes; larger fails the attempt
                                               (default 4096 when <= 0) */
    bool skip_server_cert_verify;           /* wss:// only. DANGEROUS, for tests and development:
                                               connect without verifying the server's certificate
                                               (anyone on the path can read and change the traffic);
                                               a warning is logged at every connect. Default false:
                                               the server is verified against cert_pem, the global
                                               CA store, crt_bundle_attach or (host) the system CA
                                               store. On ESP-IDF, as upstream, the Kconfig pair
                                               CONFIG_ESP_TLS_INSECURE + CONFIG_ESP_TLS_SKIP_SERVER_
                                               CERT_VERIFY also skips it when no CA source is set. */
    esp_websocket_reassembly_t reassemble_messages;
                                            /* ENABLED: each complete TEXT or BINARY message (all its
                                               frames and chunks) is delivered as ONE
                                               WEBSOCKET_EVENT_DATA: op_code = the message's opcode
                                               (1 or 2), fin = true, payload_offset = 0,
                                               payload_len = data_len = the message length, data_ptr
                                               = a buffer owned by the client, valid only during the
                                               handler and NOT NUL-terminated (as upstream). PING,
                                               PONG and CLOSE are still delivered as before. The
                                               message size is bounded by max_message_len, whose
                                               default in this mode is 65536 bytes (Kconfig); a
                                               larger message fails the connection (Close 1009,
                                               ERROR), and so does running out of memory for the
                                               buffer (ERROR + DISCONNECTED). DISABLED: DATA events
                                               are chunks of at most buffer_size bytes of each frame,
                                               as 1.8.0. DEFAULT (0): Kconfig
                                               ESP_WS_CLIENT_REASSEMBLE_MESSAGES, off by default. */
} esp_websocket_client_config_t;

/* Creates a client from config (copied; config may be freed afterwards). Does not connect.
 * Blocks: no (allocation only).
 * Returns the handle, or NULL on: NULL config, unparsable uri, both cert_common_name and
 * skip_cert_common_name_check set, ext_transport set, a utf8_policy, reassemble_messages or
 * reconnect_backoff value outside its enum, or out of memory. */
esp_websocket_client_handle_t esp_websocket_client_init(const esp_websocket_client_config_t *config);

/* Replaces scheme, host, port, path (+query) and userinfo from uri. Meant for a stopped client; a
 * running client uses the new URI at its next connection attempt.
 * Blocks: only on the client lock. Returns ESP_OK, ESP_ERR_INVALID_ARG (NULL), ESP_FAIL (bad URI;
 * the previous URI is kept), ESP_ERR_NO_MEM. */
esp_err_t esp_websocket_client_set_uri(esp_websocket_client_handle_t client, const char *uri);

/* Replaces the extra request headers ("Name: value\r\n" lines) used from the next handshake on.
 * As in 1.8.0, accepted only while connected. Returns ESP_OK, ESP_ERR_INVALID_ARG (NULL client or
 * not connected), ESP_ERR_NO_MEM. Blocks: only on the client lock. */
esp_err_t esp_websocket_client_set_headers(esp_websocket_client_handle_t client, const char *headers);

/* Appends "key: value\r\n" to the extra request headers; takes effect at the next handshake.
 * Returns ESP_OK, ESP_ERR_INVALID_ARG (NULL argument, a key that is not an RFC 7230 token, or a
 * value containing CR, LF or another control character except tab: nothing is appended, so no
 * header can be injected), ESP_ERR_NO_MEM. Blocks: only on the lock. */
esp_err_t esp_websocket_client_append_header(esp_websocket_client_handle_t client, const char *key, const char *value);

/* Starts the client task, which posts BEGIN, then connects (BEFORE_CONNECT, CONNECTED ...) and
 * reconnects as configured. Returns at once; the connection is made in the task.
 * Returns ESP_OK, ESP_ERR_INVALID_ARG (NULL), ESP_FAIL (already started, or the task could not be
 * created). */
esp_err_t esp_websocket_client_start(esp_websocket_client_handle_t client);

/* Stops the client abruptly: no CLOSE frame is sent, TCP is dropped, FINISH is posted.
 * Blocks: until the task has exited. The task notices the request within WS_PORT_ABORT_CHECK_MS
 * (100 ms) of whatever it is waiting on (DNS, connect, read, write, reconnect delay), plus the time
 * of an event handler running at that moment.
 * Returns ESP_OK, ESP_ERR_INVALID_ARG (NULL), ESP_FAIL (not started, or called from the client task). */
esp_err_t esp_websocket_client_stop(esp_websocket_client_handle_t client);

/* Stops the client (as stop()) if running, then frees it and everything it owns. The handle is
 * invalid afterwards. Returns ESP_OK, ESP_ERR_INVALID_ARG (NULL), ESP_FAIL (called from the client
 * task, or after destroy_on_exit). Blocks: as stop(). */
esp_err_t esp_websocket_client_destroy(esp_websocket_client_handle_t client);

/* Makes the client task free the client when it exits (after FINISH). The handle must not be used
 * after the task may have exited. Returns ESP_OK or ESP_ERR_INVALID_ARG (NULL). Never blocks. */
esp_err_t esp_websocket_client_destroy_on_exit(esp_websocket_client_handle_t client);

/* Sends a complete binary message. Payloads larger than buffer_size go out as one fragmented
 * message (BINARY, then CONT frames, FIN on the last). Blocks: up to `timeout` for the send lock
 * and for the writes. Returns bytes sent, or -1 / 0 / negative (see "Error conventions"). */
int esp_websocket_client_send_bin(esp_websocket_client_handle_t client, const char *data, int len, TickType_t timeout);

/* Starts a fragmented binary message: BINARY frame(s), FIN clear on all. Continue with
 * send_cont_msg, end with send_fin. Blocks and returns as send_bin. */
int esp_websocket_client_send_bin_partial(esp_websocket_client_handle_t client, const char *data, int len, TickType_t timeout);

/* Sends a complete text message (chunked as send_bin). UTF-8 is checked only with
 * utf8_policy VALIDATE_RX_TX. Blocks and returns as send_bin. */
int esp_websocket_client_send_text(esp_websocket_client_handle_t client, const char *data, int len, TickType_t timeout);

/* Starts a fragmented text message: TEXT frame(s), FIN clear on all. Blocks and returns as send_bin. */
int esp_websocket_client_send_text_partial(esp_websocket_client_handle_t client, const char *data, int len, TickType_t timeout);

/* Continues a fragmented message: CONT frame(s), FIN clear. Blocks and returns as send_bin. */
int esp_websocket_client_send_cont_msg(esp_websocket_client_handle_t client, const char *data, int len, TickType_t timeout);

/* Ends a fragmented message with an empty CONT frame with FIN set. Returns 0 on success (no payload
 * bytes), -1 / negative on failure. Blocks as send_bin. */
int esp_websocket_client_send_fin(esp_websocket_client_handle_t client, TickType_t timeout);

/* Sends a message with any opcode (TEXT, BINARY, CONT, PING, PONG, CLOSE); FIN is set on the last
 * frame. data may be NULL with len 0 (empty frame). Control frames must be <= 125 bytes (-1
 * otherwise). Blocks and returns as send_bin. */
int esp_websocket_client_send_with_opcode(esp_websocket_client_handle_t client, ws_transport_opcodes_t opcode, const uint8_t *data, int len, TickType_t timeout);

/* Starts the close handshake with an empty CLOSE frame, then waits up to `timeout` for the client
 * task to finish it (CLOSED is posted) and exit; after that it stops the client as stop() does.
 * With enable_close_reconnect (and auto-reconnect) it returns right after sending.
 * Returns ESP_OK, ESP_ERR_INVALID_ARG (NULL), ESP_FAIL (not running, called from the client task,
 * or the CLOSE could not be sent). */
esp_err_t esp_websocket_client_close(esp_websocket_client_handle_t client, TickType_t timeout);

/* As close(), with a CLOSE body of the 2-byte status `code` (big-endian) followed by `len` bytes
 * of `data` (the reason; at most 123 bytes). Returns as close(); ESP_ERR_INVALID_ARG also for a
 * code that may not be sent (RFC 6455 7.4) or a reason that is too long. */
esp_err_t esp_websocket_client_close_with_code(esp_websocket_client_handle_t client, int code, const char *data, int len, TickType_t timeout);

/* True while the opening handshake has completed and the connection is up. False for NULL. */
bool esp_websocket_client_is_connected(esp_websocket_client_handle_t client);

/* The PING period in seconds; 0 for NULL. Never blocks. */
size_t esp_websocket_client_get_ping_interval_sec(esp_websocket_client_handle_t client);

/* Sets the PING period (0 = default 10 s); takes effect at once, also while connected.
 * Returns ESP_OK or ESP_ERR_INVALID_ARG (NULL). */
esp_err_t esp_websocket_client_set_ping_interval_sec(esp_websocket_client_handle_t client, size_t ping_interval_sec);

/* The reconnect delay in ms; -1 for NULL or when auto-reconnect is disabled. */
int esp_websocket_client_get_reconnect_timeout(esp_websocket_client_handle_t client);

/* Sets the reconnect delay (> 0 ms) and wakes a reconnect wait in progress, as upstream 1.8.0 does:
 * the wait then ends once the new delay has passed since it began (at once if it already has).
 * Returns ESP_OK, ESP_ERR_INVALID_ARG (NULL or <= 0),
 * ESP_ERR_INVALID_STATE (auto-reconnect disabled). */
esp_err_t esp_websocket_client_set_reconnect_timeout(esp_websocket_client_handle_t client, int reconnect_timeout_ms);

/* Registers a handler for `event` (or WEBSOCKET_EVENT_ANY) of this client. Handlers run in the
 * client task. Returns ESP_OK, ESP_ERR_INVALID_ARG, ESP_ERR_NO_MEM. */
esp_err_t esp_websocket_register_events(esp_websocket_client_handle_t client,
                                        esp_websocket_event_id_t event,
                                        esp_event_handler_t event_handler,
                                        void *event_handler_arg);

/* Removes the handler registered for the same event and function. Returns ESP_OK (also when no
 * such handler was registered, as esp_event_handler_unregister_with) or ESP_ERR_INVALID_ARG (NULL).
 * Safe to call from a handler; a handler removed while an event is being dispatched is not called
 * for later events. */
esp_err_t esp_websocket_unregister_events(esp_websocket_client_handle_t client,
                                          esp_websocket_event_id_t event,
                                          esp_event_handler_t event_handler);

#ifdef __cplusplus
}
#endif

#endif /* _ESP_WEBSOCKET_CLIENT_H_ */
