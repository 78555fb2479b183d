/*
 * esp_system.h - host stand-in for the few esp_system functions applications commonly call.
 */
#ifndef WS_HOST_ESP_SYSTEM_H
#define WS_HOST_ESP_SYSTEM_H

#include <stdint.h>
#include "esp_err.h"
#include "esp_idf_version.h"
#include "esp_random.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Host: there is nothing to restart; flushes stdio and ends the process with status 0. */
void esp_restart(void) __attribute__((noreturn));

/* Host: bytes free inside the C library's heap arenas (mallinfo2). Not comparable with a device
 * figure; useful only to spot growth between two calls. */
uint32_t esp_get_free_heap_size(void);

/* Host: same value as esp_get_free_heap_size() (no low-water mark is tracked). */
uint32_t esp_get_minimum_free_heap_size(void);

#ifdef __cplusplus
}
#endif

#endif /* WS_HOST_ESP_SYSTEM_H */
