/*
 * WebSocket echo example.
 *
 * Connects to an echo server, sends "hello 0000" ... "hello 0004" once a second, logs what comes
 * back, then closes the connection with status 1000 and logs the CLOSED event. The same source
 * runs on a board (ESP-IDF) and on Linux (the POSIX port; see host/host_main.c and `npm start`).
 */
#include <stdio.h>
#include <string.h>

#include "esp_event.h"
#include "esp_log.h"
#include "esp_websocket_client.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"

#ifdef ESP_PLATFORM
#include "esp_netif.h"
#include "nvs_flash.h"
#include "protocol_examples_common.h"
#else
#include "host_config.h"
#endif

#define MESSAGES 5
#define CONNECT_WAIT_MS 10000
#define ECHO_WAIT_MS 3000
#define CLOSE_TIMEOUT_MS 5000

static const char *TAG = "WEBSOCKET";

/* Written by the client's task (event handler), read by app_main's task. */
static volatile bool s_connected;
static volatile bool s_closed;
static volatile int s_echoes;

static void websocket_event_handler(void *handler_args, esp_event_base_t base, int32_t event_id, void *event_data)
{
    (void)handler_args;
    (void)base;
    esp_websocket_event_data_t *data = (esp_websocket_event_data_t *)event_data;
    switch (event_id) {
    case WEBSOCKET_EVENT_CONNECTED:
        ESP_LOGI(TAG, "WEBSOCKET_EVENT_CONNECTED");
        s_connected = true;
        break;
    case WEBSOCKET_EVENT_DISCONNECTED:
        ESP_LOGI(TAG, "WEBSOCKET_EVENT_DISCONNECTED");
        s_connected = false;
        break;
    case WEBSOCKET_EVENT_DATA:
        ESP_LOGI(TAG, "WEBSOCKET_EVENT_DATA");
        if (data->op_code == WS_TRANSPORT_OPCODES_TEXT) {
            /* data_ptr is not NUL-terminated: print exactly data_len bytes. */
            ESP_LOGW(TAG, "Received=%.*s", data->data_len, data->data_ptr);
            if (data->payload_offset + data->data_len == data->payload_len) s_echoes++;
        } else if (data->op_code == WS_TRANSPORT_OPCODES_CLOSE && data->data_len >= 2) {
            ESP_LOGI(TAG, "Received closed message with code=%d",
                     256 * (unsigned char)data->data_ptr[0] + (unsigned char)data->data_ptr[1]);
        }
        break;
    case WEBSOCKET_EVENT_ERROR:
        ESP_LOGE(TAG, "WEBSOCKET_EVENT_ERROR: %.*s", data->data_len, data->data_ptr ? data->data_ptr : "");
        if (data->error_handle.esp_ws_handshake_status_code != 0) {
            ESP_LOGE(TAG, "HTTP status %d", data->error_handle.esp_ws_handshake_status_code);
        }
        break;
    case WEBSOCKET_EVENT_CLOSED:
        ESP_LOGI(TAG, "WEBSOCKET_EVENT_CLOSED: code=%d", data->close_status_code);
        s_closed = true;
        break;
    default:
        break;
    }
}

static bool wait_for(volatile bool *flag, int timeout_ms)
{
    for (int waited = 0; !*flag && waited < timeout_ms; waited += 50) {
        vTaskDelay(pdMS_TO_TICKS(50));
    }
    return *flag;
}

#if CONFIG_WEBSOCKET_URI_FROM_STDIN
/* Reads one line from standard input into buf (no newline). */
static void read_uri_from_stdin(char *buf, size_t size)
{
    size_t len = 0;
    while (len + 1 < size) {
        int c = fgetc(stdin);
        if (c == '\n' || c == '\r') {
            if (len > 0) break;
            continue;
        }
        if (c == EOF) {
#ifdef ESP_PLATFORM
            /* The console has nothing yet: wait for the next character. */
            clearerr(stdin);
            vTaskDelay(pdMS_TO_TICKS(20));
            continue;
#else
            break; /* end of input on Linux: take what was read */
#endif
        }
        buf[len++] = (char)c;
    }
    buf[len] = '\0';
}
#endif

/* Returns the number of echoes received, or -1 when the connection could not be made. */
static int websocket_app_start(void)
{
    esp_websocket_client_config_t config = {0};
#if CONFIG_WEBSOCKET_URI_FROM_STDIN
    static char uri[512];
    ESP_LOGI(TAG, "Waiting for the URI on standard input...");
    read_uri_from_stdin(uri, sizeof uri);
    if (uri[0] == '\0') {
        ESP_LOGE(TAG, "No URI on standard input");
        return -1;
    }
    config.uri = uri;
#else
    config.uri = CONFIG_WEBSOCKET_URI;
#endif
    config.reconnect_timeout_ms = 10000;
    config.network_timeout_ms = 10000;

    ESP_LOGI(TAG, "Connecting to %s...", config.uri);
    esp_websocket_client_handle_t client = esp_websocket_client_init(&config);
    if (client == NULL) {
        ESP_LOGE(TAG, "Invalid configuration (URI %s)", config.uri);
        return -1;
    }
    esp_websocket_register_events(client, WEBSOCKET_EVENT_ANY, websocket_event_handler, (void *)client);
    esp_websocket_client_start(client);

    int result = -1;
    if (wait_for(&s_connected, CONNECT_WAIT_MS)) {
        char msg[32];
        for (int i = 0; i < MESSAGES; i++) {
            if (esp_websocket_client_is_connected(client)) {
                int len = snprintf(msg, sizeof msg, "hello %04d", i);
                ESP_LOGI(TAG, "Sending %s", msg);
                esp_websocket_client_send_text(client, msg, len, portMAX_DELAY);
            }
            vTaskDelay(pdMS_TO_TICKS(1000));
        }
        for (int waited = 0; s_echoes < MESSAGES && waited < ECHO_WAIT_MS; waited += 50) {
            vTaskDelay(pdMS_TO_TICKS(50));
        }
        result = s_echoes;
        static const char reason[] = "done";
        esp_websocket_client_close_with_code(client, 1000, reason, (int)strlen(reason), pdMS_TO_TICKS(CLOSE_TIMEOUT_MS));
        wait_for(&s_closed, 1000);
    } else {
        ESP_LOGE(TAG, "Could not connect within %d ms", CONNECT_WAIT_MS);
        esp_websocket_client_stop(client);
    }
    ESP_LOGI(TAG, "Websocket stopped");
    esp_websocket_client_destroy(client);
    return result;
}

#ifdef ESP_PLATFORM
void app_main(void)
{
    ESP_LOGI(TAG, "[APP] Startup..");
    ESP_ERROR_CHECK(nvs_flash_init());
    ESP_ERROR_CHECK(esp_netif_init());
    ESP_ERROR_CHECK(esp_event_loop_create_default());
    /* Wi-Fi or Ethernet, as chosen in menuconfig ("Example Connection Configuration"). */
    ESP_ERROR_CHECK(example_connect());
    websocket_app_start();
}
#else
int host_app_main(void)
{
    int echoes = websocket_app_start();
    return (echoes == MESSAGES && s_closed) ? 0 : 1;
}
#endif
