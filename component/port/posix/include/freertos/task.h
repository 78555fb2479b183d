/*
 * freertos/task.h - minimal host stand-in (see freertos/FreeRTOS.h).
 */
#ifndef WS_HOST_FREERTOS_TASK_H
#define WS_HOST_FREERTOS_TASK_H

#include "freertos/FreeRTOS.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sleeps the calling thread for at least `ticks` ms (1 tick = 1 ms on the host). */
void vTaskDelay(const TickType_t ticks);

/* Milliseconds since the process started (monotonic; wraps like a 32-bit tick counter). */
TickType_t xTaskGetTickCount(void);

#ifdef __cplusplus
}
#endif

#endif /* WS_HOST_FREERTOS_TASK_H */
