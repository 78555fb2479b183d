// The send path (RFC 6455 §5.1-§5.3: client frames are always masked) and the control output.
//
// send(): C copies the payload to tx + TX_HDR; the engine checks the frame against the message
// sequence (§5.4), writes the header immediately before the payload and masks the payload in
// place, so the frame is one contiguous run [tx + s, tx + TX_HDR + len).
//
// Control output: PONG, CLOSE and PING frames the engine queues by itself go to the slot's ctl
// region; C writes C_CTL_LEN bytes of it after each call, before any further data frame
// (control frames overtake data, §5.4). Within one call it holds at most one PONG, then at most
// one CLOSE; a tick queues one PING. recv and tick start with an empty output.

import {
  C_STATE, C_ERROR, C_CLOSE_TX, C_CTL_PTR, C_CTL_LEN, C_TX_PTR, C_TX_CAP, C_CFG_UTF8, TX_HDR, State,
} from "./layout";
import { Ev, emit } from "./events";
import { Err, errCloseCode } from "./errors";
import { F_SMSG, F_SUTF8, F_CLOSE_AT } from "./conn";
import { maskCopy, maskInPlace } from "./kernels/mask";
import { utf8Check, utf8StreamReset, utf8StreamFeed, utf8StreamDone } from "./kernels/utf8";

const OP_CONT: u32 = 0x0;
const OP_TEXT: u32 = 0x1;
const OP_BINARY: u32 = 0x2;
const OP_CLOSE: u32 = 0x8;
const OP_PING: u32 = 0x9;
const OP_PONG: u32 = 0xa;
const FIN: u32 = 0x80;

/**
 * Whether a Close status code may be sent in a Close frame (RFC 6455 §7.4.1, §7.4.2 and the IANA
 * registry of §11.7): 1000-1003, 1007-1014 and 3000-4999. 1004 is reserved, 1005, 1006 and 1015
 * must never be sent, 1016-2999 are reserved for the protocol, the rest is out of range.
 */
export function closeCodeOk(code: u32): bool {
  if (code < 1000 || code >= 5000) return false;
  if (code >= 3000) return true;
  return code <= 1014 && (code < 1004 || code > 1006);
}

/**
 * Writes a client frame header so that it ends at `end` (where the payload starts): the
 * FIN/opcode byte `b0`, the MASK bit with the minimal length encoding (§5.2: 7 bits up to 125,
 * 16 bits up to 65535, else 64 bits) and the 4 mask-key bytes (key's low byte first, the order
 * maskCopy applies them). Returns the header's first byte.
 */
function putHeader(end: usize, b0: u32, len: u32, key: u32): usize {
  store<u32>(end - 4, key);
  let h: usize;
  if (len < 126) {
    h = end - 6;
    store<u8>(h, <u8>(0x80 | len), 1);
  } else if (len < 65536) {
    h = end - 8;
    store<u8>(h, 0xfe, 1);
    store<u16>(h, bswap<u16>(<u16>len), 2);
  } else {
    h = end - 14;
    store<u8>(h, 0xff, 1);
    store<u32>(h, 0, 2);
    store<u32>(h, bswap<u32>(len), 6);
  }
  store<u8>(h, <u8>b0);
  return h;
}

/** Appends a control frame with payload [src, src + len) (len <= 125) to the control output. */
function ctlAppend(c: usize, op: u32, src: usize, len: u32, key: u32): void {
  let n = load<u32>(c, C_CTL_LEN);
  let pay = <usize>load<u32>(c, C_CTL_PTR) + <usize>n + 6;
  putHeader(pay, FIN | op, len, key);
  maskCopy(pay, src, len, key, 0);
  store<u32>(c, n + 6 + len, C_CTL_LEN);
}

/**
 * Queues the PONG answering a PING whose payload is [src, src + len) (§5.5.3: the same
 * "Application data"). It replaces a PONG queued earlier in the same call: "an endpoint MAY elect
 * to send a Pong frame for only the most recently processed Ping frame". Only called while the
 * output holds nothing but a PONG (a CLOSE ends the input).
 */
export function ctlPong(c: usize, src: usize, len: u32, key: u32): void {
  store<u32>(c, 0, C_CTL_LEN);
  ctlAppend(c, OP_PONG, src, len, key);
}

/** Queues an empty PING. */
export function ctlPing(c: usize, key: u32): void {
  ctlAppend(c, OP_PING, 0, 0, key);
}

/** Queues a CLOSE carrying `code` (§5.5.1: a 2-byte big-endian status), or an empty one for code 0. */
export function ctlClose(c: usize, code: u32, key: u32): void {
  let n = load<u32>(c, C_CTL_LEN);
  let pay = <usize>load<u32>(c, C_CTL_PTR) + <usize>n + 6;
  let len: u32 = code != 0 ? 2 : 0;
  putHeader(pay, FIN | OP_CLOSE, len, key);
  if (len != 0) {
    store<u16>(pay, bswap<u16>(<u16>code));
    maskInPlace(pay, len, key);
  }
  store<u32>(c, n + 6 + len, C_CTL_LEN);
}

/**
 * Fails the connection (RFC 6455 §7.1.7): queues a Close with the error's close code unless we
 * already sent one (or the error has none), emits ERROR (code = err, a = the close code queued,
 * 0 for none) and moves to FAILED. The caller stops reading: the rest of the input is discarded.
 * The caller guarantees a free event record.
 */
export function fail(c: usize, err: Err, key: u32): void {
  let cc = <u32>errCloseCode(err);
  if (cc != 0 && load<u32>(c, C_CLOSE_TX) == 0) {
    ctlClose(c, cc, key);
    store<u32>(c, cc, C_CLOSE_TX);
  } else {
    cc = 0;
  }
  emit(c, Ev.ERROR, 0, 0, 0, 0, cc, 0, err);
  store<u32>(c, err, C_ERROR);
  store<u32>(c, State.FAILED, C_STATE);
}

/**
 * Frames one outgoing frame (the `send` export). The payload is at tx + TX_HDR, `len` bytes.
 * Returns the frame's start offset in the tx window, or -Err with nothing changed. The caller (the
 * export) has checked len <= tx_cap.
 *
 * Inlined into the export with only the common case: a whole TEXT/BINARY message (FIN) while
 * OPEN, no Close sent, no fragmented message open, and no text check to make (UTF8_POLICY bit 1
 * clear, or binary). Everything else, and every refusal, goes to sendChecked, which applies all
 * the rules; for this case both do the same thing. Kept apart because wasm3 copies a function's
 * constant table on every call (sendChecked's error codes and limits). A small frame's header
 * and mask are written here without a call; up to 65535 bytes the header is written here and
 * only the mask (maskInPlace) is a call.
 */
// @ts-ignore: decorator
@inline export function sendFrame(c: usize, opflags: u32, len: u32, key: u32, now: u32): i32 {
  if (opflags - (FIN | OP_TEXT) < 2 && load<u32>(c, C_STATE) == State.OPEN && load<u32>(c, C_CLOSE_TX) == 0 &&
      load<u32>(c, F_SMSG) == 0 && (opflags == (FIN | OP_BINARY) || (load<u32>(c, C_CFG_UTF8) & 2) == 0)) {
    let tx = <usize>load<u32>(c, C_TX_PTR);
    let pay = tx + TX_HDR;
    if (len < 126) {
      // §5.2: FIN/opcode, MASK | 7-bit length, the 4 key bytes; the frame starts at TX_HDR - 6.
      store<u16>(tx, <u16>(opflags | ((0x80 | len) << 8)), TX_HDR - 6);
      store<u32>(tx, key, TX_HDR - 4);
      maskSmall(pay, len, key);
      return <i32>(TX_HDR - 6);
    }
    if (len < 65536) {
      // FIN/opcode, MASK | 126, the 16-bit length (network order), the key; from TX_HDR - 8.
      store<u32>(tx, opflags | 0xfe00 | ((len >> 8) << 16) | (len << 24), TX_HDR - 8);
      store<u32>(tx, key, TX_HDR - 4);
      maskInPlace(pay, len, key);
      return <i32>(TX_HDR - 8);
    }
    let s = putHeader(pay, opflags, len, key);
    maskInPlace(pay, len, key);
    return <i32>(s - tx);
  }
  return sendChecked(c, opflags, len, key, now);
}

/**
 * maskCopy in place for a payload of at most 125 bytes, inline: words, then at most one u32 and
 * 3 bytes (the key stays in phase over whole words; the bytes take the key's low bytes in order).
 */
// @ts-ignore: decorator
@inline function maskSmall(p: usize, len: u32, key: u32): void {
  let end = p + <usize>len;
  let k64 = (<u64>key << 32) | <u64>key;
  while (p + 8 <= end) {
    store<u64>(p, load<u64>(p) ^ k64);
    p += 8;
  }
  if (p + 4 <= end) {
    store<u32>(p, load<u32>(p) ^ key);
    p += 4;
  }
  while (p < end) {
    store<u8>(p, load<u8>(p) ^ <u8>key);
    key >>>= 8;
    p++;
  }
}

/** sendFrame with every rule checked (see docs/engine-abi.md "Sending"). */
function sendChecked(c: usize, opflags: u32, len: u32, key: u32, now: u32): i32 {
  let state = load<u32>(c, C_STATE);
  // §5.5.1: "After sending a Close frame, the endpoint MUST NOT send any more data frames."
  if (load<u32>(c, C_CLOSE_TX) != 0 || state == State.CLOSING) return -Err.CLOSE_SENT;
  if (state != State.OPEN) return -Err.NOT_OPEN;
  if ((opflags & ~(FIN | 0xf)) != 0) return -Err.SEND_OPCODE; // RSV bits: no extension negotiated
  if (len > load<u32>(c, C_TX_CAP)) return -Err.SEND_TOO_LONG;
  let op = opflags & 0xf;
  let fin = opflags & FIN;
  let tx = <usize>load<u32>(c, C_TX_PTR);
  let pay = tx + TX_HDR;
  let strict = (load<u32>(c, C_CFG_UTF8) & 2) != 0;
  let smsg = load<u32>(c, F_SMSG);
  let text = false;
  let closeCode: u32 = 0;

  if (op >= OP_CLOSE) {
    // §5.5: control frames are never fragmented and carry at most 125 bytes; they may be
    // injected between the fragments of a message.
    if (op > OP_PONG || fin == 0) return -Err.SEND_OPCODE;
    if (len > 125) return -Err.SEND_CTRL_TOO_LONG;
    if (op == OP_CLOSE) {
      closeCode = 1005;
      if (len == 1) return -Err.SEND_CLOSE_CODE; // §5.5.1: a body starts with a 2-byte code
      if (len >= 2) {
        closeCode = <u32>bswap<u16>(load<u16>(pay));
        if (!closeCodeOk(closeCode)) return -Err.SEND_CLOSE_CODE;
        if (strict && utf8Check(pay + 2, len - 2) != 0) return -Err.SEND_UTF8;
      }
    }
  } else if (op == OP_CONT) {
    if (smsg == 0) return -Err.SEND_CONT_NO_MSG;
    text = smsg == OP_TEXT;
  } else if (op <= OP_BINARY) {
    if (smsg != 0) return -Err.SEND_MSG_OPEN;
    text = op == OP_TEXT;
  } else {
    return -Err.SEND_OPCODE;
  }

  if (text && strict) {
    // §8.1 for our own text: checked across fragments, completeness at the final fragment.
    // On failure the validator state is put back, so the message can go on with other data.
    let st = c + F_SUTF8;
    let saved = load<u64>(st);
    if (op == OP_TEXT) utf8StreamReset(st);
    if (!utf8StreamFeed(st, pay, len) || (fin != 0 && !utf8StreamDone(st))) {
      store<u64>(st, saved);
      return -Err.SEND_UTF8;
    }
  }

  if (op == OP_TEXT || op == OP_BINARY) {
    if (fin == 0) store<u32>(c, op, F_SMSG);
  } else if (op == OP_CONT && fin != 0) {
    store<u32>(c, 0, F_SMSG);
  }
  let s = putHeader(pay, op | fin, len, key);
  maskInPlace(pay, len, key);
  if (op == OP_CLOSE) {
    store<u32>(c, State.CLOSING, C_STATE);
    store<u32>(c, closeCode, C_CLOSE_TX);
    store<u32>(c, now, F_CLOSE_AT);
  }
  return <i32>(s - tx);
}
