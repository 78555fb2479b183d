// The receive path: RFC 6455 §5 framing of server frames, and the recv() call around it.
//
// recvCall() parses every frame in [p, end) in one call (small whole data frames in its fast
// loop, everything else in recvFrames()) and can stop at any byte boundary:
// - A frame header is only consumed whole. A cut header stays in the input (C keeps the bytes
//   and hands them back first in the next call); parsing restarts from its first byte.
// - Data frame payload (TEXT, BINARY, CONT) is delivered in DATA chunks of exactly C_CFG_CHUNK
//   bytes, except the frame's last chunk (what remains, possibly fewer) and an empty frame (one
//   empty chunk). This is the shape esp_websocket_client gives (buffer_size bytes per DATA event
//   until the frame ends), and it does not depend on where socket reads ended. A chunk that is not
//   all here yet stays in the input like a cut header; F_REM carries the bytes still to come.
//   Why this never sticks: a kept partial chunk is shorter than CHUNK <= buf_size, and the rx
//   window is max(buf_size + 16, RX_MIN), so it is always shorter than the window, C can read more
//   behind it, and a full window always holds the whole chunk (likewise a header, <= 10 bytes, and
//   a control frame, <= 127 bytes < RX_MIN).
// - Control frames (CLOSE, PING, PONG: at most 125 bytes, §5.5) are only processed whole, so
//   C always sees them in one DATA event. A cut one stays in the input like a header.
// - Before each step at least 2 event records must be free (a Close needs DATA + CLOSE, a
//   failure needs ERROR); otherwise the call stops with C_MORE = 1.
// Every violation fails the connection through fail() (send.ts): ERROR event, a Close with the
// error's close code in the control output, state FAILED, the rest of the input discarded.

import {
  C_RX_PTR, C_STATE, C_MORE, C_EV_COUNT, C_EV_CAP, C_EV_PTR, C_CTL_LEN, C_KEEP_OFF, C_KEEP_LEN, C_CLOSE_RX, C_CLOSE_TX,
  C_CFG_MAX_FRAME, C_CFG_MAX_MSG, C_CFG_UTF8, C_CFG_CHUNK, State,
} from "./layout";
import { Ev, EV_SIZE, emit, evRoom } from "./events";
import { Err } from "./errors";
import { F_REM, F_FLEN, F_OFF, F_OP, F_FIN, F_MSG, F_MSG_TOTAL, F_VALIDATE, F_UTF8, F_PING_OUT } from "./conn";
import { fail, ctlPong, ctlClose, closeCodeOk } from "./send";
import { timersStart } from "./timers";
import { hsRecv } from "./handshake";
import { utf8Check, utf8CheckText, utf8StreamReset, utf8StreamFeed, utf8StreamDone } from "./kernels/utf8";

const OP_CONT: u32 = 0x0;
const OP_TEXT: u32 = 0x1;
const OP_CLOSE: u32 = 0x8;
const OP_PING: u32 = 0x9;
const OP_PONG: u32 = 0xa;

/**
 * The `recv` export after slot validation: processes the first `n` bytes of the rx window.
 * CONNECTING: the handshake parser, then, if the connection opened, frames from the rest of the
 * same bytes. OPEN, CLOSING: frames. Other states: the input is discarded.
 * key1 masks a PONG this call queues, key2 a CLOSE. Returns the number of events.
 * Inlined into the export: on wasm3 each call level costs some 300-1,000 rv32 instructions.
 */
// @ts-ignore: decorator
@inline export function recvCall(c: usize, n: u32, now: u32, key1: u32, key2: u32): i32 {
  store<u32>(c, 0, C_EV_COUNT);
  store<u32>(c, 0, C_CTL_LEN); // C wrote the previous call's control output
  store<u32>(c, 0, C_MORE);
  let rx = <usize>load<u32>(c, C_RX_PTR);
  let p = rx;
  let end = rx + <usize>n;
  let state = load<u32>(c, C_STATE);
  if (state == State.CONNECTING) {
    p = hsRecv(c, p, end);
    state = load<u32>(c, C_STATE);
    if (state == State.OPEN) framesStart(c, now);
  }
  if (state == State.OPEN || state == State.CLOSING) {
    // The fast loop here, the slow path in recvFrames, which comes back when the fast loop can
    // go on: when the fast loop takes all the input (many small messages), recvFrames is never
    // called. On wasm3 that call costs ~1,500 rv32 instructions, most of it the entry copying
    // recvFrames' constant table and zeroing its locals.
    let validate = load<u32>(c, C_CFG_UTF8) & 1;
    while (true) {
      if (fastOk(c, p, end)) p = fastFrames(c, p, end, validate);
      if (p >= end) break;
      p = recvFrames(c, p, end, key1, key2);
      if (!gFastNext) break;
    }
  } else if (state != State.CONNECTING) {
    p = end; // IDLE, CLOSED, FAILED: nothing more is read from this connection
  }
  store<u32>(c, <u32>(p - rx), C_KEEP_OFF);
  store<u32>(c, <u32>(end - p), C_KEEP_LEN);
  return <i32>load<u32>(c, C_EV_COUNT);
}

/** Frame state for a connection that just opened; timers start at `now`. */
function framesStart(c: usize, now: u32): void {
  store<u32>(c, 0, F_REM);
  store<u32>(c, 0, F_MSG);
  store<u32>(c, 0, F_MSG_TOTAL);
  store<u32>(c, 0, F_VALIDATE);
  timersStart(c, now);
}

/** Set by recvFrames when it stopped at a frame for the fast loop. */
let gFastNext = false;

/**
 * Parses the frames in [p, end). Returns where it stopped: `end`, the start of a cut header,
 * control frame or payload chunk, the next unprocessed byte when the event area filled
 * (C_MORE = 1), `end` after the connection failed or closed (the rest is discarded), or, with
 * gFastNext set, a frame for the fast loop.
 */
export function recvFrames(c: usize, p: usize, end: usize, key1: u32, key2: u32): usize {
  let chunk = load<u32>(c, C_CFG_CHUNK);
  let maxFrame = load<u32>(c, C_CFG_MAX_FRAME);
  gFastNext = false;
  let first = true;
  while (p < end) {
    // Back to the fast loop (in recvCall) after at least one step here, so that the two always
    // make progress, and only with room for its pairs (3 free records): otherwise this frame is
    // taken here.
    if (!first && fastOk(c, p, end) && evRoom(c) >= 3) {
      gFastNext = true;
      break;
    }
    first = false;
    if (evRoom(c) < 2) {
      store<u32>(c, 1, C_MORE);
      break;
    }
    let avail = <u32>(end - p);
    let rem = load<u32>(c, F_REM);
    if (rem != 0) {
      // Payload of the current data frame: the next chunk once all of it is here.
      let n = min(rem, chunk);
      if (avail < n) break;
      if (!deliver(c, p, n, key2)) return end;
      p += <usize>n;
      continue;
    }
    if (avail < 2) break;
    let h = <u32>load<u16>(p);

    // Slow path. §5.2: FIN, RSV1-3, opcode | MASK, 7-bit length [, 16/64-bit length].
    let b0 = h & 0xff;
    let b1 = h >>> 8;
    let op = b0 & 0xf;
    let fin = b0 >>> 7;
    // "MUST be 0 unless an extension is negotiated that defines meanings for non-zero values."
    if ((b0 & 0x70) != 0) { fail(c, Err.RSV, key2); return end; }
    // Opcodes 0x3-0x7 and 0xB-0xF are reserved: "MUST _Fail the WebSocket Connection_".
    if ((op > 0x2 && op < 0x8) || op > OP_PONG) { fail(c, Err.OPCODE, key2); return end; }
    // §5.1: "A client MUST close a connection if it detects a masked frame."
    if ((b1 & 0x80) != 0) { fail(c, Err.MASKED, key2); return end; }
    let len = b1 & 0x7f;

    if (op >= OP_CLOSE) {
      // §5.5: "All control frames MUST have a payload length of 125 bytes or less and MUST NOT
      // be fragmented."
      if (fin == 0) { fail(c, Err.CTRL_FRAGMENTED, key2); return end; }
      if (len > 125) { fail(c, Err.CTRL_TOO_LONG, key2); return end; }
      if (avail < len + 2) break; // processed whole only
      if (!control(c, op, p + 2, len, key1, key2)) return end;
      p += <usize>(len + 2);
      continue;
    }

    let hl: u32 = 2;
    let huge = false;
    if (len == 126) {
      if (avail < 4) break;
      len = <u32>bswap<u16>(load<u16>(p, 2));
      // §5.2: "the minimal number of bytes MUST be used to encode the length".
      if (len < 126) { fail(c, Err.LEN_NOT_MINIMAL, key2); return end; }
      hl = 4;
    } else if (len == 127) {
      if (avail < 10) break;
      let hi = bswap<u32>(load<u32>(p, 2));
      len = bswap<u32>(load<u32>(p, 6));
      // "the most significant bit MUST be 0"
      if ((hi >>> 31) != 0) { fail(c, Err.LEN_TOP_BIT, key2); return end; }
      if (hi == 0 && len < 65536) { fail(c, Err.LEN_NOT_MINIMAL, key2); return end; }
      huge = hi != 0 || len > 0x7fffffff; // over any MAX_FRAME
      hl = 10;
    }

    // §5.4 message sequence: a CONT needs a message in progress, TEXT/BINARY must not interrupt one.
    let msg = load<u32>(c, F_MSG);
    if (op == OP_CONT) {
      if (msg == 0) { fail(c, Err.CONT_NO_MSG, key2); return end; }
    } else if (msg != 0) {
      fail(c, Err.DATA_IN_MSG, key2);
      return end;
    }
    if (huge || len > maxFrame) { fail(c, Err.FRAME_TOO_BIG, key2); return end; }
    let total: u64 = op == OP_CONT ? <u64>load<u32>(c, F_MSG_TOTAL) : 0;
    total += <u64>len;
    if (total > <u64>load<u32>(c, C_CFG_MAX_MSG)) { fail(c, Err.MSG_TOO_BIG, key2); return end; }

    if (op != OP_CONT) {
      let validate: u32 = op == OP_TEXT ? load<u32>(c, C_CFG_UTF8) & 1 : 0;
      store<u32>(c, op, F_MSG);
      store<u32>(c, validate, F_VALIDATE);
      if (validate != 0) utf8StreamReset(c + F_UTF8);
    }
    store<u32>(c, <u32>total, F_MSG_TOTAL);
    store<u32>(c, op, F_OP);
    store<u32>(c, fin, F_FIN);
    store<u32>(c, len, F_FLEN);
    store<u32>(c, 0, F_OFF);
    store<u32>(c, len, F_REM);
    p += <usize>hl;
    if (len == 0 && !deliver(c, p, 0, key2)) return end; // an empty frame is one empty chunk
  }
  return p;
}

/**
 * Whether fastFrames may start at p: its first frame has the fast header (see there; tested first
 * so that other frames do not pay the rest), no frame or message is in progress, and no limit is
 * below 125 (the fast loop takes any 7-bit length; the defaults are far above, and with a smaller
 * limit every frame goes the slow path, which enforces it).
 */
// @ts-ignore: decorator
@inline function fastOk(c: usize, p: usize, end: usize): bool {
  return end - p >= 2 && ((<u32>load<u16>(p) + 0x17f) & 0x180fe) == 0 &&
    load<u32>(c, F_REM) == 0 && load<u32>(c, F_MSG) == 0 &&
    min(min(load<u32>(c, C_CFG_CHUNK), load<u32>(c, C_CFG_MAX_FRAME)), load<u32>(c, C_CFG_MAX_MSG)) >= 125;
}

/**
 * The fast loop of recv (recvCall), for the common case of small whole messages: while no frame or
 * message is in progress, consumes FIN TEXT/BINARY frames, unmasked, with a 7-bit length, all of
 * whose bytes are here, each one short DATA record (events.ts: one word, the frame's address;
 * its header says the rest). Entered when fastOk. Text is UTF-8 checked when `validate` is set;
 * such a frame carries no sequence from before (no message is in progress) and is whole and
 * final, so the plain chunk check decides it. Text that is not all ASCII goes to textRun when
 * more input follows it (the rest of the run is checked in one call), else to textOk. Returns
 * where it stopped: `end`, or the first frame it does not take (any other frame, a cut one, text
 * that fails the check: the slow path handles it, and fails the connection for bad text), or the
 * next frame when fewer than 2 event records are left.
 * Every wasm op counts here: wasm3 pays ~11 rv32 instructions per op and ~30 per load or store on
 * a strict-alignment core. So the loop keeps the record address, not the count, and tests it
 * once; and binary frames pass one header test (text that is validated fails it and is checked
 * on the side).
 */
// @ts-ignore: decorator
@inline function fastFrames(c: usize, p: usize, end: usize, validate: u32): usize {
  let base = <usize>load<u32>(c, C_EV_PTR);
  let e = base + <usize>(load<u32>(c, C_EV_COUNT) * EV_SIZE);
  let eLast = base + <usize>((load<u32>(c, C_EV_CAP) - 2) * EV_SIZE); // ev_cap >= 4; the slow path needs 2 free records
  // With h = byte0 | byte1 << 8, ((h + 0x17f) & 0x180fe) == 0 holds exactly for byte0 0x81 or
  // 0x82 and byte1 < 126 (checked over all 65,536 values): the +0x7f carries out of the low byte
  // only for 0x81..0xff and leaves bits 1-7 clear only for 0x81/0x82; the carry plus 0x100 keeps
  // bits 15-16 clear only while byte1 + 2 < 128. ((h + 0x17e) & 0x180ff) == 0 holds exactly for
  // byte0 0x82 and byte1 < 126 (also checked over all values): the low byte is 0 only for 0x82,
  // and then bits 15-16 are (byte1 + 2) >> 7.
  let add: u32 = validate != 0 ? 0x17e : 0x17f;
  let mask: u32 = validate != 0 ? 0x180ff : 0x180fe;
  // Two frames per turn (one room test and one record step per pair): the second is taken only
  // when it is a fast binary one (or any fast one when text is not validated); otherwise the
  // next turn starts at it. A validated text frame ends its turn. With a single record of the
  // fast loop's room left it stops, and the slow path takes that frame.
  let eLast2 = eLast - EV_SIZE;
  if (e <= eLast2) {
    do {
      // Past end - 2 this reads up to 2 bytes behind the input (the tx window follows the rx
      // window), and then p > end stops the loop whatever they are.
      let h = <u32>load<u16>(p);
      // The record first and p moved on: when the frame is not taken after all, the record is
      // not counted and p comes back from it (fewer ops per frame taken).
      store<u32>(e, <u32>p);
      p += <usize>((h >>> 8) + 2);
      if (p > end) {
        p = <usize>load<u32>(e);
        break;
      }
      if (((h + add) & mask) != 0) {
        // Not a fast binary frame: text to validate, or a frame for the slow path.
        let len = h >>> 8;
        let q = p - <usize>len;
        if (((h + 0x17f) & 0x180fe) != 0) {
          p = <usize>load<u32>(e);
          break;
        }
        if (!asciiSmall(q, p, len)) {
          if (p < end) {
            // More input behind it: this frame and the rest of the run in one call (textRun).
            p = textRun(<usize>load<u32>(e), end, e, eLast);
            e = gTextEv;
            break;
          }
          if (!textOk(q, len)) {
            p = <usize>load<u32>(e);
            break;
          }
        }
        // Text is taken one frame per turn (the second frame's test would fail on text).
        e += EV_SIZE;
        continue;
      }
      h = <u32>load<u16>(p);
      store<u32>(e, <u32>p, EV_SIZE);
      p += <usize>((h >>> 8) + 2);
      if (p > end || ((h + add) & mask) != 0) {
        e += EV_SIZE;
        p = <usize>load<u32>(e);
        continue;
      }
      e += 2 * EV_SIZE;
    } while (e <= eLast2);
    store<u32>(c, <u32>(e - base) / EV_SIZE, C_EV_COUNT);
  }
  return p;
}

/** Set by textRun: the address after its last record. */
let gTextEv: usize = 0;

/**
 * The fast loop's text frames that are not all ASCII, from the one at p on: takes fast frames
 * (fastFrames' header test, binary or text, all bytes here) while records are left up to eLast,
 * each one short record at e, text checked as by textOk. Returns where it stopped (the first
 * frame it does not take, for the slow path, or the next one when the records ran out) and
 * leaves the next record address in gTextEv.
 * One call for the run, not one per message: on wasm3 a call costs some 300 rv32 instructions
 * plus about 24 per constant of the callee (its constant table is copied in on every entry), and
 * textOk's masks are a dozen constants. Called from recv only, never under the slow path: its
 * frame (and the kernel's, for frames over SMALL_TEXT bytes) stays below the deepest wasm3 value
 * stack, recv under recvFrames and the stream check (measured: chunked Chinese text through the
 * component still needs no more than before, 1,864 of the 2,048-byte default).
 * Past end - 2 the header load reads up to 2 bytes behind the input (as in fastFrames); then the
 * frame's end is past `end` and the loop stops.
 */
function textRun(p: usize, end: usize, e: usize, eLast: usize): usize {
  while (e <= eLast) {
    let h = <u32>load<u16>(p);
    let len = h >>> 8;
    let q = p + 2;
    let next = q + <usize>len;
    if (next > end || ((h + 0x17f) & 0x180fe) != 0) break;
    if ((h & 1) != 0 && !textCheck(q, len)) break; // 0x81: text
    store<u32>(e, <u32>p);
    e += EV_SIZE;
    p = next;
  }
  gTextEv = e;
  return p;
}

/**
 * True when the `len` (<= 125) bytes at q (ending at qEnd = q + len, which the caller has) are
 * all ASCII: the top bits of every u64 word ORed together, tested after the first and last word
 * and once at the end (ASCII costs fewer ops than with a test per word). The last word is the 8
 * bytes that end at qEnd, also when len < 8: the bytes before q are the frame header or earlier
 * input (in the rx window or the record before it) and are shifted out; for len 0 the shift is 0
 * and the header byte makes it false, which only means the full check runs. 8 to 16 bytes (one
 * length test, the common small message) take the first and the last word (for 8 the same one).
 */
// @ts-ignore: decorator
@inline function asciiSmall(q: usize, qEnd: usize, len: u32): bool {
  let last = qEnd - 8;
  let acc = load<u64>(last);
  if (len - 8 <= 8) {
    acc |= load<u64>(q); // 8 to 16 bytes: the first and the last word cover them
  } else if (len < 8) {
    acc >>= <u64>((8 - len) << 3);
  } else {
    // Non-ASCII text mostly shows in its first or last word: no further loads for it.
    acc |= load<u64>(q);
    if ((acc & 0x8080808080808080) != 0) return false;
    q += 8;
    do {
      acc |= load<u64>(q);
      q += 8;
    } while (q < last);
  }
  return (acc & 0x8080808080808080) == 0;
}

const SMALL_TEXT: u32 = 32;

/**
 * True when the `len` (<= 125) bytes at q are valid UTF-8 and end on a whole sequence (the plain
 * check of a whole, final text frame). Above SMALL_TEXT bytes the kernel decides (its group tests
 * win on longer CJK runs; measured, rv32). Up to it one code point per u32 load: ASCII bytes are
 * skipped up to 4 at a time (ctz of the word's top bits), a multi-byte sequence is matched whole
 * with a mask and a compare per length. Exact per RFC 3629 (kernels/utf8.ts lists the rules;
 * overlongs, surrogates and anything above U+10FFFF are rejected); a false here only sends the
 * frame to the slow path, whose validator then fails the connection. For a short frame this
 * costs wasm3 less than the kernel, whose entry copies a large constant table. Not inlined into
 * recv: its constants and locals there would be on wasm3's value stack under every slow-path call
 * too (measured: inlined, chunked text needed some 130 more bytes of the 2048-byte default stack,
 * for about 600 fewer rv32 instructions per short non-ASCII message). It checks a text frame
 * that ends the input; one with more input behind it goes to textRun with the rest of the run.
 * Loads read up to 3 bytes past q + len (the frame is in the rx window, the tx window follows).
 */
function textOk(q: usize, len: u32): bool {
  return textCheck(q, len);
}

/** textOk's check, inlined into textOk and textRun. */
// @ts-ignore: decorator
@inline function textCheck(q: usize, len: u32): bool {
  if (len > SMALL_TEXT) return utf8CheckText(q, <usize>len) == 0;
  let end = q + <usize>len;
  while (q < end) {
    let w = load<u32>(q);
    // Leading ASCII bytes of w (4 when all are), counted only when the first is one (a lead byte
    // costs one test). Skipping past end is fine: those bytes are not checked, and the loop ends.
    if ((w & 0x80) == 0) {
      q += <usize>(ctz(w & 0x80808080) >>> 3);
      continue;
    }
    let n: usize;
    if ((w & 0xc0e0) == 0x80c0) {
      // 110xxxxx 10xxxxxx; C0 and C1 are overlong.
      if ((w & 0x1e) == 0) return false;
      n = 2;
    } else if ((w & 0xc0c0f0) == 0x8080e0) {
      // 1110xxxx 10xxxxxx 10xxxxxx; E0 needs a second byte >= A0 (else overlong), ED one < A0
      // (else a surrogate): the lead's low nibble and bit 5 of the second byte.
      let t = w & 0x200f;
      if (t == 0 || t == 0x200d) return false;
      n = 3;
    } else if ((w & 0xc0c0c0f8) == 0x808080f0) {
      // 11110xxx 10xxxxxx 10xxxxxx 10xxxxxx; the top 5 bits of the code point (plane) 1..16.
      // The plane is 4a + b for the lead's low 3 bits a (bits 0-2 of w) and the second byte's
      // bits 4-5 b (bits 12-13). Rotated left by 20, a << 20 | b: planes 1..16 are exactly
      // 1..0x400000 (a 0 with b 1..3, a 1..3 with any b, a 4 with b 0).
      if (rotl(w & 0x3007, 20) - 1 >= 0x400000) return false;
      n = 4;
    } else {
      return false;
    }
    q += n;
    if (q > end) return false; // the last sequence is cut by the frame's end
  }
  return true;
}

/**
 * Delivers the next `n` payload bytes of the current data frame at `p` as one DATA event
 * (a = frame length, b = offset). Text is validated as a stream across chunks and fragments;
 * completeness is checked at the end of the final fragment (§8.1, §5.6). A chunk that fails is
 * not delivered. Returns false when the connection failed.
 */
function deliver(c: usize, p: usize, n: u32, key: u32): bool {
  let rem = load<u32>(c, F_REM) - n;
  let fin = load<u32>(c, F_FIN);
  if (load<u32>(c, F_VALIDATE) != 0) {
    let st = c + F_UTF8;
    if (!utf8StreamFeed(st, p, n) || (rem == 0 && fin != 0 && !utf8StreamDone(st))) {
      fail(c, Err.UTF8, key);
      return false;
    }
  }
  let off = load<u32>(c, F_OFF);
  emit(c, Ev.DATA, load<u32>(c, F_OP), fin, <u32>p, n, load<u32>(c, F_FLEN), off, 0);
  store<u32>(c, off + n, F_OFF);
  store<u32>(c, rem, F_REM);
  if (rem == 0 && fin != 0) {
    store<u32>(c, 0, F_MSG);
    store<u32>(c, 0, F_MSG_TOTAL);
    store<u32>(c, 0, F_VALIDATE);
  }
  return true;
}

/**
 * Processes a whole control frame with payload [q, q + len). Returns false when it ended the
 * input (a Close, or a failure).
 */
function control(c: usize, op: u32, q: usize, len: u32, key1: u32, key2: u32): bool {
  if (op == OP_CLOSE) {
    // §5.5.1: the body, if any, is a 2-byte status code followed by a UTF-8 reason.
    let code: u32 = 1005; // §7.1.5: "no status code was actually present"
    if (len == 1) { fail(c, Err.CLOSE_1BYTE, key2); return false; }
    if (len >= 2) {
      code = <u32>bswap<u16>(load<u16>(q));
      if (!closeCodeOk(code)) { fail(c, Err.CLOSE_CODE, key2); return false; }
      if (utf8Check(q + 2, len - 2) != 0) { fail(c, Err.CLOSE_UTF8, key2); return false; }
    }
    let reason = len >= 2 ? q + 2 : q;
    emit(c, Ev.DATA, OP_CLOSE, 1, <u32>q, len, len, 0, 0);
    emit(c, Ev.CLOSE, OP_CLOSE, 1, <u32>reason, len >= 2 ? len - 2 : 0, 0, 0, code);
    store<u32>(c, code, C_CLOSE_RX);
    // "If an endpoint receives a Close frame and did not previously send a Close frame, the
    // endpoint MUST send a Close frame in response ... typically echoing the status code it
    // received." An empty Close is answered with an empty one.
    if (load<u32>(c, C_CLOSE_TX) == 0) {
      ctlClose(c, len >= 2 ? code : 0, key2);
      store<u32>(c, code, C_CLOSE_TX);
    }
    store<u32>(c, State.CLOSED, C_STATE);
    return false; // §1.4: nothing after the Close is data
  }
  emit(c, Ev.DATA, op, 1, <u32>q, len, len, 0, 0);
  if (op == OP_PING) {
    ctlPong(c, q, len, key1);
  } else {
    store<u32>(c, 0, F_PING_OUT); // OP_PONG: the outstanding ping is answered
  }
  return true;
}
