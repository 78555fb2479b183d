/*
 * test_integ_wire.c - byte-level delivery against the raw server (tests/servers/raw_server.ts):
 * a frame packed into the same TCP write as the 101 response is delivered (esp-protocols#396);
 * a handshake and frames written one byte per write are parsed; fragmented frames from the
 * server reach the application frame by frame and reassemble into the message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integ_util.h"

static integ_server_t g_raw;

static esp_websocket_client_handle_t connect_raw(integ_rec_t *rec, const char *path, int buffer_size)
{
    char uri[200];
    integ_server_uri(&g_raw, path, uri, sizeof(uri));
    esp_websocket_client_config_t cfg = { 0 };
    cfg.uri = uri;
    cfg.buffer_size = buffer_size;
    cfg.disable_auto_reconnect = true;
    cfg.network_timeout_ms = 3000;
    esp_websocket_client_handle_t c = integ_client_new(rec, &cfg);
    if (!c) {
        return NULL;
    }
    CHECK(esp_websocket_client_start(c) == ESP_OK);
    if (!CHECK(integ_rec_wait_event(rec, WEBSOCKET_EVENT_CONNECTED, 1, 5000), "no CONNECTED on %s", path)) {
        esp_websocket_client_destroy(c);
        return NULL;
    }
    return c;
}

static void done(esp_websocket_client_handle_t c, integ_rec_t *rec)
{
    CHECK(rec->reasm_errors == 0, "chunk contract broken: %s", rec->first_reasm_error);
    CHECK(integ_rec_count(rec, WEBSOCKET_EVENT_ERROR) == 0, "unexpected ERROR");
    if (c) {
        CHECK(esp_websocket_client_destroy(c) == ESP_OK);
    }
    integ_rec_free(rec);
}

static void frame_packed_with_101_response_is_delivered(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 8);
    esp_websocket_client_handle_t c = connect_raw(&rec, "/packed?text=first-in-same-segment", 1024);
    if (c) {
        if (CHECK(integ_rec_wait_msgs(&rec, 1, 3000), "the frame sent with the 101 was lost")) {
            const integ_msg_t *m = integ_rec_msg(&rec, 0);
            CHECK(m->opcode == 1 && strcmp((const char *)m->data, "first-in-same-segment") == 0, "got op %d '%s'",
                  m->opcode, (const char *)m->data);
        }
        /* Echo after it still works (the leftover bytes were consumed exactly). */
        CHECK(esp_websocket_client_send_text(c, "next", 4, INTEG_SEND_TIMEOUT) == 4);
        if (CHECK(integ_rec_wait_msgs(&rec, 2, 3000))) {
            CHECK(strcmp((const char *)integ_rec_msg(&rec, 1)->data, "next") == 0);
        }
    }
    done(c, &rec);
}

/* The contrapositive of the packed case: nothing packed, no message appears by itself. */
static void no_frame_without_packed_data(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 8);
    esp_websocket_client_handle_t c = connect_raw(&rec, "/good", 1024);
    if (c) {
        CHECK(!integ_rec_wait_msgs(&rec, 1, 500), "a message appeared from nowhere");
    }
    done(c, &rec);
}

static void handshake_and_frames_one_byte_per_write(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 8);
    esp_websocket_client_handle_t c = connect_raw(&rec, "/bytewise?text=slow-hello", 1024);
    if (c) {
        if (CHECK(integ_rec_wait_msgs(&rec, 1, 3000), "no greeting")) {
            CHECK(strcmp((const char *)integ_rec_msg(&rec, 0)->data, "slow-hello") == 0);
        }
        /* 200 bytes use the 16-bit length form: its header bytes arrive in separate reads. */
        char *t = integ_text_payload(200, 7);
        CHECK(esp_websocket_client_send_text(c, t, 200, INTEG_SEND_TIMEOUT) == 200);
        if (CHECK(integ_rec_wait_msgs(&rec, 2, 5000), "no byte-wise echo")) {
            const integ_msg_t *m = integ_rec_msg(&rec, 1);
            CHECK(m->len == 200 && memcmp(m->data, t, 200) == 0, "byte-wise echo differs (%zu bytes)", m->len);
        }
        free(t);
        /* A PING whose PONG comes back one byte at a time. */
        const uint8_t p[] = "bw";
        CHECK(esp_websocket_client_send_with_opcode(c, WS_TRANSPORT_OPCODES_PING, p, 2, INTEG_SEND_TIMEOUT) == 2);
        CHECK(integ_rec_wait_ctrl(&rec, 0x0a, 1, 3000), "no PONG");
    }
    done(c, &rec);
}

/* The raw server echoes frame by frame, so a fragmented send comes back fragmented. */
static void fragmented_message_from_server_reassembles(void)
{
    integ_rec_t rec;
    integ_rec_init(&rec, 8);
    esp_websocket_client_handle_t c = connect_raw(&rec, "/good", 1024);
    if (c) {
        CHECK(esp_websocket_client_send_text_partial(c, "part-one,", 9, INTEG_SEND_TIMEOUT) == 9);
        CHECK(esp_websocket_client_send_cont_msg(c, "part-two,", 9, INTEG_SEND_TIMEOUT) == 9);
        CHECK(esp_websocket_client_send_cont_msg(c, "part-three", 10, INTEG_SEND_TIMEOUT) == 10);
        CHECK(esp_websocket_client_send_fin(c, INTEG_SEND_TIMEOUT) == 0);
        if (CHECK(integ_rec_wait_msgs(&rec, 1, 3000), "no reassembled message")) {
            const integ_msg_t *m = integ_rec_msg(&rec, 0);
            CHECK(m->opcode == 1 && strcmp((const char *)m->data, "part-one,part-two,part-three") == 0, "got '%s'",
                  (const char *)m->data);
            CHECK(m->frames == 4, "message arrived in %d frames, sent as 4", m->frames);
        }
        /* A control frame between fragments (allowed, RFC 6455 5.4) does not break the message. */
        const uint8_t p[] = "mid";
        CHECK(esp_websocket_client_send_bin_partial(c, "AB", 2, INTEG_SEND_TIMEOUT) == 2);
        CHECK(esp_websocket_client_send_with_opcode(c, WS_TRANSPORT_OPCODES_PING, p, 3, INTEG_SEND_TIMEOUT) == 3);
        CHECK(esp_websocket_client_send_cont_msg(c, "CD", 2, INTEG_SEND_TIMEOUT) == 2);
        CHECK(esp_websocket_client_send_fin(c, INTEG_SEND_TIMEOUT) == 0);
        if (CHECK(integ_rec_wait_msgs(&rec, 2, 3000), "no binary message")) {
            const integ_msg_t *m = integ_rec_msg(&rec, 1);
            CHECK(m->opcode == 2 && m->len == 4 && memcmp(m->data, "ABCD", 4) == 0, "got op %d len %zu", m->opcode,
                  m->len);
        }
        CHECK(integ_rec_wait_ctrl(&rec, 0x0a, 1, 2000), "no PONG for the PING between fragments");
        /* A frame larger than buffer_size (3000 > 1024) comes in chunks of one frame. */
        char *t = integ_text_payload(3000, 3);
        CHECK(esp_websocket_client_send_text(c, t, 3000, INTEG_SEND_TIMEOUT) == 3000);
        if (CHECK(integ_rec_wait_msgs(&rec, 3, 3000))) {
            const integ_msg_t *m = integ_rec_msg(&rec, 2);
            CHECK(m->len == 3000 && memcmp(m->data, t, 3000) == 0);
            CHECK(m->frames >= 3, "3000 bytes in %d frames with buffer_size 1024 (sent fragmented)", m->frames);
        }
        free(t);
    }
    done(c, &rec);
}

int main(int argc, char **argv)
{
    integ_init(argc, argv, 55);
    if (!integ_server_start(&g_raw, INTEG_SRV_RAW)) {
        return integ_finish();
    }
    RUN_CASE(frame_packed_with_101_response_is_delivered);
    RUN_CASE(no_frame_without_packed_data);
    RUN_CASE(handshake_and_frames_one_byte_per_write);
    RUN_CASE(fragmented_message_from_server_reassembles);
    integ_server_stop(&g_raw);
    return integ_finish();
}
