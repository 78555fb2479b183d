/*
 * esp_websocket_client.c - the public API: configuration, lifecycle, getters and setters.
 * The connection itself runs in ws_client_task.c, sends in ws_client_tx.c (see ws_client.h).
 *
 * Differences from esp_websocket_client 1.8.0 that an application can observe (all deliberate):
 *   - stop() and destroy() wait at most WS_CLIENT_STOP_WAIT_MS for the task (1.8.0: forever).
 *     stop() then returns ESP_ERR_TIMEOUT and the task finishes stopping on its own; destroy()
 *     returns ESP_OK and the task frees the client when it exits.
 *   - A send whose write times out before any byte of the message went out returns -1 and keeps
 *     the connection (1.8.0 drops it). A timeout after part of a message went out still drops it.
 *   - The server's Close is echoed with its status code (RFC 6455 5.5.1; 1.8.0 echoes an empty body).
 *   - Protocol violations and invalid UTF-8 from the server fail the connection (1002 / 1007).
 *   - set_uri() with userinfo changes the credentials of the next handshake.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#if __has_include(<net/if.h>)
#include <net/if.h>
#endif

#include "esp_log.h"
#include "ws_client.h"

static const char *TAG = "websocket_client";

ESP_EVENT_DEFINE_BASE(WEBSOCKET_EVENTS);

char *ws_client_strdup(const char *s)
{
    if (s == NULL) {
        return NULL;
    }
    size_t n = strlen(s) + 1;
    char *d = ws_port_malloc(n);
    if (d != NULL) {
        memcpy(d, s, n);
    }
    return d;
}

/* Copies a PEM (len 0: NUL-terminated, the NUL is kept) or DER (len bytes) blob. */
static bool copy_blob(const char *src, size_t len, char **dst, size_t *dst_len)
{
    *dst = NULL;
    *dst_len = 0;
    if (src == NULL) {
        return true;
    }
    size_t n = len != 0 ? len : strlen(src) + 1;
    *dst = ws_port_malloc(n);
    if (*dst == NULL) {
        return false;
    }
    memcpy(*dst, src, n);
    *dst_len = len;   /* the port reads 0 as "PEM, use strlen" */
    return true;
}

/* Replaces *field with a copy of value; false when out of memory. */
static bool replace(char **field, const char *value)
{
    char *copy = NULL;
    if (value != NULL && (copy = ws_client_strdup(value)) == NULL) {
        return false;
    }
    ws_port_free(*field);
    *field = copy;
    return true;
}

int32_t ws_client_ticks_to_ms(TickType_t ticks)
{
    if (ticks == portMAX_DELAY) {
        return WS_PORT_WAIT_FOREVER;
    }
    uint64_t ms = (uint64_t)ticks * 1000u / configTICK_RATE_HZ;
    return ms > INT32_MAX ? INT32_MAX : (int32_t)ms;
}

static bool lock(esp_websocket_client_handle_t c)
{
    return ws_port_mutex_lock(c->lock, WS_PORT_WAIT_FOREVER) == WS_PORT_OK;
}

static void unlock(esp_websocket_client_handle_t c)
{
    ws_port_mutex_unlock(c->lock);
}

/* Splits "user:password" (URI userinfo) into the username/password fields. */
static bool apply_userinfo(ws_client_cfg_t *cfg, const char *userinfo)
{
    const char *colon = strchr(userinfo, ':');
    size_t ulen = colon != NULL ? (size_t)(colon - userinfo) : strlen(userinfo);
    char *user = ws_port_malloc(ulen + 1);
    char *pass = ws_client_strdup(colon != NULL ? colon + 1 : "");
    if (user == NULL || pass == NULL) {
        ws_port_free(user);
        ws_port_free(pass);
        return false;
    }
    memcpy(user, userinfo, ulen);
    user[ulen] = '\0';
    ws_port_free(cfg->username);
    ws_port_free(cfg->password);
    cfg->username = user;
    cfg->password = pass;
    return true;
}

int ws_client_apply_uri(esp_websocket_client_handle_t c, const char *uri)
{
    /* A URI without a scheme takes it from config.transport (1.8.0 behaviour). */
    char *with_scheme = NULL;
    if (strstr(uri, "://") == NULL) {
        const char *scheme = c->cfg.tls ? "wss://" : "ws://";
        with_scheme = ws_port_malloc(strlen(scheme) + strlen(uri) + 1);
        if (with_scheme == NULL) {
            return -WSE_ERR_NO_MEMORY;
        }
        strcpy(with_scheme, scheme);
        strcat(with_scheme, uri);
        uri = with_scheme;
    }
    ws_engine_uri_t u;
    int rc = ws_engine_uri_parse(uri, strlen(uri), &u);
    ws_port_free(with_scheme);
    if (rc != 0) {
        return rc;
    }
    if (!lock(c)) {
        ws_engine_uri_free(&u);
        return WS_ENGINE_E_LOCK;
    }
    c->cfg.tls = u.tls;
    c->cfg.port = u.port;
    ws_port_free(c->cfg.host);
    c->cfg.host = u.host;
    u.host = NULL;
    ws_port_free(c->cfg.path);
    c->cfg.path = u.path;
    u.path = NULL;
    if (u.userinfo != NULL && !apply_userinfo(&c->cfg, u.userinfo)) {
        rc = -WSE_ERR_NO_MEMORY;
    }
    unlock(c);
    ws_engine_uri_free(&u);
    return rc;
}

/* What the DEFAULT (0) value of utf8_policy, reassemble_messages and reconnect_backoff means:
 * Kconfig on ESP-IDF; on the host the same CONFIG_ symbols come from CMake (WS_HOST_KCONFIG in
 * component/CMakeLists.txt), and without them the Kconfig defaults below apply. */
#if defined(CONFIG_ESP_WS_CLIENT_UTF8_NONE)
#define WS_CLIENT_DEFAULT_UTF8_POLICY WEBSOCKET_UTF8_POLICY_NONE
#elif defined(CONFIG_ESP_WS_CLIENT_UTF8_VALIDATE_RX_TX)
#define WS_CLIENT_DEFAULT_UTF8_POLICY WEBSOCKET_UTF8_POLICY_VALIDATE_RX_TX
#else
#define WS_CLIENT_DEFAULT_UTF8_POLICY WEBSOCKET_UTF8_POLICY_VALIDATE_RX
#endif
#if defined(CONFIG_ESP_WS_CLIENT_REASSEMBLE_MESSAGES) && CONFIG_ESP_WS_CLIENT_REASSEMBLE_MESSAGES
#define WS_CLIENT_DEFAULT_REASSEMBLE true
#else
#define WS_CLIENT_DEFAULT_REASSEMBLE false
#endif
#if defined(CONFIG_ESP_WS_CLIENT_RECONNECT_BACKOFF) && CONFIG_ESP_WS_CLIENT_RECONNECT_BACKOFF
#define WS_CLIENT_DEFAULT_BACKOFF true
#else
#define WS_CLIENT_DEFAULT_BACKOFF false
#endif
#ifdef CONFIG_ESP_WS_CLIENT_REASSEMBLY_MAX_LEN
#define WS_CLIENT_DEFAULT_REASSEMBLY_LIMIT CONFIG_ESP_WS_CLIENT_REASSEMBLY_MAX_LEN
#else
#define WS_CLIENT_DEFAULT_REASSEMBLY_LIMIT WS_CLIENT_DEFAULT_REASSEMBLY_MAX
#endif
#ifdef CONFIG_ESP_WS_CLIENT_RECONNECT_BACKOFF_MAX_MS
#define WS_CLIENT_DEFAULT_BACKOFF_LIMIT CONFIG_ESP_WS_CLIENT_RECONNECT_BACKOFF_MAX_MS
#else
#define WS_CLIENT_DEFAULT_BACKOFF_LIMIT WS_CLIENT_DEFAULT_BACKOFF_MAX_MS
#endif
_Static_assert(WS_CLIENT_DEFAULT_BACKOFF_LIMIT > 0 && WS_CLIENT_DEFAULT_BACKOFF_LIMIT <= INT32_MAX,
               "CONFIG_ESP_WS_CLIENT_RECONNECT_BACKOFF_MAX_MS must be 1 .. 2^31-1");
_Static_assert(WS_CLIENT_DEFAULT_REASSEMBLY_LIMIT > 0 && WS_CLIENT_DEFAULT_REASSEMBLY_LIMIT <= INT32_MAX,
               "CONFIG_ESP_WS_CLIENT_REASSEMBLY_MAX_LEN must be 1 .. 2^31-1");

/* Engine UTF8_POLICY bits of a valid utf8_policy (checked by options_valid). */
static uint32_t utf8_bits(esp_websocket_utf8_policy_t p)
{
    if (p == WEBSOCKET_UTF8_POLICY_DEFAULT) {
        p = WS_CLIENT_DEFAULT_UTF8_POLICY;
    }
    switch (p) {
    case WEBSOCKET_UTF8_POLICY_NONE: return 0;
    case WEBSOCKET_UTF8_POLICY_VALIDATE_RX_TX: return 3;
    case WEBSOCKET_UTF8_POLICY_VALIDATE_RX:
    default: return 1;
    }
}

/* The enum fields are ints to the compiler: a stray value (a bool-typed expression is fine, it
 * is 0 or 1) must not be read as some setting, so init() refuses it. */
static bool options_valid(const esp_websocket_client_config_t *config)
{
    const char *bad = NULL;
    int value = 0;
    if ((unsigned)config->utf8_policy > WEBSOCKET_UTF8_POLICY_VALIDATE_RX_TX) {
        bad = "utf8_policy";
        value = (int)config->utf8_policy;
    } else if ((unsigned)config->reassemble_messages > WEBSOCKET_REASSEMBLY_DISABLED) {
        bad = "reassemble_messages";
        value = (int)config->reassemble_messages;
    } else if ((unsigned)config->reconnect_backoff > WEBSOCKET_RECONNECT_BACKOFF_DISABLED) {
        bad = "reconnect_backoff";
        value = (int)config->reconnect_backoff;
    }
    if (bad != NULL) {
        ESP_LOGE(TAG, "%s = %d is not one of its enum values", bad, value);
        return false;
    }
    return true;
}

/* Copies the TLS options into cfg->tls_opts, which stays NULL when none is set. False on OOM. */
static bool load_tls(ws_client_cfg_t *cfg, const esp_websocket_client_config_t *config)
{
    void *ds_data = NULL;
#if CONFIG_ESP_TLS_USE_DS_PERIPHERAL
    ds_data = config->client_ds_data;
#endif
    if (config->cert_pem == NULL && config->client_cert == NULL && config->client_key == NULL && ds_data == NULL &&
        config->cert_common_name == NULL && !config->skip_cert_common_name_check && !config->use_global_ca_store &&
        config->crt_bundle_attach == NULL && !config->skip_server_cert_verify) {
        return true;
    }
    ws_client_tls_t *t = ws_port_calloc(1, sizeof *t);
    if (t == NULL) {
        return false;
    }
    cfg->tls_opts = t;
    t->ds_data = ds_data;
    t->skip_cn_check = config->skip_cert_common_name_check;
    t->use_global_ca_store = config->use_global_ca_store;
    t->crt_bundle_attach = config->crt_bundle_attach;
    t->skip_verify = config->skip_server_cert_verify;
    return replace(&t->common_name, config->cert_common_name) &&
           copy_blob(config->cert_pem, config->cert_len, &t->cert, &t->cert_len) &&
           copy_blob(config->client_cert, config->client_cert_len, &t->client_cert, &t->client_cert_len) &&
           copy_blob(config->client_key, config->client_key_len, &t->client_key, &t->client_key_len);
}

/* Copies config into c->cfg, applying 1.8.0's defaults. False on a bad value or OOM. */
static bool load_config(esp_websocket_client_handle_t c, const esp_websocket_client_config_t *config)
{
    ws_client_cfg_t *cfg = &c->cfg;
    cfg->tls = config->transport == WEBSOCKET_TRANSPORT_OVER_SSL;
    cfg->auto_reconnect = !config->disable_auto_reconnect;
    cfg->close_reconnect = config->enable_close_reconnect;
    cfg->user_context = config->user_context;
    cfg->task_prio = config->task_prio > 0 ? config->task_prio : WS_CLIENT_DEFAULT_TASK_PRIO;
    cfg->task_core = config->task_core_id_set ? config->task_core_id : -1;
    cfg->task_stack = config->task_stack > 0 ? config->task_stack : WS_CLIENT_DEFAULT_TASK_STACK;
    cfg->buffer_size = config->buffer_size > 0 ? config->buffer_size : WS_CLIENT_DEFAULT_BUFFER;
    cfg->keepalive.enable = config->keep_alive_enable;
    cfg->keepalive.idle_s = config->keep_alive_idle > 0 ? config->keep_alive_idle : 5;
    cfg->keepalive.interval_s = config->keep_alive_interval > 0 ? config->keep_alive_interval : 5;
    cfg->keepalive.count = config->keep_alive_count > 0 ? config->keep_alive_count : 3;
    if (config->network_timeout_ms > 0) {
        cfg->network_timeout_ms = config->network_timeout_ms;
    } else {
        cfg->network_timeout_ms = WS_CLIENT_DEFAULT_NETWORK_MS;
        ESP_LOGW(TAG, "`network_timeout_ms` is not set, or it is less than or equal to zero, "
                 "using default time out %d (milliseconds)", WS_CLIENT_DEFAULT_NETWORK_MS);
    }
    int reconnect = WS_CLIENT_DEFAULT_RECONNECT_MS;
    if (config->reconnect_timeout_ms > 0) {
        reconnect = config->reconnect_timeout_ms;
    } else if (cfg->auto_reconnect) {
        ESP_LOGW(TAG, "`reconnect_timeout_ms` is not set, or it is less than or equal to zero, "
                 "using default time out %d (milliseconds)", WS_CLIENT_DEFAULT_RECONNECT_MS);
    }
    atomic_store(&c->reconnect_timeout_ms, reconnect);
    atomic_store(&c->ping_interval_sec, config->ping_interval_sec > 0 ? config->ping_interval_sec
                                                                      : (size_t)WS_CLIENT_DEFAULT_PING_SEC);
    int pong = config->pingpong_timeout_sec > 0 ? config->pingpong_timeout_sec : WS_CLIENT_DEFAULT_PONG_SEC;
    cfg->pingpong_timeout_sec = config->disable_pingpong_discon ? 0 : pong;
    cfg->header_cb = config->header_cb;
    cfg->header_cb_ctx = config->header_cb_ctx;
    cfg->backoff = config->reconnect_backoff == WEBSOCKET_RECONNECT_BACKOFF_DEFAULT
                   ? WS_CLIENT_DEFAULT_BACKOFF
                   : config->reconnect_backoff == WEBSOCKET_RECONNECT_BACKOFF_ENABLED;
    cfg->backoff_max_ms = config->reconnect_backoff_max_ms > 0 ? config->reconnect_backoff_max_ms
                                                               : WS_CLIENT_DEFAULT_BACKOFF_LIMIT;
    cfg->max_redirects = config->max_redirects == 0 ? WS_CLIENT_DEFAULT_REDIRECTS
                         : config->max_redirects < 0 ? -1 : config->max_redirects;
    cfg->utf8_policy = utf8_bits(config->utf8_policy);
    cfg->reassemble = config->reassemble_messages == WEBSOCKET_REASSEMBLY_DEFAULT
                      ? WS_CLIENT_DEFAULT_REASSEMBLE
                      : config->reassemble_messages == WEBSOCKET_REASSEMBLY_ENABLED;
    cfg->max_message_len = config->max_message_len > 0 ? config->max_message_len
                           : cfg->reassemble ? WS_CLIENT_DEFAULT_REASSEMBLY_LIMIT : 0;
    cfg->max_frame_len = config->max_frame_len > 0 ? config->max_frame_len : 0;
    cfg->close_timeout_ms = config->close_timeout_ms > 0 ? config->close_timeout_ms : WS_CLIENT_DEFAULT_CLOSE_MS;
    cfg->response_header_limit = config->response_header_limit > 0 ? config->response_header_limit : 0;

    bool ok = true;
    /* The defaults are not copied (NULL stands for them): every client would pay for the copies. */
    ok = ok && replace(&cfg->task_name, config->task_name);
    ok = ok && replace(&cfg->subprotocol, config->subprotocol);
    ok = ok && replace(&cfg->user_agent, config->user_agent);
    ok = ok && replace(&cfg->headers, config->headers);
    ok = ok && load_tls(cfg, config);
#if __has_include(<net/if.h>)
    if (ok && config->if_name != NULL) {
        char name[IFNAMSIZ + 1];
        memcpy(name, config->if_name->ifr_name, IFNAMSIZ);
        name[IFNAMSIZ] = '\0';
        ok = replace(&cfg->if_name, name);
    }
#endif
    if (!ok) {
        ESP_LOGE(TAG, "out of memory copying the configuration");
        return false;
    }

    /* The URI first, then the explicit fields, which override its parts. */
    if (config->uri != NULL) {
        int rc = ws_client_apply_uri(c, config->uri);
        if (rc != 0) {
            ESP_LOGE(TAG, "invalid uri \"%s\": %s", config->uri, ws_engine_strerror(rc));
            return false;
        }
    }
    if (config->host != NULL) {
        ok = ok && replace(&cfg->host, config->host);
    }
    if (config->port > 0) {
        cfg->port = config->port;
    }
    if (config->path != NULL) {
        ok = ok && replace(&cfg->path, config->path);
    }
    if (config->username != NULL) {
        ok = ok && replace(&cfg->username, config->username);
        ok = ok && replace(&cfg->password, config->password != NULL ? config->password : "");
    } else if (config->password != NULL) {
        ok = ok && replace(&cfg->password, config->password);
    }
    return ok;
}

void ws_client_free(esp_websocket_client_handle_t c)
{
    ws_client_cfg_t *cfg = &c->cfg;
    char *strings[] = { cfg->host, cfg->path, cfg->username, cfg->password, cfg->subprotocol,
                        cfg->user_agent, cfg->headers, cfg->task_name, cfg->if_name, c->redirect, (char *)c->msg };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        ws_port_free(strings[i]);
    }
    ws_client_tls_t *t = cfg->tls_opts;
    if (t != NULL) {
        ws_port_free(t->cert);
        ws_port_free(t->client_cert);
        ws_port_free(t->client_key);
        ws_port_free(t->common_name);
        ws_port_free(t);
    }
    if (c->loop != NULL) {
        esp_event_loop_delete(c->loop);
    }
    ws_port_mutex_destroy(c->lock);
    ws_port_mutex_destroy(c->tx_lock);
    ws_port_mutex_destroy(c->life_lock);
    ws_port_signal_destroy(c->wake);
    ws_port_free(c);
}

esp_websocket_client_handle_t esp_websocket_client_init(const esp_websocket_client_config_t *config)
{
    if (config == NULL) {
        return NULL;
    }
    if (config->cert_common_name != NULL && config->skip_cert_common_name_check) {
        ESP_LOGE(TAG, "cert_common_name and skip_cert_common_name_check are mutually exclusive");
        return NULL;
    }
    if (config->ext_transport != NULL) {
        ESP_LOGE(TAG, "ext_transport is not supported by this component");
        return NULL;
    }
    if (!options_valid(config)) {
        return NULL;
    }
    esp_websocket_client_handle_t c = ws_port_calloc(1, sizeof *c);
    if (c == NULL) {
        return NULL;
    }
    esp_event_loop_args_t args = { .queue_size = 1, .task_name = NULL };
    if (ws_port_mutex_create(&c->lock) != WS_PORT_OK || ws_port_mutex_create(&c->tx_lock) != WS_PORT_OK ||
        ws_port_mutex_create(&c->life_lock) != WS_PORT_OK || ws_port_signal_create(&c->wake) != WS_PORT_OK ||
        esp_event_loop_create(&args, &c->loop) != ESP_OK) {
        ESP_LOGE(TAG, "out of memory creating the client");
        ws_client_free(c);
        return NULL;
    }
    /* Announce the buffer before the URI parse below creates the engine instance. */
    ws_engine_want_buf((uint32_t)(config->buffer_size > 0 ? config->buffer_size : WS_CLIENT_DEFAULT_BUFFER));
    if (!load_config(c, config)) {
        ws_client_free(c);
        return NULL;
    }
    c->ev.client = c;
    c->ev.user_context = c->cfg.user_context;
    c->ev.op_code = 0;
    return c;
}

esp_err_t esp_websocket_client_set_uri(esp_websocket_client_handle_t client, const char *uri)
{
    if (client == NULL || uri == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    int rc = ws_client_apply_uri(client, uri);
    if (rc == 0) {
        return ESP_OK;
    }
    ESP_LOGE(TAG, "set_uri \"%s\": %s", uri, ws_engine_strerror(rc));
    return rc == -WSE_ERR_NO_MEMORY ? ESP_ERR_NO_MEM : ESP_FAIL;
}

esp_err_t esp_websocket_client_set_headers(esp_websocket_client_handle_t client, const char *headers)
{
    if (client == NULL || headers == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (atomic_load(&client->state) != WS_STATE_CONNECTED) {
        ESP_LOGE(TAG, "set_headers is accepted only while connected (as in 1.8.0)");
        return ESP_ERR_INVALID_ARG;
    }
    if (!lock(client)) {
        return ESP_FAIL;
    }
    bool ok = replace(&client->cfg.headers, headers);
    unlock(client);
    return ok ? ESP_OK : ESP_ERR_NO_MEM;
}

/* RFC 7230 3.2.6 tchar: the characters a header name may contain. */
static bool is_token_char(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* A header name that is a non-empty token, and a value without CR, LF or other control bytes
 * (HTAB allowed): nothing can be smuggled into the request as a line of its own. */
static bool header_field_ok(const char *key, const char *value)
{
    if (*key == '\0') {
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++) {
        if (!is_token_char(*p)) {
            return false;
        }
    }
    for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
            return false;
        }
    }
    return true;
}

esp_err_t esp_websocket_client_append_header(esp_websocket_client_handle_t client, const char *key, const char *value)
{
    if (client == NULL || key == NULL || value == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!header_field_ok(key, value)) {
        ESP_LOGE(TAG, "append_header: the name must be a token and the value must not contain CR, LF "
                      "or other control characters");
        return ESP_ERR_INVALID_ARG;
    }
    if (!lock(client)) {
        return ESP_FAIL;
    }
    size_t old = client->cfg.headers != NULL ? strlen(client->cfg.headers) : 0;
    size_t add = strlen(key) + 2 + strlen(value) + 2;
    char *h = ws_port_malloc(old + add + 1);
    if (h != NULL) {
        if (old > 0) {
            memcpy(h, client->cfg.headers, old);
        }
        snprintf(h + old, add + 1, "%s: %s\r\n", key, value);
        ws_port_free(client->cfg.headers);
        client->cfg.headers = h;
    }
    unlock(client);
    return h != NULL ? ESP_OK : ESP_ERR_NO_MEM;
}

/* Waits for the task to return and forgets its handle (life_lock held). 0, or WS_PORT_ERR_TIMEOUT
 * with the task still running. */
static int join_task(esp_websocket_client_handle_t c, int32_t timeout_ms)
{
    if (c->task == NULL) {
        return 0;
    }
    int rc = ws_port_task_join(c->task, timeout_ms);
    if (rc == WS_PORT_OK) {
        c->task = NULL;
    }
    return rc;
}

esp_err_t esp_websocket_client_start(esp_websocket_client_handle_t client)
{
    if (client == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (ws_port_task_self_is(client->task)) {
        return ESP_FAIL;
    }
    ws_port_mutex_lock(client->life_lock, WS_PORT_WAIT_FOREVER);
    esp_err_t err = ESP_OK;
    if (client->running) {
        ESP_LOGE(TAG, "the client is already started");
        err = ESP_FAIL;
    } else if (join_task(client, WS_CLIENT_STOP_WAIT_MS) != 0) {
        ESP_LOGE(TAG, "the previous task is still stopping");
        err = ESP_FAIL;
    } else {
        atomic_store(&client->stop_requested, false);
        atomic_store(&client->close_requested, false);
        __atomic_store_n(&client->abort_io, false, __ATOMIC_SEQ_CST);
        (void)ws_port_signal_wait(client->wake, 0);   /* drop a stale wake-up */
        atomic_store(&client->state, WS_STATE_CONNECTING);
        lock(client);
        client->running = true;
        client->exiting = false;
        unlock(client);
        ws_port_task_cfg_t tcfg = {
            .name = client->cfg.task_name != NULL ? client->cfg.task_name : WS_CLIENT_DEFAULT_TASK_NAME,
            .stack_bytes = (size_t)client->cfg.task_stack,
            .priority = client->cfg.task_prio,
            .core = client->cfg.task_core,
        };
        if (ws_port_task_create(&client->task, &tcfg, ws_client_task, client) != WS_PORT_OK) {
            ESP_LOGE(TAG, "could not create the client task");
            lock(client);
            client->running = false;
            unlock(client);
            atomic_store(&client->state, WS_STATE_STOPPED);
            client->task = NULL;
            err = ESP_FAIL;
        }
    }
    ws_port_mutex_unlock(client->life_lock);
    return err;
}

/* Asks the task to leave now and waits WS_CLIENT_STOP_WAIT_MS for it (life_lock held). */
static esp_err_t stop_task(esp_websocket_client_handle_t c)
{
    atomic_store(&c->stop_requested, true);
    __atomic_store_n(&c->abort_io, true, __ATOMIC_SEQ_CST);
    ws_port_signal_raise(c->wake);
    if (join_task(c, WS_CLIENT_STOP_WAIT_MS) != 0) {
        ESP_LOGW(TAG, "the client task did not stop within %d ms (an event handler still running?)",
                 (int)WS_CLIENT_STOP_WAIT_MS);
        return ESP_ERR_TIMEOUT;
    }
    return ESP_OK;
}

esp_err_t esp_websocket_client_stop(esp_websocket_client_handle_t client)
{
    if (client == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (ws_port_task_self_is(client->task)) {
        ESP_LOGE(TAG, "stop() cannot be called from the client task (event handler)");
        return ESP_FAIL;
    }
    ws_port_mutex_lock(client->life_lock, WS_PORT_WAIT_FOREVER);
    lock(client);
    bool running = client->running;
    unlock(client);
    esp_err_t err;
    if (!running) {
        (void)join_task(client, 0);   /* a task that ended on its own */
        ESP_LOGW(TAG, "Client was not started");
        err = ESP_FAIL;
    } else {
        err = stop_task(client);
    }
    ws_port_mutex_unlock(client->life_lock);
    return err;
}

esp_err_t esp_websocket_client_destroy(esp_websocket_client_handle_t client)
{
    if (client == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (ws_port_task_self_is(client->task)) {
        ESP_LOGE(TAG, "destroy() cannot be called from the client task (event handler)");
        return ESP_FAIL;
    }
    ws_port_mutex_lock(client->life_lock, WS_PORT_WAIT_FOREVER);
    lock(client);
    bool refused = client->destroy_on_exit;
    unlock(client);
    if (refused) {
        ws_port_mutex_unlock(client->life_lock);
        ESP_LOGE(TAG, "destroy() after destroy_on_exit()");
        return ESP_FAIL;
    }
    bool deferred = false;
    if (client->task != NULL && stop_task(client) != ESP_OK) {
        /* The task is still inside a handler: it frees the client when it gets out, unless it
         * is already past that check, in which case it only has to return. */
        lock(client);
        if (!client->exiting) {
            client->destroy_on_exit = true;
            deferred = true;
        }
        unlock(client);
        if (!deferred) {
            while (join_task(client, WS_PORT_ABORT_CHECK_MS) != 0) {
            }
        }
    }
    ws_port_mutex_unlock(client->life_lock);
    if (!deferred) {
        ws_client_free(client);
    }
    return ESP_OK;
}

esp_err_t esp_websocket_client_destroy_on_exit(esp_websocket_client_handle_t client)
{
    if (client == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    lock(client);
    client->destroy_on_exit = true;
    unlock(client);
    return ESP_OK;
}

static int send_api(esp_websocket_client_handle_t c, uint32_t opcode, bool fin, const void *data, int len,
                    TickType_t timeout)
{
    if (c == NULL || len < 0 || (data == NULL && len > 0)) {
        return -1;
    }
    return ws_client_send(c, opcode, fin, data, len, ws_client_ticks_to_ms(timeout), NULL);
}

int esp_websocket_client_send_bin(esp_websocket_client_handle_t client, const char *data, int len, TickType_t timeout)
{
    return send_api(client, WS_TRANSPORT_OPCODES_BINARY, true, data, len, timeout);
}

int esp_websocket_client_send_bin_partial(esp_websocket_client_handle_t client, const char *data, int len, TickType_t timeout)
{
    return send_api(client, WS_TRANSPORT_OPCODES_BINARY, false, data, len, timeout);
}

int esp_websocket_client_send_text(esp_websocket_client_handle_t client, const char *data, int len, TickType_t timeout)
{
    return send_api(client, WS_TRANSPORT_OPCODES_TEXT, true, data, len, timeout);
}

int esp_websocket_client_send_text_partial(esp_websocket_client_handle_t client, const char *data, int len, TickType_t timeout)
{
    return send_api(client, WS_TRANSPORT_OPCODES_TEXT, false, data, len, timeout);
}

int esp_websocket_client_send_cont_msg(esp_websocket_client_handle_t client, const char *data, int len, TickType_t timeout)
{
    return send_api(client, WS_TRANSPORT_OPCODES_CONT, false, data, len, timeout);
}

int esp_websocket_client_send_fin(esp_websocket_client_handle_t client, TickType_t timeout)
{
    return send_api(client, WS_TRANSPORT_OPCODES_CONT, true, NULL, 0, timeout);
}

int esp_websocket_client_send_with_opcode(esp_websocket_client_handle_t client, ws_transport_opcodes_t opcode,
                                          const uint8_t *data, int len, TickType_t timeout)
{
    /* FIN is always set on the last frame; a FIN bit or'ed into opcode is accepted and ignored. */
    return send_api(client, (uint32_t)opcode & 0x0f, true, data, len, timeout);
}

static esp_err_t close_with_body(esp_websocket_client_handle_t c, const uint8_t *body, int len, TickType_t timeout)
{
    if (c == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (ws_port_task_self_is(c->task)) {
        ESP_LOGE(TAG, "close() cannot be called from the client task (event handler)");
        return ESP_FAIL;
    }
    ws_port_mutex_lock(c->life_lock, WS_PORT_WAIT_FOREVER);
    lock(c);
    bool running = c->running;
    unlock(c);
    if (!running) {
        ws_port_mutex_unlock(c->life_lock);
        ESP_LOGW(TAG, "Client was not started");
        return ESP_FAIL;
    }
    bool reconnect = c->cfg.close_reconnect && c->cfg.auto_reconnect;
    if (!reconnect) {
        atomic_store(&c->close_requested, true);   /* before the frame: the task must not reconnect */
    }
    int32_t timeout_ms = ws_client_ticks_to_ms(timeout);
    int32_t refused;
    int rc = ws_client_send(c, WS_TRANSPORT_OPCODES_CLOSE, true, body, len, timeout_ms, &refused);
    esp_err_t err = ESP_OK;
    if (refused != 0) {
        /* The engine refused the frame before anything was sent: the connection is untouched. */
        ESP_LOGW(TAG, "CLOSE refused: %s", ws_engine_strerror(refused));
        bool bad_arg = refused == -WSE_ERR_SEND_CLOSE_CODE || refused == -WSE_ERR_SEND_UTF8;
        if (bad_arg && !reconnect) {
            atomic_store(&c->close_requested, false);   /* no close is under way after all */
        }
        err = bad_arg ? ESP_ERR_INVALID_ARG : ESP_FAIL;
    } else if (rc < 0) {
        ESP_LOGW(TAG, "the CLOSE frame could not be sent (%d)", rc);
        if (!reconnect) {
            (void)stop_task(c);   /* not connected or broken: leave like 1.8.0's forced stop */
        }
        err = ESP_FAIL;
    } else if (!reconnect && join_task(c, timeout_ms) != 0) {
        (void)stop_task(c);   /* the handshake did not finish in time: drop TCP */
    }
    ws_port_mutex_unlock(c->life_lock);
    return err;
}

esp_err_t esp_websocket_client_close(esp_websocket_client_handle_t client, TickType_t timeout)
{
    return close_with_body(client, NULL, 0, timeout);
}

esp_err_t esp_websocket_client_close_with_code(esp_websocket_client_handle_t client, int code, const char *data,
                                               int len, TickType_t timeout)
{
    if (client == NULL || len < 0 || len > 123 || (data == NULL && len > 0) || code < 0 || code > 0xffff) {
        return ESP_ERR_INVALID_ARG;
    }
    uint8_t body[125];
    body[0] = (uint8_t)(code >> 8);   /* RFC 6455 5.5.1: network byte order */
    body[1] = (uint8_t)code;
    if (len > 0) {
        memcpy(body + 2, data, (size_t)len);
    }
    return close_with_body(client, body, len + 2, timeout);
}

bool esp_websocket_client_is_connected(esp_websocket_client_handle_t client)
{
    return client != NULL && atomic_load(&client->state) == WS_STATE_CONNECTED;
}

size_t esp_websocket_client_get_ping_interval_sec(esp_websocket_client_handle_t client)
{
    return client != NULL ? atomic_load(&client->ping_interval_sec) : 0;
}

esp_err_t esp_websocket_client_set_ping_interval_sec(esp_websocket_client_handle_t client, size_t ping_interval_sec)
{
    if (client == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    atomic_store(&client->ping_interval_sec, ping_interval_sec != 0 ? ping_interval_sec
                                                                     : (size_t)WS_CLIENT_DEFAULT_PING_SEC);
    atomic_store(&client->ping_changed, true);
    return ESP_OK;
}

int esp_websocket_client_get_reconnect_timeout(esp_websocket_client_handle_t client)
{
    if (client == NULL || !client->cfg.auto_reconnect) {
        return -1;
    }
    return atomic_load(&client->reconnect_timeout_ms);
}

esp_err_t esp_websocket_client_set_reconnect_timeout(esp_websocket_client_handle_t client, int reconnect_timeout_ms)
{
    if (client == NULL || reconnect_timeout_ms <= 0) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!client->cfg.auto_reconnect) {
        return ESP_ERR_INVALID_STATE;
    }
    atomic_store(&client->reconnect_timeout_ms, reconnect_timeout_ms);
    ws_port_signal_raise(client->wake);
    return ESP_OK;
}

esp_err_t esp_websocket_register_events(esp_websocket_client_handle_t client, esp_websocket_event_id_t event,
                                        esp_event_handler_t event_handler, void *event_handler_arg)
{
    if (client == NULL || event_handler == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    return esp_event_handler_register_with(client->loop, WEBSOCKET_EVENTS, event, event_handler, event_handler_arg);
}

esp_err_t esp_websocket_unregister_events(esp_websocket_client_handle_t client, esp_websocket_event_id_t event,
                                          esp_event_handler_t event_handler)
{
    if (client == NULL || event_handler == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    return esp_event_handler_unregister_with(client->loop, WEBSOCKET_EVENTS, event, event_handler);
}
