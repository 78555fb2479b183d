/*
 * esp_event.h - host stand-in for ESP-IDF's event loop library, with the real signatures.
 *
 * Semantics kept from ESP-IDF:
 *   - esp_event_post_to() copies event_data (event_data_size bytes) into the loop's queue of
 *     queue_size entries; handlers receive a pointer to that copy (NULL when no data was given),
 *     valid only during the handler call.
 *   - Handlers run in the thread that runs the loop: the loop's own thread when task_name is not
 *     NULL, otherwise the thread calling esp_event_loop_run().
 *   - Dispatch order for one event: handlers for (ANY_BASE, ANY_ID), then (base, ANY_ID), then
 *     (base, id); within each group in registration order.
 *   - Registering the same handler for the same (base, id) again only replaces its argument.
 *   - Register and unregister are thread-safe against dispatch. A handler may (un)register
 *     handlers of its own loop; when unregister returns in another thread, the handler is not
 *     running and will not run again. A handler registered during a dispatch is not called for
 *     the event being dispatched.
 * Host limits: ticks are milliseconds; tasks ignore priority, stack size and core id.
 */
#ifndef ESP_EVENT_H_
#define ESP_EVENT_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "esp_event_base.h"
#include "freertos/FreeRTOS.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int32_t queue_size;            /* events the queue holds (> 0) */
    const char *task_name;         /* NULL: no task; the user calls esp_event_loop_run() */
    UBaseType_t task_priority;     /* ignored on the host */
    uint32_t task_stack_size;      /* ignored on the host (a thread with the default stack) */
    BaseType_t task_core_id;       /* ignored on the host */
} esp_event_loop_args_t;

/* Creates a loop. ESP_OK, ESP_ERR_INVALID_ARG (NULL args/out, queue_size <= 0), ESP_ERR_NO_MEM,
 * ESP_FAIL (the loop thread could not be started). */
esp_err_t esp_event_loop_create(const esp_event_loop_args_t *event_loop_args, esp_event_loop_handle_t *event_loop);

/* Stops the loop thread (if any; waits for a running handler to return), drops queued events and
 * frees the loop and its handlers. Must not be called from a handler of that loop. */
esp_err_t esp_event_loop_delete(esp_event_loop_handle_t event_loop);

/* Waits up to ticks_to_run for queued events and dispatches them in the calling thread, returning
 * when that time is used up (with 0: dispatches at most one event that is already queued, then
 * returns). ESP_OK, or ESP_ERR_INVALID_ARG for NULL. */
esp_err_t esp_event_loop_run(esp_event_loop_handle_t event_loop, TickType_t ticks_to_run);

esp_err_t esp_event_handler_register_with(esp_event_loop_handle_t event_loop, esp_event_base_t event_base,
                                          int32_t event_id, esp_event_handler_t event_handler,
                                          void *event_handler_arg);

/* ESP_OK also when no such handler was registered. */
esp_err_t esp_event_handler_unregister_with(esp_event_loop_handle_t event_loop, esp_event_base_t event_base,
                                            int32_t event_id, esp_event_handler_t event_handler);

esp_err_t esp_event_handler_instance_register_with(esp_event_loop_handle_t event_loop, esp_event_base_t event_base,
                                                   int32_t event_id, esp_event_handler_t event_handler,
                                                   void *event_handler_arg, esp_event_handler_instance_t *instance);

esp_err_t esp_event_handler_instance_unregister_with(esp_event_loop_handle_t event_loop, esp_event_base_t event_base,
                                                     int32_t event_id, esp_event_handler_instance_t instance);

/* Queues a copy of the event. Waits up to ticks_to_wait for room in the queue (portMAX_DELAY: no
 * bound). ESP_OK, ESP_ERR_TIMEOUT (queue still full), ESP_ERR_INVALID_ARG (NULL loop, ANY base or
 * ANY id), ESP_ERR_NO_MEM. */
esp_err_t esp_event_post_to(esp_event_loop_handle_t event_loop, esp_event_base_t event_base, int32_t event_id,
                            const void *event_data, size_t event_data_size, TickType_t ticks_to_wait);

/* The default loop: a loop with its own thread (queue of 32), as applications expect. */
esp_err_t esp_event_loop_create_default(void);
esp_err_t esp_event_loop_delete_default(void);
esp_err_t esp_event_handler_register(esp_event_base_t event_base, int32_t event_id,
                                     esp_event_handler_t event_handler, void *event_handler_arg);
esp_err_t esp_event_handler_unregister(esp_event_base_t event_base, int32_t event_id,
                                       esp_event_handler_t event_handler);
esp_err_t esp_event_handler_instance_register(esp_event_base_t event_base, int32_t event_id,
                                              esp_event_handler_t event_handler, void *event_handler_arg,
                                              esp_event_handler_instance_t *instance);
esp_err_t esp_event_handler_instance_unregister(esp_event_base_t event_base, int32_t event_id,
                                                esp_event_handler_instance_t instance);
esp_err_t esp_event_post(esp_event_base_t event_base, int32_t event_id, const void *event_data,
                         size_t event_data_size, TickType_t ticks_to_wait);

#ifdef __cplusplus
}
#endif

#endif /* ESP_EVENT_H_ */
