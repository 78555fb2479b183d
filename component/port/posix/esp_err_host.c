/*
 * esp_err_host.c - esp_err_to_name() and the ESP_ERROR_CHECK failure path for the host build.
 */
#define _GNU_SOURCE
#include "esp_err.h"

#include <stdio.h>
#include <string.h>

#define ERR_NAME(code) { code, #code }

static const struct {
    esp_err_t code;
    const char *name;
} s_names[] = {
    ERR_NAME(ESP_OK),
    ERR_NAME(ESP_FAIL),
    ERR_NAME(ESP_ERR_NO_MEM),
    ERR_NAME(ESP_ERR_INVALID_ARG),
    ERR_NAME(ESP_ERR_INVALID_STATE),
    ERR_NAME(ESP_ERR_INVALID_SIZE),
    ERR_NAME(ESP_ERR_NOT_FOUND),
    ERR_NAME(ESP_ERR_NOT_SUPPORTED),
    ERR_NAME(ESP_ERR_TIMEOUT),
    ERR_NAME(ESP_ERR_INVALID_RESPONSE),
    ERR_NAME(ESP_ERR_INVALID_CRC),
    ERR_NAME(ESP_ERR_INVALID_VERSION),
    ERR_NAME(ESP_ERR_INVALID_MAC),
    ERR_NAME(ESP_ERR_NOT_FINISHED),
    ERR_NAME(ESP_ERR_NOT_ALLOWED),
    /* ESP-TLS codes the POSIX port reports (ESP-IDF 5.x values). */
    { 0x8001, "ESP_ERR_ESP_TLS_CANNOT_RESOLVE_HOSTNAME" },
    { 0x8002, "ESP_ERR_ESP_TLS_CANNOT_CREATE_SOCKET" },
    { 0x8003, "ESP_ERR_ESP_TLS_UNSUPPORTED_PROTOCOL_FAMILY" },
    { 0x8004, "ESP_ERR_ESP_TLS_FAILED_CONNECT_TO_HOST" },
    { 0x8005, "ESP_ERR_ESP_TLS_SOCKET_SETOPT_FAILED" },
    { 0x8006, "ESP_ERR_ESP_TLS_CONNECTION_TIMEOUT" },
    { 0x8008, "ESP_ERR_ESP_TLS_TCP_CLOSED_FIN" },
};

const char *esp_err_to_name(esp_err_t code)
{
    for (size_t i = 0; i < sizeof(s_names) / sizeof(s_names[0]); i++) {
        if (s_names[i].code == code) {
            return s_names[i].name;
        }
    }
    return "UNKNOWN ERROR";
}

const char *esp_err_to_name_r(esp_err_t code, char *buf, size_t buflen)
{
    if (buf == NULL || buflen == 0) {
        return buf;
    }
    const char *name = esp_err_to_name(code);
    if (strcmp(name, "UNKNOWN ERROR") != 0) {
        snprintf(buf, buflen, "%s", name);
    } else if (code > 0 && code < 0x100) {
        snprintf(buf, buflen, "%s", strerror(code));   /* small codes are errno values, as on ESP-IDF */
    } else {
        snprintf(buf, buflen, "Unknown error 0x%X", (unsigned)code);
    }
    return buf;
}

void _esp_error_check_failed(esp_err_t rc, const char *file, int line, const char *function,
                             const char *expression)
{
    fflush(stdout);
    fprintf(stderr, "ESP_ERROR_CHECK failed: esp_err_t 0x%x (%s)\nfile: \"%s\" line %d\nfunc: %s\nexpression: %s\n",
            (unsigned)rc, esp_err_to_name(rc), file, line, function, expression);
    abort();
}
