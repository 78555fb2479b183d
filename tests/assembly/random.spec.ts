// Seeded randomized test of the receive path: 100,000 random and mutated server frames, fed
// through recv in random pieces like the C loop does. Oracle: the engine never traps, every call
// keeps the I/O block consistent and makes progress on a full window, every DATA chunk of a data
// frame is exactly CHUNK bytes except the frame's last (whatever the pieces), and every run ends
// OPEN, CLOSED, or FAILED with an error from the error table (and the close code that goes with
// it); after CLOSED or FAILED nothing but discards happen.

import { recv, conn_config, err_close_code } from "../../assembly/index";
import {
  C_RX_PTR, C_RX_CAP, C_TX_CAP, C_CTL_LEN, C_EV_COUNT, C_EV_CAP, C_KEEP_OFF, C_KEEP_LEN, C_MORE, C_STATE,
  C_ERROR, C_CLOSE_RX, C_CLOSE_TX, C_CFG_CHUNK, State, Param,
} from "../../assembly/layout";
import { Ev } from "../../assembly/events";
import { Err } from "../../assembly/errors";
import {
  WIRE, wlen, wReset, w8, w16, w32, wHead, setup, reopen, field, evType, evOp, evFin, evPtr, evLen,
  evA, evB, evCode, ctlEntries, ctlCloseCode, K1, K2,
} from "./engine_util.include";

const FRAMES: u32 = 100000;
const SEED: u32 = 0x9e3779b9;

let rng: u32 = SEED;
function rnd(): u32 {
  // xorshift32 (Marsaglia 2003)
  let x = rng;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  rng = x;
  return x;
}
function below(n: u32): u32 { return rnd() % n; }

/** The errors a server's bytes can cause (the 40..69 rows of the error table). */
const PEER_ERRORS: i32[] = [
  Err.RSV, Err.OPCODE, Err.MASKED, Err.CTRL_TOO_LONG, Err.CTRL_FRAGMENTED, Err.LEN_NOT_MINIMAL,
  Err.LEN_TOP_BIT, Err.CONT_NO_MSG, Err.DATA_IN_MSG, Err.CLOSE_1BYTE, Err.CLOSE_CODE, Err.UTF8,
  Err.CLOSE_UTF8, Err.FRAME_TOO_BIG, Err.MSG_TOO_BIG,
];
let seen = new Array<u32>(PEER_ERRORS.length);
let outcomes = new Array<u32>(6);
let framesMade: u32 = 0;
let genMsg = false; // the generator's idea of whether a fragmented message is open
let eventsSeen: u32 = 0;
let dataOff: u32 = 0; // offset the next DATA chunk must have: 0 unless a data frame is partly delivered
let shortChunks: u32 = 0; // final chunks shorter than CHUNK
let midChunks: u32 = 0;   // chunks that are not their frame's last (so the test sees both kinds)

/** Appends one random code point as UTF-8 (no surrogates). */
function wCodePoint(): void {
  let k = below(4);
  if (k == 0) { w8(0x20 + below(0x5f)); return; }
  if (k == 1) { let cp = 0x80 + below(0x780); w8(0xc0 | (cp >>> 6)); w8(0x80 | (cp & 0x3f)); return; }
  if (k == 2) {
    let cp = 0x800 + below(0xf800);
    if (cp >= 0xd800 && cp < 0xe000) cp = 0x4e2d;
    w8(0xe0 | (cp >>> 12)); w8(0x80 | ((cp >>> 6) & 0x3f)); w8(0x80 | (cp & 0x3f));
    return;
  }
  let cp = 0x10000 + below(0x100000);
  w8(0xf0 | (cp >>> 18)); w8(0x80 | ((cp >>> 12) & 0x3f)); w8(0x80 | ((cp >>> 6) & 0x3f)); w8(0x80 | (cp & 0x3f));
}

/** A payload of about len bytes: random bytes, ASCII or valid UTF-8. Returns the length written. */
function wPayload(len: u32): u32 {
  let start = wlen;
  let mode = below(3);
  if (mode == 0) { for (let i: u32 = 0; i < len; i++) w8(rnd()); }
  else if (mode == 1) { for (let i: u32 = 0; i < len; i++) w8(0x20 + below(0x5f)); }
  else { while (wlen - start < len) wCodePoint(); }
  return wlen - start;
}

function randomLen(): u32 {
  let k = below(8);
  if (k == 0) { let edge: u32[] = [0, 1, 125, 126, 127, 255, 256, 300]; return edge[below(edge.length)]; }
  if (k == 1) return 100 + below(600);
  return below(40);
}

/** Appends one well-formed frame (its header is written after the payload length is known). */
function wFrame(): void {
  let start = wlen;
  let k = below(10);
  if (k < 6) {
    // data: TEXT, BINARY or CONT, FIN or not
    // mostly a valid sequence (CONT inside a message, TEXT/BINARY outside), sometimes not
    let op: u32 = genMsg ? 0 : 1 + below(2);
    if (below(10) == 0) op = below(3);
    let fin: u32 = below(3) != 0 ? 0x80 : 0;
    genMsg = fin == 0;
    // write the payload at a scratch spot past the header room, then move it behind the header
    let len = randomLen();
    wlen = start + 10;
    let n = wPayload(len);
    let tmp = memory.data(1024);
    for (let i: u32 = 0; i < n; i++) store<u8>(tmp + i, load<u8>(WIRE + start + 10 + i));
    wlen = start;
    wHead(fin | op, n);
    for (let i: u32 = 0; i < n; i++) w8(load<u8>(tmp + i));
  } else if (k < 8) {
    let op: u32 = below(2) != 0 ? 0x89 : 0x8a;
    let len = below(126);
    wHead(op, len);
    for (let i: u32 = 0; i < len; i++) w8(rnd());
  } else {
    // CLOSE: empty, a code, or a code and a reason
    let codes: u32[] = [1000, 1001, 1002, 1003, 1007, 1011, 3000, 4999, 999, 1005, 1006, 1015, 2000, 5000];
    let r = below(4);
    if (r == 0) { wHead(0x88, 0); }
    else {
      let reasonLen = r == 3 ? below(30) : 0;
      let tmp = memory.data(256);
      let save = wlen;
      wlen = save + 4;
      let n = wPayload(reasonLen);
      if (n > 123) n = 123;
      for (let i: u32 = 0; i < n; i++) store<u8>(tmp + i, load<u8>(WIRE + save + 4 + i));
      wlen = save;
      wHead(0x88, 2 + n);
      w16(codes[below(codes.length)]);
      for (let i: u32 = 0; i < n; i++) w8(load<u8>(tmp + i));
    }
  }
  framesMade++;
  mutate(start);
}

/** Sometimes damages the frame that starts at `start`. */
function mutate(start: u32): void {
  let n = wlen - start;
  let k = below(16);
  if (k == 0) {
    // flip one bit in the header
    let at = start + below(min(n, 10));
    store<u8>(WIRE + at, load<u8>(WIRE + at) ^ <u8>(<u32>1 << below(8)));
  } else if (k == 1) {
    // flip one bit anywhere
    let at = start + below(n);
    store<u8>(WIRE + at, load<u8>(WIRE + at) ^ <u8>(<u32>1 << below(8)));
  } else if (k == 2) {
    // truncate
    wlen = start + below(n + 1);
  } else if (k == 3) {
    // random length byte, maybe followed by random extended-length bytes
    store<u8>(WIRE + start + 1, <u8>rnd());
    if (below(2) != 0 && n >= 10) for (let i: u32 = 2; i < 10; i++) store<u8>(WIRE + start + i, <u8>(below(4) == 0 ? rnd() : 0));
  } else if (k == 4) {
    // random first byte
    store<u8>(WIRE + start, <u8>rnd());
  } else if (k == 5 && below(4) == 0) {
    // a 64-bit length form with random contents
    wlen = start;
    w8(0x80 | below(3)); w8(127); w32(below(2) != 0 ? rnd() : 0); w32(rnd());
  }
}

function isPeerError(code: u32): i32 {
  for (let i = 0; i < PEER_ERRORS.length; i++) if (<u32>PEER_ERRORS[i] == code) return i;
  return -1;
}

/** Checks what one recv call left in the I/O block and the event area. */
function checkCall(count: i32, n: u32, stateBefore: u32): void {
  let cap = field(C_EV_CAP);
  assert(count >= 0 && <u32>count == field(C_EV_COUNT) && <u32>count <= cap, "event count");
  assert(field(C_KEEP_OFF) + field(C_KEEP_LEN) == n, "keep_off + keep_len == n");
  let st = field(C_STATE);
  if (stateBefore == State.FAILED || stateBefore == State.CLOSED) {
    assert(count == 0 && field(C_CTL_LEN) == 0 && field(C_KEEP_LEN) == 0 && st == stateBefore, "discard after the end");
    return;
  }
  assert(field(C_MORE) == 0 || field(C_KEEP_LEN) > 0, "more only with bytes left");
  if (st == State.FAILED || st == State.CLOSED) assert(field(C_KEEP_LEN) == 0, "nothing kept after the end");
  let rx = <usize>field(C_RX_PTR);
  let chunk = field(C_CFG_CHUNK);
  for (let i: u32 = 0; i < <u32>count; i++) {
    let t = evType(i);
    eventsSeen++;
    if (t == Ev.DATA) {
      let p = evPtr(i);
      let len = evLen(i);
      assert(p >= rx && p + <usize>len <= rx + <usize>n, "DATA inside the input");
      let op = evOp(i);
      assert(op <= 2 || (op >= 8 && op <= 10), "DATA opcode");
      if (op >= 8) assert(len <= 125 && evA(i) == len && evB(i) == 0 && evFin(i) == 1, "control frame whole");
      else {
        let a = evA(i);
        let b = evB(i);
        assert(b == dataOff && b + len <= a, "chunks of a frame in order, within it");
        // every chunk but the frame's last is exactly CHUNK bytes; the last is what remains
        assert(len == min(chunk, a - b), "chunk is CHUNK bytes, or the rest of the frame");
        if (len < chunk) shortChunks++;
        if (b + len < a) midChunks++;
        dataOff = b + len == a ? 0 : b + len;
      }
    } else if (t == Ev.CLOSE) {
      assert(st == State.CLOSED && field(C_CLOSE_RX) == evCode(i) && i + 1 == <u32>count, "CLOSE ends the input");
    } else if (t == Ev.ERROR) {
      let code = evCode(i);
      let idx = isPeerError(code);
      assert(idx >= 0, "ERROR code is a documented peer error: " + code.toString());
      seen[idx]++;
      assert(evA(i) == <u32>err_close_code(code), "ERROR close code");
      assert(ctlCloseCode() == evA(i) && field(C_CLOSE_TX) == evA(i), "the Close queued carries it");
      assert(st == State.FAILED && field(C_ERROR) == code && i + 1 == <u32>count, "ERROR ends the input");
    } else {
      assert(false, "unexpected event type " + t.toString());
    }
  }
  // control output: whole masked frames, at most one PONG, a PONG before the CLOSE
  let e = ctlEntries();
  let pongs = 0;
  for (let i = 0; i < e.length; i++) {
    let s = e[i];
    assert(s.startsWith("T10fmk1:") || s.startsWith("T8fmk2:"), "control output frame " + s);
    if (s.startsWith("T10")) { pongs++; assert(i == 0, "PONG first"); }
  }
  assert(pongs <= 1, "one PONG per call");
}

/** Feeds WIRE in random pieces like the C loop; returns the final state. */
function feedRandom(): u32 {
  let rx = <usize>field(C_RX_PTR);
  let cap = field(C_RX_CAP);
  let keep: u32 = 0;
  let pos: u32 = 0;
  dataOff = 0;
  while (pos < wlen) {
    let piece: u32 = below(4) == 0 ? 1 + below(8) : 1 + below(cap);
    let n = min(min(piece, wlen - pos), cap - keep);
    for (let i: u32 = 0; i < n; i++) store<u8>(rx + <usize>(keep + i), load<u8>(WIRE + <usize>(pos + i)));
    pos += n;
    let total = keep + n;
    while (true) {
      let before = field(C_STATE);
      let count = recv(0, <i32>total, 0, K1, K2);
      checkCall(count, total, before);
      assert(total < cap || field(C_KEEP_OFF) > 0, "a full window makes progress");
      let off = field(C_KEEP_OFF);
      keep = field(C_KEEP_LEN);
      for (let i: u32 = 0; i < keep; i++) store<u8>(rx + <usize>i, load<u8>(rx + <usize>(off + i)));
      if (field(C_MORE) == 0) break;
      total = keep;
    }
    assert(keep < cap, "kept bytes leave room to read");
  }
  let st = field(C_STATE);
  // After the end, more input is only discarded.
  if (st == State.FAILED || st == State.CLOSED) {
    for (let i: u32 = 0; i < 16; i++) store<u8>(rx + i, <u8>rnd());
    let count = recv(0, 16, 0, K1, K2);
    checkCall(count, 16, st);
  }
  return st;
}

describe("randomized receive path (seeded)", () => {
  it("100,000 random and mutated frames: no trap, consistent calls, documented outcomes", () => {
    let runs: u32 = 0;
    while (framesMade < FRAMES) {
      // a fresh layout now and then: small event areas exercise C_MORE
      if (runs % 500 == 0) setup(below(2) != 0 ? 1024 : 16 + below(300), 4 + <i32>below(12));
      runs++;
      reopen();
      conn_config(0, Param.CHUNK, below(2) != 0 ? field(C_TX_CAP) : 1 + below(field(C_TX_CAP)));
      conn_config(0, Param.UTF8_POLICY, below(4));
      conn_config(0, Param.MAX_FRAME, below(4) == 0 ? 1 + below(300) : 0x7fffffff);
      conn_config(0, Param.MAX_MESSAGE, below(4) == 0 ? 1 + below(600) : 0x7fffffff);
      wReset();
      genMsg = false;
      let frames: u32 = 1 + below(8);
      for (let i: u32 = 0; i < frames; i++) wFrame();
      let st = feedRandom();
      assert(st == State.OPEN || st == State.CLOSED || st == State.FAILED, "final state");
      outcomes[st]++;
    }
    expect(framesMade).toBeGreaterThanOrEqual(FRAMES);
    // the generator reaches every outcome and every peer error (else it tests too little)
    expect(outcomes[State.OPEN]).toBeGreaterThan(0);
    expect(outcomes[State.CLOSED]).toBeGreaterThan(0);
    expect(outcomes[State.FAILED]).toBeGreaterThan(0);
    expect(shortChunks).toBeGreaterThan(0);
    expect(midChunks).toBeGreaterThan(0);
    for (let i = 0; i < PEER_ERRORS.length; i++) {
      expect(seen[i]).toBeGreaterThan(0, "error " + PEER_ERRORS[i].toString() + " reached");
    }
    log<string>("runs " + runs.toString() + ", frames " + framesMade.toString() + ", events " + eventsSeen.toString() +
      ", data chunks not last of their frame " + midChunks.toString() + ", last and shorter than CHUNK " + shortChunks.toString() +
      ", OPEN " + outcomes[State.OPEN].toString() + ", CLOSED " + outcomes[State.CLOSED].toString() +
      ", FAILED " + outcomes[State.FAILED].toString());
  });
});
