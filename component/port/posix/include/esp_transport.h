/*
 * esp_transport.h - host stand-in: only the opaque handle type that esp_websocket_client.h needs
 * (config field ext_transport). The tcp_transport functions themselves are not provided.
 */
#ifndef _ESP_TRANSPORT_H_
#define _ESP_TRANSPORT_H_

#ifdef __cplusplus
extern "C" {
#endif

typedef struct esp_transport_item_t *esp_transport_handle_t;

#ifdef __cplusplus
}
#endif

#endif /* _ESP_TRANSPORT_H_ */
