/*
 * freertos/FreeRTOS.h - minimal host stand-in: the FreeRTOS types and macros that ESP-IDF
 * applications and the public esp_websocket_client.h use. The host tick is 1 ms.
 * This is not a FreeRTOS simulator: tasks, queues and semaphores are not provided.
 */
#ifndef WS_HOST_FREERTOS_H
#define WS_HOST_FREERTOS_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint32_t TickType_t;
typedef int BaseType_t;
typedef unsigned int UBaseType_t;

#define pdFALSE ((BaseType_t)0)
#define pdTRUE  ((BaseType_t)1)
#define pdFAIL  pdFALSE
#define pdPASS  pdTRUE

#define configTICK_RATE_HZ 1000
#define portTICK_PERIOD_MS ((TickType_t)1)
#define portMAX_DELAY      ((TickType_t)0xffffffffUL)
#define pdMS_TO_TICKS(ms)  ((TickType_t)(((uint64_t)(ms) * configTICK_RATE_HZ) / 1000U))
#define pdTICKS_TO_MS(t)   ((uint32_t)(((uint64_t)(t) * 1000U) / configTICK_RATE_HZ))

#define tskNO_AFFINITY ((BaseType_t)0x7FFFFFFF)

#ifdef __cplusplus
}
#endif

#include "freertos/task.h"

#endif /* WS_HOST_FREERTOS_H */
