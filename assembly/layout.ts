// Linear-memory layout shared by every part of the engine and by the C binding.
//
// init() carves one block of linear memory into: a scratch area (URI parsing), then for every
// connection slot a 256-byte record followed by its regions (rx window, tx window, control-frame
// output, event records). All addresses are absolute offsets into linear memory. The first
// IO_WORDS words of a record are the I/O block that C reads directly after each call (their
// offsets are written into the generated ABI header); the rest is private to the engine and
// split into areas, each owned by one module.

/** Size of one connection record. */
export const CONN_SIZE: u32 = 256;

// ---- I/O block: C reads these after every call (u32 each). Do not reorder. ----
export const C_RX_PTR: u32 = 0;        // rx window start
export const C_RX_CAP: u32 = 4;        // rx window size in bytes
export const C_TX_PTR: u32 = 8;        // tx window start: frames are built in [tx, tx + TX_HDR + tx_cap)
export const C_TX_CAP: u32 = 12;       // largest payload of one outgoing frame
export const C_CTL_PTR: u32 = 16;      // control-frame output (PONG, CLOSE, PING) to write to the socket
export const C_CTL_LEN: u32 = 20;      // bytes waiting in the control output after the last call
export const C_EV_PTR: u32 = 24;       // event records (EV_SIZE bytes each)
export const C_EV_COUNT: u32 = 28;     // events written by the last call
export const C_EV_CAP: u32 = 32;       // capacity of the event area
export const C_KEEP_OFF: u32 = 36;     // offset in the rx window of the bytes the engine kept
export const C_KEEP_LEN: u32 = 40;     // how many bytes it kept (move them to the window start)
export const C_MORE: u32 = 44;         // 1: the event area filled up; call recv again with n = keep
export const C_STATE: u32 = 48;        // State
export const C_ERROR: u32 = 52;        // last Err that failed the connection, 0 if none
export const C_CLOSE_RX: u32 = 56;     // status code of the server's Close (1005 when it had none)
export const C_CLOSE_TX: u32 = 60;     // status code of the Close we sent (1005 when empty)
export const IO_WORDS: u32 = 16;

// ---- Configuration (set through conn_config; defaults applied by conn_reset). ----
export const C_CFG_PING_MS: u32 = 64;      // ping interval, 0 = never
export const C_CFG_PONG_MS: u32 = 68;      // pong timeout, 0 = never fail
export const C_CFG_CLOSE_MS: u32 = 72;     // close-handshake timeout
export const C_CFG_MAX_FRAME: u32 = 76;    // largest accepted frame payload
export const C_CFG_MAX_MSG: u32 = 80;      // largest accepted message (sum of its frames)
export const C_CFG_HS_LIMIT: u32 = 84;     // largest accepted response head (status line + headers)
export const C_CFG_UTF8: u32 = 88;         // bit 0: validate received text; bit 1: refuse invalid text on send
export const C_CFG_CHUNK: u32 = 92;        // DATA chunk size: every chunk but a frame's last (<= buf_size)

// ---- Private areas. ----
export const C_HS_AREA: u32 = 96;     // 96..175: handshake.ts (request/response state, expected accept)
export const C_HS_AREA_END: u32 = 176;
export const C_FR_AREA: u32 = 176;    // 176..255: frames/connection state (engine.ts, frame.ts)
export const C_FR_AREA_END: u32 = 256;

/** Connection states (C_STATE). */
export const enum State {
  IDLE = 0,        // reset, no handshake yet
  CONNECTING = 1,  // request built, waiting for the 101 response
  OPEN = 2,        // handshake done, frames flow
  CLOSING = 3,     // we sent a Close, waiting for the server's
  CLOSED = 4,      // close handshake finished (either side started it); drop TCP
  FAILED = 5,      // the connection failed (C_ERROR says why); drop TCP after sending ctl output
}

/** Room before the payload in the tx window: the largest client frame header (2 + 8 + 4 mask). */
export const TX_HDR: u32 = 14;
/** Largest client control frame on the wire: 2-byte header, 4-byte mask, 125 bytes. */
export const CTL_FRAME_MAX: u32 = 131;
/** Largest Close the engine queues itself: a status code only (its echo, or an error's code). */
export const CTL_CLOSE_MAX: u32 = 6 + 2;
/**
 * Control output of one call: at most one PONG (a later PING replaces it) and then one Close
 * (recv), or one empty PING (tick). The application's Close, with its reason, goes through the tx
 * window instead.
 */
export const CTL_CAP: u32 = CTL_FRAME_MAX + CTL_CLOSE_MAX;
/** Smallest rx window: a whole control frame (2 + 125) must fit, with room to spare. */
export const RX_MIN: u32 = 256;

/** conn_config parameter ids. */
export const enum Param {
  PING_INTERVAL_MS = 1,
  PONG_TIMEOUT_MS = 2,
  CLOSE_TIMEOUT_MS = 3,
  MAX_FRAME = 4,
  MAX_MESSAGE = 5,
  HS_LIMIT = 6,
  UTF8_POLICY = 7,
  CHUNK = 8,
}

/** Defaults applied by conn_reset. */
export const DEF_PING_MS: u32 = 10000;
export const DEF_PONG_MS: u32 = 120000;
export const DEF_CLOSE_MS: u32 = 5000;
export const DEF_MAX_FRAME: u32 = 0x7fffffff;
export const DEF_MAX_MSG: u32 = 0x7fffffff;
export const DEF_HS_LIMIT: u32 = 4096;
export const DEF_UTF8: u32 = 1;
