/*
 * test_integ_tls.c - wss:// through the public API against real TLS servers.
 *
 * Servers: tests/servers/tls_ws_server.ts (Node https + ws; listeners "main" localhost cert,
 * "other" other.test cert, "mtls" client certificate required) and tests/servers/tls_py_echo.py
 * (python-websockets with ssl). Certificates come from tests/tls/make_certs.sh, fresh each run.
 * Covered: verified echo on both servers, wrong CA, host name mismatch, skip_cert_common_name_check,
 * cert_common_name, client certificates, a DER CA, a 1 MiB message in 512-byte TLS records, a
 * frame written one byte per TLS record, the close handshake, and 50 reconnects over TLS checked
 * for leaks under valgrind memcheck (when valgrind is installed). The ERROR event of a failed
 * verification carries the ESP-TLS code, the mbedTLS error and the verification flags.
 * Figure printed: time from start() to CONNECTED, ws:// vs wss://, on loopback.
 *
 *   test_integ_tls                                   every case
 *   test_integ_tls --reconnect-child PORT DIR N      (internal) N reconnects, run under valgrind
 */
#define _GNU_SOURCE   /* pipe2, strndup in tls_fixture.h */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integ_util.h"
#include "../tls/tls_fixture.h"

#define ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED 0x801A
#define MBEDTLS_VERIFY_FAILED_POS 0x2700   /* -MBEDTLS_ERR_X509_CERT_VERIFY_FAILED, as esp-tls stores it */
#define BADCERT_CN_MISMATCH 0x04
#define BADCERT_NOT_TRUSTED 0x08
#define RECONNECT_CYCLES 50

static char g_dir[256];
static tls_fx_server_t g_node;
static int g_main, g_other, g_mtls;
static char *g_ca, *g_ca_der, *g_other_ca, *g_client_crt, *g_client_key;
static size_t g_ca_der_len;

static char *must_read(const char *dir, const char *name, size_t *len)
{
    char *p = tls_fx_read_file(dir, name, len);
    if (p == NULL) {
        fprintf(stderr, "cannot read %s/%s\n", dir, name);
        exit(1);
    }
    return p;
}

static void wss_uri(char *out, size_t cap, const char *host, int port, const char *path)
{
    snprintf(out, cap, "wss://%s:%d%s", host, port, path);
}

static esp_websocket_client_handle_t start(integ_rec_t *rec, esp_websocket_client_config_t *cfg)
{
    esp_websocket_client_handle_t c = integ_client_new(rec, cfg);
    if (c != NULL) {
        CHECK(esp_websocket_client_start(c) == ESP_OK);
    }
    return c;
}

static void finish(esp_websocket_client_handle_t c, integ_rec_t *rec)
{
    CHECK(rec->reasm_errors == 0, "chunk contract: %s", rec->first_reasm_error);
    if (c != NULL) {
        CHECK(esp_websocket_client_destroy(c) == ESP_OK);
    }
    integ_rec_free(rec);
}

/* Connects with cfg to uri, exchanges one text and one binary message, then closes with the
 * close handshake. */
static void echo_round(esp_websocket_client_config_t *cfg, tls_fx_server_t *srv)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 8);
    tls_fx_drain(srv);
    esp_websocket_client_handle_t c = start(&rec, cfg);
    if (c != NULL && CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 1, 5000), "no CONNECTED")) {
        CHECK(esp_websocket_client_send_text(c, "hello over tls", 14, INTEG_SEND_TIMEOUT) == 14);
        static const char bin[5] = { 0, 1, 2, (char)0xfe, (char)0xff };
        CHECK(esp_websocket_client_send_bin(c, bin, 5, INTEG_SEND_TIMEOUT) == 5);
        if (CHECK(integ_rec_wait_msgs(&rec, 2, 5000), "echoes missing")) {
            const integ_msg_t *m0 = integ_rec_msg(&rec, 0), *m1 = integ_rec_msg(&rec, 1);
            CHECK(m0->opcode == 1 && m0->len == 14 && memcmp(m0->data, "hello over tls", 14) == 0);
            CHECK(m1->opcode == 2 && m1->len == 5 && memcmp(m1->data, bin, 5) == 0);
        }
        CHECK(esp_websocket_client_close_with_code(c, 1000, "done", 4, pdMS_TO_TICKS(5000)) == ESP_OK);
        if (CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CLOSED, 1, 3000), "no CLOSED")) {
            integ_event_log_t e;
            integ_rec_event(&rec, WEBSOCKET_EVENT_CLOSED, 0, &e);
            CHECK(e.close_status_code == 1000, "close code %d", e.close_status_code);   /* the server's echo */
        }
        char line[128] = "";
        CHECK(tls_fx_wait_line(srv, "CLOSE ", line, sizeof(line), 3000) && strcmp(line, "CLOSE 1000 done") == 0,
              "server saw '%s'", line);
    }
    CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_ERROR) == 0);
    finish(c, &rec);
}

/* Starts a client that must fail before CONNECTED; returns its first ERROR event's codes. */
static bool expect_failure(esp_websocket_client_config_t *cfg, esp_websocket_error_codes_t *out)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    cfg->disable_auto_reconnect = true;
    esp_websocket_client_handle_t c = start(&rec, cfg);
    bool got = false;
    if (c != NULL) {
        got = CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_ERROR, 1, 5000), "no ERROR");
        CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_FINISH, 1, 5000), "task did not finish");
        CHECK(integ_rec_count(&rec, WEBSOCKET_EVENT_CONNECTED) == 0, "connected although it must not");
        integ_event_log_t e;
        if (got && integ_rec_event(&rec, WEBSOCKET_EVENT_ERROR, 0, &e)) {
            *out = e.error_handle;
            CHECK(e.error_handle.error_type == WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT);
        }
    }
    finish(c, &rec);
    return got;
}

/* ---- verification ------------------------------------------------------------------------ */

static void verified_echo_and_close_handshake_node(void)
{
    char uri[128];
    wss_uri(uri, sizeof(uri), "localhost", g_main, "/echo");
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.cert_pem = g_ca;
    echo_round(&cfg, &g_node);
}

static void verified_echo_and_close_handshake_python(void)
{
    tls_fx_server_t py;
    if (!CHECK(tls_fx_start_py(&py, g_dir, NULL), "python server")) {
        return;
    }
    int port = tls_fx_port(&py, "PORT ", 20000);
    if (CHECK(port > 0)) {
        char uri[128];
        wss_uri(uri, sizeof(uri), "localhost", port, "/echo");
        esp_websocket_client_config_t cfg = { 0 };
        cfg.uri = uri;
        cfg.cert_pem = g_ca;
        echo_round(&cfg, &py);
    }
    tls_fx_server_stop(&py);
}

static void der_ca_verifies_the_server(void)
{
    char uri[128];
    wss_uri(uri, sizeof(uri), "localhost", g_main, "/echo");
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.cert_pem = g_ca_der;
    cfg.cert_len = g_ca_der_len;
    echo_round(&cfg, &g_node);
}

static void wrong_ca_fails_with_the_verify_flags_in_the_error_event(void)
{
    char uri[128];
    wss_uri(uri, sizeof(uri), "localhost", g_main, "/echo");
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.cert_pem = g_other_ca;
    esp_websocket_error_codes_t e = { 0 };
    if (expect_failure(&cfg, &e)) {
        CHECK(e.esp_tls_last_esp_err == ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED, "esp err 0x%x",
              (unsigned)e.esp_tls_last_esp_err);
        CHECK(e.esp_tls_stack_err == MBEDTLS_VERIFY_FAILED_POS, "stack err 0x%x", (unsigned)e.esp_tls_stack_err);
        CHECK(e.esp_tls_cert_verify_flags & BADCERT_NOT_TRUSTED, "flags 0x%x", (unsigned)e.esp_tls_cert_verify_flags);
    }
}

/* No CA configured: the system store is used, which does not know the test CA, so the server
 * fails verification; skip_server_cert_verify is the explicit way to connect anyway. */
static void unverifiable_server_fails_by_default_and_connects_only_with_the_opt_in(void)
{
    char uri[128];
    wss_uri(uri, sizeof(uri), "localhost", g_main, "/echo");
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    esp_websocket_error_codes_t e = { 0 };
    if (expect_failure(&cfg, &e)) {
        CHECK(e.esp_tls_cert_verify_flags & BADCERT_NOT_TRUSTED, "flags 0x%x", (unsigned)e.esp_tls_cert_verify_flags);
    }
    cfg.skip_server_cert_verify = true;
    echo_round(&cfg, &g_node);
}

static void host_name_mismatch_fails(void)
{
    char uri[128];
    wss_uri(uri, sizeof(uri), "localhost", g_other, "/echo");   /* presents other.test */
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.cert_pem = g_ca;
    esp_websocket_error_codes_t e = { 0 };
    if (expect_failure(&cfg, &e)) {
        CHECK(e.esp_tls_cert_verify_flags == BADCERT_CN_MISMATCH, "flags 0x%x", (unsigned)e.esp_tls_cert_verify_flags);
    }
}

static void skip_cert_common_name_check_connects_to_another_name(void)
{
    char uri[128];
    wss_uri(uri, sizeof(uri), "localhost", g_other, "/echo");
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.cert_pem = g_ca;
    cfg.skip_cert_common_name_check = true;
    echo_round(&cfg, &g_node);
    /* The chain is still verified. */
    cfg.cert_pem = g_other_ca;
    esp_websocket_error_codes_t e = { 0 };
    if (expect_failure(&cfg, &e)) {
        CHECK(e.esp_tls_cert_verify_flags == BADCERT_NOT_TRUSTED, "flags 0x%x", (unsigned)e.esp_tls_cert_verify_flags);
    }
}

static void cert_common_name_is_the_name_checked(void)
{
    char uri[128];
    wss_uri(uri, sizeof(uri), "localhost", g_other, "/echo");
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.cert_pem = g_ca;
    cfg.cert_common_name = "other.test";
    echo_round(&cfg, &g_node);
    cfg.cert_common_name = "wrong.test";
    esp_websocket_error_codes_t e = { 0 };
    if (expect_failure(&cfg, &e)) {
        CHECK(e.esp_tls_cert_verify_flags == BADCERT_CN_MISMATCH, "flags 0x%x", (unsigned)e.esp_tls_cert_verify_flags);
    }
}

static void server_requiring_client_certificates(void)
{
    char uri[128];
    wss_uri(uri, sizeof(uri), "localhost", g_mtls, "/echo");
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.cert_pem = g_ca;
    esp_websocket_error_codes_t e = { 0 };
    expect_failure(&cfg, &e);   /* without a client certificate */

    cfg.client_cert = g_client_crt;
    cfg.client_key = g_client_key;
    tls_fx_drain(&g_node);
    echo_round(&cfg, &g_node);
    char line[128];
    CHECK(tls_fx_wait_line(&g_node, "PEER ", line, sizeof(line), 3000) && strcmp(line, "PEER ws test client") == 0,
          "server saw '%s'", line);
}

/* ---- the record layer under the WebSocket layer ----------------------------------------- */

static void one_mib_message_in_512_byte_records(void)
{
    char uri[128];
    wss_uri(uri, sizeof(uri), "localhost", g_main, "/small-records");
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.cert_pem = g_ca;
    cfg.buffer_size = 4096;
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    esp_websocket_client_handle_t c = start(&rec, &cfg);
    const size_t n = 1u << 20;
    char *payload = integ_bin_payload(n, 77);
    if (c != NULL && CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 1, 5000), "no CONNECTED")) {
        int64_t t0 = integ_now_ms();
        CHECK(esp_websocket_client_send_bin(c, payload, (int)n, INTEG_SEND_TIMEOUT) == (int)n);
        if (CHECK(integ_rec_wait_msgs(&rec, 1, 20000), "no echo of 1 MiB")) {
            const integ_msg_t *m = integ_rec_msg(&rec, 0);
            CHECK(m->opcode == 2 && m->len == n && memcmp(m->data, payload, n) == 0, "echo differs (len %zu)", m->len);
            printf("  1 MiB echoed over wss in %lld ms (%d DATA events)\n", (long long)(integ_now_ms() - t0),
                   m->chunks);
        }
        CHECK(esp_websocket_client_close(c, pdMS_TO_TICKS(5000)) == ESP_OK);
    }
    free(payload);
    finish(c, &rec);
}

static void frame_written_one_byte_per_record_arrives_whole(void)
{
    char uri[128];
    wss_uri(uri, sizeof(uri), "localhost", g_main, "/trickle");
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.cert_pem = g_ca;
    cfg.disable_auto_reconnect = true;
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    esp_websocket_client_handle_t c = start(&rec, &cfg);
    if (c != NULL && CHECK(integ_rec_wait_msgs(&rec, 1, 5000), "no message")) {
        const integ_msg_t *m = integ_rec_msg(&rec, 0);
        CHECK(m->opcode == 1 && m->len == 24 && memcmp(m->data, "trickle:0123456789abcdef", 24) == 0);
        if (CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CLOSED, 1, 5000), "no CLOSED after the server's Close")) {
            integ_event_log_t e;
            integ_rec_event(&rec, WEBSOCKET_EVENT_CLOSED, 0, &e);
            CHECK(e.close_status_code == 1000, "close code %d", e.close_status_code);
        }
    }
    finish(c, &rec);
}

/* ---- reconnects and leaks ----------------------------------------------------------------- */

/* N connections, each dropped by the server 20 ms after the upgrade; auto-reconnect after 10 ms. */
static int reconnect_cycles(int port, const char *ca, int cycles)
{
    char uri[128];
    wss_uri(uri, sizeof(uri), "localhost", port, "/drop?ms=20");
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.cert_pem = ca;
    cfg.reconnect_timeout_ms = 10;
    cfg.network_timeout_ms = 10000;
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    esp_websocket_client_handle_t c = start(&rec, &cfg);
    int connected = 0;
    if (c != NULL) {
        CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, cycles, 45000), "%d of %d connections",
              integ_rec_count(&rec, WEBSOCKET_EVENT_CONNECTED), cycles);
        connected = integ_rec_count(&rec, WEBSOCKET_EVENT_CONNECTED);
    }
    finish(c, &rec);
    return connected;
}

static void fifty_reconnects_over_tls_leak_nothing(void)
{
#if defined(__SANITIZE_ADDRESS__)
    bool use_valgrind = false;   /* ASan's leak check covers this build */
#else
    bool use_valgrind = access("/usr/bin/valgrind", X_OK) == 0;
#endif
    if (!use_valgrind) {
        printf("  valgrind not used: running the cycles in this process\n");
        CHECK(reconnect_cycles(g_main, g_ca, RECONNECT_CYCLES) >= RECONNECT_CYCLES);
        return;
    }
    char self[512], port[16], cycles[16];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (!CHECK(n > 0)) {
        return;
    }
    self[n] = '\0';
    snprintf(port, sizeof(port), "%d", g_main);
    snprintf(cycles, sizeof(cycles), "%d", RECONNECT_CYCLES);
    const char *const argv[] = {
        "/usr/bin/valgrind", "--tool=memcheck", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
        "--show-leak-kinds=definite,indirect", "--error-exitcode=99", "--quiet",
        self, "--reconnect-child", port, g_dir, cycles, NULL,
    };
    int64_t t0 = integ_now_ms();
    int rc = tls_fx_run(argv);
    printf("  %d reconnects over TLS under valgrind memcheck: exit %d in %lld ms\n", RECONNECT_CYCLES, rc,
           (long long)(integ_now_ms() - t0));
    CHECK(rc == 0, "valgrind run exited with %d (99: memcheck errors or leaks, see above)", rc);

    const char *const probe[] = {
        "/usr/bin/valgrind", "--tool=memcheck", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
        "--error-exitcode=99", "--quiet", "--log-file=/dev/null", self, "--leak-probe", NULL,
    };
    CHECK(tls_fx_run(probe) == 99, "valgrind did not report a deliberate 64-byte leak");
}

/* The harness's contrapositive: a child that leaks on purpose must make valgrind fail. */
static int leak_probe_child(void)
{
    void *volatile p = malloc(64);
    p = NULL;
    (void)p;
    return 0;
}

static int reconnect_child(char **argv)
{
    int port = atoi(argv[2]);
    int cycles = atoi(argv[4]);
    char *ca = must_read(argv[3], "ca.crt", NULL);
    int connected = reconnect_cycles(port, ca, cycles);
    free(ca);
    printf("  child: %d connections\n", connected);
    int rc = integ_finish();
    return rc != 0 ? rc : connected >= cycles ? 0 : 1;
}

/* ---- figure: handshake time ------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Milliseconds from start() to CONNECTED over `rounds` fresh clients: median, and *min_ms. */
static double median_connect_ms(const char *uri, const char *ca, int rounds, double *min_ms)
{
    int64_t us[32];
    for (int i = 0; i < rounds; i++) {
        esp_websocket_client_config_t cfg = { 0 };
        cfg.uri = uri;
        cfg.cert_pem = ca;
        cfg.cert_common_name = ca != NULL ? "localhost" : NULL;   /* the URI host is 127.0.0.1 */
        integ_rec_t rec;
        integ_rec_init(&rec, 2);
        esp_websocket_client_handle_t c = integ_client_new(&rec, &cfg);
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        CHECK(c != NULL && esp_websocket_client_start(c) == ESP_OK);
        CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 1, 5000));
        clock_gettime(CLOCK_MONOTONIC, &b);
        us[i] = (b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
        finish(c, &rec);
    }
    qsort(us, (size_t)rounds, sizeof(us[0]), cmp_i64);
    *min_ms = (double)us[0] / 1000.0;
    return (double)us[rounds / 2] / 1000.0;
}

static void handshake_time_ws_vs_wss(void)
{
    integ_server_t ws_srv;
    if (!integ_server_start(&ws_srv, INTEG_SRV_WS)) {
        return;
    }
    char ws[128], wss[128];
    integ_server_uri(&ws_srv, "/echo", ws, sizeof(ws));
    /* 127.0.0.1 for both, so no name lookup is in the figure; wss checks the name "localhost". */
    wss_uri(wss, sizeof(wss), "127.0.0.1", g_main, "/echo");
    /* A figure, not a test: on a busy machine the scheduler noise is larger than the difference. */
    double min_ws, min_wss;
    double t_ws = median_connect_ms(ws, NULL, 15, &min_ws);
    double t_wss = median_connect_ms(wss, g_ca, 15, &min_wss);
    printf("  FIGURE start() to CONNECTED on loopback, 15 clients each: ws:// median %.2f ms (min %.2f, Node ws); "
           "wss:// median %.2f ms (min %.2f, Node https+ws, P-256 leaf, RSA-2048 CA)\n", t_ws, min_ws, t_wss, min_wss);
    integ_server_stop(&ws_srv);
}

int main(int argc, char **argv)
{
    integ_init(argc, argv, 58);
    if (argc == 5 && strcmp(argv[1], "--reconnect-child") == 0) {
        return reconnect_child(argv);
    }
    if (argc == 2 && strcmp(argv[1], "--leak-probe") == 0) {
        return leak_probe_child();
    }
#if !WS_PORT_HAVE_MBEDTLS
    printf("built without mbedTLS: wss tests skipped\n");
    return integ_finish();
#else
    if (!tls_fx_make_certs(g_dir, sizeof(g_dir))) {
        CHECK(false, "cannot make certificates (openssl, tests/tls/make_certs.sh)");
        return integ_finish();
    }
    g_ca = must_read(g_dir, "ca.crt", NULL);
    g_ca_der = must_read(g_dir, "ca.der", &g_ca_der_len);
    g_other_ca = must_read(g_dir, "other_ca.crt", NULL);
    g_client_crt = must_read(g_dir, "client.crt", NULL);
    g_client_key = must_read(g_dir, "client.key", NULL);
    if (!CHECK(tls_fx_start_node(&g_node, g_dir), "node TLS server")) {
        return integ_finish();
    }
    g_main = tls_fx_port(&g_node, "PORT main ", 20000);
    g_other = tls_fx_port(&g_node, "PORT other ", 5000);
    g_mtls = tls_fx_port(&g_node, "PORT mtls ", 5000);
    if (CHECK(g_main > 0 && g_other > 0 && g_mtls > 0, "server ports")) {
        RUN_CASE(verified_echo_and_close_handshake_node);
        RUN_CASE(verified_echo_and_close_handshake_python);
        RUN_CASE(der_ca_verifies_the_server);
        RUN_CASE(wrong_ca_fails_with_the_verify_flags_in_the_error_event);
        RUN_CASE(unverifiable_server_fails_by_default_and_connects_only_with_the_opt_in);
        RUN_CASE(host_name_mismatch_fails);
        RUN_CASE(skip_cert_common_name_check_connects_to_another_name);
        RUN_CASE(cert_common_name_is_the_name_checked);
        RUN_CASE(server_requiring_client_certificates);
        RUN_CASE(one_mib_message_in_512_byte_records);
        RUN_CASE(frame_written_one_byte_per_record_arrives_whole);
        RUN_CASE(handshake_time_ws_vs_wss);
        RUN_CASE(fifty_reconnects_over_tls_leak_nothing);
    }
    tls_fx_server_stop(&g_node);
    tls_fx_remove_dir(g_dir);
    free(g_ca);
    free(g_ca_der);
    free(g_other_ca);
    free(g_client_crt);
    free(g_client_key);
    return integ_finish();
#endif
}
