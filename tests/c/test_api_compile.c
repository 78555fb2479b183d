/*
 * test_api_compile.c - esp_websocket_client.h matches the 1.8.0 API (see api_compile_checks.h,
 * which does the work at compile time), with the host numbering of events (ESP-IDF 5.5: no
 * HEADER_RECEIVED). api_compile_idf6.c compiles the same header as ESP-IDF 6; the run-time part
 * below compares what the two translation units saw.
 */
#include "api_compile_checks.h"

#include <stdio.h>
#include <string.h>

#define HOST_NUMBERING_OK                                                                  \
    (WS_TRANSPORT_HEADER_CALLBACK_SUPPORT == 0 && WEBSOCKET_EVENT_CONNECTED == 1 &&       \
     WEBSOCKET_EVENT_DISCONNECTED == 2 && WEBSOCKET_EVENT_DATA == 3 &&                    \
     WEBSOCKET_EVENT_CLOSED == 4 && WEBSOCKET_EVENT_BEFORE_CONNECT == 5 &&                \
     WEBSOCKET_EVENT_BEGIN == 6 && WEBSOCKET_EVENT_FINISH == 7 && WEBSOCKET_EVENT_MAX == 8)
_Static_assert(ESP_IDF_VERSION == ESP_IDF_VERSION_VAL(5, 5, 0), "the host pretends ESP-IDF 5.5.0");
_Static_assert(HOST_NUMBERING_OK, "IDF < 6 numbering: CONNECTED=1 ... MAX=8");

/* From api_compile_idf6.c. */
int idf6_event_id(const char *name);
size_t idf6_sizeof_config(void);
size_t idf6_sizeof_event_data(void);

static int s_failures;

static void expect(bool ok, const char *what)
{
    if (!ok) {
        s_failures++;
        fprintf(stderr, "  FAIL: %s\n", what);
    }
}

int main(void)
{
    /* ESP-IDF >= 6 numbering, as seen by the other translation unit. */
    expect(idf6_event_id("HEADER_RECEIVED") == 1, "IDF6: HEADER_RECEIVED == 1");
    expect(idf6_event_id("CONNECTED") == 2, "IDF6: CONNECTED == 2");
    expect(idf6_event_id("DISCONNECTED") == 3, "IDF6: DISCONNECTED == 3");
    expect(idf6_event_id("DATA") == 4, "IDF6: DATA == 4");
    expect(idf6_event_id("CLOSED") == 5, "IDF6: CLOSED == 5");
    expect(idf6_event_id("BEFORE_CONNECT") == 6, "IDF6: BEFORE_CONNECT == 6");
    expect(idf6_event_id("BEGIN") == 7, "IDF6: BEGIN == 7");
    expect(idf6_event_id("FINISH") == 8, "IDF6: FINISH == 8");
    expect(idf6_event_id("MAX") == 9, "IDF6: MAX == 9");
    /* The two numberings really differ (the switch is not a no-op). */
    expect(idf6_event_id("CONNECTED") != WEBSOCKET_EVENT_CONNECTED, "numberings differ for CONNECTED");
    /* Only the enum moves: struct layouts are the same under both versions. */
    expect(idf6_sizeof_config() == sizeof(esp_websocket_client_config_t), "config size independent of IDF version");
    expect(idf6_sizeof_event_data() == sizeof(esp_websocket_event_data_t), "event data size independent of IDF version");

    /* An upstream-style designated initialiser compiles and zero-fills the rest. */
    esp_websocket_client_config_t cfg = {
        .uri = "ws://echo.example:8080/path",
        .buffer_size = 1024,
        .reconnect_timeout_ms = 10000,
        .network_timeout_ms = 10000,
    };
    expect(cfg.header_cb == NULL && cfg.max_redirects == 0 && cfg.utf8_policy == WEBSOCKET_UTF8_POLICY_DEFAULT,
           "new fields default to zero");
    expect(cfg.reassemble_messages == WEBSOCKET_REASSEMBLY_DEFAULT &&
               cfg.reconnect_backoff == WEBSOCKET_RECONNECT_BACKOFF_DEFAULT,
           "the three-valued options of a zero-initialised config select the Kconfig default");
    expect(strcmp(cfg.uri, "ws://echo.example:8080/path") == 0, "uri kept");

    fprintf(stderr, "%d failures\n", s_failures);
    return s_failures == 0 ? 0 : 1;
}
