/*
 * test_client_api.c - the public API contracts that need no server: init and its defaults,
 * config precedence, set_uri, append_header, getters/setters, NULL handles, calls in the wrong
 * state, and the lifecycle (start/stop/destroy, reconnect wait) against a port nobody listens on.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "esp_websocket_client.h"
#include "ws_client.h"

#include "check.h"

/* A port on loopback where nothing listens: connects fail at once with ECONNREFUSED. */
#define DEAD_URI "ws://127.0.0.1:1/x"

static esp_websocket_client_handle_t make(const char *uri)
{
    esp_websocket_client_config_t cfg = { .uri = uri };
    return esp_websocket_client_init(&cfg);
}

static void test_init_applies_the_1_8_0_defaults(void)
{
    esp_websocket_client_handle_t c = make("ws://example.com");
    CHECK(c != NULL);
    if (c == NULL) {
        return;
    }
    CHECK_EQ(esp_websocket_client_get_ping_interval_sec(c), 10);
    CHECK_EQ(esp_websocket_client_get_reconnect_timeout(c), 10000);
    CHECK(!esp_websocket_client_is_connected(c));
    CHECK_EQ(c->cfg.buffer_size, 1024);
    CHECK_EQ(c->cfg.network_timeout_ms, 10000);
    CHECK_EQ(c->cfg.pingpong_timeout_sec, 120);
    CHECK_EQ(c->cfg.port, 80);
    CHECK_STR(c->cfg.host, "example.com");
    /* NULL stands for the defaults (not copied per client); test_integ_api.c and
     * test_client_session.c check that they still reach the thread name and the request. */
    CHECK(c->cfg.user_agent == NULL);
    CHECK(c->cfg.task_name == NULL);
    CHECK_EQ(c->cfg.task_prio, 5);
    CHECK_EQ(c->cfg.max_redirects, 5);
    CHECK_EQ(c->cfg.close_timeout_ms, 5000);
    CHECK(c->cfg.auto_reconnect);
    CHECK(!c->cfg.tls);
    CHECK(c->cfg.username == NULL);
    CHECK(c->cfg.tls_opts == NULL);   /* no TLS option: nothing allocated for them */
    CHECK_EQ(esp_websocket_client_destroy(c), ESP_OK);
}

static void test_init_copies_every_field(void)
{
    char uri[] = "wss://u1:p1@a.example:8443/path?q=1";
    char sub[] = "chat", ua[] = "agent/1", hdr[] = "X-A: 1\r\n", cn[] = "cn.example", pem[] = "-----PEM-----";
    esp_websocket_client_config_t cfg = {
        .uri = uri,
        .disable_auto_reconnect = false,
        .enable_close_reconnect = true,
        .user_context = (void *)0x1234,
        .task_core_id_set = true,
        .task_core_id = 1,
        .task_prio = 7,
        .task_name = "my_ws",
        .task_stack = 9000,
        .buffer_size = 512,
        .cert_pem = pem,
        .client_cert = pem,
        .client_key = pem,
        .transport = WEBSOCKET_TRANSPORT_OVER_SSL,
        .subprotocol = sub,
        .user_agent = ua,
        .headers = hdr,
        .pingpong_timeout_sec = 30,
        .use_global_ca_store = true,
        .cert_common_name = cn,
        .keep_alive_enable = true,
        .keep_alive_idle = 7,
        .keep_alive_interval = 8,
        .keep_alive_count = 9,
        .reconnect_timeout_ms = 1500,
        .network_timeout_ms = 2500,
        .ping_interval_sec = 25,
        .reconnect_backoff = WEBSOCKET_RECONNECT_BACKOFF_ENABLED,
        .reconnect_backoff_max_ms = 20000,
        .max_redirects = 2,
        .utf8_policy = WEBSOCKET_UTF8_POLICY_VALIDATE_RX_TX,
        .max_message_len = 100000,
        .max_frame_len = 50000,
        .close_timeout_ms = 3000,
        .response_header_limit = 2048,
    };
    esp_websocket_client_handle_t c = esp_websocket_client_init(&cfg);
    CHECK(c != NULL);
    if (c == NULL) {
        return;
    }
    /* the configuration is a copy: the caller's strings may change afterwards */
    memset(uri, 'x', sizeof uri - 1);
    memset(sub, 'x', sizeof sub - 1);
    memset(pem, 'x', sizeof pem - 1);
    CHECK(c->cfg.tls);
    CHECK_EQ(c->cfg.port, 8443);
    CHECK_STR(c->cfg.host, "a.example");
    CHECK_STR(c->cfg.path, "/path?q=1");
    CHECK_STR(c->cfg.username, "u1");
    CHECK_STR(c->cfg.password, "p1");
    CHECK_STR(c->cfg.subprotocol, "chat");
    CHECK_STR(c->cfg.user_agent, "agent/1");
    CHECK_STR(c->cfg.headers, "X-A: 1\r\n");
    CHECK(c->cfg.tls_opts != NULL);
    if (c->cfg.tls_opts != NULL) {
        CHECK_STR(c->cfg.tls_opts->common_name, "cn.example");
        CHECK_STR(c->cfg.tls_opts->cert, "-----PEM-----");
        CHECK(c->cfg.tls_opts->use_global_ca_store);
    }
    CHECK_STR(c->cfg.task_name, "my_ws");
    CHECK_EQ(c->cfg.task_core, 1);
    CHECK_EQ(c->cfg.task_prio, 7);
    CHECK_EQ(c->cfg.task_stack, 9000);
    CHECK_EQ(c->cfg.buffer_size, 512);
    CHECK(c->cfg.close_reconnect);
    CHECK(c->cfg.keepalive.enable);
    CHECK_EQ(c->cfg.keepalive.idle_s, 7);
    CHECK_EQ(c->cfg.keepalive.interval_s, 8);
    CHECK_EQ(c->cfg.keepalive.count, 9);
    CHECK_EQ(c->cfg.pingpong_timeout_sec, 30);
    CHECK_EQ(c->cfg.network_timeout_ms, 2500);
    CHECK_EQ(esp_websocket_client_get_reconnect_timeout(c), 1500);
    CHECK_EQ(esp_websocket_client_get_ping_interval_sec(c), 25);
    CHECK(c->cfg.backoff);
    CHECK_EQ(c->cfg.backoff_max_ms, 20000);
    CHECK_EQ(c->cfg.max_redirects, 2);
    CHECK_EQ(c->cfg.utf8_policy, 3);
    CHECK_EQ(c->cfg.max_message_len, 100000);
    CHECK_EQ(c->cfg.max_frame_len, 50000);
    CHECK_EQ(c->cfg.close_timeout_ms, 3000);
    CHECK_EQ(c->cfg.response_header_limit, 2048);
    CHECK(c->ev.user_context == (void *)0x1234);
    CHECK_EQ(esp_websocket_client_destroy(c), ESP_OK);
}

static void test_disable_pingpong_discon_forces_the_pong_timeout_to_zero(void)
{
    esp_websocket_client_config_t cfg = { .uri = "ws://h", .pingpong_timeout_sec = 30, .disable_pingpong_discon = true };
    esp_websocket_client_handle_t c = esp_websocket_client_init(&cfg);
    CHECK(c != NULL && c->cfg.pingpong_timeout_sec == 0);
    esp_websocket_client_destroy(c);
    cfg.disable_pingpong_discon = false;
    c = esp_websocket_client_init(&cfg);
    CHECK(c != NULL && c->cfg.pingpong_timeout_sec == 30);
    esp_websocket_client_destroy(c);
}

static void test_explicit_fields_override_the_uri_parts(void)
{
    esp_websocket_client_config_t cfg = {
        .uri = "ws://ua:pa@a.example:81/p", .host = "b.example", .port = 82, .path = "/q",
        .username = "ub", .password = "pb",
    };
    esp_websocket_client_handle_t c = esp_websocket_client_init(&cfg);
    CHECK(c != NULL);
    if (c != NULL) {
        CHECK_STR(c->cfg.host, "b.example");
        CHECK_EQ(c->cfg.port, 82);
        CHECK_STR(c->cfg.path, "/q");
        CHECK_STR(c->cfg.username, "ub");
        CHECK_STR(c->cfg.password, "pb");
        esp_websocket_client_destroy(c);
    }
    /* contrapositive: without them, the URI's parts stand */
    esp_websocket_client_config_t only_uri = { .uri = "ws://ua:pa@a.example:81/p" };
    c = esp_websocket_client_init(&only_uri);
    CHECK(c != NULL);
    if (c != NULL) {
        CHECK_STR(c->cfg.host, "a.example");
        CHECK_EQ(c->cfg.port, 81);
        CHECK_STR(c->cfg.path, "/p");
        CHECK_STR(c->cfg.username, "ua");
        CHECK_STR(c->cfg.password, "pa");
        esp_websocket_client_destroy(c);
    }
}

static void test_uri_without_scheme_takes_it_from_transport(void)
{
    esp_websocket_client_config_t cfg = { .uri = "example.com/chat", .transport = WEBSOCKET_TRANSPORT_OVER_SSL };
    esp_websocket_client_handle_t c = esp_websocket_client_init(&cfg);
    CHECK(c != NULL && c->cfg.tls && c->cfg.port == 443);
    esp_websocket_client_destroy(c);
    cfg.transport = WEBSOCKET_TRANSPORT_OVER_TCP;
    c = esp_websocket_client_init(&cfg);
    CHECK(c != NULL && !c->cfg.tls && c->cfg.port == 80);
    esp_websocket_client_destroy(c);
}

static void test_init_refuses_an_invalid_uri(void)
{
    static const char *bad[] = { "http://example.com/", "ws://", "ws://host:99999/", "ws://host/#frag",
                                 "ws://ho st/", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        esp_websocket_client_handle_t c = make(bad[i]);
        CHECK(c == NULL);
        esp_websocket_client_destroy(c);
    }
    CHECK(esp_websocket_client_init(NULL) == NULL);
}

static void test_common_name_and_skip_together_make_init_fail(void)
{
    esp_websocket_client_config_t cfg = { .uri = "wss://h", .cert_common_name = "h", .skip_cert_common_name_check = true };
    CHECK(esp_websocket_client_init(&cfg) == NULL);
    cfg.skip_cert_common_name_check = false;
    esp_websocket_client_handle_t c = esp_websocket_client_init(&cfg);
    CHECK(c != NULL);
    esp_websocket_client_destroy(c);
    cfg.cert_common_name = NULL;
    cfg.skip_cert_common_name_check = true;
    c = esp_websocket_client_init(&cfg);
    CHECK(c != NULL);
    esp_websocket_client_destroy(c);
}

static void test_ext_transport_is_refused(void)
{
    esp_websocket_client_config_t cfg = { .uri = "ws://h", .ext_transport = (esp_transport_handle_t)0x1 };
    CHECK(esp_websocket_client_init(&cfg) == NULL);
}

static void test_set_uri_replaces_the_parts_and_keeps_them_on_error(void)
{
    esp_websocket_client_handle_t c = make("ws://a.example/one");
    CHECK(c != NULL);
    if (c == NULL) {
        return;
    }
    CHECK_EQ(esp_websocket_client_set_uri(c, "wss://u:p@b.example:9000/two?x"), ESP_OK);
    CHECK(c->cfg.tls);
    CHECK_STR(c->cfg.host, "b.example");
    CHECK_EQ(c->cfg.port, 9000);
    CHECK_STR(c->cfg.path, "/two?x");
    CHECK_STR(c->cfg.username, "u");
    CHECK_EQ(esp_websocket_client_set_uri(c, "ftp://c.example/"), ESP_FAIL);
    CHECK_STR(c->cfg.host, "b.example");   /* unchanged */
    CHECK_EQ(esp_websocket_client_set_uri(c, "ws://c.example?q=1"), ESP_OK);
    CHECK_STR(c->cfg.path, "/?q=1");       /* a query with no path gets "/" */
    CHECK_EQ(esp_websocket_client_set_uri(c, NULL), ESP_ERR_INVALID_ARG);
    esp_websocket_client_destroy(c);
}

static void test_append_header_adds_crlf_terminated_lines(void)
{
    esp_websocket_client_config_t cfg = { .uri = "ws://h", .headers = "A: 1\r\n" };
    esp_websocket_client_handle_t c = esp_websocket_client_init(&cfg);
    CHECK(c != NULL);
    if (c == NULL) {
        return;
    }
    CHECK_EQ(esp_websocket_client_append_header(c, "B", "2"), ESP_OK);
    CHECK_EQ(esp_websocket_client_append_header(c, "C", "three"), ESP_OK);
    CHECK_STR(c->cfg.headers, "A: 1\r\nB: 2\r\nC: three\r\n");
    CHECK_EQ(esp_websocket_client_append_header(c, NULL, "x"), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_websocket_client_append_header(c, "x", NULL), ESP_ERR_INVALID_ARG);
    CHECK_STR(c->cfg.headers, "A: 1\r\nB: 2\r\nC: three\r\n");
    /* set_headers is only accepted while connected (1.8.0) */
    CHECK_EQ(esp_websocket_client_set_headers(c, "D: 4\r\n"), ESP_ERR_INVALID_ARG);
    esp_websocket_client_destroy(c);
}

static void test_ping_interval_get_set(void)
{
    esp_websocket_client_handle_t c = make("ws://h");
    CHECK_EQ(esp_websocket_client_set_ping_interval_sec(c, 25), ESP_OK);
    CHECK_EQ(esp_websocket_client_get_ping_interval_sec(c), 25);
    CHECK_EQ(esp_websocket_client_set_ping_interval_sec(c, 0), ESP_OK);   /* 0 = default */
    CHECK_EQ(esp_websocket_client_get_ping_interval_sec(c), 10);
    esp_websocket_client_destroy(c);
}

static void test_reconnect_timeout_get_set(void)
{
    esp_websocket_client_handle_t c = make("ws://h");
    CHECK_EQ(esp_websocket_client_set_reconnect_timeout(c, 500), ESP_OK);
    CHECK_EQ(esp_websocket_client_get_reconnect_timeout(c), 500);
    CHECK_EQ(esp_websocket_client_set_reconnect_timeout(c, 0), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_websocket_client_set_reconnect_timeout(c, -5), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_websocket_client_get_reconnect_timeout(c), 500);
    esp_websocket_client_destroy(c);

    esp_websocket_client_config_t cfg = { .uri = "ws://h", .disable_auto_reconnect = true };
    c = esp_websocket_client_init(&cfg);
    CHECK_EQ(esp_websocket_client_get_reconnect_timeout(c), -1);
    CHECK_EQ(esp_websocket_client_set_reconnect_timeout(c, 500), ESP_ERR_INVALID_STATE);
    esp_websocket_client_destroy(c);
}

static void dummy_handler(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)arg; (void)base; (void)id; (void)data;
}

static void test_null_handle_is_refused_everywhere(void)
{
    esp_websocket_client_handle_t n = NULL;
    CHECK_EQ(esp_websocket_client_set_uri(n, "ws://h"), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_websocket_client_set_headers(n, "A: 1\r\n"), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_websocket_client_append_header(n, "A", "1"), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_websocket_client_start(n), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_websocket_client_stop(n), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_websocket_client_destroy(n), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_websocket_client_destroy_on_exit(n), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_websocket_client_close(n, 10), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_websocket_client_close_with_code(n, 1000, "x", 1, 10), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_websocket_client_send_bin(n, "x", 1, 10), -1);
    CHECK_EQ(esp_websocket_client_send_bin_partial(n, "x", 1, 10), -1);
    CHECK_EQ(esp_websocket_client_send_text(n, "x", 1, 10), -1);
    CHECK_EQ(esp_websocket_client_send_text_partial(n, "x", 1, 10), -1);
    CHECK_EQ(esp_websocket_client_send_cont_msg(n, "x", 1, 10), -1);
    CHECK_EQ(esp_websocket_client_send_fin(n, 10), -1);
    CHECK_EQ(esp_websocket_client_send_with_opcode(n, WS_TRANSPORT_OPCODES_PING, NULL, 0, 10), -1);
    CHECK(!esp_websocket_client_is_connected(n));
    CHECK_EQ(esp_websocket_client_get_ping_interval_sec(n), 0);
    CHECK_EQ(esp_websocket_client_set_ping_interval_sec(n, 5), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_websocket_client_get_reconnect_timeout(n), -1);
    CHECK_EQ(esp_websocket_client_set_reconnect_timeout(n, 5), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_websocket_register_events(n, WEBSOCKET_EVENT_ANY, dummy_handler, NULL), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_websocket_unregister_events(n, WEBSOCKET_EVENT_ANY, dummy_handler), ESP_ERR_INVALID_ARG);
}

static void test_calls_in_the_wrong_state_are_refused(void)
{
    esp_websocket_client_handle_t c = make("ws://h");
    CHECK_EQ(esp_websocket_client_send_text(c, "x", 1, 10), -1);          /* before start */
    CHECK_EQ(esp_websocket_client_send_bin(c, "x", -1, 10), -1);          /* negative length */
    CHECK_EQ(esp_websocket_client_send_bin(c, NULL, 3, 10), -1);          /* NULL data with a length */
    CHECK_EQ(esp_websocket_client_stop(c), ESP_FAIL);                     /* not started */
    CHECK_EQ(esp_websocket_client_close(c, 10), ESP_FAIL);                /* not started */
    CHECK_EQ(esp_websocket_client_close_with_code(c, 1000, "x", 200, 10), ESP_ERR_INVALID_ARG);   /* reason > 123 */
    esp_websocket_client_destroy(c);
}

/* ---- lifecycle against a port with no listener ---- */

typedef struct {
    atomic_int begin, before, error, disconnected, finish;
    atomic_uint before_ms[8];
    atomic_int stop_from_handler;   /* result of stop() called inside a handler */
    bool try_stop_in_handler;
    esp_websocket_client_handle_t self;
} counts_t;

static void count_handler(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)base;
    counts_t *k = arg;
    esp_websocket_event_data_t *d = data;
    switch (id) {
    case WEBSOCKET_EVENT_BEGIN: k->begin++; break;
    case WEBSOCKET_EVENT_BEFORE_CONNECT: {
        int i = k->before++;
        if (i < 8) {
            k->before_ms[i] = ws_port_now_ms();
        }
        break;
    }
    case WEBSOCKET_EVENT_ERROR:
        k->error++;
        CHECK(d->data_ptr != NULL && d->data_len > 0);
        CHECK_EQ(d->error_handle.error_type, WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT);
        CHECK(d->error_handle.esp_transport_sock_errno != 0);
        break;
    case WEBSOCKET_EVENT_DISCONNECTED:
        k->disconnected++;
        if (k->try_stop_in_handler) {
            k->stop_from_handler = esp_websocket_client_stop(k->self);
            k->try_stop_in_handler = false;
        }
        break;
    case WEBSOCKET_EVENT_FINISH: k->finish++; break;
    default: break;
    }
}

static esp_websocket_client_handle_t dead_client(counts_t *k, bool reconnect, int reconnect_ms)
{
    memset(k, 0, sizeof *k);
    esp_websocket_client_config_t cfg = { .uri = DEAD_URI, .disable_auto_reconnect = !reconnect,
                                          .reconnect_timeout_ms = reconnect_ms, .network_timeout_ms = 1000 };
    esp_websocket_client_handle_t c = esp_websocket_client_init(&cfg);
    k->self = c;
    CHECK_EQ(esp_websocket_register_events(c, WEBSOCKET_EVENT_ANY, count_handler, k), ESP_OK);
    return c;
}

static void wait_for(atomic_int *v, int at_least, int max_ms)
{
    for (int i = 0; i < max_ms / 5 && *v < at_least; i++) {
        ws_port_sleep_ms(5);
    }
}

static void test_a_failed_connect_posts_error_then_disconnected_and_ends_without_reconnect(void)
{
    counts_t k;
    esp_websocket_client_handle_t c = dead_client(&k, false, 0);
    CHECK_EQ(esp_websocket_client_start(c), ESP_OK);
    wait_for(&k.finish, 1, 3000);
    CHECK_EQ(k.begin, 1);
    CHECK_EQ(k.before, 1);
    CHECK_EQ(k.error, 1);
    CHECK_EQ(k.disconnected, 1);
    CHECK_EQ(k.finish, 1);
    CHECK_EQ(esp_websocket_client_stop(c), ESP_FAIL);   /* the task ended on its own */
    CHECK_EQ(esp_websocket_client_start(c), ESP_OK);    /* and the client can start again */
    wait_for(&k.finish, 2, 3000);
    CHECK_EQ(k.begin, 2);
    CHECK_EQ(esp_websocket_client_destroy(c), ESP_OK);
}

static void test_stop_ends_a_reconnect_wait_within_the_bound(void)
{
    counts_t k;
    esp_websocket_client_handle_t c = dead_client(&k, true, 60000);
    CHECK_EQ(esp_websocket_client_start(c), ESP_OK);
    CHECK_EQ(esp_websocket_client_start(c), ESP_FAIL);  /* already started */
    wait_for(&k.disconnected, 1, 3000);
    ws_port_sleep_ms(50);
    CHECK_EQ(atomic_load(&c->state), WS_STATE_WAITING);
    uint32_t t0 = ws_port_now_ms();
    CHECK_EQ(esp_websocket_client_stop(c), ESP_OK);
    uint32_t took = ws_port_now_ms() - t0;
    CHECK(took < 2 * WS_PORT_ABORT_CHECK_MS);
    CHECK_EQ(k.before, 1);                              /* the 60 s wait was cut short, no retry */
    CHECK_EQ(k.finish, 1);
    CHECK_EQ(esp_websocket_client_stop(c), ESP_FAIL);   /* already stopped */
    CHECK_EQ(esp_websocket_client_destroy(c), ESP_OK);
}

static void test_set_reconnect_timeout_wakes_a_pending_wait(void)
{
    counts_t k;
    esp_websocket_client_handle_t c = dead_client(&k, true, 60000);
    CHECK_EQ(esp_websocket_client_start(c), ESP_OK);
    wait_for(&k.disconnected, 1, 3000);
    ws_port_sleep_ms(200);
    CHECK_EQ(k.before, 1);                              /* contrapositive: no retry on its own */
    CHECK_EQ(esp_websocket_client_set_reconnect_timeout(c, 20), ESP_OK);
    wait_for(&k.before, 2, 1000);
    CHECK(k.before >= 2);
    CHECK_EQ(esp_websocket_client_destroy(c), ESP_OK);  /* destroy stops a running client */
}

static void test_stop_from_a_handler_is_refused(void)
{
    counts_t k;
    esp_websocket_client_handle_t c = dead_client(&k, true, 60000);
    k.try_stop_in_handler = true;
    k.stop_from_handler = 12345;
    CHECK_EQ(esp_websocket_client_start(c), ESP_OK);
    wait_for(&k.disconnected, 1, 3000);
    ws_port_sleep_ms(20);
    CHECK_EQ(k.stop_from_handler, ESP_FAIL);
    CHECK_EQ(esp_websocket_client_stop(c), ESP_OK);     /* from another task it works */
    esp_websocket_client_destroy(c);
}

static void test_backoff_grows_the_delay_and_fixed_does_not(void)
{
    for (int backoff = 0; backoff <= 1; backoff++) {
        counts_t k;
        memset(&k, 0, sizeof k);
        esp_websocket_client_config_t cfg = { .uri = DEAD_URI, .reconnect_timeout_ms = 40, .network_timeout_ms = 1000,
                                              .reconnect_backoff = backoff ? WEBSOCKET_RECONNECT_BACKOFF_ENABLED
                                                                    : WEBSOCKET_RECONNECT_BACKOFF_DISABLED,
                                              .reconnect_backoff_max_ms = 1000 };
        esp_websocket_client_handle_t c = esp_websocket_client_init(&cfg);
        k.self = c;
        esp_websocket_register_events(c, WEBSOCKET_EVENT_ANY, count_handler, &k);
        esp_websocket_client_start(c);
        wait_for(&k.before, 5, 3000);
        esp_websocket_client_destroy(c);
        CHECK(k.before >= 5);
        uint32_t first = k.before_ms[1] - k.before_ms[0];
        uint32_t fourth = k.before_ms[4] - k.before_ms[3];
        if (backoff) {
            /* 40, 80, 160, 320 (+ up to 1/4 jitter) */
            CHECK(fourth >= 300);
            CHECK(fourth > 3 * first);
        } else {
            CHECK(fourth < 200);
            CHECK(first >= 40);
        }
    }
}

static atomic_int s_finished;

static void finish_handler(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)arg; (void)base; (void)data;
    if (id == WEBSOCKET_EVENT_FINISH) {
        s_finished++;
    }
}

static void test_destroy_on_exit_frees_the_client_when_its_task_ends(void)
{
    esp_websocket_client_config_t cfg = { .uri = DEAD_URI, .disable_auto_reconnect = true };
    esp_websocket_client_handle_t c = esp_websocket_client_init(&cfg);
    esp_websocket_register_events(c, WEBSOCKET_EVENT_FINISH, finish_handler, NULL);
    CHECK_EQ(esp_websocket_client_destroy_on_exit(c), ESP_OK);
    CHECK_EQ(esp_websocket_client_start(c), ESP_OK);
    wait_for(&s_finished, 1, 3000);
    CHECK_EQ(s_finished, 1);
    ws_port_sleep_ms(100);   /* the task frees the client after FINISH; leak checkers see the rest */
}

int main(void)
{
    test_init_applies_the_1_8_0_defaults();
    test_init_copies_every_field();
    test_disable_pingpong_discon_forces_the_pong_timeout_to_zero();
    test_explicit_fields_override_the_uri_parts();
    test_uri_without_scheme_takes_it_from_transport();
    test_init_refuses_an_invalid_uri();
    test_common_name_and_skip_together_make_init_fail();
    test_ext_transport_is_refused();
    test_set_uri_replaces_the_parts_and_keeps_them_on_error();
    test_append_header_adds_crlf_terminated_lines();
    test_ping_interval_get_set();
    test_reconnect_timeout_get_set();
    test_null_handle_is_refused_everywhere();
    test_calls_in_the_wrong_state_are_refused();
    test_a_failed_connect_posts_error_then_disconnected_and_ends_without_reconnect();
    test_stop_ends_a_reconnect_wait_within_the_bound();
    test_set_reconnect_timeout_wakes_a_pending_wait();
    test_stop_from_a_handler_is_refused();
    test_backoff_grows_the_delay_and_fixed_does_not();
    test_destroy_on_exit_frees_the_client_when_its_task_ends();
    ws_engine_shutdown();
    return check_finish();
}
