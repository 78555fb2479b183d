/*
 * esp_idf_version.h - host stand-in for ESP-IDF's version header.
 *
 * The host build pretends to be ESP-IDF 5.5.0, so esp_websocket_client.h uses the IDF < 6 event
 * numbering (no WEBSOCKET_EVENT_HEADER_RECEIVED). Compile with -DWS_HOST_IDF_VERSION_MAJOR=6
 * (and optionally _MINOR / _PATCH) to get the IDF >= 6 numbering instead.
 */
#ifndef ESP_IDF_VERSION_H
#define ESP_IDF_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

#ifndef WS_HOST_IDF_VERSION_MAJOR
#define WS_HOST_IDF_VERSION_MAJOR 5
#endif
#ifndef WS_HOST_IDF_VERSION_MINOR
#if WS_HOST_IDF_VERSION_MAJOR == 5
#define WS_HOST_IDF_VERSION_MINOR 5
#else
#define WS_HOST_IDF_VERSION_MINOR 0
#endif
#endif
#ifndef WS_HOST_IDF_VERSION_PATCH
#define WS_HOST_IDF_VERSION_PATCH 0
#endif

#define ESP_IDF_VERSION_MAJOR WS_HOST_IDF_VERSION_MAJOR
#define ESP_IDF_VERSION_MINOR WS_HOST_IDF_VERSION_MINOR
#define ESP_IDF_VERSION_PATCH WS_HOST_IDF_VERSION_PATCH

/* Same encoding as ESP-IDF: one byte each for minor and patch. */
#define ESP_IDF_VERSION_VAL(major, minor, patch) (((major) << 16) | ((minor) << 8) | (patch))

#define ESP_IDF_VERSION ESP_IDF_VERSION_VAL(ESP_IDF_VERSION_MAJOR, ESP_IDF_VERSION_MINOR, ESP_IDF_VERSION_PATCH)

/* "v<major>.<minor>.<patch>-host" for the version pretended above. */
const char *esp_get_idf_version(void);

#ifdef __cplusplus
}
#endif

#endif /* ESP_IDF_VERSION_H */
