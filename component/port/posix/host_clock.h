/*
 * host_clock.h - private to the POSIX port: the process start time shared by the log timestamp,
 * xTaskGetTickCount() and esp_timer_get_time().
 */
#ifndef WS_HOST_CLOCK_H
#define WS_HOST_CLOCK_H

#include <stdint.h>

/* Microseconds since the process started (CLOCK_MONOTONIC). */
int64_t ws_host_us_since_start(void);

#endif /* WS_HOST_CLOCK_H */
