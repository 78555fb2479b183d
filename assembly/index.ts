// engine.wasm: the exports of the Sans-I/O RFC 6455 client engine (contract: docs/engine-abi.md).
//
// Each export validates what C passes (init done, slot in range, arguments) and hands over to
// the module that does the work. Misuse returns -Err; peer behaviour never does (it becomes
// ERROR events). No export traps on any argument value.

import { C_RX_CAP, C_TX_CAP } from "./layout";
import { Err, errCloseCode } from "./errors";
import { engineInit, connOf, scratchAddr, scratchSize, connReset, connConfig } from "./conn";
import { recvCall } from "./frame";
import { sendFrame } from "./send";
import { tickCall } from "./timers";
import { uriParse } from "./uri";
import { hsRequest } from "./handshake";
import { maskCopy } from "./kernels/mask";
import { utf8Check } from "./kernels/utf8";

/** URI input offset in the scratch area (the result record comes first). */
const URI_IN: u32 = 64;

/** Lays out max_conns slots; returns the layout's end address or -Err. */
export function init(max_conns: i32, buf_size: i32, ev_cap: i32, scratch_size: i32): i32 {
  return engineInit(max_conns, buf_size, ev_cap, scratch_size);
}

/** Address of the slot's record, or -Err. */
export function conn(slot: i32): i32 {
  return connOf(slot);
}

/** Address of the scratch area, or -NOT_INIT. */
export function scratch(): i32 {
  return scratchAddr();
}

/** Makes the slot IDLE with the default configuration. */
export function conn_reset(slot: i32): i32 {
  let c = connOf(slot);
  if (c < 0) return c;
  connReset(<usize>c);
  return 0;
}

/** Sets one Param of the slot. */
export function conn_config(slot: i32, param: i32, value: u32): i32 {
  let c = connOf(slot);
  if (c < 0) return c;
  return connConfig(<usize>c, param, value);
}

/** Parses the URI C wrote at scratch() + 64; the result record goes to scratch(). */
export function uri_parse(len: i32): i32 {
  let s = scratchAddr();
  if (s < 0) return s;
  if (<u32>len > scratchSize() - URI_IN) return -Err.URI_TOO_LONG;
  let r = uriParse(<usize>s + URI_IN, <usize>len, <usize>s);
  return r > 0 ? -r : r;
}

/** Builds the opening handshake request in the slot's tx window from the inputs in its rx window. */
export function hs_request(slot: i32, port: u32, host_len: u32, path_len: u32, proto_len: u32, ua_len: u32,
                           auth_len: u32, hdr_len: u32): i32 {
  let c = connOf(slot);
  if (c < 0) return c;
  return hsRequest(<usize>c, port, host_len, path_len, proto_len, ua_len, auth_len, hdr_len);
}

/** Processes the first n bytes of the rx window; returns the number of events. */
export function recv(slot: i32, n: i32, now_ms: u32, key1: u32, key2: u32): i32 {
  let c = connOf(slot);
  if (c < 0) return c;
  if (<u32>n > load<u32>(<usize>c, C_RX_CAP)) return -Err.BAD_ARG;
  return recvCall(<usize>c, <u32>n, now_ms, key1, key2);
}

/** Frames the payload at tx + 14; returns the frame's start offset in the tx window. */
export function send(slot: i32, opflags: u32, len: i32, key: u32, now_ms: u32): i32 {
  let c = connOf(slot);
  if (c < 0) return c;
  if (<u32>len > load<u32>(<usize>c, C_TX_CAP)) return -Err.SEND_TOO_LONG;
  return sendFrame(<usize>c, opflags, <u32>len, key, now_ms);
}

/** Runs the slot's timers; returns the number of events. */
export function tick(slot: i32, now_ms: u32, key: u32): i32 {
  let c = connOf(slot);
  if (c < 0) return c;
  return tickCall(<usize>c, now_ms, key);
}

/** The close code that goes with an error (0: none). */
export function err_close_code(err: i32): i32 {
  return errCloseCode(err);
}

// The kernels' scalar references (maskCopyRef, utf8CheckRef) are not exported: wasm3 would keep
// and compile them on the device for nothing. Specs import them from assembly/kernels/, and
// bench/kernels_entry.ts exports them for the benches.

/** Masking kernel: dst[i] = src[i] ^ key_byte[(i + phase) & 3]. */
export function k_mask(dst: usize, src: usize, len: usize, key: u32, phase: u32): void {
  maskCopy(dst, src, len, key, phase);
}

/** UTF-8 chunk check: 0 valid, 1..3 unfinished tail, -1 invalid. */
export function k_utf8(ptr: usize, len: usize): i32 {
  return utf8Check(ptr, len);
}
