/*
 * esp_timer.h - host stand-in: only the clock (esp_timer_get_time). Timers are not provided.
 */
#ifndef WS_HOST_ESP_TIMER_H
#define WS_HOST_ESP_TIMER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Microseconds since the process started (CLOCK_MONOTONIC). */
int64_t esp_timer_get_time(void);

#ifdef __cplusplus
}
#endif

#endif /* WS_HOST_ESP_TIMER_H */
