/*
 * test_integ_kconfig.c - the Kconfig defaults of the three-valued options: a config field left at
 * 0 (..._DEFAULT) takes the Kconfig choice, ..._ENABLED / ..._DISABLED (and each utf8_policy)
 * override it both ways; values outside an enum make init() fail.
 *
 * Built twice (tests/integration/CMakeLists.txt):
 *   integ_kconfig      the default library, no Kconfig symbols: `test_integ_kconfig off`
 *   integ_kconfig_on   a library built with the symbols below, as a device build with this
 *                      sdkconfig would be: `test_integ_kconfig_on on`
 *       CONFIG_ESP_WS_CLIENT_REASSEMBLE_MESSAGES=1       CONFIG_ESP_WS_CLIENT_REASSEMBLY_MAX_LEN=4096
 *       CONFIG_ESP_WS_CLIENT_RECONNECT_BACKOFF=1         CONFIG_ESP_WS_CLIENT_RECONNECT_BACKOFF_MAX_MS=300
 *       CONFIG_ESP_WS_CLIENT_UTF8_NONE=1
 * The expectations come from the argument, not from the macros, so a symbol that fails to reach
 * the library fails the `on` run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integ_util.h"

#define BUF 1024
#define ON_REASSEMBLY_MAX 4096      /* CONFIG_ESP_WS_CLIENT_REASSEMBLY_MAX_LEN of the `on` build */
#define OFF_REASSEMBLY_MAX 65536    /* its Kconfig default */
#define ON_BACKOFF_MAX_MS 300       /* CONFIG_ESP_WS_CLIENT_RECONNECT_BACKOFF_MAX_MS of the `on` build */

static bool g_on;                   /* the library was built with the symbols above */
static integ_server_t g_ws;         /* /echo and /record: a fragmented message comes back as one frame */
static integ_server_t g_raw;        /* /frame: one scripted frame after the 101 */

static esp_websocket_client_handle_t start_echo(integ_rec_t *rec, esp_websocket_reassembly_t reassemble,
                                                int max_message_len)
{
    char uri[160];
    integ_server_uri(&g_ws, "/record", uri, sizeof uri);
    esp_websocket_client_config_t cfg = {.uri = uri, .buffer_size = BUF, .disable_auto_reconnect = true,
                                         .network_timeout_ms = 5000, .reassemble_messages = reassemble,
                                         .max_message_len = max_message_len};
    esp_websocket_client_handle_t c = integ_client_new(rec, &cfg);
    if (c == NULL) {
        return NULL;
    }
    rec->chunk_cap = 0;   /* a reassembled message is larger than buffer_size by design */
    CHECK(esp_websocket_client_start(c) == ESP_OK);
    if (!CHECK(integ_rec_wait_event(rec, WEBSOCKET_EVENT_CONNECTED, 1, 5000), "no CONNECTED")) {
        esp_websocket_client_destroy(c);
        return NULL;
    }
    return c;
}

/* A 3000-byte text echo arrives as one DATA event (reassembled) or as 3 chunks of <= 1024. */
static void expect_echo_events(esp_websocket_reassembly_t reassemble, bool want_whole, const char *what)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    esp_websocket_client_handle_t c = start_echo(&rec, reassemble, 0);
    if (c != NULL) {
        char *msg = integ_text_payload(3000, 11);
        CHECK(esp_websocket_client_send_text(c, msg, 3000, INTEG_SEND_TIMEOUT) == 3000);
        if (CHECK(integ_rec_wait_msgs(&rec, 1, 5000), "%s: no echo", what)) {
            const integ_msg_t *m = integ_rec_msg(&rec, 0);
            CHECK(m->len == 3000 && memcmp(m->data, msg, 3000) == 0, "%s: echo differs", what);
            int want = want_whole ? 1 : 3;
            CHECK(m->chunks == want && rec.data_chunks == want, "%s: %d DATA events, want %d", what, m->chunks, want);
        }
        free(msg);
        CHECK(rec.reasm_errors == 0, "%s: chunk contract: %s", what, rec.first_reasm_error);
        CHECK(esp_websocket_client_destroy(c) == ESP_OK);
    }
    integ_rec_free(&rec);
}

static void reassembly_default_follows_kconfig(void)
{
    expect_echo_events(WEBSOCKET_REASSEMBLY_DEFAULT, g_on, "reassemble_messages = DEFAULT");
}

static void reassembly_enabled_overrides_kconfig(void)
{
    expect_echo_events(WEBSOCKET_REASSEMBLY_ENABLED, true, "reassemble_messages = ENABLED");
    /* C code written when the field was a bool: `true` is ENABLED */
    expect_echo_events(true, true, "reassemble_messages = true");
}

static void reassembly_disabled_overrides_kconfig(void)
{
    expect_echo_events(WEBSOCKET_REASSEMBLY_DISABLED, false, "reassemble_messages = DISABLED");
}

/* With reassembly and max_message_len 0 the limit is CONFIG_ESP_WS_CLIENT_REASSEMBLY_MAX_LEN:
 * a message of exactly that size passes, one byte more fails with ERROR and Close 1009. */
static void reassembly_limit_default_follows_kconfig(void)
{
    int limit = g_on ? ON_REASSEMBLY_MAX : OFF_REASSEMBLY_MAX;
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    integ_server_drain(&g_ws);
    esp_websocket_client_handle_t c = start_echo(&rec, WEBSOCKET_REASSEMBLY_ENABLED, 0);
    if (c != NULL) {
        char *msg = integ_text_payload((size_t)limit + 1, 5);
        CHECK(esp_websocket_client_send_text(c, msg, limit, INTEG_SEND_TIMEOUT) == limit);
        if (CHECK(integ_rec_wait_msgs(&rec, 1, 10000), "no echo of %d bytes", limit)) {
            const integ_msg_t *m = integ_rec_msg(&rec, 0);
            CHECK(m->len == (size_t)limit && m->chunks == 1, "echo of %d: len %zu in %d events", limit, m->len,
                  m->chunks);
        }
        CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_ERROR) == 0, "ERROR at the limit %d", limit);
        CHECK(esp_websocket_client_send_text(c, msg, limit + 1, INTEG_SEND_TIMEOUT) == limit + 1);
        CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_ERROR, 1, 10000), "no ERROR for %d bytes", limit + 1);
        /* earlier cases' connections end with 1006 lines that may arrive late: wait for this one */
        CHECK(integ_server_wait_line(&g_ws, "CLOSE 1009", NULL, 0, 10000), "the server got no Close 1009");
        CHECK(integ_rec_msg_count(&rec) == 1, "%d messages delivered, want 1", integ_rec_msg_count(&rec));
        free(msg);
        CHECK(esp_websocket_client_destroy(c) == ESP_OK);
    }
    integ_rec_free(&rec);
}

/* Gaps between the first n+1 BEFORE_CONNECT events of a client retrying a closed port every
 * 100 ms (base delay), with reconnect_backoff_max_ms 0 (the default ceiling). */
static bool retry_gaps(esp_websocket_reconnect_backoff_t backoff, int64_t *gaps, int n)
{
    char uri[96];
    snprintf(uri, sizeof uri, "ws://127.0.0.1:%d/", integ_unused_port());
    esp_websocket_client_config_t cfg = {.uri = uri, .network_timeout_ms = 2000, .reconnect_timeout_ms = 100,
                                         .reconnect_backoff = backoff};
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    esp_websocket_client_handle_t c = integ_client_new(&rec, &cfg);
    bool ok = false;
    if (c != NULL) {
        CHECK(esp_websocket_client_start(c) == ESP_OK);
        ok = CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_BEFORE_CONNECT, n + 1, 6000), "%d attempts",
                   integ_rec_count(&rec, WEBSOCKET_EVENT_BEFORE_CONNECT));
        integ_event_log_t prev, cur;
        ok = ok && integ_rec_event(&rec, WEBSOCKET_EVENT_BEFORE_CONNECT, 0, &prev);
        printf("  gaps:");
        for (int k = 1; ok && k <= n; k++) {
            ok = integ_rec_event(&rec, WEBSOCKET_EVENT_BEFORE_CONNECT, k, &cur);
            gaps[k - 1] = cur.t_ms - prev.t_ms;
            printf(" %lld", (long long)gaps[k - 1]);
            prev = cur;
        }
        printf("\n");
        CHECK(esp_websocket_client_destroy(c) == ESP_OK);
    }
    integ_rec_free(&rec);
    return ok;
}

/* Fixed: every gap near 100 ms. Backoff: 100, 200, then 400 (default ceiling 60 s) or 300 (the
 * `on` build's ceiling), + up to 1/4 jitter; a loaded machine only makes gaps longer. */
static void expect_backoff(esp_websocket_reconnect_backoff_t backoff, bool want_backoff, const char *what)
{
    enum { GAPS = 4 };
    int64_t g[GAPS];
    if (!CHECK(retry_gaps(backoff, g, GAPS), "%s: attempts not recorded", what)) {
        return;
    }
    if (!want_backoff) {
        for (int i = 0; i < GAPS; i++) {
            CHECK(g[i] >= 90 && g[i] < 250, "%s: gap %d = %lld ms, want the fixed 100", what, i, (long long)g[i]);
        }
        return;
    }
    CHECK(g[1] >= 180 && g[2] >= 270, "%s: no growth (%lld, %lld ms)", what, (long long)g[1], (long long)g[2]);
    if (g_on) {
        /* the ceiling 300 ms (<= 375 with jitter) holds; 60 s would give 800 here */
        CHECK(g[3] >= 270 && g[3] < 700, "%s: 4th gap %lld ms, want 300 .. 375", what, (long long)g[3]);
    } else {
        CHECK(g[3] >= 700, "%s: 4th gap %lld ms, want 800 .. 1000", what, (long long)g[3]);
    }
}

static void backoff_default_follows_kconfig(void)
{
    expect_backoff(WEBSOCKET_RECONNECT_BACKOFF_DEFAULT, g_on, "reconnect_backoff = DEFAULT");
}

static void backoff_enabled_overrides_kconfig(void)
{
    expect_backoff(WEBSOCKET_RECONNECT_BACKOFF_ENABLED, true, "reconnect_backoff = ENABLED");
}

static void backoff_disabled_overrides_kconfig(void)
{
    expect_backoff(WEBSOCKET_RECONNECT_BACKOFF_DISABLED, false, "reconnect_backoff = DISABLED");
}

/* The raw server sends TEXT "H", C3 28 (invalid UTF-8): delivered under NONE, Close 1007 otherwise. */
static void expect_invalid_text(esp_websocket_utf8_policy_t policy, bool want_delivered, const char *what)
{
    char uri[160];
    integ_server_uri(&g_raw, "/frame?b0=81&hex=48c328", uri, sizeof uri);
    esp_websocket_client_config_t cfg = {.uri = uri, .disable_auto_reconnect = true, .network_timeout_ms = 3000,
                                         .utf8_policy = policy};
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    integ_server_drain(&g_raw);
    esp_websocket_client_handle_t c = integ_client_new(&rec, &cfg);
    if (c != NULL) {
        CHECK(esp_websocket_client_start(c) == ESP_OK);
        CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 1, 4000), "%s: no CONNECTED", what);
        char line[200] = "";
        if (want_delivered) {
            if (CHECK(integ_rec_wait_msgs(&rec, 1, 3000), "%s: not delivered", what)) {
                const integ_msg_t *m = integ_rec_msg(&rec, 0);
                CHECK(m->opcode == 1 && m->len == 3 && memcmp(m->data, "H\xc3\x28", 3) == 0, "%s: wrong message",
                      what);
            }
            integ_sleep_ms(200);
            CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_ERROR) == 0, "%s: ERROR", what);
            CHECK(!integ_server_wait_line(&g_raw, "CLOSE ", NULL, 0, 0), "%s: the client sent a Close", what);
        } else {
            CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_ERROR, 1, 3000), "%s: no ERROR", what);
            CHECK(integ_server_wait_line(&g_raw, "CLOSE ", line, sizeof line, 3000), "%s: no Close", what);
            CHECK(strncmp(line, "CLOSE 1007", 10) == 0, "%s: server got '%s', want CLOSE 1007", what, line);
            CHECK(integ_rec_msg_count(&rec) == 0, "%s: the invalid text was delivered", what);
        }
        CHECK(esp_websocket_client_destroy(c) == ESP_OK);
    }
    integ_rec_free(&rec);
}

static void utf8_default_follows_kconfig(void)
{
    expect_invalid_text(WEBSOCKET_UTF8_POLICY_DEFAULT, g_on, "utf8_policy = DEFAULT");
}

static void utf8_explicit_policies_override_kconfig(void)
{
    expect_invalid_text(WEBSOCKET_UTF8_POLICY_NONE, true, "utf8_policy = NONE");
    expect_invalid_text(WEBSOCKET_UTF8_POLICY_VALIDATE_RX, false, "utf8_policy = VALIDATE_RX");
}

/* The last value of each enum is accepted, the next one (and a negative one) makes init() fail. */
static void values_outside_the_enums_are_refused(void)
{
    esp_websocket_client_config_t cfg = {.uri = "ws://127.0.0.1:9/"};
    esp_websocket_client_handle_t c;
    cfg.reassemble_messages = WEBSOCKET_REASSEMBLY_DISABLED;
    cfg.reconnect_backoff = WEBSOCKET_RECONNECT_BACKOFF_DISABLED;
    cfg.utf8_policy = WEBSOCKET_UTF8_POLICY_VALIDATE_RX_TX;
    CHECK((c = esp_websocket_client_init(&cfg)) != NULL, "the last value of each enum refused");
    esp_websocket_client_destroy(c);

    static const struct {
        int reassemble, backoff, utf8;
    } bad[] = { { 3, 0, 0 }, { -1, 0, 0 }, { 0, 3, 0 }, { 0, -1, 0 }, { 0, 0, 4 }, { 0, 0, -1 } };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cfg.reassemble_messages = (esp_websocket_reassembly_t)bad[i].reassemble;
        cfg.reconnect_backoff = (esp_websocket_reconnect_backoff_t)bad[i].backoff;
        cfg.utf8_policy = (esp_websocket_utf8_policy_t)bad[i].utf8;
        c = esp_websocket_client_init(&cfg);
        CHECK(c == NULL, "init accepted reassemble %d backoff %d utf8 %d", bad[i].reassemble, bad[i].backoff,
              bad[i].utf8);
        if (c != NULL) {
            esp_websocket_client_destroy(c);
        }
    }
}

int main(int argc, char **argv)
{
    integ_init(argc, argv, 90);
    if (argc != 2 || (strcmp(argv[1], "on") != 0 && strcmp(argv[1], "off") != 0)) {
        fprintf(stderr, "usage: %s on|off (the Kconfig symbols the library was built with)\n", argv[0]);
        return 2;
    }
    g_on = strcmp(argv[1], "on") == 0;
    printf("Kconfig symbols: %s\n", g_on ? "on (see the top of this file)" : "defaults");
    if (!integ_server_start(&g_ws, INTEG_SRV_WS)) {
        return 1;
    }
    if (!integ_server_start(&g_raw, INTEG_SRV_RAW)) {
        integ_server_stop(&g_ws);
        return 1;
    }
    RUN_CASE(reassembly_default_follows_kconfig);
    RUN_CASE(reassembly_enabled_overrides_kconfig);
    RUN_CASE(reassembly_disabled_overrides_kconfig);
    RUN_CASE(reassembly_limit_default_follows_kconfig);
    RUN_CASE(backoff_default_follows_kconfig);
    RUN_CASE(backoff_enabled_overrides_kconfig);
    RUN_CASE(backoff_disabled_overrides_kconfig);
    RUN_CASE(utf8_default_follows_kconfig);
    RUN_CASE(utf8_explicit_policies_override_kconfig);
    RUN_CASE(values_outside_the_enums_are_refused);
    integ_server_stop(&g_raw);
    integ_server_stop(&g_ws);
    return integ_finish();
}
