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

_Static_assert(WS_CLIENT_KEY_POOL >= 4 && WS_CLIENT_KEY_POOL % 4 == 0, "WS_CLIENT_KEY_POOL: whole 4-byte keys");

static uint32_t remaining_ms(uint32_t start, int32_t timeout_ms)
{
    if (timeout_ms < 0) {
        return UINT32_MAX;
    }
    uint32_t spent = ws_port_now_ms() - start;
    return spent >= (uint32_t)timeout_ms ? 0 : (uint32_t)timeout_ms - spent;
}

static int32_t as_timeout(uint32_t remaining, int32_t timeout_ms)
{
    if (timeout_ms < 0) {
        return WS_PORT_WAIT_FOREVER;
    }
    return remaining > INT32_MAX ? INT32_MAX : (int32_t)remaining;
}

uint32_t ws_client_mask_key(esp_websocket_client_handle_t c)
{
    if (c->keys_left == 0) {
        /* One call to the strong source for a batch; each key below leaves the pool once. */
        ws_port_random(c->keys, sizeof c->keys);
        c->keys_left = WS_CLIENT_KEY_POOL / 4;
    }
    c->keys_left--;
    uint32_t key = c->keys[c->keys_left];
    c->keys[c->keys_left] = 0;
    return key;
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
    uint32_t total = (uint32_t)len;
    uint32_t sent = 0;
    int result = -1;
    do {
        uint32_t n = total - sent < c->chunk ? total - sent : c->chunk;
        bool last = sent + n == total;
        if (n > 0) {
            ws_engine_copy_in(tx + WSE_TX_HDR, data + sent, n);   /* word-wise where libc's memcpy may not be */
        }
        uint32_t key = ws_client_mask_key(c);
        uint32_t flags = (sent == 0 ? opcode : WS_TRANSPORT_OPCODES_CONT) | (last && fin ? 0x80u : 0u);
        int32_t s = ws_engine_send(&c->slot, flags, n, key, ws_port_now_ms());
        if (s < 0) {
            ESP_LOGE(TAG, "frame refused: %s", ws_engine_strerror(s));
            /* Nothing of this frame went out; after earlier frames of the message the peer holds
             * an unfinished message, which only a new connection can clear. */
            if (sent == 0 && refused != NULL) {
                *refused = s;
            }
            result = sent == 0 ? -1 : broken(c, WS_PORT_ERR_PARTIAL);
            break;
        }
        uint32_t frame = WSE_TX_HDR - (uint32_t)s + n;
        int w = ws_port_write(c->conn, tx + s, frame, as_timeout(remaining_ms(start, timeout_ms), timeout_ms));
        if (w == (int)frame) {
            sent += n;
            result = (int)sent;
            continue;
        }
        if (w == WS_PORT_ERR_TIMEOUT && sent == 0 && (last && fin)) {
            /* Nothing went out and the frame was a whole message: the stream is intact. */
            ESP_LOGW(TAG, "send timed out before any byte was written; the connection is kept");
            result = -1;
        } else {
            result = broken(c, w);
        }
        break;
    } while (sent < total);
    ws_port_mutex_unlock(c->tx_lock);
    return result;
}
