/*
 * esp_transport_ws.h - host stand-in: the WebSocket opcode enum of ESP-IDF's tcp_transport, with
 * the same names and values (esp_websocket_client_send_with_opcode takes it).
 */
#ifndef _ESP_TRANSPORT_WS_H_
#define _ESP_TRANSPORT_WS_H_

#include "esp_transport.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ws_transport_opcodes {
    WS_TRANSPORT_OPCODES_CONT   = 0x00,
    WS_TRANSPORT_OPCODES_TEXT   = 0x01,
    WS_TRANSPORT_OPCODES_BINARY = 0x02,
    WS_TRANSPORT_OPCODES_CLOSE  = 0x08,
    WS_TRANSPORT_OPCODES_PING   = 0x09,
    WS_TRANSPORT_OPCODES_PONG   = 0x0a,
    WS_TRANSPORT_OPCODES_FIN    = 0x80,
    WS_TRANSPORT_OPCODES_NONE   = 0x100,   /* no frame read yet */
} ws_transport_opcodes_t;

#ifdef __cplusplus
}
#endif

#endif /* _ESP_TRANSPORT_WS_H_ */
