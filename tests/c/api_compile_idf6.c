/*
 * api_compile_idf6.c - esp_websocket_client.h compiled as on ESP-IDF >= 6.0 (CMake builds this
 * file with -DWS_HOST_IDF_VERSION_MAJOR=6). Part of test_api_compile.
 */
#include "api_compile_checks.h"

#include <string.h>

_Static_assert(ESP_IDF_VERSION >= ESP_IDF_VERSION_VAL(6, 0, 0), "built as ESP-IDF 6");
_Static_assert(WS_TRANSPORT_HEADER_CALLBACK_SUPPORT == 1, "IDF 6 has the header callback");
_Static_assert(WEBSOCKET_EVENT_HEADER_RECEIVED == 1 && WEBSOCKET_EVENT_CONNECTED == 2 &&
               WEBSOCKET_EVENT_DISCONNECTED == 3 && WEBSOCKET_EVENT_DATA == 4 &&
               WEBSOCKET_EVENT_CLOSED == 5 && WEBSOCKET_EVENT_BEFORE_CONNECT == 6 &&
               WEBSOCKET_EVENT_BEGIN == 7 && WEBSOCKET_EVENT_FINISH == 8 && WEBSOCKET_EVENT_MAX == 9,
               "IDF >= 6 numbering: HEADER_RECEIVED=1 ... MAX=9");

int idf6_event_id(const char *name)
{
    static const struct {
        const char *name;
        int id;
    } ids[] = {
        { "HEADER_RECEIVED", WEBSOCKET_EVENT_HEADER_RECEIVED },
        { "CONNECTED", WEBSOCKET_EVENT_CONNECTED },
        { "DISCONNECTED", WEBSOCKET_EVENT_DISCONNECTED },
        { "DATA", WEBSOCKET_EVENT_DATA },
        { "CLOSED", WEBSOCKET_EVENT_CLOSED },
        { "BEFORE_CONNECT", WEBSOCKET_EVENT_BEFORE_CONNECT },
        { "BEGIN", WEBSOCKET_EVENT_BEGIN },
        { "FINISH", WEBSOCKET_EVENT_FINISH },
        { "MAX", WEBSOCKET_EVENT_MAX },
    };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        if (strcmp(ids[i].name, name) == 0) {
            return ids[i].id;
        }
    }
    return -100;
}

size_t idf6_sizeof_config(void)
{
    return sizeof(esp_websocket_client_config_t);
}

size_t idf6_sizeof_event_data(void)
{
    return sizeof(esp_websocket_event_data_t);
}
