// Test driver for the engine specs (frame, send, engine, random): builds wire bytes, drives
// recv() exactly like the C receive loop in docs/engine-abi.md, and turns what comes out
// (events, control output, final state) into a trace string that splits can be compared on.

import { init, conn, conn_reset, conn_config, recv, hs_request } from "../../assembly/index";
import {
  C_RX_PTR, C_RX_CAP, C_CTL_PTR, C_CTL_LEN, C_EV_PTR, C_EV_COUNT, C_EV_CAP, C_KEEP_OFF, C_KEEP_LEN,
  C_MORE, C_STATE, C_CFG_CHUNK, State,
} from "../../assembly/layout";
import { EV_SIZE, EV_KIND, EV_FULL, EV_PTR, EV_LEN, EV_A, EV_B, Ev } from "../../assembly/events";
import { timersStart } from "../../assembly/timers";

/** Mask key passed to recv for a PONG (the RFC 6455 §5.7 example key) and for a CLOSE. */
export const K1: u32 = 0x3d21fa37;
export const K2: u32 = 0x5a0f17c3;
export const NOW: u32 = 1000;

// ---- Wire bytes under test ----
export const WIRE: usize = memory.data(200000);
export let wlen: u32 = 0;

export function wReset(): void { wlen = 0; }
export function w8(b: u32): void { store<u8>(WIRE + <usize>wlen, <u8>b); wlen++; }
export function w16(v: u32): void { w8(v >>> 8); w8(v); }
export function w32(v: u32): void { w16(v >>> 16); w16(v); }
export function wBytes(a: u8[]): void { for (let i = 0; i < a.length; i++) w8(a[i]); }
/** Appends the UTF-8 encoding of s. */
export function wStr(s: string): void {
  let buf = String.UTF8.encode(s);
  let p = changetype<usize>(buf);
  for (let i = 0; i < buf.byteLength; i++) w8(load<u8>(p + <usize>i));
}
/** Byte length of the UTF-8 encoding of s. */
export function utf8Len(s: string): u32 { return <u32>String.UTF8.byteLength(s); }
/** Appends an unmasked server frame header with the minimal length encoding. */
export function wHead(b0: u32, len: u32): void {
  w8(b0);
  if (len < 126) { w8(len); }
  else if (len < 65536) { w8(126); w16(len); }
  else { w8(127); w32(0); w32(len); }
}
/** Appends a pattern payload of len bytes (byte i = (i * 7 + seed) & 0xff). */
export function wFill(len: u32, seed: u32): void {
  for (let i: u32 = 0; i < len; i++) w8(i * 7 + seed);
}
/** A whole server frame with a text payload. */
export function wText(b0: u32, s: string): void { wHead(b0, utf8Len(s)); wStr(s); }

// ---- Slots ----
let cfgParam = new Array<i32>();
let cfgValue = new Array<u32>();

/** (Re)initialises the engine: 2 slots, slot 0 open. */
export function setup(bufSize: i32 = 1024, evCap: i32 = 16): usize {
  let end = init(2, bufSize, evCap, 256);
  assert(end > 0, "init");
  cfgParam = new Array<i32>();
  cfgValue = new Array<u32>();
  viaHandshake = false;
  return reopen();
}

/** Configuration applied to slot 0 by every reopen() until the next setup(). */
export function config(param: i32, value: u32): void {
  cfgParam.push(param);
  cfgValue.push(value);
  assert(conn_config(0, param, value) == 0, "conn_config");
}

let viaHandshake = false;

/**
 * From now on (until the next setup) reopen() leaves slot 0 CONNECTING after a real hs_request
 * with the RFC 6455 §1.3 sample key "the sample nonce" (accept "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=").
 */
export function openViaHandshake(): void { viaHandshake = true; }

/** Bytes of a latin-1 string at p; returns its length. */
export function putStr(p: usize, s: string): u32 {
  for (let i = 0; i < s.length; i++) store<u8>(p + <usize>i, <u8>s.charCodeAt(i));
  return <u32>s.length;
}

/** Resets slot 0, applies the configuration and makes it OPEN as the handshake would (timers at now). */
export function reopen(now: u32 = NOW): usize {
  conn_reset(0);
  for (let i = 0; i < cfgParam.length; i++) conn_config(0, cfgParam[i], cfgValue[i]);
  let c = <usize>conn(0);
  if (viaHandshake) {
    let rx = <usize>load<u32>(c, C_RX_PTR);
    putStr(rx, "the sample nonce");
    let host = putStr(rx + 16, "server.example.com");
    let path = putStr(rx + 16 + host, "/chat");
    assert(hs_request(0, 80, host, path, 0, 0, 0, 0) > 0, "hs_request");
    return c;
  }
  store<u32>(c, State.OPEN, C_STATE);
  timersStart(c, now);
  return c;
}

export function c0(): usize { return <usize>conn(0); }
export function field(off: u32): u32 { return load<u32>(c0() + off); }
export function state(): u32 { return field(C_STATE); }

/** Address of event record i of the last call. */
export function ev(i: u32): usize { return <usize>field(C_EV_PTR) + <usize>(i * EV_SIZE); }
// Decoding as ws_engine_event_at does (events.ts): a full record (EV_FULL in its kind word) or a
// short DATA record (the word is the address of a whole frame with a 7-bit length).
export function evKind(i: u32): u32 { return load<u32>(ev(i), EV_KIND); }
export function evShort(i: u32): bool { return (evKind(i) & EV_FULL) == 0; }
export function evType(i: u32): u32 { return evShort(i) ? Ev.DATA : (evKind(i) >>> 8) & 0xff; }
export function evOp(i: u32): u32 { return (evShort(i) ? <u32>load<u8>(<usize>evKind(i)) : evKind(i)) & 0xf; }
export function evFin(i: u32): u32 { return ((evShort(i) ? <u32>load<u8>(<usize>evKind(i)) : evKind(i)) >>> 7) & 1; }
export function evPtr(i: u32): usize { return evShort(i) ? <usize>evKind(i) + 2 : <usize>load<u32>(ev(i), EV_PTR); }
export function evLen(i: u32): u32 { return evShort(i) ? <u32>load<u8>(<usize>evKind(i), 1) : load<u32>(ev(i), EV_LEN); }
export function evA(i: u32): u32 { return evShort(i) ? evLen(i) : load<u32>(ev(i), EV_A); }
export function evB(i: u32): u32 { return evShort(i) ? 0 : load<u32>(ev(i), EV_B); }
export function evCode(i: u32): u32 { return evShort(i) ? 0 : evKind(i) >>> 16 & 0x7fff; }
/** The bytes an event points at, as a latin-1 string. */
export function evText(i: u32): string { return bytesStr(evPtr(i), evLen(i)); }

export function bytesStr(p: usize, n: u32): string {
  let s = "";
  for (let i: u32 = 0; i < n; i++) s += String.fromCharCode(load<u8>(p + <usize>i));
  return s;
}
export function hex(p: usize, n: u32): string {
  let s = "";
  for (let i: u32 = 0; i < n; i++) {
    let b = <u32>load<u8>(p + <usize>i);
    s += String.fromCharCode(b < 0xa0 ? 0x30 + (b >>> 4) : 0x57 + (b >>> 4));
    let l = b & 0xf;
    s += String.fromCharCode(l < 10 ? 0x30 + l : 0x57 + l);
  }
  return s;
}

/** Copies WIRE[0, wlen) to the rx window start and calls recv once (no C loop). */
export function feedOnce(now: u32 = NOW): i32 {
  let rx = <usize>field(C_RX_PTR);
  for (let i: u32 = 0; i < wlen; i++) store<u8>(rx + <usize>i, load<u8>(WIRE + <usize>i));
  return recv(0, <i32>wlen, now, K1, K2);
}

// ---- Control output ----
/** Status code of the first CLOSE frame in the control output (unmasked), 1005 if it has no body, 0 if none. */
export function ctlCloseCode(): u32 {
  let p = <usize>field(C_CTL_PTR);
  let end = p + <usize>field(C_CTL_LEN);
  while (p < end) {
    let op = <u32>load<u8>(p) & 0xf;
    let len = <u32>load<u8>(p, 1) & 0x7f;
    let key = load<u32>(p, 2);
    if (op == 8) {
      if (len < 2) return 1005;
      let b0 = <u32>load<u8>(p, 6) ^ (key & 0xff);
      let b1 = <u32>load<u8>(p, 7) ^ ((key >>> 8) & 0xff);
      return (b0 << 8) | b1;
    }
    p += 6 + <usize>len;
  }
  return 0;
}

/** Unmasks the control output into entries T<op><f|-><m|u>k<which key>:<hex payload>; one per frame. */
export function ctlEntries(): string[] {
  let out = new Array<string>();
  let p = <usize>field(C_CTL_PTR);
  let end = p + <usize>field(C_CTL_LEN);
  let tmp = memory.data(128);
  while (p < end) {
    let b0 = <u32>load<u8>(p);
    let b1 = <u32>load<u8>(p, 1);
    let len = b1 & 0x7f;
    let key = load<u32>(p, 2);
    let s = "T" + (b0 & 0xf).toString() + ((b0 & 0x80) != 0 ? "f" : "-") + ((b1 & 0x80) != 0 ? "m" : "u");
    s += key == K1 ? "k1" : key == K2 ? "k2" : "k?";
    if (len > 125) { out.push(s + ":bad-length;"); break; }
    for (let i: u32 = 0; i < len; i++) {
      store<u8>(tmp + <usize>i, load<u8>(p + 6 + <usize>i) ^ <u8>(key >>> ((i & 3) << 3)));
    }
    out.push(s + ":" + hex(tmp, len) + ";");
    p += 6 + <usize>len;
  }
  assert(p == end, "control output is whole frames");
  return out;
}

/** The control output of the last call as one string. */
export function ctlTrace(): string {
  let e = ctlEntries();
  let s = "";
  for (let i = 0; i < e.length; i++) s += e[i];
  return s;
}

// ---- The C receive loop ----
export let calls: u32 = 0;      // recv calls made by the last drive()
export let moreSeen: u32 = 0;   // calls that returned with C_MORE = 1
export let payloadHash: u32 = 0; // FNV-1a of every data payload byte delivered, in order
export let payloadLen: u32 = 0;
/** The DATA chunk lengths of the last drive(): "len,len,...;" per data frame ("" while one is cut). */
export let chunkList: string = "";

let curOff: u32 = 0;   // bytes of the current data frame seen so far
let curA: u32 = 0;
let curOp: u32 = 0;
let curFin: u32 = 0;
let curHash: u32 = 0;
let inFrame = false;

function fnv(h: u32, p: usize, n: u32): u32 {
  for (let i: u32 = 0; i < n; i++) h = (h ^ <u32>load<u8>(p + <usize>i)) * 16777619;
  return h;
}
export function fnvOf(p: usize, n: u32): u32 { return fnv(2166136261, p, n); }

/**
 * Events of the last recv call as trace text; checks the DATA chunk invariants: chunks of one
 * frame in order with contiguous offsets, and each exactly min(CHUNK, what remains of the frame)
 * long (so every chunk but a frame's last has CHUNK bytes; an empty frame is one empty chunk).
 */
function eventsTrace(rx: usize, n: u32): string {
  let s = "";
  let count = field(C_EV_COUNT);
  assert(count <= field(C_EV_CAP), "ev_count <= ev_cap");
  let chunk = field(C_CFG_CHUNK);
  for (let i: u32 = 0; i < count; i++) {
    let t = evType(i);
    if (t == Ev.DATA) {
      let op = evOp(i);
      let p = evPtr(i);
      let len = evLen(i);
      assert(p >= rx && p + <usize>len <= rx + <usize>n, "DATA inside the input");
      if (op >= 8) {
        assert(evB(i) == 0 && evA(i) == len && evFin(i) == 1, "control frame whole");
        s += "D" + op.toString() + ":" + hex(p, len) + ";";
        continue;
      }
      if (!inFrame) {
        inFrame = true;
        curOff = 0; curA = evA(i); curOp = op; curFin = evFin(i); curHash = 2166136261;
      }
      assert(evB(i) == curOff, "chunk offset");
      assert(evA(i) == curA && op == curOp && evFin(i) == curFin, "chunk of the same frame");
      assert(len == min(chunk, curA - curOff), "chunk is CHUNK bytes, or the rest of the frame");
      chunkList += len.toString();
      curHash = fnv(curHash, p, len);
      payloadHash = fnv(payloadHash, p, len);
      payloadLen += len;
      curOff += len;
      assert(curOff <= curA, "chunks within the frame");
      chunkList += curOff == curA ? ";" : ",";
      if (curOff == curA) {
        s += "D" + curOp.toString() + "," + curFin.toString() + "," + curA.toString() + "#" + curHash.toString(16) + ";";
        inFrame = false;
      }
    } else if (t == Ev.CLOSE) {
      s += "C" + evCode(i).toString() + ":" + hex(evPtr(i), evLen(i)) + ";";
    } else if (t == Ev.ERROR) {
      s += "E" + evCode(i).toString() + "," + evA(i).toString() + ";";
      assert(i == count - 1, "ERROR is the last event");
    } else if (t == Ev.OPEN) {
      s += "O;";
    } else if (t == Ev.HEADER) {
      s += "H" + bytesStr(evPtr(i), evLen(i)) + ";";
    } else {
      s += "?" + t.toString() + ";";
    }
  }
  return s;
}

/**
 * Feeds WIRE[0, wlen) to slot 0 in pieces cut at `cuts` (ascending offsets), exactly like the C
 * loop: read into rx + keep (bounded by the window), recv, write ctl, dispatch, move the kept
 * bytes to the window start, call again while C_MORE. Returns the trace of everything observed.
 */
export function drive(cuts: u32[]): string {
  let c = c0();
  let rx = <usize>load<u32>(c, C_RX_PTR);
  let cap = load<u32>(c, C_RX_CAP);
  let keep: u32 = 0;
  let s = "";
  let ctl = new Array<string>();
  calls = 0; moreSeen = 0; payloadHash = 2166136261; payloadLen = 0; inFrame = false; chunkList = "";
  let pos: u32 = 0;
  for (let k = 0; k <= cuts.length; k++) {
    let stop = k < cuts.length ? cuts[k] : wlen;
    while (pos < stop) {
      let n = min(stop - pos, cap - keep);
      assert(n > 0, "window full of kept bytes");
      for (let i: u32 = 0; i < n; i++) store<u8>(rx + <usize>(keep + i), load<u8>(WIRE + <usize>(pos + i)));
      pos += n;
      let total = keep + n;
      while (true) {
        let count = recv(0, <i32>total, NOW, K1, K2);
        calls++;
        assert(count >= 0 && <u32>count == load<u32>(c, C_EV_COUNT), "count");
        s += eventsTrace(rx, total);
        let e = ctlEntries();
        for (let i = 0; i < e.length; i++) {
          // Only the latest PONG of one call is sent (RFC 6455 §5.5.3): so that traces do not
          // depend on where calls were cut, a PONG directly following a PONG replaces it.
          let last = ctl.length - 1;
          if (last >= 0 && ctl[last].startsWith("T10") && e[i].startsWith("T10")) ctl[last] = e[i];
          else ctl.push(e[i]);
        }
        let off = load<u32>(c, C_KEEP_OFF);
        let kl = load<u32>(c, C_KEEP_LEN);
        assert(off + kl == total, "keep_off + keep_len == n");
        // Progress: the kept bytes leave room to read, and a full window is never kept whole.
        assert(kl < cap, "kept bytes < rx_cap");
        assert(total < cap || off > 0, "a full window makes progress");
        for (let i: u32 = 0; i < kl; i++) store<u8>(rx + <usize>i, load<u8>(rx + <usize>(off + i)));
        keep = kl;
        if (load<u32>(c, C_MORE) == 0) break;
        moreSeen++;
        assert(kl > 0, "more with bytes left");
        total = keep;
      }
    }
  }
  s += "|";
  for (let i = 0; i < ctl.length; i++) s += ctl[i];
  let st = load<u32>(c, C_STATE);
  // A frame cut by the end of the input: how much of it was delivered.
  let partial = inFrame ? "P" + curOff.toString() : "";
  return s + "|S" + st.toString() + "K" + keep.toString() + partial;
}

/** Cuts for one split at `at`. */
export function cutAt(at: u32): u32[] { let a = new Array<u32>(); a.push(at); return a; }
/** Cuts for one byte at a time. */
export function bytewise(): u32[] {
  let a = new Array<u32>();
  for (let i: u32 = 1; i < wlen; i++) a.push(i);
  return a;
}

/** The chunk list of the whole run in the last allSplits(). */
export let wholeChunks: string = "";

/**
 * Runs WIRE whole, split at every offset (or every `step`-th, plus the first and last 24), and
 * one byte at a time, each on a freshly reopened slot 0; asserts every run gives the trace, the
 * data payload (length and hash) and the exact DATA chunk list of the whole run (chunks do not
 * depend on where reads ended). Returns the whole run's trace; its chunk list is in wholeChunks.
 */
export function allSplits(step: u32 = 1): string {
  reopen();
  let whole = drive(new Array<u32>());
  let hash = payloadHash;
  let plen = payloadLen;
  let chunks = chunkList;
  for (let at: u32 = 1; at < wlen; at++) {
    if (step > 1 && at > 24 && at + 24 < wlen && at % step != 0) continue;
    reopen();
    let t = drive(cutAt(at));
    assert(t == whole, "split at " + at.toString() + ": " + t + " != " + whole);
    assert(payloadHash == hash && payloadLen == plen, "payload split at " + at.toString());
    assert(chunkList == chunks, "chunks split at " + at.toString() + ": " + chunkList + " != " + chunks);
  }
  reopen();
  let t = drive(bytewise());
  assert(t == whole, "bytewise: " + t + " != " + whole);
  assert(payloadHash == hash && payloadLen == plen, "payload bytewise");
  assert(chunkList == chunks, "chunks bytewise: " + chunkList + " != " + chunks);
  reopen();
  wholeChunks = chunks;
  return whole;
}

/** The trace a single data frame gives: D<op>,<fin>,<len>#<fnv of payload>; */
export function dataTrace(op: u32, fin: u32, p: usize, len: u32): string {
  return "D" + op.toString() + "," + fin.toString() + "," + len.toString() + "#" + fnvOf(p, len).toString(16) + ";";
}
