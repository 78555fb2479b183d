// Event records: what one engine call reports back to C.
//
// Each call (recv, tick) writes up to ev_cap records of EV_SIZE bytes into the connection's event
// area and sets C_EV_COUNT. A record has two forms, told apart by bit 31 of its first word:
// - full (bit 31 set), five u32 words: kind, ptr, len, a, b. kind packs the small fields: bits 0-7
//   opflags (opcode | 0x80 for FIN: the first byte of the frame, the form `send` takes), bits
//   8-15 the event type, bits 16-30 code, bit 31 EV_FULL.
// - short (bit 31 clear), one word: a DATA event for a whole data frame with a 7-bit length (the
//   common small message), the word being the address of the frame's first byte (addresses are
//   below 2^30: init keeps the layout under 1 GiB). The frame's 2-byte header holds the rest:
//   opflags = its first byte, len = a = its second, the payload right after it, b = 0, code = 0.
//   The other four words are not written.
// The receive loop writes one record per small message, and on wasm3 each store is a byte-wise
// copy (about 34 rv32 instructions on a strict-alignment core): one store instead of eight. C
// reads records through one decoder (ws_engine_event_at).
// `ptr`/`len` point into linear memory (the rx window) and stay valid until the next call on the
// same connection. The meaning of a, b and code depends on the type (see Ev).

import { C_EV_PTR, C_EV_COUNT, C_EV_CAP } from "./layout";

export const EV_SIZE: u32 = 20;
export const EV_KIND: u32 = 0; // opflags | type << 8 | code << 16 | EV_FULL
export const EV_PTR: u32 = 4;
export const EV_LEN: u32 = 8;
export const EV_A: u32 = 12;
export const EV_B: u32 = 16;
export const EV_FIN: u32 = 0x80; // in opflags
export const EV_FULL: u32 = 0x80000000; // set in a full record's kind; a short record is a frame address

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
  evWrite(<usize>load<u32>(c, C_EV_PTR) + <usize>(n * EV_SIZE), opcode | (fin << 7) | (type << 8) | (code << 16) | EV_FULL, ptr, len, a, b);
  store<u32>(c, n + 1, C_EV_COUNT);
  return true;
}

/**
 * Writes one record at `e` from its kind word (see above; inlined: the form for hot loops, which
 * keep the record address in a local, check for room themselves and store C_EV_COUNT once).
 */
// @ts-ignore: decorator
@inline export function evWrite(e: usize, kind: u32, ptr: u32, len: u32, a: u32, b: u32): void {
  store<u32>(e, kind, EV_KIND);
  store<u32>(e, ptr, EV_PTR);
  store<u32>(e, len, EV_LEN);
  store<u32>(e, a, EV_A);
  store<u32>(e, b, EV_B);
}
