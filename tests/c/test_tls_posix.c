/*
 * test_tls_posix.c - TLS (wss://) in the POSIX port, checked against ws_port.h and ws_tls_mbedtls.h.
 *
 * Real servers: tests/servers/tls_ws_server.ts (Node https, three listeners: "main" with a
 * localhost certificate, "other" with an other.test certificate, "mtls" requiring a client
 * certificate) and tests/servers/tls_py_echo.py --close-check (reports whether close_notify came).
 * Certificates are made fresh for every run by tests/tls/make_certs.sh. The tests speak plain
 * HTTP/1.1 over the TLS stream (GET /bytes, POST /echo, ...), which is all the port carries.
 *
 * Also measured and printed (not asserted beyond sanity): heap held per connection and during
 * connect, plain TCP vs TLS, counted by malloc wrappers in this executable, and connect time.
 */
#define _GNU_SOURCE
#include "ws_port.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "../tls/tls_fixture.h"

/* mbedTLS's verification flags (x509.h; identical in 2.28 and 3.x). */
#define BADCERT_CN_MISMATCH 0x04
#define BADCERT_NOT_TRUSTED 0x08
#define ESP_ERR_MBEDTLS_X509_CRT_PARSE_FAILED 0x8015
#define ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED 0x801A
#define MBEDTLS_X509_CERT_VERIFY_FAILED_POS 0x2700   /* -MBEDTLS_ERR_X509_CERT_VERIFY_FAILED */

#include "check.h"

/* ------------------------------------------------------------------------------------------ */
/* Heap counting: this executable's malloc family wraps glibc's, so every allocation of the     */
/* library and of mbedTLS (shared or static) is seen. Only the thread that turned counting on   */
/* is counted (the fixture's reader thread allocates for server output meanwhile); the port     */
/* does a whole connect and close in the calling thread. Not under ASan, which owns malloc.     */
/* ------------------------------------------------------------------------------------------ */

#if defined(__SANITIZE_ADDRESS__)
#define HEAP_COUNTING 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_COUNTING 0
#endif
#endif
#ifndef HEAP_COUNTING
#define HEAP_COUNTING 1
#endif

#if HEAP_COUNTING
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
extern void __libc_free(void *p);

static atomic_llong s_heap_live;
static atomic_llong s_heap_peak;
static _Thread_local bool s_heap_counting;

static void heap_add(void *p)
{
    if (p != NULL && s_heap_counting) {
        long long now = atomic_fetch_add(&s_heap_live, (long long)malloc_usable_size(p)) +
                        (long long)malloc_usable_size(p);
        long long peak = atomic_load(&s_heap_peak);
        while (now > peak && !atomic_compare_exchange_weak(&s_heap_peak, &peak, now)) {
        }
    }
}

static void heap_sub(void *p)
{
    if (p != NULL && s_heap_counting) {
        atomic_fetch_sub(&s_heap_live, (long long)malloc_usable_size(p));
    }
}

void *malloc(size_t n)
{
    void *p = __libc_malloc(n);
    heap_add(p);
    return p;
}

void *calloc(size_t n, size_t size)
{
    void *p = __libc_calloc(n, size);
    heap_add(p);
    return p;
}

void *realloc(void *old, size_t n)
{
    size_t old_size = old != NULL ? malloc_usable_size(old) : 0;
    void *p = __libc_realloc(old, n);
    if ((p != NULL || n == 0) && s_heap_counting) {
        atomic_fetch_sub(&s_heap_live, (long long)old_size);
        heap_add(p);
    }
    return p;
}

void free(void *p)
{
    heap_sub(p);
    __libc_free(p);
}

void *memalign(size_t align, size_t n)
{
    void *p = __libc_memalign(align, n);
    heap_add(p);
    return p;
}

void *aligned_alloc(size_t align, size_t n)
{
    return memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    void *p = memalign(align, n);
    if (p == NULL) {
        return ENOMEM;
    }
    *out = p;
    return 0;
}

static long long heap_live(void)
{
    return atomic_load(&s_heap_live);
}

static void heap_peak_reset(void)
{
    atomic_store(&s_heap_peak, atomic_load(&s_heap_live));
}

static long long heap_peak(void)
{
    return atomic_load(&s_heap_peak);
}
#endif

/* ------------------------------------------------------------------------------------------ */
/* Fixture                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static char s_dir[256];
static tls_fx_server_t s_node;
static int s_port_main, s_port_other, s_port_mtls;

typedef struct {
    char *data;
    size_t len;
} blob_t;

static blob_t s_ca_pem, s_ca_der, s_other_ca_pem, s_client_pem, s_client_key_pem, s_client_der,
    s_client_key_der, s_stranger_pem, s_stranger_key_pem;

static blob_t load(const char *name)
{
    blob_t b = { NULL, 0 };
    b.data = tls_fx_read_file(s_dir, name, &b.len);
    if (b.data == NULL) {
        fprintf(stderr, "  cannot read %s/%s\n", s_dir, name);
        exit(1);
    }
    return b;
}

static ws_port_tls_cfg_t tls_with_ca(const blob_t *ca)
{
    ws_port_tls_cfg_t t;
    memset(&t, 0, sizeof(t));
    t.ca = ca->data;   /* PEM: ca_len 0, the file is NUL-terminated by tls_fx_read_file */
    return t;
}

static ws_port_connect_cfg_t conn_cfg(const char *host, int port, const ws_port_tls_cfg_t *tls)
{
    ws_port_connect_cfg_t c;
    memset(&c, 0, sizeof(c));
    c.host = host;
    c.port = (uint16_t)port;
    c.timeout_ms = 5000;
    c.tls = tls;
    return c;
}

static int tls_connect(ws_port_conn_t **conn, const char *host, int port, const ws_port_tls_cfg_t *tls,
                       ws_port_error_t *err)
{
    ws_port_connect_cfg_t c = conn_cfg(host, port, tls);
    return ws_port_connect(conn, &c, err);
}

static bool write_str(ws_port_conn_t *conn, const char *s)
{
    return ws_port_write(conn, s, strlen(s), 5000) == (int)strlen(s);
}

/* Reads an HTTP/1.1 response: head into `head` (NUL-terminated), then the body (Content-Length)
 * into body, with reads of at most `chunk` bytes. Returns the body length, or -1 (error, EOF too
 * early, no Content-Length, or the body does not fit). */
static long read_response(ws_port_conn_t *conn, char *head, size_t head_cap, uint8_t *body, size_t body_cap,
                          size_t chunk)
{
    size_t hl = 0;
    while (hl < 4 || memcmp(head + hl - 4, "\r\n\r\n", 4) != 0) {
        if (hl + 1 >= head_cap) {
            return -1;
        }
        int n = ws_port_read(conn, head + hl, 1, 5000);   /* byte by byte: the body stays in the port */
        if (n != 1) {
            return -1;
        }
        hl++;
    }
    head[hl] = '\0';
    const char *cl = strcasestr(head, "Content-Length:");
    if (cl == NULL) {
        return -1;
    }
    size_t want = strtoul(cl + 15, NULL, 10);
    if (want > body_cap) {
        return -1;
    }
    size_t got = 0;
    while (got < want) {
        size_t ask = want - got < chunk ? want - got : chunk;
        int n = ws_port_read(conn, body + got, ask, 5000);
        if (n <= 0) {
            return -1;
        }
        got += (size_t)n;
    }
    return (long)got;
}

static bool is_pattern(const uint8_t *p, size_t n, size_t start)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != (uint8_t)(((start + i) * 7 + 3) & 0xff)) {
            return false;
        }
    }
    return true;
}

/* GET /whoami on an established connection; copies the body. */
static bool whoami(ws_port_conn_t *conn, char *out, size_t cap)
{
    char head[1024];
    if (!write_str(conn, "GET /whoami HTTP/1.1\r\nHost: localhost\r\n\r\n")) {
        return false;
    }
    long n = read_response(conn, head, sizeof(head), (uint8_t *)out, cap - 1, 4096);
    if (n < 0) {
        return false;
    }
    out[n] = '\0';
    return true;
}

/* Connects and asks /whoami; returns the connect result, and the body in out when it worked.
 * A TLS 1.3 server rejects a client certificate after the client's handshake is over, so a
 * rejection may only show in the first read: that is reported as WS_PORT_ERR_TLS here too. */
static int connect_and_whoami(int port, const ws_port_tls_cfg_t *tls, ws_port_error_t *err, char *out, size_t cap)
{
    ws_port_conn_t *conn = NULL;
    out[0] = '\0';
    int rc = tls_connect(&conn, "localhost", port, tls, err);
    if (rc != 0) {
        return rc;
    }
    bool ok = whoami(conn, out, cap);
    ws_port_close(conn);
    return ok ? 0 : WS_PORT_ERR_TLS;
}

/* ------------------------------------------------------------------------------------------ */
/* Verification                                                                                */
/* ------------------------------------------------------------------------------------------ */

static void verified_connection_echoes_300k_both_ways(void)
{
    ws_port_tls_cfg_t tls = tls_with_ca(&s_ca_pem);
    ws_port_conn_t *conn = NULL;
    ws_port_error_t err;
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_main, &tls, &err), 0);
    CHECK_EQ_INT(err.esp_err, 0);
    CHECK_EQ_INT(err.tls_stack_err, 0);
    if (conn == NULL) {
        return;
    }
    const size_t n = 300 * 1024;
    uint8_t *body = malloc(n), *back = malloc(n);
    for (size_t i = 0; i < n; i++) {
        body[i] = (uint8_t)((i * 7 + 3) & 0xff);
    }
    char req[256], head[1024];
    snprintf(req, sizeof(req), "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: %zu\r\n\r\n", n);
    CHECK(write_str(conn, req));
    CHECK_EQ_INT(ws_port_write(conn, body, n, 5000), n);   /* many records in one call */
    long got = read_response(conn, head, sizeof(head), back, n, 7777);
    CHECK_EQ_INT(got, n);
    CHECK(got == (long)n && memcmp(body, back, n) == 0);
    ws_port_close(conn);
    free(body);
    free(back);
}

static void unknown_ca_fails_with_not_trusted_flag(void)
{
    ws_port_tls_cfg_t tls = tls_with_ca(&s_other_ca_pem);
    ws_port_conn_t *conn = (ws_port_conn_t *)&tls;   /* must be reset to NULL */
    ws_port_error_t err;
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_main, &tls, &err), WS_PORT_ERR_TLS);
    CHECK(conn == NULL);
    CHECK_EQ_INT(err.esp_err, ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED);
    CHECK_EQ_INT(err.tls_stack_err, MBEDTLS_X509_CERT_VERIFY_FAILED_POS);
    CHECK(err.tls_verify_flags & BADCERT_NOT_TRUSTED);
    CHECK((err.tls_verify_flags & BADCERT_CN_MISMATCH) == 0);   /* the name was right */
    CHECK(strcmp(ws_port_strerror(WS_PORT_ERR_TLS), "tls error") == 0);
}

static void host_name_mismatch_fails_with_cn_mismatch_flag(void)
{
    /* "other" presents other.test; we connect to localhost. */
    ws_port_tls_cfg_t tls = tls_with_ca(&s_ca_pem);
    ws_port_conn_t *conn = NULL;
    ws_port_error_t err;
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_other, &tls, &err), WS_PORT_ERR_TLS);
    CHECK_EQ_INT(err.tls_stack_err, MBEDTLS_X509_CERT_VERIFY_FAILED_POS);
    CHECK_EQ_INT(err.tls_verify_flags, BADCERT_CN_MISMATCH);   /* and only that: the chain is fine */
    /* Contrapositive: the same CA and host against the localhost certificate verifies. */
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_main, &tls, &err), 0);
    ws_port_close(conn);
}

static void skip_cn_check_accepts_another_name_but_still_verifies_the_chain(void)
{
    ws_port_tls_cfg_t tls = tls_with_ca(&s_ca_pem);
    tls.skip_cn_check = true;
    ws_port_conn_t *conn = NULL;
    ws_port_error_t err;
    char who[128];
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_other, &tls, &err), 0);
    CHECK(conn != NULL && whoami(conn, who, sizeof(who)) && strcmp(who, "peer=none") == 0);
    ws_port_close(conn);
    CHECK(tls_fx_wait_line(&s_node, "TLS other ", who, sizeof(who), 3000));
    CHECK(strstr(who, " localhost") != NULL);   /* SNI stays the host name */

    ws_port_tls_cfg_t wrong = tls_with_ca(&s_other_ca_pem);
    wrong.skip_cn_check = true;
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_other, &wrong, &err), WS_PORT_ERR_TLS);
    CHECK(err.tls_verify_flags & BADCERT_NOT_TRUSTED);
    CHECK((err.tls_verify_flags & BADCERT_CN_MISMATCH) == 0);   /* the name check was skipped */
}

static void common_name_replaces_the_host_in_the_name_check(void)
{
    ws_port_tls_cfg_t tls = tls_with_ca(&s_ca_pem);
    tls.common_name = "other.test";
    ws_port_conn_t *conn = NULL;
    ws_port_error_t err;
    tls_fx_drain(&s_node);
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_other, &tls, &err), 0);
    ws_port_close(conn);
    char line[128];
    CHECK(tls_fx_wait_line(&s_node, "TLS other ", line, sizeof(line), 3000));
    CHECK(strstr(line, " other.test") != NULL);   /* and is the SNI, as in esp-tls */

    tls.common_name = "wrong.test";
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_other, &tls, &err), WS_PORT_ERR_TLS);
    CHECK_EQ_INT(err.tls_verify_flags, BADCERT_CN_MISMATCH);
    /* The override also applies against the localhost certificate. */
    tls.common_name = "other.test";
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_main, &tls, &err), WS_PORT_ERR_TLS);
    CHECK_EQ_INT(err.tls_verify_flags, BADCERT_CN_MISMATCH);
}

static void der_ca_is_accepted_and_a_damaged_one_is_a_parse_error(void)
{
    ws_port_tls_cfg_t tls;
    memset(&tls, 0, sizeof(tls));
    tls.ca = s_ca_der.data;
    tls.ca_len = s_ca_der.len;
    ws_port_conn_t *conn = NULL;
    ws_port_error_t err;
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_main, &tls, &err), 0);
    ws_port_close(conn);

    tls.ca_len = s_ca_der.len / 2;   /* truncated DER */
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_main, &tls, &err), WS_PORT_ERR_TLS);
    CHECK_EQ_INT(err.esp_err, ESP_ERR_MBEDTLS_X509_CRT_PARSE_FAILED);
    CHECK(err.tls_stack_err > 0);
    CHECK_EQ_INT(err.tls_verify_flags, 0);
}

static void pem_ca_with_a_length_with_or_without_its_nul_is_accepted(void)
{
    ws_port_tls_cfg_t tls = tls_with_ca(&s_ca_pem);
    ws_port_conn_t *conn = NULL;
    ws_port_error_t err;
    tls.ca_len = s_ca_pem.len + 1;   /* esp-tls style: the NUL counted */
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_main, &tls, &err), 0);
    ws_port_close(conn);
    tls.ca_len = s_ca_pem.len;       /* strlen style */
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_main, &tls, &err), 0);
    ws_port_close(conn);
    tls.ca_len = s_ca_pem.len - 40;  /* cut inside the base64: not a certificate any more */
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_main, &tls, &err), WS_PORT_ERR_TLS);
    CHECK_EQ_INT(err.esp_err, ESP_ERR_MBEDTLS_X509_CRT_PARSE_FAILED);
}

static void skip_verify_connects_to_an_untrusted_server(void)
{
    ws_port_tls_cfg_t tls = tls_with_ca(&s_other_ca_pem);   /* would fail without skip_verify */
    tls.skip_verify = true;
    ws_port_conn_t *conn = NULL;
    ws_port_error_t err;
    char who[64];
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_other, &tls, &err), 0);
    CHECK(conn != NULL && whoami(conn, who, sizeof(who)));
    ws_port_close(conn);
}

/* ------------------------------------------------------------------------------------------ */
/* System store (no CA given, use_global_ca_store, crt_bundle_attach)                          */
/* ------------------------------------------------------------------------------------------ */

static int s_bundle_calls;
static esp_err_t fake_bundle_attach(void *conf)
{
    (void)conf;
    s_bundle_calls++;
    return ESP_OK;
}

static void system_store_is_the_default_trust(void)
{
    char ca_path[300], other_path[300];
    snprintf(ca_path, sizeof(ca_path), "%s/ca.crt", s_dir);
    snprintf(other_path, sizeof(other_path), "%s/other_ca.crt", s_dir);
    ws_port_tls_cfg_t none;
    memset(&none, 0, sizeof(none));
    ws_port_conn_t *conn = NULL;
    ws_port_error_t err;

    /* The real system store does not hold the test CA: verification is on, and fails. */
    unsetenv("SSL_CERT_FILE");
    unsetenv("SSL_CERT_DIR");
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_main, &none, &err), WS_PORT_ERR_TLS);
    CHECK(err.tls_verify_flags & BADCERT_NOT_TRUSTED);

    /* The store named by SSL_CERT_FILE is the one used. */
    setenv("SSL_CERT_FILE", ca_path, 1);
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_main, &none, &err), 0);
    ws_port_close(conn);
    setenv("SSL_CERT_FILE", other_path, 1);
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_main, &none, &err), WS_PORT_ERR_TLS);
    CHECK(err.tls_verify_flags & BADCERT_NOT_TRUSTED);

    /* use_global_ca_store and crt_bundle_attach map to the same store and win over ca. */
    setenv("SSL_CERT_FILE", ca_path, 1);
    ws_port_tls_cfg_t global = tls_with_ca(&s_other_ca_pem);
    global.use_global_ca_store = true;
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_main, &global, &err), 0);
    ws_port_close(conn);
    ws_port_tls_cfg_t bundle = tls_with_ca(&s_other_ca_pem);
    bundle.crt_bundle_attach = fake_bundle_attach;
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_main, &bundle, &err), 0);
    ws_port_close(conn);
    CHECK_EQ_INT(s_bundle_calls, 0);   /* ESP-IDF's attach function is not called on the host */
    setenv("SSL_CERT_FILE", other_path, 1);
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_main, &bundle, &err), WS_PORT_ERR_TLS);

    /* A missing store is a parse failure, not an unverified connection. */
    setenv("SSL_CERT_FILE", "/nonexistent/ca.pem", 1);
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_main, &none, &err), WS_PORT_ERR_TLS);
    CHECK_EQ_INT(err.esp_err, ESP_ERR_MBEDTLS_X509_CRT_PARSE_FAILED);
    unsetenv("SSL_CERT_FILE");
}

/* ------------------------------------------------------------------------------------------ */
/* Mutual TLS                                                                                  */
/* ------------------------------------------------------------------------------------------ */

static void server_requiring_a_client_certificate_gets_it_in_pem_or_der(void)
{
    ws_port_error_t err;
    char who[128];
    ws_port_tls_cfg_t tls = tls_with_ca(&s_ca_pem);
    CHECK(connect_and_whoami(s_port_mtls, &tls, &err, who, sizeof(who)) != 0);   /* none given */

    tls.client_cert = s_client_pem.data;
    tls.client_key = s_client_key_pem.data;
    CHECK_EQ_INT(connect_and_whoami(s_port_mtls, &tls, &err, who, sizeof(who)), 0);
    CHECK(strcmp(who, "peer=ws test client") == 0);

    tls.client_cert = s_client_der.data;
    tls.client_cert_len = s_client_der.len;
    tls.client_key = s_client_key_der.data;
    tls.client_key_len = s_client_key_der.len;
    CHECK_EQ_INT(connect_and_whoami(s_port_mtls, &tls, &err, who, sizeof(who)), 0);
    CHECK(strcmp(who, "peer=ws test client") == 0);

    /* A certificate from a CA the server does not trust is refused. */
    ws_port_tls_cfg_t stranger = tls_with_ca(&s_ca_pem);
    stranger.client_cert = s_stranger_pem.data;
    stranger.client_key = s_stranger_key_pem.data;
    CHECK(connect_and_whoami(s_port_mtls, &stranger, &err, who, sizeof(who)) != 0);
}

static void client_certificate_without_key_is_refused(void)
{
    ws_port_tls_cfg_t tls = tls_with_ca(&s_ca_pem);
    tls.client_cert = s_client_pem.data;
    ws_port_conn_t *conn = NULL;
    ws_port_error_t err;
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_mtls, &tls, &err), WS_PORT_ERR_TLS);
    CHECK_EQ_INT(err.esp_err, ESP_ERR_INVALID_STATE);
    tls.client_key = s_client_pem.data;   /* a certificate is not a key */
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_mtls, &tls, &err), WS_PORT_ERR_TLS);
    CHECK_EQ_INT(err.esp_err, 0x8019);    /* ESP_ERR_MBEDTLS_PK_PARSE_KEY_FAILED */
}

/* ------------------------------------------------------------------------------------------ */
/* Record layer vs the read/write contract                                                     */
/* ------------------------------------------------------------------------------------------ */

static void one_byte_reads_drain_decrypted_bytes_without_waiting(void)
{
    ws_port_tls_cfg_t tls = tls_with_ca(&s_ca_pem);
    ws_port_conn_t *conn = NULL;
    ws_port_error_t err;
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_main, &tls, &err), 0);
    if (conn == NULL) {
        return;
    }
    CHECK(write_str(conn, "GET /bytes?n=5000&chunk=5000 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    char c;
    size_t head = 0;
    char last4[4] = { 0 };
    while (memcmp(last4, "\r\n\r\n", 4) != 0 && head < 1024) {
        if (ws_port_read(conn, &c, 1, 5000) != 1) {
            break;
        }
        memmove(last4, last4 + 1, 3);
        last4[3] = c;
        head++;
    }
    uint8_t body[5000];
    size_t got = 0;
    int immediate = 0;
    while (got < sizeof(body)) {
        int n = ws_port_read(conn, body + got, 1, got == 0 ? 5000 : 0);
        if (n != 1) {
            break;
        }
        got++;
        /* While the record is being drained, readable must say so without touching the socket. */
        if (got < 4000 && ws_port_poll_readable(conn, 0) == 1) {
            immediate++;
        }
    }
    CHECK_EQ_INT(got, sizeof(body));
    CHECK(is_pattern(body, got, 0));
    CHECK_EQ_INT(immediate, 3999);
    CHECK_EQ_INT(ws_port_read(conn, body, sizeof(body), 5000), WS_PORT_EOF);   /* server closed */
    CHECK_EQ_INT(ws_port_read(conn, body, sizeof(body), 5000), WS_PORT_EOF);   /* and again */
    CHECK_EQ_INT(ws_port_poll_readable(conn, 0), 1);
    ws_port_close(conn);
}

static void one_byte_records_are_reassembled(void)
{
    ws_port_tls_cfg_t tls = tls_with_ca(&s_ca_pem);
    ws_port_conn_t *conn = NULL;
    ws_port_error_t err;
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_main, &tls, &err), 0);
    if (conn == NULL) {
        return;
    }
    CHECK(write_str(conn, "GET /bytes?n=3000&chunk=1 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    char head[1024];
    static uint8_t body[3000];
    /* 3000 records of one byte each; reads ask for up to 4096 and get what one record holds. */
    CHECK_EQ_INT(read_response(conn, head, sizeof(head), body, sizeof(body), 4096), 3000);
    CHECK(is_pattern(body, sizeof(body), 0));
    ws_port_close(conn);
}

static void read_timeout_returns_zero_and_the_session_stays_usable(void)
{
    ws_port_tls_cfg_t tls = tls_with_ca(&s_ca_pem);
    ws_port_conn_t *conn = NULL;
    ws_port_error_t err;
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_main, &tls, &err), 0);
    if (conn == NULL) {
        return;
    }
    uint8_t buf[64];
    uint32_t t0 = ws_port_now_ms();
    CHECK_EQ_INT(ws_port_read(conn, buf, sizeof(buf), 200), 0);
    CHECK_BETWEEN(ws_port_now_ms() - t0, 190, 400);
    CHECK_EQ_INT(ws_port_poll_readable(conn, 50), 0);
    char who[64];
    CHECK(whoami(conn, who, sizeof(who)) && strcmp(who, "peer=none") == 0);
    ws_port_close(conn);
}

static void write_is_partial_once_a_record_is_committed_and_timeout_before(void)
{
    ws_port_tls_cfg_t tls = tls_with_ca(&s_ca_pem);
    ws_port_conn_t *conn = NULL;
    ws_port_error_t err;
    CHECK_EQ_INT(tls_connect(&conn, "localhost", s_port_main, &tls, &err), 0);
    if (conn == NULL) {
        return;
    }
    const size_t n = 64u << 20;
    CHECK(write_str(conn, "POST /sink HTTP/1.1\r\nHost: localhost\r\nContent-Length: 67108864\r\n\r\n"));
    uint8_t *big = calloc(1, n);
    uint32_t t0 = ws_port_now_ms();
    CHECK_EQ_INT(ws_port_write(conn, big, n, 500), WS_PORT_ERR_PARTIAL);   /* the server never reads */
    CHECK_BETWEEN(ws_port_now_ms() - t0, 450, 1500);
    ws_port_get_error(conn, &err);
    CHECK_EQ_INT(err.sock_errno, ETIMEDOUT);
    /* The socket is still full: a further write cannot start a record, so nothing moves. */
    CHECK_EQ_INT(ws_port_write(conn, big, 10, 100), WS_PORT_ERR_TIMEOUT);
    free(big);
    ws_port_close(conn);
}

/* A listener that never accepts: the TCP connect completes in the kernel, the TLS handshake
 * never gets an answer. */
static int silent_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static volatile bool s_abort;
static void *set_abort_later(void *arg)
{
    (void)arg;
    usleep(150 * 1000);
    __atomic_store_n(&s_abort, true, __ATOMIC_RELEASE);
    return NULL;
}

static void handshake_is_bounded_by_the_connect_timeout_and_abort(void)
{
    int port = 0;
    int lfd = silent_listener(&port);
    CHECK(lfd >= 0);
    ws_port_tls_cfg_t tls = tls_with_ca(&s_ca_pem);
    ws_port_connect_cfg_t cfg = conn_cfg("127.0.0.1", port, &tls);
    cfg.timeout_ms = 300;
    ws_port_conn_t *conn = NULL;
    ws_port_error_t err;
    uint32_t t0 = ws_port_now_ms();
    CHECK_EQ_INT(ws_port_connect(&conn, &cfg, &err), WS_PORT_ERR_TIMEOUT);
    CHECK_BETWEEN(ws_port_now_ms() - t0, 290, 500);
    CHECK_EQ_INT(err.esp_err, WS_PORT_ESP_ERR_TLS_CONNECTION_TIMEOUT);
    CHECK_EQ_INT(err.sock_errno, ETIMEDOUT);

    cfg.timeout_ms = 5000;
    cfg.abort = &s_abort;
    s_abort = false;
    pthread_t th;
    pthread_create(&th, NULL, set_abort_later, NULL);
    t0 = ws_port_now_ms();
    CHECK_EQ_INT(ws_port_connect(&conn, &cfg, &err), WS_PORT_ERR_ABORTED);
    CHECK_BETWEEN(ws_port_now_ms() - t0, 140, 150 + WS_PORT_ABORT_CHECK_MS + 100);
    CHECK_EQ_INT(err.sock_errno, ECANCELED);
    pthread_join(th, NULL);
    close(lfd);
}

static void close_sends_close_notify(void)
{
    tls_fx_server_t py;
    if (!tls_fx_start_py(&py, s_dir, "--close-check")) {
        CHECK(!"python close-check server did not start");
        return;
    }
    int port = tls_fx_port(&py, "PORT ", 20000);
    CHECK(port > 0);
    ws_port_tls_cfg_t tls = tls_with_ca(&s_ca_pem);
    ws_port_conn_t *conn = NULL;
    ws_port_error_t err;
    CHECK_EQ_INT(tls_connect(&conn, "localhost", port, &tls, &err), 0);
    if (conn != NULL) {
        CHECK_EQ_INT(ws_port_write(conn, "hello", 5, 1000), 5);
        ws_port_close(conn);
        char line[128];
        CHECK(tls_fx_wait_line(&py, "READ ", line, sizeof(line), 5000) && strcmp(line, "READ 5") == 0);
        CHECK(tls_fx_wait_line(&py, "END ", line, sizeof(line), 5000) && strcmp(line, "END close_notify") == 0);
    }
    /* Contrapositive: the server tells a bare FIN apart (a TLS session whose socket is shut down
     * under it, which is what a crash looks like). */
    int fd = -1;
    CHECK_EQ_INT(tls_connect(&conn, "localhost", port, &tls, &err), 0);
    if (conn != NULL) {
        CHECK_EQ_INT(ws_port_write(conn, "bye", 3, 1000), 3);
        /* ws_port_conn_t is opaque; the newest descriptor of this process is its socket. */
        for (int cand = 1023; cand > 2 && fd < 0; cand--) {
            int type = 0;
            socklen_t tl = sizeof(type);
            if (getsockopt(cand, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM) {
                struct sockaddr_in peer;
                socklen_t pl = sizeof(peer);
                if (getpeername(cand, (struct sockaddr *)&peer, &pl) == 0 && ntohs(peer.sin_port) == port) {
                    fd = cand;
                }
            }
        }
        CHECK(fd >= 0);
        if (fd >= 0) {
            shutdown(fd, SHUT_WR);
        }
        char line[128];
        CHECK(tls_fx_wait_line(&py, "END ", line, sizeof(line), 5000) && strcmp(line, "END no_close_notify") == 0);
        ws_port_close(conn);
    }
    tls_fx_server_stop(&py);
}

/* ------------------------------------------------------------------------------------------ */
/* Figures: heap per connection and connect time, plain TCP vs TLS                             */
/* ------------------------------------------------------------------------------------------ */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void heap_and_time_per_connection_plain_vs_tls(void)
{
    ws_port_tls_cfg_t tls = tls_with_ca(&s_ca_pem);
    tls.common_name = "localhost";   /* numeric host: no resolver thread allocating in the window */
    enum { ROUNDS = 21 };
#if HEAP_COUNTING
    s_heap_counting = true;
#endif
    for (int mode = 0; mode < 2; mode++) {
        const ws_port_tls_cfg_t *t = mode == 0 ? NULL : &tls;
        uint32_t times[ROUNDS];
#if HEAP_COUNTING
        long long held = 0, peak = 0, leaked = 0;
#endif
        for (int i = 0; i < ROUNDS; i++) {
            ws_port_conn_t *conn = NULL;
            ws_port_error_t err;
#if HEAP_COUNTING
            long long before = heap_live();
            heap_peak_reset();
#endif
            struct timespec a, b;
            clock_gettime(CLOCK_MONOTONIC, &a);
            int rc = tls_connect(&conn, "127.0.0.1", s_port_main, t, &err);
            clock_gettime(CLOCK_MONOTONIC, &b);
            times[i] = (uint32_t)((b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000);
            CHECK_EQ_INT(rc, 0);
#if HEAP_COUNTING
            held = heap_live() - before;
            peak = heap_peak() - before;
#endif
            ws_port_close(conn);
#if HEAP_COUNTING
            leaked += heap_live() - before;
#endif
        }
        qsort(times, ROUNDS, sizeof(times[0]), cmp_u32);
        fprintf(stderr, "  FIGURE %s connect to 127.0.0.1 (Node https): median %u us (min %u, max %u)",
                mode == 0 ? "tcp " : "tls ", times[ROUNDS / 2], times[0], times[ROUNDS - 1]);
#if HEAP_COUNTING
        fprintf(stderr, "; heap held while connected %lld B, peak during connect %lld B", held, peak);
        CHECK_EQ_INT(leaked, 0);   /* every connect/close pair gives all its memory back */
        if (mode == 0) {
            CHECK(held < 256);
        } else {
            CHECK(held > 16 * 1024);   /* at least the record buffers */
        }
#endif
        fprintf(stderr, "\n");
    }
#if HEAP_COUNTING
    s_heap_counting = false;
#endif
}

/* ------------------------------------------------------------------------------------------ */

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
#if !WS_PORT_HAVE_MBEDTLS
    fprintf(stderr, "built without mbedTLS: TLS tests skipped\n");
    return 0;
#else
    if (!tls_fx_chdir_root() || !tls_fx_make_certs(s_dir, sizeof(s_dir))) {
        fprintf(stderr, "cannot make test certificates (openssl CLI, tests/tls/make_certs.sh)\n");
        return 1;
    }
    s_ca_pem = load("ca.crt");
    s_ca_der = load("ca.der");
    s_other_ca_pem = load("other_ca.crt");
    s_client_pem = load("client.crt");
    s_client_key_pem = load("client.key");
    s_client_der = load("client.der");
    s_client_key_der = load("client.key.der");
    s_stranger_pem = load("stranger.crt");
    s_stranger_key_pem = load("stranger.key");
    if (!tls_fx_start_node(&s_node, s_dir)) {
        fprintf(stderr, "cannot start tests/servers/tls_ws_server.ts\n");
        return 1;
    }
    s_port_main = tls_fx_port(&s_node, "PORT main ", 20000);
    s_port_other = tls_fx_port(&s_node, "PORT other ", 5000);
    s_port_mtls = tls_fx_port(&s_node, "PORT mtls ", 5000);
    if (s_port_main < 0 || s_port_other < 0 || s_port_mtls < 0) {
        fprintf(stderr, "the TLS server printed no ports\n");
        tls_fx_server_stop(&s_node);
        return 1;
    }

    RUN(verified_connection_echoes_300k_both_ways);
    RUN(unknown_ca_fails_with_not_trusted_flag);
    RUN(host_name_mismatch_fails_with_cn_mismatch_flag);
    RUN(skip_cn_check_accepts_another_name_but_still_verifies_the_chain);
    RUN(common_name_replaces_the_host_in_the_name_check);
    RUN(der_ca_is_accepted_and_a_damaged_one_is_a_parse_error);
    RUN(pem_ca_with_a_length_with_or_without_its_nul_is_accepted);
    RUN(skip_verify_connects_to_an_untrusted_server);
    RUN(system_store_is_the_default_trust);
    RUN(server_requiring_a_client_certificate_gets_it_in_pem_or_der);
    RUN(client_certificate_without_key_is_refused);
    RUN(one_byte_reads_drain_decrypted_bytes_without_waiting);
    RUN(one_byte_records_are_reassembled);
    RUN(read_timeout_returns_zero_and_the_session_stays_usable);
    RUN(write_is_partial_once_a_record_is_committed_and_timeout_before);
    RUN(handshake_is_bounded_by_the_connect_timeout_and_abort);
    RUN(close_sends_close_notify);
    RUN(heap_and_time_per_connection_plain_vs_tls);

    tls_fx_server_stop(&s_node);
    tls_fx_remove_dir(s_dir);
    return check_finish();
#endif
}
