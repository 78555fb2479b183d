// Connection slots: the one allocation of the engine, slot lookup, reset and configuration.
//
// init() asks the allocator for ONE block and carves it (8-byte aligned regions):
//
//   scratch (scratch_size)  |  slot 0: record 256 | rx window | tx window | ctl output | events  |  slot 1 ...
//
// rx window = max(buf_size + 16, RX_MIN), tx window = TX_HDR + buf_size, ctl output = CTL_CAP,
// events = ev_cap * EV_SIZE (rounded up to 8). Every slot has the same stride, so conn(slot) is one multiply.
// Nothing is allocated after init; re-init frees the old block first (tests only).

import {
  CONN_SIZE, C_RX_PTR, C_RX_CAP, C_TX_PTR, C_TX_CAP, C_CTL_PTR, C_CTL_LEN, C_EV_PTR, C_EV_CAP,
  C_EV_COUNT, C_CFG_PING_MS, C_CFG_PONG_MS, C_CFG_CLOSE_MS, C_CFG_MAX_FRAME, C_CFG_MAX_MSG,
  C_CFG_HS_LIMIT, C_CFG_UTF8, C_CFG_CHUNK, C_FR_AREA, TX_HDR, CTL_CAP, RX_MIN,
  Param, DEF_PING_MS, DEF_PONG_MS, DEF_CLOSE_MS, DEF_MAX_FRAME, DEF_MAX_MSG, DEF_HS_LIMIT, DEF_UTF8,
} from "./layout";
import { EV_SIZE } from "./events";
import { Err } from "./errors";

// ---- Frame/connection state: this module's share of the record (C_FR_AREA..C_FR_AREA_END). ----
// Receive side (frame.ts).
export const F_REM: u32 = C_FR_AREA;          // payload bytes of the current data frame still to come
export const F_FLEN: u32 = C_FR_AREA + 4;     // payload length of the current data frame
export const F_OFF: u32 = C_FR_AREA + 8;      // payload bytes of it delivered so far
export const F_OP: u32 = C_FR_AREA + 12;      // its opcode (0 for a continuation)
export const F_FIN: u32 = C_FR_AREA + 16;     // its FIN bit (0/1)
export const F_MSG: u32 = C_FR_AREA + 20;     // opcode of the message in progress, 0 for none
export const F_MSG_TOTAL: u32 = C_FR_AREA + 24; // bytes of that message announced so far (frame lengths)
export const F_VALIDATE: u32 = C_FR_AREA + 28;  // 1: the message in progress is text being UTF-8 checked
export const F_UTF8: u32 = C_FR_AREA + 32;    // 8 bytes: streaming UTF-8 state of received text
// Send side (send.ts).
export const F_SUTF8: u32 = C_FR_AREA + 40;   // 8 bytes: streaming UTF-8 state of sent text (strict policy)
export const F_SMSG: u32 = C_FR_AREA + 48;    // opcode of the fragmented message being sent, 0 for none
// Timers (timers.ts).
export const F_PING_OUT: u32 = C_FR_AREA + 52;   // 1: a PING is waiting for its PONG
export const F_PING_SINCE: u32 = C_FR_AREA + 56; // since when (ms)
export const F_LAST_PING: u32 = C_FR_AREA + 60;  // when the last PING was queued, or the connection opened
export const F_CLOSE_AT: u32 = C_FR_AREA + 64;   // when we sent our Close
// C_FR_AREA + 68 .. C_FR_AREA_END (12 bytes) spare.

/** Largest buf_size init accepts. */
const BUF_MAX: i32 = 1 << 20;
/** Largest layout init asks the allocator for (under the runtimes' block limit of 1 GiB). */
const LAYOUT_MAX: u64 = 0x3fff0000;

let gBlock: usize = 0;    // the block from heap.alloc, 0 before init
let gScratch: usize = 0;  // scratch area
let gScratchSize: u32 = 0;
let gFirst: usize = 0;    // record of slot 0
let gStride: usize = 0;   // bytes from one slot's record to the next
let gSlots: i32 = 0;      // number of slots

// @ts-ignore: decorator
@inline function align8(n: u64): u64 { return (n + 7) & ~(<u64>7); }

/**
 * Allocates and lays out every slot. Returns the end address of the layout, or -BAD_ARG /
 * -NO_MEMORY. The memory is grown here, before the allocator needs it, so that a host refusing
 * to grow memory gives -NO_MEMORY instead of a trap inside the allocator.
 */
export function engineInit(maxConns: i32, bufSize: i32, evCap: i32, scratchSize: i32): i32 {
  if (maxConns < 1 || bufSize < 16 || bufSize > BUF_MAX || evCap < 4 || scratchSize < 128) return -Err.BAD_ARG;
  let buf = <u64>bufSize;
  let rx = buf + 16;
  if (rx < <u64>RX_MIN) rx = <u64>RX_MIN;
  let rxSize = align8(rx);
  let txSize = align8(<u64>TX_HDR + buf);
  let ctlSize = align8(<u64>CTL_CAP);
  let evSize = align8(<u64>evCap * <u64>EV_SIZE);
  let stride = <u64>CONN_SIZE + rxSize + txSize + ctlSize + evSize;
  let head = align8(<u64>scratchSize);
  let total = head + <u64>maxConns * stride;
  if (<u64>evCap > LAYOUT_MAX || total > LAYOUT_MAX) return -Err.NO_MEMORY;

  if (gBlock != 0) {
    heap.free(gBlock);
    gBlock = 0;
    gSlots = 0;
  }
  // Worst case end of the block in the stub runtime: heap base, block header and alignment.
  let need = <u64>__heap_base + 64 + total;
  let pages = <i32>((need + 0xffff) >> 16);
  let have = memory.size();
  if (pages > have && memory.grow(pages - have) < 0) return -Err.NO_MEMORY;

  let block = heap.alloc(<usize>total);
  gBlock = block;
  gScratch = block;
  gScratchSize = <u32>scratchSize;
  gFirst = block + <usize>head;
  gStride = <usize>stride;
  gSlots = maxConns;
  memory.fill(block, 0, <usize>head);

  for (let i = 0; i < maxConns; i++) {
    let c = gFirst + <usize>i * gStride;
    let r = c + CONN_SIZE;
    store<u32>(c, <u32>r, C_RX_PTR);
    store<u32>(c, <u32>rx, C_RX_CAP);
    r += <usize>rxSize;
    store<u32>(c, <u32>r, C_TX_PTR);
    store<u32>(c, <u32>bufSize, C_TX_CAP);
    r += <usize>txSize;
    store<u32>(c, <u32>r, C_CTL_PTR);
    r += <usize>ctlSize;
    store<u32>(c, <u32>r, C_EV_PTR);
    store<u32>(c, <u32>evCap, C_EV_CAP);
    connReset(c);
  }
  return <i32>(block + <usize>total);
}

/**
 * The record of `slot`, or -NOT_INIT / -BAD_SLOT. Addresses are below 1 GiB, so positive.
 * Inlined into every export: one wasm call less per engine call.
 */
// @ts-ignore: decorator
@inline export function connOf(slot: i32): i32 {
  if (gSlots == 0) return -Err.NOT_INIT;
  if (<u32>slot >= <u32>gSlots) return -Err.BAD_SLOT;
  return <i32>(gFirst + <usize>slot * gStride);
}

/** Scratch area address, or -NOT_INIT. */
export function scratchAddr(): i32 {
  if (gSlots == 0) return -Err.NOT_INIT;
  return <i32>gScratch;
}

/** Scratch area size in bytes (0 before init). */
export function scratchSize(): u32 {
  return gSlots == 0 ? 0 : gScratchSize;
}

/**
 * Makes the record IDLE with the default configuration: everything after the region pointers
 * is zeroed (state, events, keep, close codes, handshake and frame areas).
 */
export function connReset(c: usize): void {
  store<u32>(c, 0, C_CTL_LEN);
  store<u32>(c, 0, C_EV_COUNT);
  memory.fill(c + C_EV_CAP + 4, 0, CONN_SIZE - C_EV_CAP - 4);
  store<u32>(c, DEF_PING_MS, C_CFG_PING_MS);
  store<u32>(c, DEF_PONG_MS, C_CFG_PONG_MS);
  store<u32>(c, DEF_CLOSE_MS, C_CFG_CLOSE_MS);
  store<u32>(c, DEF_MAX_FRAME, C_CFG_MAX_FRAME);
  store<u32>(c, DEF_MAX_MSG, C_CFG_MAX_MSG);
  store<u32>(c, DEF_HS_LIMIT, C_CFG_HS_LIMIT);
  store<u32>(c, DEF_UTF8, C_CFG_UTF8);
  store<u32>(c, load<u32>(c, C_TX_CAP), C_CFG_CHUNK);
}

/**
 * Sets one configuration parameter. 0, or -BAD_PARAM for an unknown id or a value out of range:
 * CHUNK 0 or over buf_size, MAX_FRAME / MAX_MESSAGE 0 or over 2^31-1, HS_LIMIT under 64,
 * UTF8_POLICY over 3. Timer values are any u32 (0 disables the ping and the pong timeout).
 */
export function connConfig(c: usize, param: i32, value: u32): i32 {
  let off: u32 = 0;
  switch (param) {
    case Param.PING_INTERVAL_MS: off = C_CFG_PING_MS; break;
    case Param.PONG_TIMEOUT_MS: off = C_CFG_PONG_MS; break;
    case Param.CLOSE_TIMEOUT_MS: off = C_CFG_CLOSE_MS; break;
    case Param.MAX_FRAME: {
      if (value == 0 || value > DEF_MAX_FRAME) return -Err.BAD_PARAM;
      off = C_CFG_MAX_FRAME; break;
    }
    case Param.MAX_MESSAGE: {
      if (value == 0 || value > DEF_MAX_MSG) return -Err.BAD_PARAM;
      off = C_CFG_MAX_MSG; break;
    }
    case Param.HS_LIMIT: {
      if (value < 64) return -Err.BAD_PARAM;
      off = C_CFG_HS_LIMIT; break;
    }
    case Param.UTF8_POLICY: {
      if (value > 3) return -Err.BAD_PARAM;
      off = C_CFG_UTF8; break;
    }
    case Param.CHUNK: {
      if (value == 0 || value > load<u32>(c, C_TX_CAP)) return -Err.BAD_PARAM;
      off = C_CFG_CHUNK; break;
    }
    default: return -Err.BAD_PARAM;
  }
  store<u32>(c + off, value);
  return 0;
}
