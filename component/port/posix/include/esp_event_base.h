/*
 * esp_event_base.h - host stand-in for ESP-IDF's event base definitions (same names and types).
 */
#ifndef ESP_EVENT_BASE_H_
#define ESP_EVENT_BASE_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An event base is the address of a unique string; bases are compared by address, not content. */
typedef const char *esp_event_base_t;
typedef void *esp_event_loop_handle_t;
typedef void (*esp_event_handler_t)(void *event_handler_arg, esp_event_base_t event_base,
                                    int32_t event_id, void *event_data);
typedef void *esp_event_handler_instance_t;

#define ESP_EVENT_DECLARE_BASE(id) extern esp_event_base_t const id
#define ESP_EVENT_DEFINE_BASE(id)  esp_event_base_t const id = #id

#define ESP_EVENT_ANY_BASE NULL
#define ESP_EVENT_ANY_ID   -1

#ifdef __cplusplus
}
#endif

#endif /* ESP_EVENT_BASE_H_ */
