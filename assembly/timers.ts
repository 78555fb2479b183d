// Timers, driven by tick(now): keep-alive PING, PONG timeout, close-handshake timeout.
//
// The engine reads no clock; `now` is a wrapping u32 millisecond value supplied by the caller,
// and only differences `now - then` (u32 arithmetic, correct across the wrap) are used.

import { C_STATE, C_EV_COUNT, C_CTL_LEN, C_MORE, C_CFG_PING_MS, C_CFG_PONG_MS, C_CFG_CLOSE_MS, State } from "./layout";
import { Err } from "./errors";
import { F_PING_OUT, F_PING_SINCE, F_LAST_PING, F_CLOSE_AT } from "./conn";
import { fail, ctlPing } from "./send";

/** Timers of a connection that just opened: the first PING is due one interval after `now`. */
export function timersStart(c: usize, now: u32): void {
  store<u32>(c, 0, F_PING_OUT);
  store<u32>(c, now, F_PING_SINCE);
  store<u32>(c, now, F_LAST_PING);
}

/**
 * The `tick` export after slot validation. OPEN: fails with PONG_TIMEOUT when a PING has been
 * unanswered for the pong timeout (no Close is queued: the peer is presumed gone), else queues
 * an empty PING (masked with `key`) when the ping interval has passed. CLOSING: fails with
 * CLOSE_TIMEOUT when the server has not answered our Close within the close timeout.
 * Returns the number of events (0 or 1).
 */
export function tickCall(c: usize, now: u32, key: u32): i32 {
  store<u32>(c, 0, C_EV_COUNT);
  store<u32>(c, 0, C_CTL_LEN);
  store<u32>(c, 0, C_MORE);
  let state = load<u32>(c, C_STATE);
  if (state == State.OPEN) {
    let pongMs = load<u32>(c, C_CFG_PONG_MS);
    if (pongMs != 0 && load<u32>(c, F_PING_OUT) != 0 && now - load<u32>(c, F_PING_SINCE) >= pongMs) {
      fail(c, Err.PONG_TIMEOUT, 0);
    } else {
      let pingMs = load<u32>(c, C_CFG_PING_MS);
      if (pingMs != 0 && now - load<u32>(c, F_LAST_PING) >= pingMs) {
        ctlPing(c, key);
        store<u32>(c, now, F_LAST_PING);
        if (load<u32>(c, F_PING_OUT) == 0) {
          store<u32>(c, 1, F_PING_OUT);
          store<u32>(c, now, F_PING_SINCE);
        }
      }
    }
  } else if (state == State.CLOSING) {
    if (now - load<u32>(c, F_CLOSE_AT) >= load<u32>(c, C_CFG_CLOSE_MS)) fail(c, Err.CLOSE_TIMEOUT, 0);
  }
  return <i32>load<u32>(c, C_EV_COUNT);
}
