/*
 * ws_tls_mbedtls.c - the TLS client session of the POSIX port, on mbedTLS 2.28 or 3.x.
 * The contract is in ws_tls_mbedtls.h; the waits that drive it are in ws_port_posix.c.
 *
 * Version differences (MBEDTLS_VERSION_NUMBER):
 *   - 3.x needs psa_crypto_init() before any handshake (TLS 1.3 and the PSA-backed ciphers).
 *   - 3.x mbedtls_pk_parse_key() takes an RNG (used for blinding when the key is parsed).
 *   - 3.x sets the lowest protocol version with mbedtls_ssl_conf_min_tls_version().
 *   - 3.x may hand a TLS 1.3 NewSessionTicket up from mbedtls_ssl_read() as an "error" that only
 *     means "call again".
 * No struct field is read directly, so MBEDTLS_PRIVATE() is never needed.
 */
#define _GNU_SOURCE   /* secure_getenv */
#include "ws_tls_mbedtls.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "mbedtls/ssl.h"
#include "mbedtls/x509_crt.h"
#include "mbedtls/pk.h"
#include "mbedtls/net_sockets.h"   /* MBEDTLS_ERR_NET_* for the socket callbacks; nothing is linked from it */
#include "mbedtls/version.h"
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
#include "psa/crypto.h"
#define WS_TLS_NEEDS_PSA 1
#endif

#include "esp_log.h"

static const char *TAG = "ws_tls";

/* The system CA store when the environment names none (Debian/Ubuntu layout; OpenSSL's default). */
#define WS_TLS_SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"
#define WS_TLS_SYSTEM_CA_DIR  "/etc/ssl/certs"

struct ws_tls {
    int fd;
    bool eof;                 /* close_notify or TCP FIN seen; reads keep returning EOF */
    bool handshake_done;
    bool skip_cn_check;
    int sock_errno;           /* errno of a send/recv that failed during the current call, else 0 */
    ws_port_error_t last;
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca;       /* trusted roots; freed when the handshake ends */
    mbedtls_x509_crt own_cert; /* mutual TLS */
    mbedtls_pk_context own_key;
};

/* ------------------------------------------------------------------------------------------ */
/* Process-wide set-up                                                                         */
/* ------------------------------------------------------------------------------------------ */

#ifdef WS_TLS_NEEDS_PSA
static pthread_once_t psa_once = PTHREAD_ONCE_INIT;
static psa_status_t psa_status = PSA_ERROR_BAD_STATE;

static void psa_init_once(void)
{
    psa_status = psa_crypto_init();
}
#endif

/* mbedTLS's RNG callback: the port's getrandom()-backed source, so no DRBG or entropy context is
 * kept per connection. ws_port_random cannot fail (it aborts the process instead). */
static int tls_random(void *ctx, unsigned char *buf, size_t len)
{
    (void)ctx;
    ws_port_random(buf, len);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Socket callbacks (the fd is non-blocking)                                                   */
/* ------------------------------------------------------------------------------------------ */

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    ws_tls_t *t = ctx;
    for (;;) {
        ssize_t n = send(t->fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0) {
            return (int)n;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return MBEDTLS_ERR_SSL_WANT_WRITE;
        }
        t->sock_errno = errno;
        return errno == EPIPE || errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_SEND_FAILED;
    }
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    ws_tls_t *t = ctx;
    for (;;) {
        ssize_t n = recv(t->fd, buf, len, 0);
        if (n >= 0) {
            return (int)n;   /* 0 is the peer's FIN; mbedTLS reports it as an EOF */
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return MBEDTLS_ERR_SSL_WANT_READ;
        }
        t->sock_errno = errno;
        return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Set-up                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* skip_cn_check: the name stays set (for SNI and so mbedTLS 3.6 does not refuse a handshake with
 * no name), and only its mismatch is taken out of the leaf's result. Every other flag stays. */
static int verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    (void)crt;
    const ws_tls_t *t = ctx;
    if (depth == 0 && t->skip_cn_check) {
        *flags &= ~(uint32_t)MBEDTLS_X509_BADCERT_CN_MISMATCH;
    }
    return 0;
}

static bool looks_like_pem(const char *p, size_t len)
{
    static const char begin[] = "-----BEGIN ";
    return len >= sizeof(begin) - 1 && memcmp(p, begin, sizeof(begin) - 1) == 0;
}

/* mbedTLS takes PEM only with the terminating NUL counted in the length. len == 0 means a
 * NUL-terminated PEM string; a PEM given with a length that leaves out the NUL is copied and
 * terminated here rather than failing as malformed DER. Returns the mbedTLS result. */
static int parse_blob(const char *p, size_t len, void *obj,
                      int (*parse)(void *obj, const unsigned char *buf, size_t len))
{
    if (len == 0) {
        return parse(obj, (const unsigned char *)p, strlen(p) + 1);
    }
    if (p[len - 1] == '\0' || !looks_like_pem(p, len)) {
        return parse(obj, (const unsigned char *)p, len);
    }
    unsigned char *copy = ws_port_malloc(len + 1);
    if (copy == NULL) {
        return MBEDTLS_ERR_X509_ALLOC_FAILED;
    }
    memcpy(copy, p, len);
    copy[len] = '\0';
    int ret = parse(obj, copy, len + 1);
    ws_port_free(copy);
    return ret;
}

static int parse_crt(void *obj, const unsigned char *buf, size_t len)
{
    /* A PEM bundle may hold certificates mbedTLS cannot use; > 0 counts those. One is enough. */
    int ret = mbedtls_x509_crt_parse(obj, buf, len);
    return ret > 0 && ((mbedtls_x509_crt *)obj)->version != 0 ? 0 : ret;
}

static int parse_key(void *obj, const unsigned char *buf, size_t len)
{
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    return mbedtls_pk_parse_key(obj, buf, len, NULL, 0, tls_random, NULL);
#else
    return mbedtls_pk_parse_key(obj, buf, len, NULL, 0);
#endif
}

/* Loads the system CA store (see the header for the search order). */
static int load_system_store(mbedtls_x509_crt *chain)
{
#if defined(MBEDTLS_FS_IO)
    const char *file = secure_getenv("SSL_CERT_FILE");
    const char *dir = secure_getenv("SSL_CERT_DIR");
    int ret;
    if (file != NULL && file[0] != '\0') {
        ret = mbedtls_x509_crt_parse_file(chain, file);
    } else if (dir != NULL && dir[0] != '\0') {
        ret = mbedtls_x509_crt_parse_path(chain, dir);
    } else {
        ret = mbedtls_x509_crt_parse_file(chain, WS_TLS_SYSTEM_CA_FILE);
        if (ret < 0) {
            ret = mbedtls_x509_crt_parse_path(chain, WS_TLS_SYSTEM_CA_DIR);
        }
    }
    /* > 0: that many entries could not be parsed, which is normal for a system store. */
    if (ret >= 0) {
        return chain->version != 0 ? 0 : MBEDTLS_ERR_X509_CERT_UNKNOWN_FORMAT;
    }
    return ret;
#else
    (void)chain;
    return MBEDTLS_ERR_X509_FEATURE_UNAVAILABLE;
#endif
}

/* Records a failure of mbedTLS call `ret` as ESP-TLS code `esp_err`, the way esp-tls does. */
static int fail(ws_tls_t *t, int ret, esp_err_t esp_err)
{
    memset(&t->last, 0, sizeof(t->last));
    t->last.esp_err = esp_err;
    t->last.tls_stack_err = -ret;
    t->last.sock_errno = t->sock_errno;
    /* UINT32_MAX: no verification result exists (setup failures, handshake not that far). */
    uint32_t flags = mbedtls_ssl_get_verify_result(&t->ssl);
    t->last.tls_verify_flags = flags == UINT32_MAX ? 0 : (int)flags;
    return t->sock_errno != 0 && t->handshake_done ? WS_PORT_ERR_IO : WS_PORT_ERR_TLS;
}

static int setup(ws_tls_t *t, const char *host, const ws_port_tls_cfg_t *cfg)
{
    int ret;
#ifdef WS_TLS_NEEDS_PSA
    pthread_once(&psa_once, psa_init_once);
    if (psa_status != PSA_SUCCESS) {
        return fail(t, (int)psa_status, WS_TLS_ESP_ERR_MBEDTLS_CTR_DRBG_SEED_FAILED);
    }
#endif
    ret = mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                      MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret != 0) {
        return fail(t, ret, WS_TLS_ESP_ERR_MBEDTLS_SSL_CONFIG_DEFAULTS_FAILED);
    }
    mbedtls_ssl_conf_rng(&t->conf, tls_random, NULL);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    mbedtls_ssl_conf_min_tls_version(&t->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
    mbedtls_ssl_conf_min_version(&t->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
#endif

    if (cfg->skip_verify) {
        /* Mirrors esp-tls with CONFIG_ESP_TLS_SKIP_SERVER_CERT_VERIFY: anyone can pose as the server. */
        ESP_LOGW(TAG, "server certificate NOT verified for %s (skip_verify): the connection is not authenticated",
                 host);
        mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_NONE);
    } else {
        bool system_store = cfg->use_global_ca_store || cfg->crt_bundle_attach != NULL || cfg->ca == NULL;
        ret = system_store ? load_system_store(&t->ca) : parse_blob(cfg->ca, cfg->ca_len, &t->ca, parse_crt);
        if (ret != 0) {
            return fail(t, ret, WS_TLS_ESP_ERR_MBEDTLS_X509_CRT_PARSE_FAILED);
        }
        mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
        mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
        mbedtls_ssl_conf_verify(&t->conf, verify_cb, t);
    }

    if (cfg->client_cert != NULL || cfg->client_key != NULL) {
        if (cfg->client_cert == NULL || cfg->client_key == NULL) {
            /* esp-tls refuses half a client identity the same way. */
            memset(&t->last, 0, sizeof(t->last));
            t->last.esp_err = ESP_ERR_INVALID_STATE;
            return WS_PORT_ERR_TLS;
        }
        ret = parse_blob(cfg->client_cert, cfg->client_cert_len, &t->own_cert, parse_crt);
        if (ret != 0) {
            return fail(t, ret, WS_TLS_ESP_ERR_MBEDTLS_X509_CRT_PARSE_FAILED);
        }
        ret = parse_blob(cfg->client_key, cfg->client_key_len, &t->own_key, parse_key);
        if (ret != 0) {
            return fail(t, ret, WS_TLS_ESP_ERR_MBEDTLS_PK_PARSE_KEY_FAILED);
        }
        ret = mbedtls_ssl_conf_own_cert(&t->conf, &t->own_cert, &t->own_key);
        if (ret != 0) {
            return fail(t, ret, WS_TLS_ESP_ERR_MBEDTLS_SSL_CONF_OWN_CERT_FAILED);
        }
    }

    ret = mbedtls_ssl_setup(&t->ssl, &t->conf);
    if (ret != 0) {
        return fail(t, ret, ret == MBEDTLS_ERR_SSL_ALLOC_FAILED ? ESP_ERR_NO_MEM : WS_TLS_ESP_ERR_MBEDTLS_SSL_SETUP_FAILED);
    }
    t->skip_cn_check = cfg->skip_cn_check;
    const char *name = cfg->common_name != NULL && !cfg->skip_cn_check ? cfg->common_name : host;
    ret = mbedtls_ssl_set_hostname(&t->ssl, name);
    if (ret != 0) {
        return fail(t, ret, WS_TLS_ESP_ERR_MBEDTLS_SSL_SET_HOSTNAME_FAILED);
    }
    mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
    return WS_PORT_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Public functions                                                                            */
/* ------------------------------------------------------------------------------------------ */

int ws_tls_create(ws_tls_t **out, int fd, const char *host, const ws_port_tls_cfg_t *cfg, ws_port_error_t *err)
{
    *out = NULL;
    if (err != NULL) {
        memset(err, 0, sizeof(*err));
    }
    ws_tls_t *t = ws_port_calloc(1, sizeof(*t));
    if (t == NULL) {
        if (err != NULL) {
            err->esp_err = ESP_ERR_NO_MEM;
            err->sock_errno = ENOMEM;
        }
        return WS_PORT_ERR_NO_MEM;
    }
    t->fd = fd;
    mbedtls_ssl_init(&t->ssl);
    mbedtls_ssl_config_init(&t->conf);
    mbedtls_x509_crt_init(&t->ca);
    mbedtls_x509_crt_init(&t->own_cert);
    mbedtls_pk_init(&t->own_key);
    int rc = setup(t, host, cfg);
    if (rc != WS_PORT_OK) {
        if (err != NULL) {
            *err = t->last;
        }
        if (t->last.esp_err == ESP_ERR_NO_MEM) {
            rc = WS_PORT_ERR_NO_MEM;
        }
        ws_tls_free(t);
        return rc;
    }
    *out = t;
    return WS_PORT_OK;
}

int ws_tls_handshake(ws_tls_t *t)
{
    t->sock_errno = 0;
    for (;;) {
        int ret = mbedtls_ssl_handshake(&t->ssl);
        if (ret == 0) {
            t->handshake_done = true;
            /* The roots are needed for verification only: give their memory back now. */
            mbedtls_ssl_conf_ca_chain(&t->conf, NULL, NULL);
            mbedtls_x509_crt_free(&t->ca);
            mbedtls_x509_crt_init(&t->ca);
            return WS_PORT_OK;
        }
        if (ret == MBEDTLS_ERR_SSL_WANT_READ) {
            return WS_TLS_WANT_READ;
        }
        if (ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
            return WS_TLS_WANT_WRITE;
        }
#ifdef MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
        if (ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) {
            continue;   /* not an error: the handshake goes on */
        }
#endif
        return fail(t, ret, WS_TLS_ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED);
    }
}

int ws_tls_read(ws_tls_t *t, void *buf, size_t len)
{
    if (t->eof) {
        return WS_PORT_EOF;
    }
    if (len > INT_MAX) {
        len = INT_MAX;
    }
    t->sock_errno = 0;
    for (;;) {
        int ret = mbedtls_ssl_read(&t->ssl, buf, len);
        if (ret > 0) {
            return ret;
        }
        switch (ret) {
        case MBEDTLS_ERR_SSL_WANT_READ:
            return WS_TLS_WANT_READ;
        case MBEDTLS_ERR_SSL_WANT_WRITE:
            return WS_TLS_WANT_WRITE;
        case 0:                                    /* TCP FIN (mbedTLS 3.x) */
        case MBEDTLS_ERR_SSL_CONN_EOF:             /* TCP FIN (2.28), or FIN inside a record */
        case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
            /* A FIN without close_notify could be a truncation, but the WebSocket close handshake
             * above this layer is what says whether a conversation ended properly. */
            t->eof = true;
            return WS_PORT_EOF;
#ifdef MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
        case MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET:
            continue;                              /* TLS 1.3 ticket: nothing to return, read on */
#endif
        default:
            return fail(t, ret, WS_TLS_ESP_ERR_MBEDTLS_SSL_READ_FAILED);
        }
    }
}

int ws_tls_write(ws_tls_t *t, const void *buf, size_t len)
{
    t->sock_errno = 0;
    int ret = mbedtls_ssl_write(&t->ssl, buf, len);
    if (ret >= 0) {
        return ret;
    }
    if (ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
        return WS_TLS_WANT_WRITE;
    }
    if (ret == MBEDTLS_ERR_SSL_WANT_READ) {
        return WS_TLS_WANT_READ;
    }
    return fail(t, ret, WS_TLS_ESP_ERR_MBEDTLS_SSL_WRITE_FAILED);
}

bool ws_tls_pending(const ws_tls_t *t)
{
    return mbedtls_ssl_get_bytes_avail(&t->ssl) > 0 || mbedtls_ssl_check_pending(&t->ssl) != 0;
}

int ws_tls_close_notify(ws_tls_t *t)
{
    if (!t->handshake_done) {
        return WS_PORT_OK;
    }
    t->sock_errno = 0;
    int ret = mbedtls_ssl_close_notify(&t->ssl);
    if (ret == 0) {
        return WS_PORT_OK;
    }
    if (ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
        return WS_TLS_WANT_WRITE;
    }
    if (ret == MBEDTLS_ERR_SSL_WANT_READ) {
        return WS_TLS_WANT_READ;
    }
    return fail(t, ret, WS_TLS_ESP_ERR_MBEDTLS_SSL_WRITE_FAILED);
}

void ws_tls_error(const ws_tls_t *t, ws_port_error_t *err)
{
    *err = t->last;
}

void ws_tls_free(ws_tls_t *t)
{
    if (t == NULL) {
        return;
    }
    mbedtls_ssl_free(&t->ssl);
    mbedtls_ssl_config_free(&t->conf);
    mbedtls_x509_crt_free(&t->ca);
    mbedtls_x509_crt_free(&t->own_cert);
    mbedtls_pk_free(&t->own_key);
    ws_port_free(t);
}
