/*
 * ws_tls_mbedtls.h - a TLS client session over a non-blocking socket, for the POSIX port.
 *
 * Built on mbedTLS 2.28 (Debian's libmbedtls-dev) or 3.x (ESP-IDF ships 3.6); the differences are
 * handled inside ws_tls_mbedtls.c with MBEDTLS_VERSION_NUMBER checks.
 *
 * Nothing here waits. Every call does what the socket allows at once and, when it needs the socket
 * to become readable or writable, returns WS_TLS_WANT_READ / WS_TLS_WANT_WRITE. The port
 * (ws_port_posix.c) owns every wait, so deadlines and the abort flag are handled in one place.
 *
 * Trust (what the server certificate is verified against), in this order:
 *   skip_verify           nothing is verified (explicit opt-in; a warning is logged at each connect)
 *   use_global_ca_store   the host's system CA store (below) - the host mapping of esp-tls's store
 *   crt_bundle_attach     the host's system CA store; the function itself is NOT called on the host
 *                         (it expects ESP-IDF's bundle and config types)
 *   ca                    the given CA certificate(s), PEM or DER
 *   nothing given         the host's system CA store. (On ESP-IDF, esp-tls refuses a connection with
 *                         no verification source; on a host, trusting the system store is what every
 *                         other TLS client does, and the server is still verified.)
 * The system CA store is the file named by $SSL_CERT_FILE, else the directory $SSL_CERT_DIR, else
 * /etc/ssl/certs/ca-certificates.crt, else every file in /etc/ssl/certs (the OpenSSL conventions).
 * It is parsed per connection and freed when the handshake ends, like every CA chain here: after
 * the handshake nothing needs it, and Debian's store (144 roots) takes 475 KB of heap once parsed
 * by mbedTLS 2.28 (measured with mallinfo2).
 *
 * Names: the name verified against the certificate (DNS SAN, else CN) is common_name when given,
 * else the host. It is also the name sent as SNI, as esp-tls does (mbedtls_ssl_set_hostname sets
 * both). skip_cn_check keeps the host as SNI (so name-based virtual hosts still answer) and drops
 * only the name mismatch from the verification result; the chain, dates and key usage are still
 * verified. If both common_name and skip_cn_check are set, skip_cn_check wins (as in esp-tls; the
 * client core refuses that configuration before it gets here).
 * mbedTLS 2.28 matches a literal IP host only against a DNS SAN or CN with the same text; 3.x also
 * matches iPAddress SANs.
 */
#ifndef WS_TLS_MBEDTLS_H
#define WS_TLS_MBEDTLS_H

#include <stdbool.h>
#include <stddef.h>

#include "ws_port.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ESP-TLS error numbers for mbedTLS failures, as ESP-IDF 5.x defines them (ESP_ERR_MBEDTLS_*),
 * reported in ws_port_error_t.esp_err. */
#define WS_TLS_ESP_ERR_MBEDTLS_CERT_PARTLY_OK              0x8010
#define WS_TLS_ESP_ERR_MBEDTLS_CTR_DRBG_SEED_FAILED        0x8011
#define WS_TLS_ESP_ERR_MBEDTLS_SSL_SET_HOSTNAME_FAILED     0x8012
#define WS_TLS_ESP_ERR_MBEDTLS_SSL_CONFIG_DEFAULTS_FAILED  0x8013
#define WS_TLS_ESP_ERR_MBEDTLS_X509_CRT_PARSE_FAILED       0x8015
#define WS_TLS_ESP_ERR_MBEDTLS_SSL_CONF_OWN_CERT_FAILED    0x8016
#define WS_TLS_ESP_ERR_MBEDTLS_SSL_SETUP_FAILED            0x8017
#define WS_TLS_ESP_ERR_MBEDTLS_SSL_WRITE_FAILED            0x8018
#define WS_TLS_ESP_ERR_MBEDTLS_PK_PARSE_KEY_FAILED         0x8019
#define WS_TLS_ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED        0x801A
#define WS_TLS_ESP_ERR_MBEDTLS_SSL_READ_FAILED             0x801D

/* "Call again when the socket is readable / writable". Distinct from every WS_PORT_* code. */
#define WS_TLS_WANT_READ  (-100)
#define WS_TLS_WANT_WRITE (-101)

typedef struct ws_tls ws_tls_t;

/* Prepares a client session on the connected socket fd (non-blocking; not owned: the caller closes
 * it after ws_tls_free). host is the name the caller connected to. cfg is read during this call
 * only. Returns WS_PORT_OK and *out, or WS_PORT_ERR_TLS (a certificate, key or setup failure:
 * err->esp_err and err->tls_stack_err say which) or WS_PORT_ERR_NO_MEM, with *out = NULL.
 * err may be NULL. */
int ws_tls_create(ws_tls_t **out, int fd, const char *host, const ws_port_tls_cfg_t *cfg, ws_port_error_t *err);

/* Advances the handshake. Returns WS_PORT_OK (done: the session is ready for read/write),
 * WS_TLS_WANT_READ, WS_TLS_WANT_WRITE, or WS_PORT_ERR_TLS (failed; ws_tls_error() has the mbedTLS
 * error, the verification flags and any socket errno). */
int ws_tls_handshake(ws_tls_t *t);

/* Reads decrypted bytes. Returns 1..len, WS_TLS_WANT_READ, WS_TLS_WANT_WRITE, WS_PORT_EOF (the
 * peer sent close_notify or closed TCP; sticky), WS_PORT_ERR_IO (socket error) or WS_PORT_ERR_TLS
 * (record or alert error). len is capped at INT_MAX. */
int ws_tls_read(ws_tls_t *t, void *buf, size_t len);

/* Encrypts and sends up to len bytes. Returns the count taken (1..len; at most one record),
 * WS_TLS_WANT_WRITE / WS_TLS_WANT_READ, WS_PORT_ERR_IO or WS_PORT_ERR_TLS.
 * After a WANT result the record is already encrypted and partly sent: the next call MUST pass the
 * same bytes (mbedTLS finishes that record and then reports them taken). */
int ws_tls_write(ws_tls_t *t, const void *buf, size_t len);

/* True if a read can make progress without the socket: decrypted bytes are waiting, or a record
 * is held that has not been fully processed. */
bool ws_tls_pending(const ws_tls_t *t);

/* One attempt at sending close_notify. Returns WS_PORT_OK (sent or not needed), WS_TLS_WANT_WRITE
 * (call again when writable) or WS_PORT_ERR_IO / WS_PORT_ERR_TLS (give up). */
int ws_tls_close_notify(ws_tls_t *t);

/* Details of the last failure (all zero if none). err must not be NULL. esp_err is an ESP-TLS code
 * (WS_TLS_ESP_ERR_*), tls_stack_err the mbedTLS error as esp-tls stores it (-ret, so positive,
 * e.g. 0x2700 for MBEDTLS_ERR_X509_CERT_VERIFY_FAILED), tls_verify_flags the MBEDTLS_X509_BADCERT_*
 * bits of a failed verification, sock_errno the errno of a failed send/recv. */
void ws_tls_error(const ws_tls_t *t, ws_port_error_t *err);

/* Frees the session (not the socket). NULL is a no-op. */
void ws_tls_free(ws_tls_t *t);

#ifdef __cplusplus
}
#endif

#endif /* WS_TLS_MBEDTLS_H */
