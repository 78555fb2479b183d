/*
 * test_integ_api.c - the configuration and control API seen from a real server:
 * set_uri, append_header, set_headers, username/password, user_agent, the getters and setters,
 * header_cb (Set-Cookie), user_context, task_name, register/unregister, and the documented errors for bad
 * arguments (NULL handle, negative length, send before start, invalid URI) - never a crash.
 *
 * The ws server's /headers path answers with a Set-Cookie header and sends
 * {"url": <request target>, "headers": {<lower-case name>: <value>}} as its first message.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integ_util.h"

static integ_server_t g_srv;

static void done(esp_websocket_client_handle_t c, integ_rec_t *rec)
{
    CHECK(rec->reasm_errors == 0, "chunk contract: %s", rec->first_reasm_error);
    CHECK(rec->ctx_mismatch == 0, "%d events with a wrong client/user_context", rec->ctx_mismatch);
    if (c) {
        CHECK(esp_websocket_client_destroy(c) == ESP_OK);
    }
    integ_rec_free(rec);
}

/* Waits for the n-th message (0-based) and returns its text, or "" on timeout. */
static const char *msg_text(integ_rec_t *rec, int n)
{
    if (!CHECK(integ_rec_wait_msgs(rec, n + 1, 4000), "message %d did not arrive", n)) {
        return "";
    }
    return (const char *)integ_rec_msg(rec, n)->data;
}

static void set_uri_replaces_target_and_bad_uri_keeps_old(void)
{
    char uri[160];
    integ_server_uri(&g_srv, "/headers?via=init", uri, sizeof(uri));
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.disable_auto_reconnect = true;
    integ_rec_t rec;
    integ_rec_init(&rec, 8);
    esp_websocket_client_handle_t c = integ_client_new(&rec, &cfg);
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    CHECK(esp_websocket_client_set_uri(c, "http://[::1") == ESP_FAIL, "a malformed URI was accepted");
    CHECK(esp_websocket_client_set_uri(c, "ws://") == ESP_FAIL, "a URI without host was accepted");
    CHECK(esp_websocket_client_set_uri(c, NULL) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_start(c) == ESP_OK);
    CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 1, 4000));
    CHECK(strstr(msg_text(&rec, 0), "\"url\":\"/headers?via=init\"") != NULL, "first target: %s", msg_text(&rec, 0));
    CHECK(esp_websocket_client_stop(c) == ESP_OK);

    integ_server_uri(&g_srv, "/headers?via=set_uri", uri, sizeof(uri));
    CHECK(esp_websocket_client_set_uri(c, uri) == ESP_OK);
    CHECK(esp_websocket_client_start(c) == ESP_OK);
    CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 2, 4000));
    CHECK(strstr(msg_text(&rec, 1), "\"url\":\"/headers?via=set_uri\"") != NULL, "after set_uri: %s", msg_text(&rec, 1));
    done(c, &rec);
}

static void config_headers_append_header_auth_and_user_agent_reach_server(void)
{
    char uri[160];
    integ_server_uri(&g_srv, "/headers", uri, sizeof(uri));
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.disable_auto_reconnect = true;
    cfg.headers = "X-Config: one\r\n";
    cfg.username = "user";
    cfg.password = "pass";
    integ_rec_t rec;
    integ_rec_init(&rec, 8);
    esp_websocket_client_handle_t c = integ_client_new(&rec, &cfg);
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    CHECK(esp_websocket_client_append_header(c, "X-Integ-Token", "abc123") == ESP_OK);
    CHECK(esp_websocket_client_append_header(c, NULL, "v") == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_append_header(c, "X-K", NULL) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_start(c) == ESP_OK);
    CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 1, 4000));
    const char *j = msg_text(&rec, 0);
    CHECK(strstr(j, "\"x-config\":\"one\"") != NULL, "config headers missing: %s", j);
    CHECK(strstr(j, "\"x-integ-token\":\"abc123\"") != NULL, "appended header missing: %s", j);
    CHECK(strstr(j, "\"x-k\"") == NULL, "a refused header was sent: %s", j);
    /* base64("user:pass") = dXNlcjpwYXNz */
    CHECK(strstr(j, "\"authorization\":\"Basic dXNlcjpwYXNz\"") != NULL, "Basic auth missing: %s", j);
    CHECK(strstr(j, "\"user-agent\":\"ESP32 Websocket Client\"") != NULL, "default User-Agent missing: %s", j);
    CHECK(strstr(j, "\"sec-websocket-protocol\"") == NULL, "a subprotocol was offered without config: %s", j);
    done(c, &rec);
}

static void uri_userinfo_and_custom_user_agent_reach_server(void)
{
    char uri[160];
    snprintf(uri, sizeof(uri), "ws://alice:s3cret@127.0.0.1:%d/headers", g_srv.port);
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.disable_auto_reconnect = true;
    cfg.user_agent = "integ-agent/1.0";
    integ_rec_t rec;
    integ_rec_init(&rec, 8);
    esp_websocket_client_handle_t c = integ_client_new(&rec, &cfg);
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    CHECK(esp_websocket_client_start(c) == ESP_OK);
    CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 1, 4000));
    const char *j = msg_text(&rec, 0);
    /* base64("alice:s3cret") = YWxpY2U6czNjcmV0 */
    CHECK(strstr(j, "\"authorization\":\"Basic YWxpY2U6czNjcmV0\"") != NULL, "URI userinfo not used: %s", j);
    CHECK(strstr(j, "\"user-agent\":\"integ-agent/1.0\"") != NULL, "custom User-Agent missing: %s", j);
    CHECK(strstr(j, "x-integ-token") == NULL, "a header of another client leaked in: %s", j);
    done(c, &rec);
}

/* set_headers: refused while not connected; while connected it replaces the extra headers from the
 * next handshake on (here: after the server drops the connection and the client reconnects). */
static void set_headers_applies_at_next_handshake(void)
{
    char uri[160];
    integ_server_uri(&g_srv, "/headers?drop=1", uri, sizeof(uri));
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.headers = "X-Config: one\r\n";
    cfg.reconnect_timeout_ms = 200;
    integ_rec_t rec;
    integ_rec_init(&rec, 8);
    esp_websocket_client_handle_t c = integ_client_new(&rec, &cfg);
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    CHECK(esp_websocket_client_set_headers(c, "X-Early: 1\r\n") == ESP_ERR_INVALID_ARG, "accepted while not connected");
    CHECK(esp_websocket_client_start(c) == ESP_OK);
    CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 1, 4000));
    const char *j0 = msg_text(&rec, 0);
    CHECK(strstr(j0, "\"x-config\":\"one\"") != NULL, "first handshake: %s", j0);
    CHECK(strstr(j0, "x-early") == NULL, "refused headers were used: %s", j0);
    CHECK(esp_websocket_client_set_headers(c, "X-Replaced: two\r\n") == ESP_OK);
    /* One message, then the server drops us; the reconnect uses the new headers. */
    CHECK(esp_websocket_client_send_text(c, "drop-me", 7, INTEG_SEND_TIMEOUT) == 7);
    CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 2, 4000), "no reconnect");
    const char *j1 = msg_text(&rec, 2);   /* 0: first JSON, 1: echo of drop-me, 2: second JSON */
    CHECK(strstr(j1, "\"x-replaced\":\"two\"") != NULL, "set_headers not applied: %s", j1);
    CHECK(strstr(j1, "x-config") == NULL, "old headers kept after set_headers: %s", j1);
    done(c, &rec);
}

/* header_cb sees each response header line, before CONNECTED; /headers sets a cookie, /echo not. */
static void header_cb_sees_set_cookie_before_connected(void)
{
    char uri[160];
    integ_server_uri(&g_srv, "/headers", uri, sizeof(uri));
    integ_rec_t rec;
    integ_rec_init(&rec, 8);
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.disable_auto_reconnect = true;
    cfg.header_cb = integ_header_cb;
    cfg.header_cb_ctx = &rec;
    esp_websocket_client_handle_t c = integ_client_new(&rec, &cfg);
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    CHECK(esp_websocket_client_start(c) == ESP_OK);
    CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 1, 4000));
    char line[200];
    CHECK(integ_rec_header(&rec, "Set-Cookie:", line, sizeof(line)), "no Set-Cookie line (%d lines)", rec.n_headers);
    CHECK(strstr(line, "session=integ42") != NULL, "Set-Cookie line '%s'", line);
    CHECK(integ_rec_header(&rec, "Sec-WebSocket-Accept:", NULL, 0), "no Sec-WebSocket-Accept line");
    CHECK(!integ_rec_header(&rec, "HTTP/1.1", NULL, 0), "the status line was passed as a header");
    CHECK(rec.headers_after_connected == 0, "%d header lines after CONNECTED", rec.headers_after_connected);
    for (int i = 0; i < rec.n_headers; i++) {
        CHECK(strchr(rec.headers[i], '\r') == NULL && strchr(rec.headers[i], '\n') == NULL, "CRLF in '%s'",
              rec.headers[i]);
    }
    done(c, &rec);

    integ_server_uri(&g_srv, "/echo", uri, sizeof(uri));
    integ_rec_init(&rec, 8);
    cfg.uri = uri;
    cfg.header_cb_ctx = &rec;
    c = integ_client_new(&rec, &cfg);
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    CHECK(esp_websocket_client_start(c) == ESP_OK);
    CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 1, 4000));
    CHECK(rec.n_headers >= 3, "only %d header lines", rec.n_headers);
    CHECK(!integ_rec_header(&rec, "Set-Cookie:", NULL, 0), "a Set-Cookie from a server that sent none");
    done(c, &rec);
}

static void ping_interval_and_reconnect_timeout_getters_setters(void)
{
    char uri[160];
    integ_server_uri(&g_srv, "/echo", uri, sizeof(uri));
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.ping_interval_sec = 7;
    cfg.reconnect_timeout_ms = 1234;
    esp_websocket_client_handle_t c = esp_websocket_client_init(&cfg);
    if (!CHECK(c != NULL)) {
        return;
    }
    CHECK(esp_websocket_client_get_ping_interval_sec(c) == 7);
    CHECK(esp_websocket_client_set_ping_interval_sec(c, 3) == ESP_OK);
    CHECK(esp_websocket_client_get_ping_interval_sec(c) == 3);
    CHECK(esp_websocket_client_set_ping_interval_sec(c, 0) == ESP_OK);
    CHECK(esp_websocket_client_get_ping_interval_sec(c) == 10, "0 must select the default 10 s, got %zu",
          esp_websocket_client_get_ping_interval_sec(c));

    CHECK(esp_websocket_client_get_reconnect_timeout(c) == 1234);
    CHECK(esp_websocket_client_set_reconnect_timeout(c, 500) == ESP_OK);
    CHECK(esp_websocket_client_get_reconnect_timeout(c) == 500);
    CHECK(esp_websocket_client_set_reconnect_timeout(c, 0) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_set_reconnect_timeout(c, -5) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_get_reconnect_timeout(c) == 500, "a refused value changed the timeout");
    CHECK(esp_websocket_client_destroy(c) == ESP_OK);

    /* Defaults: 10 s ping, 10 s reconnect; with auto-reconnect disabled the getter says -1 and the
     * setter refuses with INVALID_STATE. */
    esp_websocket_client_config_t d = { 0 };
    d.uri = uri;
    c = esp_websocket_client_init(&d);
    if (CHECK(c != NULL)) {
        CHECK(esp_websocket_client_get_ping_interval_sec(c) == 10);
        CHECK(esp_websocket_client_get_reconnect_timeout(c) == 10000, "default reconnect %d",
              esp_websocket_client_get_reconnect_timeout(c));
        CHECK(esp_websocket_client_destroy(c) == ESP_OK);
    }
    d.disable_auto_reconnect = true;
    c = esp_websocket_client_init(&d);
    if (CHECK(c != NULL)) {
        CHECK(esp_websocket_client_get_reconnect_timeout(c) == -1);
        CHECK(esp_websocket_client_set_reconnect_timeout(c, 500) == ESP_ERR_INVALID_STATE);
        CHECK(esp_websocket_client_destroy(c) == ESP_OK);
    }
}

static int g_second_handler_calls;

/* Handlers for ANY run before handlers for one id within a dispatch, so the recorder may see an
 * event before second_handler does: poll the counter for up to 1 s. */
static int second_calls_settled(int want)
{
    for (int i = 0; i < 100 && __atomic_load_n(&g_second_handler_calls, __ATOMIC_SEQ_CST) < want; i++) {
        integ_sleep_ms(10);
    }
    integ_sleep_ms(50);   /* and nothing more arrives */
    return __atomic_load_n(&g_second_handler_calls, __ATOMIC_SEQ_CST);
}
static void second_handler(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)arg;
    (void)base;
    (void)id;
    (void)data;
    __atomic_add_fetch(&g_second_handler_calls, 1, __ATOMIC_SEQ_CST);
}

/* A handler registered for one event gets only that event; after unregister it gets none. */
static void register_for_one_event_and_unregister(void)
{
    char uri[160];
    integ_server_uri(&g_srv, "/echo", uri, sizeof(uri));
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.disable_auto_reconnect = true;
    integ_rec_t rec;
    integ_rec_init(&rec, 8);
    esp_websocket_client_handle_t c = integ_client_new(&rec, &cfg);
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    g_second_handler_calls = 0;
    CHECK(esp_websocket_register_events(c, WEBSOCKET_EVENT_DATA, second_handler, NULL) == ESP_OK);
    CHECK(esp_websocket_client_start(c) == ESP_OK);
    CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 1, 4000));
    CHECK(__atomic_load_n(&g_second_handler_calls, __ATOMIC_SEQ_CST) == 0, "DATA handler ran for other events");
    CHECK(esp_websocket_client_send_text(c, "one", 3, INTEG_SEND_TIMEOUT) == 3);
    CHECK(integ_rec_wait_msgs(&rec, 1, 3000));
    int calls = second_calls_settled(1);
    CHECK(calls == 1, "DATA handler calls %d", calls);
    CHECK(esp_websocket_unregister_events(c, WEBSOCKET_EVENT_DATA, second_handler) == ESP_OK);
    CHECK(esp_websocket_client_send_text(c, "two", 3, INTEG_SEND_TIMEOUT) == 3);
    CHECK(integ_rec_wait_msgs(&rec, 2, 3000));
    calls = second_calls_settled(2);
    CHECK(calls == 1, "called after unregister (%d calls)", calls);
    done(c, &rec);
}

static char g_task_name[16];
static void name_handler(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)arg;
    (void)base;
    (void)id;
    (void)data;
    pthread_getname_np(pthread_self(), g_task_name, sizeof(g_task_name));
}

/* The client task is named task_name, or "websocket_task" (1.8.0's default) without one: the
 * default is not copied into the client, so this checks that it is still applied. */
static void task_name_default_and_configured(void)
{
    const char *names[2] = { NULL, "integ_named" };
    const char *want[2] = { "websocket_task", "integ_named" };
    for (int i = 0; i < 2; i++) {
        char uri[160];
        integ_server_uri(&g_srv, "/echo", uri, sizeof(uri));
        esp_websocket_client_config_t cfg = { 0 };
        cfg.uri = uri;
        cfg.disable_auto_reconnect = true;
        cfg.task_name = names[i];
        integ_rec_t rec;
        integ_rec_init(&rec, 8);
        esp_websocket_client_handle_t c = integ_client_new(&rec, &cfg);
        if (!c) {
            integ_rec_free(&rec);
            return;
        }
        memset(g_task_name, 0, sizeof(g_task_name));
        CHECK(esp_websocket_register_events(c, WEBSOCKET_EVENT_CONNECTED, name_handler, NULL) == ESP_OK);
        CHECK(esp_websocket_client_start(c) == ESP_OK);
        CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 1, 4000));
        integ_sleep_ms(20);   /* name_handler runs after the recorder's handler */
        CHECK(strcmp(g_task_name, want[i]) == 0, "task name \"%s\", want \"%s\"", g_task_name, want[i]);
        done(c, &rec);
    }
}

/* Bad arguments get the documented error values; nothing crashes. */
static void bad_arguments_get_documented_errors(void)
{
    esp_websocket_client_handle_t n = NULL;
    CHECK(esp_websocket_client_init(NULL) == NULL);
    esp_websocket_client_config_t bad = { 0 };
    bad.uri = "not a uri";
    CHECK(esp_websocket_client_init(&bad) == NULL, "init accepted 'not a uri'");
    bad.uri = "ws://127.0.0.1/";
    bad.cert_common_name = "x";
    bad.skip_cert_common_name_check = true;
    CHECK(esp_websocket_client_init(&bad) == NULL, "init accepted cert_common_name with skip_cert_common_name_check");

    CHECK(esp_websocket_client_set_uri(n, "ws://127.0.0.1/") == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_set_headers(n, "A: b\r\n") == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_append_header(n, "A", "b") == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_start(n) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_stop(n) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_destroy(n) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_destroy_on_exit(n) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_send_bin(n, "a", 1, 0) == -1);
    CHECK(esp_websocket_client_send_bin_partial(n, "a", 1, 0) == -1);
    CHECK(esp_websocket_client_send_text(n, "a", 1, 0) == -1);
    CHECK(esp_websocket_client_send_text_partial(n, "a", 1, 0) == -1);
    CHECK(esp_websocket_client_send_cont_msg(n, "a", 1, 0) == -1);
    CHECK(esp_websocket_client_send_fin(n, 0) == -1);
    CHECK(esp_websocket_client_send_with_opcode(n, WS_TRANSPORT_OPCODES_TEXT, (const uint8_t *)"a", 1, 0) == -1);
    CHECK(esp_websocket_client_close(n, 0) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_close_with_code(n, 1000, "a", 1, 0) == ESP_ERR_INVALID_ARG);
    CHECK(!esp_websocket_client_is_connected(n));
    CHECK(esp_websocket_client_get_ping_interval_sec(n) == 0);
    CHECK(esp_websocket_client_set_ping_interval_sec(n, 5) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_get_reconnect_timeout(n) == -1);
    CHECK(esp_websocket_client_set_reconnect_timeout(n, 100) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_register_events(n, WEBSOCKET_EVENT_ANY, second_handler, NULL) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_unregister_events(n, WEBSOCKET_EVENT_ANY, second_handler) == ESP_ERR_INVALID_ARG);

    /* A valid client that was never started. */
    char uri[160];
    integ_server_uri(&g_srv, "/echo", uri, sizeof(uri));
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.disable_auto_reconnect = true;
    integ_rec_t rec;
    integ_rec_init(&rec, 8);
    esp_websocket_client_handle_t c = integ_client_new(&rec, &cfg);
    if (!c) {
        integ_rec_free(&rec);
        return;
    }
    CHECK(esp_websocket_register_events(c, WEBSOCKET_EVENT_ANY, NULL, NULL) == ESP_ERR_INVALID_ARG);
    CHECK(esp_websocket_client_send_text(c, "a", 1, pdMS_TO_TICKS(100)) == -1, "send before start");
    CHECK(esp_websocket_client_send_bin(c, "a", 1, pdMS_TO_TICKS(100)) == -1, "send before start");
    CHECK(esp_websocket_client_send_fin(c, pdMS_TO_TICKS(100)) == -1, "send_fin before start");
    CHECK(esp_websocket_client_stop(c) == ESP_FAIL, "stop of a client never started");
    CHECK(esp_websocket_client_close(c, pdMS_TO_TICKS(100)) == ESP_FAIL, "close of a client never started");
    CHECK(!esp_websocket_client_is_connected(c));

    /* Connected: negative lengths and NULL data are refused, and the connection stays usable. */
    CHECK(esp_websocket_client_start(c) == ESP_OK);
    if (CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 1, 4000))) {
        CHECK(esp_websocket_client_send_text(c, "abc", -1, INTEG_SEND_TIMEOUT) == -1, "negative length");
        CHECK(esp_websocket_client_send_bin(c, "abc", -3, INTEG_SEND_TIMEOUT) == -1, "negative length");
        CHECK(esp_websocket_client_send_text_partial(c, "abc", -1, INTEG_SEND_TIMEOUT) == -1, "negative length");
        CHECK(esp_websocket_client_send_cont_msg(c, "abc", -1, INTEG_SEND_TIMEOUT) == -1, "negative length");
        CHECK(esp_websocket_client_send_with_opcode(c, WS_TRANSPORT_OPCODES_BINARY, (const uint8_t *)"abc", -1,
                                                    INTEG_SEND_TIMEOUT) == -1,
              "negative length");
        CHECK(esp_websocket_client_send_text(c, NULL, 5, INTEG_SEND_TIMEOUT) == -1, "NULL data with length 5");
        CHECK(esp_websocket_client_send_bin(c, NULL, 5, INTEG_SEND_TIMEOUT) == -1, "NULL data with length 5");
        CHECK(esp_websocket_client_is_connected(c));
        CHECK(esp_websocket_client_send_text(c, "ok", 2, INTEG_SEND_TIMEOUT) == 2);
        if (CHECK(integ_rec_wait_msgs(&rec, 1, 3000))) {
            CHECK(strcmp((const char *)integ_rec_msg(&rec, 0)->data, "ok") == 0, "the refused sends put bytes on the wire");
        }
    }
    done(c, &rec);
}

int main(int argc, char **argv)
{
    integ_init(argc, argv, 55);
    if (!integ_server_start(&g_srv, INTEG_SRV_WS)) {
        return integ_finish();
    }
    RUN_CASE(set_uri_replaces_target_and_bad_uri_keeps_old);
    RUN_CASE(config_headers_append_header_auth_and_user_agent_reach_server);
    RUN_CASE(uri_userinfo_and_custom_user_agent_reach_server);
    RUN_CASE(set_headers_applies_at_next_handshake);
    RUN_CASE(header_cb_sees_set_cookie_before_connected);
    RUN_CASE(ping_interval_and_reconnect_timeout_getters_setters);
    RUN_CASE(register_for_one_event_and_unregister);
    RUN_CASE(task_name_default_and_configured);
    RUN_CASE(bad_arguments_get_documented_errors);
    integ_server_stop(&g_srv);
    return integ_finish();
}
