// The receive path (assembly/frame.ts) through the recv export: RFC 6455 §5 framing rules and
// the DATA chunk contract. Every wire vector runs whole, split at every offset and one byte at a
// time (allSplits), and the traces (events, unmasked control output, final state), the payload
// and the exact list of DATA chunks must agree.

import { conn_config, recv, send, err_close_code } from "../../assembly/index";
import { C_RX_PTR, C_ERROR, C_CLOSE_RX, C_CLOSE_TX, C_CTL_PTR, C_CTL_LEN, C_EV_PTR, CTL_CAP, C_KEEP_LEN, C_KEEP_OFF, C_MORE, C_TX_PTR, State, Param } from "../../assembly/layout";
import { Ev } from "../../assembly/events";
import { Err } from "../../assembly/errors";
import { utf8CheckRef } from "../../assembly/kernels/utf8";
import {
  K1, K2, WIRE, wlen, wReset, w8, w16, w32, wBytes, wStr, wHead, wFill, wText, utf8Len,
  setup, config, reopen, field, state, bytesStr, evType, evOp, evFin, evLen, evA, evB, evCode, evText, evPtr,
  feedOnce, ctlCloseCode, ctlTrace, allSplits, dataTrace, hex, fnvOf, drive, moreSeen, calls,
  wholeChunks,
} from "./engine_util.include";

function hex16(v: u32): string {
  let t = memory.data(2);
  store<u8>(t, <u8>(v >>> 8));
  store<u8>(t, <u8>v, 1);
  return hex(t, 2);
}

/** Trace tail of a failure with `err`: the ERROR event, the queued Close (if any), FAILED, nothing kept. */
function failTail(err: u32): string {
  let cc = <u32>err_close_code(err);
  return "E" + err.toString() + "," + cc.toString() + ";|" + (cc != 0 ? "T8fmk2:" + hex16(cc) + ";" : "") + "|S5K0";
}

/**
 * WIRE must fail the connection with `err` after the events in `prefix`, however it is split;
 * and in one call: ERROR record (code, close code), C_ERROR, FAILED, Close frame in ctl.
 */
function expectFail(err: u32, prefix: string = "", ctlPrefix: string = ""): void {
  let cc = <u32>err_close_code(err);
  let t = allSplits();
  let tail = failTail(err);
  if (ctlPrefix.length > 0) tail = tail.replace("|T8", "|" + ctlPrefix + "T8");
  expect(t).toBe(prefix + tail);
  reopen();
  let n = feedOnce();
  expect(n).toBeGreaterThan(0);
  expect(evType(n - 1)).toBe(Ev.ERROR);
  expect(evCode(n - 1)).toBe(err);
  expect(evA(n - 1)).toBe(cc);
  expect(state()).toBe(State.FAILED);
  expect(field(C_ERROR)).toBe(err);
  expect(ctlCloseCode()).toBe(cc);
  expect(field(C_CLOSE_TX)).toBe(cc);
  expect(field(C_KEEP_LEN)).toBe(0);
}

/** WIRE must be accepted whole, split and byte by byte with the trace `want`. */
function expectTrace(want: string): void {
  expect(allSplits()).toBe(want);
}

const OPEN_END = "||S2K0";

function textTrace(op: u32, fin: u32, s: string): string {
  let b = String.UTF8.encode(s);
  return dataTrace(op, fin, changetype<usize>(b), <u32>b.byteLength);
}

describe("RFC 6455 §5.7 examples", () => {
  it("single-frame unmasked text 'Hello' is one DATA event", () => {
    setup();
    wReset(); wBytes([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    expectTrace(textTrace(1, 1, "Hello") + OPEN_END);
    reopen();
    expect(feedOnce()).toBe(1);
    expect(evType(0)).toBe(Ev.DATA);
    expect(evOp(0)).toBe(1);
    expect(evFin(0)).toBe(1);
    expect(evText(0)).toBe("Hello");
    expect(evPtr(0)).toBe(<usize>field(C_RX_PTR) + 2);
    expect(evA(0)).toBe(5);
    expect(evB(0)).toBe(0);
  });

  it("single-frame masked text from the server fails MASKED (§5.1), 1002", () => {
    setup();
    wReset(); wBytes([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    expectFail(Err.MASKED);
  });

  it("fragmented unmasked text 'Hel' + 'lo' is two frames, opcode then continuation", () => {
    setup();
    wReset(); wBytes([0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]);
    expectTrace(textTrace(1, 0, "Hel") + textTrace(0, 1, "lo") + OPEN_END);
    reopen();
    expect(feedOnce()).toBe(2);
    expect(evOp(0)).toBe(1);
    expect(evFin(0)).toBe(0);
    expect(evText(0)).toBe("Hel");
    expect(evOp(1)).toBe(0);
    expect(evFin(1)).toBe(1);
    expect(evText(1)).toBe("lo");
  });

  it("unmasked Ping 'Hello' is answered by the masked Pong of §5.7", () => {
    setup();
    wReset(); wBytes([0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    expectTrace("D9:48656c6c6f;|T10fmk1:48656c6c6f;|S2K0");
    reopen();
    expect(feedOnce()).toBe(1);
    expect(evOp(0)).toBe(9);
    expect(evText(0)).toBe("Hello");
    // K1 = 0x3d21fa37: the masked Pong is exactly the RFC's example bytes.
    let want: u8[] = [0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    expect(field(C_CTL_LEN)).toBe(want.length);
    let ctl = <usize>field(C_CTL_PTR);
    for (let i = 0; i < want.length; i++) expect(load<u8>(ctl + <usize>i)).toBe(want[i], "pong byte " + i.toString());
  });

  it("256-byte binary frame uses the 16-bit length (126 form)", () => {
    setup();
    wReset(); wBytes([0x82, 0x7e, 0x01, 0x00]); wFill(256, 3);
    expectTrace(dataTrace(2, 1, WIRE + 4, 256) + OPEN_END);
  });

  it("65536-byte binary frame uses the 64-bit length (127 form), delivered in chunks", () => {
    setup(1024);
    wReset(); wBytes([0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]); wFill(65536, 5);
    expect(allSplits(4099)).toBe(dataTrace(2, 1, WIRE + 10, 65536) + OPEN_END);
  });
});

describe("fast path and chunking", () => {
  it("fast-path frames back to back in one buffer give one event each", () => {
    setup();
    wReset(); wText(0x81, "a"); wText(0x82, ""); wHead(0x82, 125); wFill(125, 1); wText(0x81, "bc");
    expectTrace(textTrace(1, 1, "a") + textTrace(2, 1, "") + dataTrace(2, 1, WIRE + 7, 125) + textTrace(1, 1, "bc") + OPEN_END);
    reopen();
    expect(feedOnce()).toBe(4);
  });

  it("a frame over CHUNK is delivered in chunks of CHUNK bytes with offsets (contrapositive: at CHUNK, one event)", () => {
    setup();
    config(Param.CHUNK, 16);
    wReset(); wHead(0x82, 40); wFill(40, 9);
    expectTrace(dataTrace(2, 1, WIRE + 2, 40) + OPEN_END);
    expect(wholeChunks).toBe("16,16,8;");
    reopen();
    expect(feedOnce()).toBe(3);
    expect(evLen(0)).toBe(16); expect(evB(0)).toBe(0); expect(evA(0)).toBe(40);
    expect(evLen(1)).toBe(16); expect(evB(1)).toBe(16);
    expect(evLen(2)).toBe(8); expect(evB(2)).toBe(32);
    wReset(); wHead(0x82, 16); wFill(16, 9);
    reopen();
    expect(feedOnce()).toBe(1);
    expect(evLen(0)).toBe(16);
  });

  it("a chunk is delivered only once all of it is here; a cut header or chunk is kept", () => {
    setup();
    wReset(); wHead(0x82, 300); wFill(300, 2);
    reopen();
    let rx = <usize>field(C_RX_PTR);
    for (let i: u32 = 0; i < wlen; i++) store<u8>(rx + i, load<u8>(WIRE + i));
    // 3 of the 4 header bytes: nothing consumed
    expect(recv(0, 3, 0, K1, K2)).toBe(0);
    expect(field(C_KEEP_OFF)).toBe(0);
    expect(field(C_KEEP_LEN)).toBe(3);
    // the header and 10 of the frame's 300 bytes (its only chunk): the header is consumed, the 10 kept
    expect(recv(0, 14, 0, K1, K2)).toBe(0);
    expect(field(C_KEEP_OFF)).toBe(4);
    expect(field(C_KEEP_LEN)).toBe(10);
    // contrapositive: all 300 -> one chunk of 300, nothing kept
    reopen();
    expect(recv(0, 304, 0, K1, K2)).toBe(1);
    expect(evLen(0)).toBe(300);
    expect(evA(0)).toBe(300);
    expect(field(C_KEEP_LEN)).toBe(0);
    // with CHUNK 16: 19 payload bytes give one chunk of 16 and keep 3; 20 give one and keep 4
    config(Param.CHUNK, 16);
    reopen();
    expect(recv(0, 4 + 15, 0, K1, K2)).toBe(0);
    expect(field(C_KEEP_LEN)).toBe(15);
    reopen();
    expect(recv(0, 4 + 19, 0, K1, K2)).toBe(1);
    expect(evLen(0)).toBe(16);
    expect(field(C_KEEP_OFF)).toBe(20);
    expect(field(C_KEEP_LEN)).toBe(3);
  });

  it("an incomplete frame at the end: whole chunks are delivered, the rest is kept", () => {
    setup();
    wReset(); wHead(0x82, 10); wFill(4, 0);
    expectTrace("||S2K4");
    expect(wholeChunks).toBe("");
    config(Param.CHUNK, 16);
    wReset(); wHead(0x82, 40); wFill(36, 0);
    expectTrace("||S2K4P32");
    expect(wholeChunks).toBe("16,16,");
    wReset(); wBytes([0x82, 0x7e, 0x01]);
    expectTrace("||S2K3");
  });
});

describe("DATA chunks: exactly CHUNK bytes but a frame's last (esp_websocket_client's buffer_size chunks)", () => {
  it("a 2000-byte message at buffer_size 1024 is 1024 at offset 0, then 976 at offset 1024", () => {
    setup(1024);
    wReset(); wHead(0x82, 2000); wFill(2000, 11);
    expectTrace(dataTrace(2, 1, WIRE + 4, 2000) + OPEN_END);
    expect(wholeChunks).toBe("1024,976;");
    // The C loop by hand: a full window (1040) gives the first chunk and keeps 12 bytes.
    reopen();
    let rx = <usize>field(C_RX_PTR);
    for (let i: u32 = 0; i < 1040; i++) store<u8>(rx + i, load<u8>(WIRE + i));
    expect(recv(0, 1040, 0, K1, K2)).toBe(1);
    expect(evLen(0)).toBe(1024); expect(evB(0)).toBe(0); expect(evA(0)).toBe(2000); expect(evFin(0)).toBe(1);
    expect(evPtr(0)).toBe(rx + 4);
    expect(field(C_KEEP_OFF)).toBe(1028);
    expect(field(C_KEEP_LEN)).toBe(12);
    // 12 kept + 900 read: still short of the last 976, nothing delivered, all 912 kept
    for (let i: u32 = 0; i < 912; i++) store<u8>(rx + i, load<u8>(WIRE + 1028 + i));
    expect(recv(0, 912, 0, K1, K2)).toBe(0);
    expect(field(C_KEEP_OFF)).toBe(0);
    expect(field(C_KEEP_LEN)).toBe(912);
    // the rest: 976 at offset 1024, the frame's last chunk
    for (let i: u32 = 912; i < 976; i++) store<u8>(rx + i, load<u8>(WIRE + 1028 + i));
    expect(recv(0, 976, 0, K1, K2)).toBe(1);
    expect(evLen(0)).toBe(976); expect(evB(0)).toBe(1024); expect(evA(0)).toBe(2000); expect(evFin(0)).toBe(1);
    expect(fnvOf(evPtr(0), 976)).toBe(fnvOf(WIRE + 4 + 1024, 976));
    expect(field(C_KEEP_LEN)).toBe(0);
  });

  it("a 2001-byte text message at 1024 is chunked through a code point and validated across it", () => {
    setup(1024);
    let s = "";
    for (let i = 0; i < 667; i++) s += "中"; // 3 bytes each: byte 1024 is inside a code point
    wReset(); wText(0x81, s);
    expectTrace(textTrace(1, 1, s) + OPEN_END);
    expect(wholeChunks).toBe("1024,977;");
  });

  it("each frame of a fragmented message is chunked on its own, control frames between them", () => {
    setup(1024);
    wReset(); wHead(0x02, 1500); wFill(1500, 1); wHead(0x89, 3); wStr("abc"); wHead(0x00, 30); wFill(30, 2);
    wHead(0x80, 1100); wFill(1100, 3);
    let t = allSplits(7);
    expect(t).toBe(dataTrace(2, 0, WIRE + 4, 1500) + "D9:616263;" + dataTrace(0, 0, WIRE + 1511, 30) +
      dataTrace(0, 1, WIRE + 1545, 1100) + "|T10fmk1:616263;|S2K0");
    expect(wholeChunks).toBe("1024,476;30;1024,76;");
  });

  it("a frame ending exactly at a chunk boundary ends with a full chunk (contrapositive: one byte more adds a 1-byte chunk)", () => {
    setup(1024);
    wReset(); wHead(0x82, 2048); wFill(2048, 4);
    expectTrace(dataTrace(2, 1, WIRE + 4, 2048) + OPEN_END);
    expect(wholeChunks).toBe("1024,1024;");
    wReset(); wHead(0x82, 2049); wFill(2049, 4);
    expectTrace(dataTrace(2, 1, WIRE + 4, 2049) + OPEN_END);
    expect(wholeChunks).toBe("1024,1024,1;");
    wReset(); wHead(0x82, 1024); wFill(1024, 4);
    expectTrace(dataTrace(2, 1, WIRE + 4, 1024) + OPEN_END);
    expect(wholeChunks).toBe("1024;");
  });

  it("CHUNK smaller than buf_size sets the chunk size (contrapositive: the default is buf_size)", () => {
    setup(1024);
    config(Param.CHUNK, 100);
    wReset(); wHead(0x82, 250); wFill(250, 5); wHead(0x82, 200); wFill(200, 6); wHead(0x82, 0);
    expectTrace(dataTrace(2, 1, WIRE + 4, 250) + dataTrace(2, 1, WIRE + 258, 200) + textTrace(2, 1, "") + OPEN_END);
    expect(wholeChunks).toBe("100,100,50;100,100;0;");
    setup(1024);
    expectTrace(dataTrace(2, 1, WIRE + 4, 250) + dataTrace(2, 1, WIRE + 258, 200) + textTrace(2, 1, "") + OPEN_END);
    expect(wholeChunks).toBe("250;200;0;");
  });

  it("long frames through the smallest windows never stick, at every split and byte by byte", () => {
    // rx window 256 (RX_MIN) at buf_size 16 and 240: with CHUNK 240 a kept partial chunk leaves
    // only 17 bytes of the window free. drive() asserts after every call that the kept bytes are
    // fewer than rx_cap and that a full window was not kept whole.
    let bufs: i32[] = [240, 16, 240];
    let evCaps: i32[] = [16, 16, 4];
    for (let k = 0; k < bufs.length; k++) {
      setup(bufs[k], evCaps[k]);
      let chunk = <u32>bufs[k];
      wReset();
      wHead(0x02, 3000); wFill(3000, 7);
      wHead(0x89, 125);
      let ping = WIRE + wlen;
      wFill(125, 8);
      wHead(0x80, 479);
      let cont = WIRE + wlen;
      wFill(479, 9);
      wText(0x81, "x");
      wHead(0x82, 2 * chunk);
      let last = WIRE + wlen;
      wFill(2 * chunk, 10);
      let t = allSplits();
      expect(t).toBe(dataTrace(2, 0, WIRE + 4, 3000) + "D9:" + hex(ping, 125) + ";" +
        dataTrace(0, 1, cont, 479) + textTrace(1, 1, "x") + dataTrace(2, 1, last, 2 * chunk) +
        "|T10fmk1:" + hex(ping, 125) + ";|S2K0");
      // the exact chunk list, from the rule: CHUNK bytes each, the rest last
      let want = "";
      let lens: u32[] = [3000, 479, 1, 2 * chunk];
      for (let f = 0; f < lens.length; f++) {
        let rest = lens[f];
        while (rest > chunk) { want += chunk.toString() + ","; rest -= chunk; }
        want += rest.toString() + ";";
      }
      expect(wholeChunks).toBe(want, "buf_size " + bufs[k].toString());
    }
  });
});

describe("§5.2 RSV bits MUST be 0 without a negotiated extension", () => {
  it("RSV1, RSV2, RSV3 each fail RSV with 1002", () => {
    setup();
    let rsv: u32[] = [0x40, 0x20, 0x10];
    for (let i = 0; i < rsv.length; i++) {
      wReset(); wText(0x81 | rsv[i], "x");
      expectFail(Err.RSV);
    }
  });
  it("contrapositive: RSV clear is accepted", () => {
    setup();
    wReset(); wText(0x81, "x");
    expectTrace(textTrace(1, 1, "x") + OPEN_END);
  });
});

describe("§5.2 reserved opcodes MUST fail the connection", () => {
  it("opcodes 3-7 and 0xB-0xF fail OPCODE with 1002", () => {
    setup();
    let ops: u32[] = [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf];
    for (let i = 0; i < ops.length; i++) {
      wReset(); wHead(0x80 | ops[i], 0);
      expectFail(Err.OPCODE);
    }
  });
  it("contrapositive: opcodes 0, 1, 2, 8, 9, A are accepted in sequence", () => {
    setup();
    wReset(); wHead(0x01, 0); wHead(0x80, 0); wHead(0x82, 0); wHead(0x89, 0); wHead(0x8a, 0); wHead(0x88, 0);
    expectTrace(textTrace(1, 0, "") + textTrace(0, 1, "") + textTrace(2, 1, "") + "D9:;D10:;D8:;C1005:;|T10fmk1:;T8fmk2:;|S4K0");
  });
});

describe("§5.1 a client MUST fail on a masked server frame", () => {
  it("MASK bit on data and control frames fails MASKED with 1002", () => {
    setup();
    wReset(); wBytes([0x82, 0x80, 1, 2, 3, 4]);
    expectFail(Err.MASKED);
    wReset(); wBytes([0x89, 0x81, 1, 2, 3, 4, 5]);
    expectFail(Err.MASKED);
  });
  it("a masked frame with a 16- or 64-bit length (second byte FE, FF) fails MASKED after 0, 1, 2 fast frames, text checked or not", () => {
    for (let policy: u32 = 0; policy <= 1; policy++) {
      for (let before = 0; before <= 2; before++) {
        for (let b1: u32 = 0xfe; b1 <= 0xff; b1++) {
          setup();
          config(Param.UTF8_POLICY, policy);
          wReset();
          let prefix = "";
          for (let i = 0; i < before; i++) {
            let at = WIRE + <usize>wlen + 2;
            wHead(0x82, 1); w8(0x78);
            prefix += dataTrace(2, 1, at, 1);
          }
          // enough bytes behind it that a 2-byte header reading of FE/FF as a length would fit
          w8(0x82); w8(b1);
          if (b1 == 0xfe) w16(300); else { w32(0); w32(300); }
          w32(0x01020304); wFill(300, 3);
          expectFail(Err.MASKED, prefix);
        }
      }
    }
  });
  it("contrapositive: the same frames unmasked are accepted", () => {
    setup();
    wReset(); wBytes([0x82, 0x00, 0x89, 0x01, 5]);
    expectTrace(textTrace(2, 1, "") + "D9:05;|T10fmk1:05;|S2K0");
  });
});

describe("§5.5 control frames: at most 125 bytes, never fragmented", () => {
  it("a 126-byte PING fails CTRL_TOO_LONG with 1002", () => {
    setup();
    wReset(); wBytes([0x89, 0x7e, 0x00, 0x7e]); wFill(126, 0);
    expectFail(Err.CTRL_TOO_LONG);
  });
  it("contrapositive: a 125-byte PING is accepted and echoed", () => {
    setup();
    wReset(); wHead(0x89, 125); wFill(125, 0);
    let t = allSplits();
    expect(t.startsWith("D9:" + hex(WIRE + 2, 125) + ";|T10fmk1:" + hex(WIRE + 2, 125) + ";|S2K0")).toBe(true);
  });
  it("a PING without FIN fails CTRL_FRAGMENTED with 1002", () => {
    setup();
    wReset(); wHead(0x09, 0);
    expectFail(Err.CTRL_FRAGMENTED);
    wReset(); wHead(0x08, 0);
    expectFail(Err.CTRL_FRAGMENTED);
  });
  it("contrapositive: a PING with FIN is accepted", () => {
    setup();
    wReset(); wHead(0x89, 0);
    expectTrace("D9:;|T10fmk1:;|S2K0");
  });
  it("a control frame cut anywhere is kept whole until complete", () => {
    setup();
    wReset(); wHead(0x89, 100); wFill(99, 0);
    expectTrace("||S2K101");
  });
});

describe("§5.2 minimal length encoding and the 64-bit top bit", () => {
  it("a 126-form length under 126 fails LEN_NOT_MINIMAL with 1002", () => {
    setup();
    wReset(); wBytes([0x82, 0x7e, 0x00, 0x7d]); wFill(125, 0);
    expectFail(Err.LEN_NOT_MINIMAL);
  });
  it("contrapositive: a 126-form length of 126 is accepted", () => {
    setup();
    wReset(); wBytes([0x82, 0x7e, 0x00, 0x7e]); wFill(126, 0);
    expectTrace(dataTrace(2, 1, WIRE + 4, 126) + OPEN_END);
  });
  it("a 127-form length under 65536 fails LEN_NOT_MINIMAL with 1002", () => {
    setup();
    wReset(); wBytes([0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff]); wFill(20, 0);
    expectFail(Err.LEN_NOT_MINIMAL);
  });
  it("contrapositive: a 127-form length of 65536 is accepted (header consumed, payload pending)", () => {
    setup();
    wReset(); wBytes([0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]);
    expectTrace("||S2K0");
  });
  it("a 64-bit length with the top bit set fails LEN_TOP_BIT with 1002", () => {
    setup();
    wReset(); wBytes([0x82, 0x7f, 0x80, 0, 0, 0, 0, 1, 0, 0]);
    expectFail(Err.LEN_TOP_BIT);
  });
});

describe("§5.4 fragmentation sequence", () => {
  it("a continuation with no message in progress fails CONT_NO_MSG with 1002", () => {
    setup();
    wReset(); wText(0x80, "x");
    expectFail(Err.CONT_NO_MSG);
    wReset(); wText(0x81, "a"); wText(0x80, "x");
    expectFail(Err.CONT_NO_MSG, textTrace(1, 1, "a"));
  });
  it("contrapositive: a continuation inside a message is accepted", () => {
    setup();
    wReset(); wText(0x01, "a"); wText(0x00, "b"); wText(0x80, "c");
    expectTrace(textTrace(1, 0, "a") + textTrace(0, 0, "b") + textTrace(0, 1, "c") + OPEN_END);
  });
  it("TEXT or BINARY inside a fragmented message fails DATA_IN_MSG with 1002", () => {
    setup();
    wReset(); wText(0x01, "a"); wText(0x81, "b");
    expectFail(Err.DATA_IN_MSG, textTrace(1, 0, "a"));
    wReset(); wText(0x02, "a"); wText(0x02, "b");
    expectFail(Err.DATA_IN_MSG, textTrace(2, 0, "a"));
  });
  it("contrapositive: a new message after the final fragment is accepted", () => {
    setup();
    wReset(); wText(0x01, "a"); wText(0x80, "b"); wText(0x81, "c");
    expectTrace(textTrace(1, 0, "a") + textTrace(0, 1, "b") + textTrace(1, 1, "c") + OPEN_END);
  });
  it("control frames between fragments are accepted (§5.4)", () => {
    setup();
    wReset(); wText(0x01, "Hel"); wHead(0x89, 0); wHead(0x8a, 0); wText(0x80, "lo");
    expectTrace(textTrace(1, 0, "Hel") + "D9:;D10:;" + textTrace(0, 1, "lo") + "|T10fmk1:;|S2K0");
  });
});

describe("size limits (1009)", () => {
  it("a frame over MAX_FRAME fails FRAME_TOO_BIG with 1009; at MAX_FRAME it is accepted", () => {
    setup();
    config(Param.MAX_FRAME, 100);
    wReset(); wHead(0x82, 101); wFill(101, 0);
    expectFail(Err.FRAME_TOO_BIG);
    wReset(); wHead(0x82, 100); wFill(100, 0);
    expectTrace(dataTrace(2, 1, WIRE + 2, 100) + OPEN_END);
  });
  it("a 64-bit length over 2^31-1 always fails FRAME_TOO_BIG; 2^31-1 passes the default limit", () => {
    setup();
    wReset(); wBytes([0x82, 0x7f, 0, 0, 0, 0, 0x80, 0, 0, 0]);
    expectFail(Err.FRAME_TOO_BIG);
    wReset(); wBytes([0x82, 0x7f, 0, 0, 0, 1, 0, 0, 0, 0]);
    expectFail(Err.FRAME_TOO_BIG);
    wReset(); wBytes([0x82, 0x7f, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff]);
    expectTrace("||S2K0");
  });
  it("a message over MAX_MESSAGE fails MSG_TOO_BIG with 1009; at MAX_MESSAGE it is accepted", () => {
    setup();
    config(Param.MAX_MESSAGE, 10);
    wReset(); wText(0x01, "abcde"); wText(0x80, "fghijk");
    expectFail(Err.MSG_TOO_BIG, textTrace(1, 0, "abcde"));
    wReset(); wText(0x01, "abcde"); wText(0x80, "fghij"); wText(0x81, "0123456789");
    expectTrace(textTrace(1, 0, "abcde") + textTrace(0, 1, "fghij") + textTrace(1, 1, "0123456789") + OPEN_END);
    wReset(); wText(0x81, "0123456789a");
    expectFail(Err.MSG_TOO_BIG);
  });
});

// The receive fast loop (small whole FIN TEXT/BINARY frames, no message in progress) tests text
// with an inline ASCII word test first and runs the chunk validator only when that fails. Its
// verdict must be the validator's: each wire below has a binary frame of 0xff bytes first (so the
// bytes just before the text frame's header are not ASCII), the text frame, then an ASCII frame.
/**
 * Writes the three frames; the text payload is `len` ASCII bytes with `bytes` at `at`. With
 * `last` the ASCII frame is left out: the text frame ends the input (the loop checks a last frame
 * on its own, and a frame with more input behind it in a run: both must agree).
 */
function wireWith(len: u32, at: u32, bytes: u8[], last: bool = false): usize {
  wReset();
  wHead(0x82, 10);
  for (let i = 0; i < 10; i++) w8(0xff);
  wHead(0x81, len);
  let pay = WIRE + <usize>wlen;
  for (let i: u32 = 0; i < len; i++) w8(0x61 + i % 26);
  for (let j = 0; j < bytes.length && at + <u32>j < len; j++) store<u8>(pay + at + <usize>j, bytes[j]);
  if (!last) wText(0x81, "ok");
  return pay;
}
/** One call: 3 DATA events (2 when `last`) when the payload is valid UTF-8, else DATA then ERROR UTF8. */
function verdictAgrees(pay: usize, len: u32, last: bool = false): bool {
  let valid = utf8CheckRef(pay, <usize>len) == 0;
  reopen();
  let n = feedOnce();
  if (valid && last) return n == 2 && evType(1) == Ev.DATA && evLen(1) == len && state() == State.OPEN;
  if (valid) return n == 3 && evType(1) == Ev.DATA && evLen(1) == len && evType(2) == Ev.DATA && state() == State.OPEN;
  return n == 2 && evType(1) == Ev.ERROR && evCode(1) == Err.UTF8 && state() == State.FAILED;
}

describe("§8.1 receive fast loop: the inline ASCII test agrees with the full UTF-8 validator", () => {
  it("ASCII text frames of every length 0..125 are delivered (positive)", () => {
    setup();
    for (let len: u32 = 0; len <= 125; len++) {
      let pay = wireWith(len, 0, []);
      expect(verdictAgrees(pay, len)).toBe(true, "ascii len " + len.toString());
      expect(evLen(1)).toBe(len);
    }
  });
  it("one non-ASCII byte at every offset of every length 1..125: a stray 80 or FF fails, an unfinished C3 fails, C3 A9 passes", () => {
    setup();
    let cases: u8[][] = [[0x80], [0xff], [0xc3], [0xc3, 0xa9], [0xe4, 0xb8, 0xad], [0xed, 0xa0, 0x80]];
    let bad = 0;
    let failed = 0;
    for (let len: u32 = 1; len <= 125; len++) {
      for (let at: u32 = 0; at < len; at++) {
        for (let k = 0; k < cases.length; k++) {
          let pay = wireWith(len, at, cases[k]);
          if (!verdictAgrees(pay, len)) bad++;
          if (state() == State.FAILED) failed++;
        }
      }
    }
    expect(bad).toBe(0);
    expect(failed).toBeGreaterThan(20000); // the sweep does reach the failing side
  });
  it("the same verdicts at every split and byte by byte (lengths around the word size)", () => {
    setup();
    let lens: u32[] = [1, 2, 7, 8, 9, 15, 16, 17, 125];
    for (let i = 0; i < lens.length; i++) {
      let len = lens[i];
      let pay = wireWith(len, len - 1, [0x80]);
      expectFail(Err.UTF8, dataTrace(2, 1, WIRE + 2, 10));
      pay = wireWith(len, 0, [0xff]);
      expectFail(Err.UTF8, dataTrace(2, 1, WIRE + 2, 10));
      pay = wireWith(len, 0, []);
      let text = bytesStr(pay, len);
      expectTrace(dataTrace(2, 1, WIRE + 2, 10) + textTrace(1, 1, text) + textTrace(1, 1, "ok") + OPEN_END);
    }
  });
  it("the inline per-code-point check agrees with the validator for every lead and second byte, whole and cut by the frame's end", () => {
    setup();
    // The text frame with a frame behind it (checked in the run) and as the input's last frame
    // (checked on its own).
    for (let k = 0; k < 2; k++) {
      let last = k == 1;
      let bad = 0;
      let valid = 0;
      for (let b0: u32 = 0x80; b0 <= 0xff; b0++) {
        for (let b1: u32 = 0; b1 <= 0xff; b1++) {
          // the lead's length in bytes, continuations after the second
          let seq: u8[] = b0 < 0xe0 ? [<u8>b0, <u8>b1] : b0 < 0xf0 ? [<u8>b0, <u8>b1, 0x80] : [<u8>b0, <u8>b1, 0x80, 0x80];
          // "ab" + the sequence + ASCII; then cut after its 2nd byte (and its 3rd for 3/4-byte leads)
          if (!verdictAgrees(wireWith(9, 2, seq, last), 9, last)) bad++;
          if (state() == State.OPEN) valid++;
          if (!verdictAgrees(wireWith(4, 2, seq, last), 4, last)) bad++;
          if (b0 >= 0xe0 && !verdictAgrees(wireWith(5, 2, seq, last), 5, last)) bad++;
        }
      }
      // third and fourth bytes that are not continuations, after every valid 3/4-byte start
      let tails: u8[] = [0x00, 0x7f, 0xc0, 0xff];
      for (let b0: u32 = 0xe0; b0 <= 0xf7; b0++) {
        for (let b1: u32 = 0x80; b1 <= 0xbf; b1++) {
          for (let t = 0; t < tails.length; t++) {
            if (!verdictAgrees(wireWith(9, 2, [<u8>b0, <u8>b1, tails[t], 0x80], last), 9, last)) bad++;
            if (!verdictAgrees(wireWith(9, 2, [<u8>b0, <u8>b1, 0x80, tails[t]], last), 9, last)) bad++;
          }
        }
      }
      expect(bad).toBe(0, last ? "text frame last" : "text frame in a run");
      // 2-byte C2-DF x 64, 3-byte 16 x 64 less E0 and ED's 32 each, 4-byte F0 48 + F1-F3 3 x 64 + F4 16
      expect(valid).toBe(30 * 64 + 16 * 64 - 64 + 48 + 192 + 16);
    }
  });
  it("a run of non-ASCII text frames with binary ones between: all delivered; a bad one in it fails after those before it", () => {
    setup();
    wReset();
    let want = "";
    for (let i = 0; i < 6; i++) {
      let t = "\u4e2d\u6587 " + i.toString() + " \ud83d\ude42";
      wText(0x81, t);
      want += textTrace(1, 1, t);
      if (i == 2) {
        let at = WIRE + <usize>wlen + 2;
        wHead(0x82, 3); wBytes([0xff, 0xfe, 0x80]);
        want += dataTrace(2, 1, at, 3);
      }
    }
    expectTrace(want + OPEN_END);
    reopen();
    expect(feedOnce()).toBe(7);
    // contrapositive: the 5th text frame (after 4 text and 1 binary) ends in a lone lead byte
    let fifth = 0;
    wReset();
    want = "";
    for (let i = 0; i < 6; i++) {
      let t = "\u4e2d\u6587 " + i.toString() + " \ud83d\ude42";
      if (i == 4) {
        fifth = wlen;
        wHead(0x81, 3); wBytes([0xe4, 0xb8, 0xe4]);
      } else {
        wText(0x81, t);
        if (i < 4) want += textTrace(1, 1, t);
      }
      if (i == 2) {
        let at = WIRE + <usize>wlen + 2;
        wHead(0x82, 3); wBytes([0xff, 0xfe, 0x80]);
        want += dataTrace(2, 1, at, 3);
      }
    }
    expect(fifth).toBeGreaterThan(0);
    expectFail(Err.UTF8, want);
  });
  it("binary and text frames back to back, taken in pairs or singly, at event capacities 4..9 (whole, split, byte by byte)", () => {
    let kinds = "bbtbbtttbbbtb";
    for (let cap = 4; cap <= 9; cap++) {
      setup(1024, cap);
      wReset();
      let want = "";
      for (let i = 0; i < kinds.length; i++) {
        if (kinds.charAt(i) == "b") {
          let at = WIRE + <usize>wlen + 2;
          wHead(0x82, <u32>i); wFill(<u32>i, <u32>i);
          want += dataTrace(2, 1, at, <u32>i);
        } else {
          let t = "\u00e9\u4e2d" + i.toString();
          wText(0x81, t);
          want += textTrace(1, 1, t);
        }
      }
      expectTrace(want + OPEN_END);
      reopen();
      expect(feedOnce()).toBe(min(cap - 1, kinds.length), "events in one call at ev_cap " + cap.toString());
    }
  });
  it("a whole text frame after a fragmented message that carried a sequence: checked on its own", () => {
    setup();
    // TEXT (no FIN) CE, CONT FIN 80 completes the character; then a whole ASCII text frame.
    wReset(); wBytes([0x01, 0x01, 0xce, 0x80, 0x01, 0x80]); wText(0x81, "fine");
    let t = allSplits();
    expect(t.endsWith(textTrace(1, 1, "fine") + OPEN_END)).toBe(true, t);
    // contrapositive: the carried CE is not completed by the next fragment: it fails there, and
    // the whole frame after it is never reached
    wReset(); wBytes([0x01, 0x01, 0xce, 0x80, 0x01, 0x41]); wText(0x81, "fine");
    expectFail(Err.UTF8, "D1,0,1#" + fnvOf(WIRE + 2, 1).toString(16) + ";");
  });
});

describe("§8.1 text payload MUST be valid UTF-8 (1007)", () => {
  it("valid Chinese text passes, split anywhere", () => {
    setup();
    wReset(); wText(0x81, "中文字符，汉字测试");
    expectTrace(textTrace(1, 1, "中文字符，汉字测试") + OPEN_END);
  });
  it("a code point split across fragments passes", () => {
    setup();
    wReset(); wBytes([0x01, 0x01, 0xce, 0x00, 0x02, 0xba, 0xe4, 0x80, 0x02, 0xb8, 0xad]);
    let t = allSplits();
    expect(t.endsWith("||S2K0")).toBe(true);
    expect(t.startsWith("D1,0,1#")).toBe(true);
  });
  it("a code point split across chunks passes", () => {
    setup();
    config(Param.CHUNK, 16);
    wReset(); wText(0x81, "ααααααααααααααααααααα"); // 42 bytes: chunk borders fall inside code points
    expectTrace(textTrace(1, 1, "ααααααααααααααααααααα") + OPEN_END);
  });
  it("an invalid byte fails UTF8 with 1007, and the failing chunk is not delivered", () => {
    setup();
    wReset(); wBytes([0x81, 0x06, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0xff]);
    expectFail(Err.UTF8);
    reopen();
    expect(feedOnce()).toBe(1); // the ERROR only
    wReset(); wBytes([0x81, 0x03, 0xed, 0xa0, 0x80]); // a UTF-16 surrogate
    expectFail(Err.UTF8);
    wReset(); wBytes([0x81, 0x02, 0xc0, 0xaf]); // an overlong '/'
    expectFail(Err.UTF8);
  });
  it("a message truncated at FIN fails UTF8 with 1007, also across fragments", () => {
    setup();
    wReset(); wBytes([0x81, 0x01, 0xce]);
    expectFail(Err.UTF8);
    wReset(); wBytes([0x01, 0x01, 0xe4, 0x80, 0x01, 0xb8]);
    expectFail(Err.UTF8, "D1,0,1#" + fnvOf(WIRE + 2, 1).toString(16) + ";");
  });
  it("the chunk before the bad byte is delivered, the failing chunk is not", () => {
    setup();
    config(Param.CHUNK, 16);
    reopen();
    wReset(); wHead(0x81, 20);
    for (let i = 0; i < 19; i++) w8(0x41);
    w8(0xff);
    expect(feedOnce()).toBe(2);
    expect(evType(0)).toBe(Ev.DATA);
    expect(evLen(0)).toBe(16);
    expect(evType(1)).toBe(Ev.ERROR);
    expect(evCode(1)).toBe(Err.UTF8);
  });
  it("a bad byte fails the connection once its chunk is complete, after the chunks before it", () => {
    setup();
    config(Param.CHUNK, 16);
    wReset(); wHead(0x81, 40);
    for (let i = 0; i < 17; i++) w8(0x41);
    w8(0xff); // offset 17: in the second chunk (16..31)
    for (let i = 18; i < 40; i++) w8(0x41);
    // the same at every split: one chunk of 16 delivered (P16), then the failure
    expect(allSplits()).toBe(failTail(Err.UTF8) + "P16");
    expect(wholeChunks).toBe("16,");
    reopen();
    let rx = <usize>field(C_RX_PTR);
    for (let i: u32 = 0; i < wlen; i++) store<u8>(rx + i, load<u8>(WIRE + i));
    // header + 20 bytes: the first chunk; the bad byte is in the 4 kept bytes, not yet checked
    expect(recv(0, 22, 0, K1, K2)).toBe(1);
    expect(evLen(0)).toBe(16);
    expect(state()).toBe(State.OPEN);
    expect(field(C_KEEP_LEN)).toBe(4);
    // the second chunk complete: ERROR, nothing of it delivered
    for (let i: u32 = 0; i < 16; i++) store<u8>(rx + i, load<u8>(WIRE + 18 + i));
    expect(recv(0, 16, 0, K1, K2)).toBe(1);
    expect(evType(0)).toBe(Ev.ERROR);
    expect(evCode(0)).toBe(Err.UTF8);
    expect(state()).toBe(State.FAILED);
  });
  it("contrapositive: with UTF8_POLICY bit 0 clear, invalid text is delivered", () => {
    setup();
    config(Param.UTF8_POLICY, 0);
    wReset(); wBytes([0x81, 0x02, 0xff, 0xfe, 0x01, 0x01, 0xce, 0x80, 0x00]);
    let t = allSplits();
    expect(t.endsWith(OPEN_END)).toBe(true);
    expect(t.indexOf("E") < 0).toBe(true);
  });
  it("contrapositive: binary payload is never UTF-8 checked", () => {
    setup();
    wReset(); wBytes([0x82, 0x02, 0xff, 0xfe]);
    expectTrace(dataTrace(2, 1, WIRE + 2, 2) + OPEN_END);
  });
});

describe("§5.5.1 Close from the server", () => {
  it("a Close with a code is delivered, echoed with the same code and moves to CLOSED", () => {
    setup();
    wReset(); wHead(0x88, 5); w16(1000); wStr("bye");
    expectTrace("D8:03e8627965;C1000:627965;|T8fmk2:03e8;|S4K0");
    reopen();
    expect(feedOnce()).toBe(2);
    expect(evType(0)).toBe(Ev.DATA);
    expect(evType(1)).toBe(Ev.CLOSE);
    expect(evCode(1)).toBe(1000);
    expect(evText(1)).toBe("bye");
    expect(field(C_CLOSE_RX)).toBe(1000);
    expect(field(C_CLOSE_TX)).toBe(1000);
    expect(ctlCloseCode()).toBe(1000);
    expect(state()).toBe(State.CLOSED);
  });
  it("an empty Close is reported as 1005 and echoed empty", () => {
    setup();
    wReset(); wHead(0x88, 0);
    expectTrace("D8:;C1005:;|T8fmk2:;|S4K0");
    reopen();
    feedOnce();
    expect(field(C_CLOSE_RX)).toBe(1005);
    expect(field(C_CLOSE_TX)).toBe(1005);
  });
  it("a Close answering ours is not echoed again", () => {
    setup();
    let c = reopen();
    store<u16>(<usize>field(C_TX_PTR) + 14, bswap<u16>(1000));
    expect(send(0, 0x88, 2, 0x11111111, 5)).toBeGreaterThanOrEqual(0);
    expect(state()).toBe(State.CLOSING);
    wReset(); wHead(0x88, 2); w16(1001);
    expect(feedOnce()).toBe(2);
    expect(field(C_CTL_LEN)).toBe(0);
    expect(field(C_CLOSE_RX)).toBe(1001);
    expect(field(C_CLOSE_TX)).toBe(1000);
    expect(state()).toBe(State.CLOSED);
    expect(c).toBeGreaterThan(0);
  });
  it("a 1-byte Close body fails CLOSE_1BYTE with 1002", () => {
    setup();
    wReset(); wHead(0x88, 1); w8(3);
    expectFail(Err.CLOSE_1BYTE);
  });
  it("close codes that may not be sent fail CLOSE_CODE with 1002; the others are accepted", () => {
    setup();
    let bad: u32[] = [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535];
    for (let i = 0; i < bad.length; i++) {
      wReset(); wHead(0x88, 2); w16(bad[i]);
      expectFail(Err.CLOSE_CODE);
    }
    let good: u32[] = [1000, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 4000, 4999];
    for (let i = 0; i < good.length; i++) {
      wReset(); wHead(0x88, 2); w16(good[i]);
      expectTrace("D8:" + hex16(good[i]) + ";C" + good[i].toString() + ":;|T8fmk2:" + hex16(good[i]) + ";|S4K0");
    }
  });
  it("a Close reason that is not UTF-8 fails CLOSE_UTF8 with 1007; a UTF-8 reason is accepted", () => {
    setup();
    wReset(); wHead(0x88, 4); w16(1000); w8(0xce); w8(0x41);
    expectFail(Err.CLOSE_UTF8);
    wReset(); wHead(0x88, 4); w16(1000); w8(0xce); w8(0xba);
    expectTrace("D8:03e8ceba;C1000:ceba;|T8fmk2:03e8;|S4K0");
  });
  it("data after the Close is discarded, in the same and in later calls", () => {
    setup();
    wReset(); wHead(0x88, 0); wText(0x81, "Hello"); wHead(0x89, 0);
    expectTrace("D8:;C1005:;|T8fmk2:;|S4K0");
    reopen();
    expect(feedOnce()).toBe(2);
    expect(field(C_KEEP_LEN)).toBe(0);
    wReset(); wText(0x81, "Hello");
    expect(feedOnce()).toBe(0);
    expect(field(C_CTL_LEN)).toBe(0);
    expect(field(C_KEEP_LEN)).toBe(0);
    expect(state()).toBe(State.CLOSED);
  });
  it("after a failure further input is discarded", () => {
    setup();
    wReset(); wHead(0x83, 0);
    reopen();
    expect(feedOnce()).toBe(1);
    wReset(); wText(0x81, "Hello"); wHead(0x89, 0);
    expect(feedOnce()).toBe(0);
    expect(field(C_CTL_LEN)).toBe(0);
    expect(field(C_KEEP_LEN)).toBe(0);
    expect(state()).toBe(State.FAILED);
  });
});

describe("§5.5.2 / §5.5.3 PING and PONG", () => {
  it("a PONG echoes the PING's payload, masked with key1", () => {
    setup();
    wReset(); wHead(0x89, 3); wStr("abc");
    expectTrace("D9:616263;|T10fmk1:616263;|S2K0");
  });
  it("several PINGs in one call: only the latest PONG is queued", () => {
    setup();
    wReset(); wHead(0x89, 1); w8(1); wHead(0x89, 2); w8(2); w8(2); wHead(0x89, 1); w8(3);
    reopen();
    expect(feedOnce()).toBe(3);
    expect(ctlTrace()).toBe("T10fmk1:03;");
  });
  it("a PONG is queued before a Close in the same call", () => {
    setup();
    wReset(); wHead(0x89, 1); w8(7); wHead(0x88, 2); w16(1000);
    reopen();
    expect(feedOnce()).toBe(3);
    expect(ctlTrace()).toBe("T10fmk1:07;T8fmk2:03e8;");
    expect(allSplits()).toBe("D9:07;D8:03e8;C1000:;|T10fmk1:07;T8fmk2:03e8;|S4K0");
  });
  it("the control output at its limit: a 125-byte PONG and then a Close fill CTL_CAP exactly", () => {
    // The largest output a call can leave: the PONG of a 125-byte PING, then the Close it queues
    // (an echo here, an error's Close below). Written past CTL_CAP, the Close would land on the
    // event records that follow the region, and the traces would differ.
    setup();
    let c = reopen();
    expect(load<u32>(c, C_EV_PTR) - load<u32>(c, C_CTL_PTR)).toBeGreaterThanOrEqual(CTL_CAP);
    wReset(); wHead(0x89, 125);
    let ping = WIRE + wlen;
    wFill(125, 3);
    wHead(0x88, 6); w16(1000); wStr("bye!");
    c = reopen();
    expect(feedOnce()).toBe(3);
    expect(field(C_CTL_LEN)).toBe(CTL_CAP);
    expect(allSplits()).toBe("D9:" + hex(ping, 125) + ";D8:03e8" + hex(WIRE + wlen - 4, 4) + ";C1000:" + hex(WIRE + wlen - 4, 4) + ";|T10fmk1:" +
      hex(ping, 125) + ";T8fmk2:03e8;|S4K0");
  });
  it("contrapositive at the limit: a 125-byte PONG and an error's Close fill CTL_CAP exactly", () => {
    setup();
    wReset(); wHead(0x89, 125);
    let ping = WIRE + wlen;
    wFill(125, 4);
    wBytes([0xc2, 0x00]); // RSV1 without an extension
    reopen();
    expect(feedOnce()).toBe(2);
    expect(field(C_CTL_LEN)).toBe(CTL_CAP);
    expectFail(Err.RSV, "D9:" + hex(ping, 125) + ";", "T10fmk1:" + hex(ping, 125) + ";");
  });
  it("an unsolicited PONG is delivered and needs no answer", () => {
    setup();
    wReset(); wHead(0x8a, 2); w8(1); w8(2);
    expectTrace("D10:0102;||S2K0");
  });
});

describe("event area full: C_MORE and resumption", () => {
  it("stops with C_MORE = 1 when fewer than 2 records are free and resumes where it stopped", () => {
    setup(1024, 4);
    wReset();
    for (let i = 0; i < 10; i++) wText(0x81, "m" + i.toString());
    wHead(0x88, 2); w16(1000);
    reopen();
    expect(feedOnce()).toBe(3);
    expect(field(C_MORE)).toBe(1);
    expect(field(C_KEEP_OFF)).toBe(12);
    expect(field(C_KEEP_LEN)).toBe(wlen - 12);
    let want = "";
    for (let i = 0; i < 10; i++) want += textTrace(1, 1, "m" + i.toString());
    expectTrace(want + "D8:03e8;C1000:;|T8fmk2:03e8;|S4K0");
    reopen();
    drive(new Array<u32>());
    expect(moreSeen).toBeGreaterThan(0);
    expect(calls).toBe(moreSeen + 1);
  });
  it("contrapositive: with room for everything C_MORE stays 0", () => {
    setup(1024, 32);
    wReset();
    for (let i = 0; i < 10; i++) wText(0x81, "m" + i.toString());
    reopen();
    expect(feedOnce()).toBe(10);
    expect(field(C_MORE)).toBe(0);
  });
  it("resumption in the middle of a chunked frame", () => {
    setup(1024, 4);
    config(Param.CHUNK, 16);
    wReset(); wHead(0x82, 200); wFill(200, 1);
    expectTrace(dataTrace(2, 1, WIRE + 4, 200) + OPEN_END);
  });
});

describe("states", () => {
  it("input in IDLE is discarded", () => {
    setup();
    let c = reopen();
    store<u32>(c, State.IDLE, 48);
    wReset(); wText(0x81, "x");
    expect(feedOnce()).toBe(0);
    expect(field(C_KEEP_LEN)).toBe(0);
  });
  it("frames are still read while CLOSING", () => {
    setup();
    reopen();
    store<u16>(<usize>field(C_TX_PTR) + 14, bswap<u16>(1000));
    expect(send(0, 0x88, 2, 1, 0)).toBeGreaterThanOrEqual(0);
    wReset(); wText(0x81, "late"); wHead(0x89, 0);
    expect(feedOnce()).toBe(2);
    expect(evText(0)).toBe("late");
    expect(ctlTrace()).toBe("T10fmk1:;");
    // a failure while CLOSING queues no second Close
    wReset(); wHead(0x83, 0);
    expect(feedOnce()).toBe(1);
    expect(evA(0)).toBe(0);
    expect(field(C_CTL_LEN)).toBe(0);
    expect(state()).toBe(State.FAILED);
  });
  it("recv rejects n over the window", () => {
    setup();
    expect(recv(0, 0x7fffffff, 0, 0, 0)).toBe(-Err.BAD_ARG);
    expect(recv(0, -1, 0, 0, 0)).toBe(-Err.BAD_ARG);
    expect(recv(5, 0, 0, 0, 0)).toBe(-Err.BAD_SLOT);
    expect(conn_config(0, 99, 0)).toBe(-Err.BAD_PARAM);
  });
});
