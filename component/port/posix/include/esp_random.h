/*
 * esp_random.h - host stand-in: random numbers from the OS (getrandom).
 */
#ifndef WS_HOST_ESP_RANDOM_H
#define WS_HOST_ESP_RANDOM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A 32-bit cryptographically strong random number. */
uint32_t esp_random(void);

/* Fills buf with len cryptographically strong random bytes. */
void esp_fill_random(void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* WS_HOST_ESP_RANDOM_H */
