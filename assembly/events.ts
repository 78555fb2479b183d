// Event records: what one engine call reports back to C.
//
// Each call (recv, tick) writes up to ev_cap records of EV_SIZE bytes into the connection's event
// area and sets C_EV_COUNT. A record is eight u32 words:
//   type, opcode, fin, ptr, len, a, b, code
// `ptr`/`len` point into linear memory (the rx window) and stay valid until the next call on the
// same connection. The meaning of a, b and code depends on the type (see Ev).

import { C_EV_PTR, C_EV_COUNT, C_EV_CAP } from "./layout";

export const EV_SIZE: u32 = 32;

export const enum Ev {
  /** One response header line, without its CRLF (ptr/len). */
  HEADER = 1,
  /** A 3xx response's Location value (ptr/len, trimmed); b = HTTP status. */
  REDIRECT = 2,
  /** Opening handshake complete; the connection is OPEN. */
  OPEN = 3,
  /** A chunk of a frame's payload: opcode, fin, ptr/len; a = frame payload length, b = offset. */
  DATA = 4,
  /** The server's Close: code = its status (1005 if none), ptr/len = reason. */
  CLOSE = 5,
  /** The connection failed: code = Err, a = close code sent (0 none), b = HTTP status (handshake). */
  ERROR = 6,
}

/** Free event records left in this call. Parsers check for room before each step. */
// @ts-ignore: decorator
@inline export function evRoom(c: usize): u32 {
  return load<u32>(c, C_EV_CAP) - load<u32>(c, C_EV_COUNT);
}

/** Appends one event; returns false (and writes nothing) when the event area is full. */
export function emit(c: usize, type: u32, opcode: u32, fin: u32, ptr: u32, len: u32, a: u32, b: u32, code: u32): bool {
  let n = load<u32>(c, C_EV_COUNT);
  if (n >= load<u32>(c, C_EV_CAP)) return false;
  evWrite(<usize>load<u32>(c, C_EV_PTR) + <usize>(n * EV_SIZE), type, opcode, fin, ptr, len, a, b, code);
  store<u32>(c, n + 1, C_EV_COUNT);
  return true;
}

/**
 * Writes one record at `e` (inlined: the form for hot loops, which keep the count and the record
 * address in locals, check for room themselves and store C_EV_COUNT once). b and code go as one
 * u64 store: with both constant 0 that is one store of a constant.
 */
// @ts-ignore: decorator
@inline export function evWrite(e: usize, type: u32, opcode: u32, fin: u32, ptr: u32, len: u32, a: u32, b: u32, code: u32): void {
  store<u32>(e, type, 0);
  store<u32>(e, opcode, 4);
  store<u32>(e, fin, 8);
  store<u32>(e, ptr, 12);
  store<u32>(e, len, 16);
  store<u32>(e, a, 20);
  store<u64>(e, <u64>b | (<u64>code << 32), 24);
}
