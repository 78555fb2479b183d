/*
 * ws_client_tx.c - the send path (docs/engine-abi.md, "The send path in C"):
 *     copy(tx + 14, data, n); s = send(slot, opcode | fin, n, key, now); write(tx + s .. tx + 14 + n)
 * The caller's data is copied slice by slice into the tx window and never modified. Every frame
 * gets a fresh mask key from the port's random source (RFC 6455 5.3), drawn in batches.
 */
#include <string.h>

#include "esp_log.h"
#include "ws_client.h"
#include "ws_engine_copy.h"

static const char *TAG = "websocket_client";

#define WS_CLIENT_SEND_KEYS 64   /* 256 B of the sender's stack, with a write batch only */

_Static_assert(WS_CLIENT_KEY_POOL >= 4 && WS_CLIENT_KEY_POOL % 4 == 0, "WS_CLIENT_KEY_POOL: whole 4-byte keys");

static uint32_t remaining_ms(uint32_t start, uint32_t now, int32_t timeout_ms)
{
    if (timeout_ms < 0) {
        return UINT32_MAX;
    }
    uint32_t spent = now - start;
    return spent >= (uint32_t)timeout_ms ? 0 : (uint32_t)timeout_ms - spent;
}

static int32_t as_timeout(uint32_t remaining, int32_t timeout_ms)
{
    if (timeout_ms < 0) {
        return WS_PORT_WAIT_FOREVER;
    }
    return remaining > INT32_MAX ? INT32_MAX : (int32_t)remaining;
}

/* Makes sure the pool holds at least `n` (<= its size) unused keys. A refill is one call to the
 * strong source for the whole pool; each key leaves the pool once. */
static void keys_ensure(esp_websocket_client_handle_t c, uint32_t n)
{
    if (c->keys_left < n) {
        ws_port_random(c->keys, sizeof c->keys);
        c->keys_left = WS_CLIENT_KEY_POOL / 4;
    }
}

uint32_t ws_client_mask_key(esp_websocket_client_handle_t c)
{
    keys_ensure(c, 1);
    c->keys_left--;
    uint32_t key = c->keys[c->keys_left];
    c->keys[c->keys_left] = 0;
    return key;
}

void ws_client_mask_keys_peek(esp_websocket_client_handle_t c, uint32_t *key1, uint32_t *key2)
{
    keys_ensure(c, 2);
    *key1 = c->keys[c->keys_left - 1];
    *key2 = c->keys[c->keys_left - 2];
}

void ws_client_mask_keys_spent(esp_websocket_client_handle_t c)
{
    c->keys_left -= 2;
    c->keys[c->keys_left] = 0;
    c->keys[c->keys_left + 1] = 0;
}

int ws_client_write_ctl(esp_websocket_client_handle_t c)
{
    uint32_t n = ws_engine_io(&c->slot, WSE_C_CTL_LEN);
    if (n == 0) {
        return 0;
    }
    int w = ws_port_write(c->conn, ws_engine_ptr(&c->slot, ws_engine_io(&c->slot, WSE_C_CTL_PTR)), n,
                          c->cfg.network_timeout_ms);
    if (w == (int)n) {
        return 0;
    }
    if (w >= 0) {
        w = WS_PORT_ERR_PARTIAL;
    }
    ws_port_get_error(c->conn, &c->tx_error);
    c->tx_broken = true;
    return w;
}

/* Marks the stream broken after a failed write (tx_lock held); the task tears down. */
static int broken(esp_websocket_client_handle_t c, int port_rc)
{
    ws_port_get_error(c->conn, &c->tx_error);
    c->tx_broken = true;
    ESP_LOGE(TAG, "write failed (%s): the connection will be dropped", ws_port_strerror(port_rc));
    return port_rc < 0 ? port_rc : WS_PORT_ERR_PARTIAL;
}

int ws_client_send(esp_websocket_client_handle_t c, uint32_t opcode, bool fin, const uint8_t *data, int len,
                   int32_t timeout_ms, int32_t *refused)
{
    if (refused != NULL) {
        *refused = 0;
    }
    if (c == NULL || len < 0 || (data == NULL && len > 0)) {
        return -1;
    }
    if (atomic_load(&c->state) != WS_STATE_CONNECTED) {
        ESP_LOGE(TAG, "Websocket client is not connected");
        return -1;
    }
    uint32_t start = ws_port_now_ms();
    if (ws_port_mutex_lock(c->tx_lock, timeout_ms) != WS_PORT_OK) {
        ESP_LOGE(TAG, "could not take the send lock in time");
        return -1;
    }
    if (c->conn == NULL || c->slot.inst == NULL || c->tx_broken || atomic_load(&c->state) != WS_STATE_CONNECTED) {
        ws_port_mutex_unlock(c->tx_lock);
        return -1;
    }
    uint8_t *tx = ws_engine_ptr(&c->slot, ws_engine_io(&c->slot, WSE_C_TX_PTR));
    /* Frames are built one at a time in the tx window. With a write batch (WS_PORT_WRITE_BATCH,
     * on this task's stack) they are gathered there and written several per call: the same
     * bytes, fewer system calls. */
#if WS_PORT_WRITE_BATCH > 0
    uint8_t batch[WS_PORT_WRITE_BATCH];
#else
    uint8_t *batch = NULL;
#endif
    uint32_t frame_max = WSE_TX_HDR + c->chunk;
    bool batching = (uint32_t)WS_PORT_WRITE_BATCH >= 2 * frame_max;   /* 0: never */
    uint32_t held = 0;    /* bytes of built frames in batch, not yet written */
    /* A batched message's mask keys come from one random call per WS_CLIENT_SEND_KEYS frames
     * (each key used once, for one frame of this call), not from the pool's 16. */
#if WS_PORT_WRITE_BATCH > 0
    uint32_t keys[WS_CLIENT_SEND_KEYS];
#else
    uint32_t keys[1];   /* not used: no batching */
#endif
    uint32_t keys_max = sizeof keys / sizeof keys[0];
    uint32_t keys_left = 0;
    uint32_t total = (uint32_t)len;
    uint32_t built = 0;   /* payload bytes in frames built */
    uint32_t sent = 0;    /* payload bytes in frames written */
    int result = -1;
    /* The clock, for the engine and the time bound, is read again after each write (where time
     * passes), not per frame: the frames of one batch are built within microseconds. */
    uint32_t now = ws_port_now_ms();
    do {
        uint32_t n = total - built < c->chunk ? total - built : c->chunk;
        bool last = built + n == total;
        if (n > 0) {
            ws_engine_copy_in(tx + WSE_TX_HDR, data + built, n);   /* word-wise where libc's memcpy may not be */
        }
        uint32_t key;
        if (batching && total > c->chunk) {
            if (keys_left == 0) {
                uint32_t frames = (total - built + c->chunk - 1) / c->chunk;
                keys_left = frames < keys_max ? frames : keys_max;
                ws_port_random(keys, keys_left * sizeof keys[0]);
            }
            key = keys[--keys_left];
        } else {
            key = ws_client_mask_key(c);
        }
        uint32_t flags = (built == 0 ? opcode : WS_TRANSPORT_OPCODES_CONT) | (last && fin ? 0x80u : 0u);
        int32_t s = ws_engine_send(&c->slot, flags, n, key, now);
        if (s < 0) {
            ESP_LOGE(TAG, "frame refused: %s", ws_engine_strerror(s));
            /* Nothing of this frame went out; after earlier frames of the message the peer holds
             * (or the engine counts as sent) an unfinished message, which only a new connection
             * can clear. */
            if (built == 0 && refused != NULL) {
                *refused = s;
            }
            result = built == 0 ? -1 : broken(c, WS_PORT_ERR_PARTIAL);
            break;
        }
        uint32_t frame = WSE_TX_HDR - (uint32_t)s + n;
        built += n;
        const uint8_t *out = tx + s;
        uint32_t out_len = frame;
        if (batching) {
            memcpy(batch + held, tx + s, frame);
            held += frame;
            if (!last && held + frame_max <= (uint32_t)WS_PORT_WRITE_BATCH) {
                continue;   /* room for the next frame */
            }
            out = batch;
            out_len = held;
        }
        /* Every write but the call's last goes out with the "more follows" hint: the frames of one
         * message then leave in a few segments rather than one each (the last write pushes). */
        int32_t left = as_timeout(remaining_ms(start, now, timeout_ms), timeout_ms);
        int w = last ? ws_port_write(c->conn, out, out_len, left) : ws_port_write_more(c->conn, out, out_len, left);
        if (w == (int)out_len) {
            sent = built;
            held = 0;
            result = (int)sent;
            if (!last) {
                now = ws_port_now_ms();
            }
            continue;
        }
        if (w == WS_PORT_ERR_TIMEOUT && sent == 0 && (last && fin)) {
            /* Nothing went out and this write held the whole message: the stream is intact. */
            ESP_LOGW(TAG, "send timed out before any byte was written; the connection is kept");
            result = -1;
        } else {
            result = broken(c, w);
        }
        break;
    } while (built < total);
    ws_port_mutex_unlock(c->tx_lock);
    return result;
}
