/*
 * test_integ_small_buffer.c - a client with a small buffer_size works as 1.8.0's does: it connects
 * (the engine instance is never smaller than WS_ENGINE_MIN_BUF, so the handshake request fits),
 * its DATA chunks are buffer_size bytes, and its messages go out in frames of buffer_size bytes.
 * It must be the first client of its process, so it has a program of its own.
 */
#include <string.h>

#include "integ_util.h"

static integ_server_t g_srv;

static void first_client_with_64_byte_buffer_connects_and_chunks_by_64(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 4);
    char uri[160];
    integ_server_uri(&g_srv, "/echo", uri, sizeof uri);
    esp_websocket_client_config_t cfg = {.uri = uri, .buffer_size = 64, .disable_auto_reconnect = true,
                                         .network_timeout_ms = 5000};
    esp_websocket_client_handle_t c = integ_client_new(&rec, &cfg);
    if (!CHECK(c != NULL)) {
        integ_rec_free(&rec);
        return;
    }
    CHECK(esp_websocket_client_start(c) == ESP_OK);
    if (CHECK(integ_rec_wait_event(&rec, WEBSOCKET_EVENT_CONNECTED, 1, 5000), "no CONNECTED with buffer_size 64")) {
        char msg[200];
        for (size_t i = 0; i < sizeof msg; i++) {
            msg[i] = (char)('a' + i % 26);
        }
        CHECK(esp_websocket_client_send_text(c, msg, (int)sizeof msg, INTEG_SEND_TIMEOUT) == (int)sizeof msg);
        if (CHECK(integ_rec_wait_msgs(&rec, 1, 5000), "no echo")) {
            const integ_msg_t *m = integ_rec_msg(&rec, 0);
            CHECK(m->len == sizeof msg && memcmp(m->data, msg, sizeof msg) == 0, "echo differs");
            /* 200 bytes sent as frames of 64, 64, 64 and 8 (CONT frames after the first); the ws
             * server echoes one 200-byte frame, which arrives as chunks of 64, 64, 64, 8. */
            CHECK(rec.max_chunk == 64, "largest DATA chunk %d, want 64", rec.max_chunk);
            CHECK(rec.data_chunks == 4, "%d DATA chunks, want 4", rec.data_chunks);
        }
    }
    CHECK(rec.reasm_errors == 0, "chunk contract: %s", rec.first_reasm_error);
    CHECK(esp_websocket_client_destroy(c) == ESP_OK);
    integ_rec_free(&rec);
}

int main(int argc, char **argv)
{
    integ_init(argc, argv, 60);
    if (!integ_server_start(&g_srv, INTEG_SRV_WS)) {
        return 1;
    }
    RUN_CASE(first_client_with_64_byte_buffer_connects_and_chunks_by_64);
    integ_server_stop(&g_srv);
    return integ_finish();
}
