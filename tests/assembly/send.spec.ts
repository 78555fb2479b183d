// The send path (assembly/send.ts) through the send export: RFC 6455 §5.1-§5.5 for client frames.

import { send, recv, conn_config } from "../../assembly/index";
import { C_RX_PTR, C_TX_PTR, C_TX_CAP, C_STATE, C_CLOSE_TX, State, Param, TX_HDR } from "../../assembly/layout";
import { Err } from "../../assembly/errors";
import { setup, reopen, config, field, state, hex } from "./engine_util.include";

const KEY: u32 = 0x3d21fa37; // RFC 6455 §5.7 example key: bytes 37 fa 21 3d
const COPY: usize = memory.data(70000); // what C put at tx + 14, to compare after unmasking

function tx(): usize { return <usize>field(C_TX_PTR); }
function pay(): usize { return tx() + TX_HDR; }

/** Stages len pattern bytes at tx + 14 (as C's memcpy would) and keeps a copy. */
function stage(len: u32, seed: u32): void {
  for (let i: u32 = 0; i < len; i++) {
    let b = <u8>(i * 13 + seed);
    store<u8>(pay() + i, b);
    store<u8>(COPY + i, b);
  }
}
function stageStr(s: string): u32 {
  let b = String.UTF8.encode(s);
  let n = <u32>b.byteLength;
  for (let i: u32 = 0; i < n; i++) {
    store<u8>(pay() + i, load<u8>(changetype<usize>(b) + i));
    store<u8>(COPY + i, load<u8>(changetype<usize>(b) + i));
  }
  return n;
}
function stageBytes(a: u8[]): u32 {
  for (let i = 0; i < a.length; i++) { store<u8>(pay() + i, a[i]); store<u8>(COPY + i, a[i]); }
  return <u32>a.length;
}

/**
 * Parses the frame at tx + s as a server would (§5.2): checks FIN/opcode, the MASK bit, the
 * minimal length encoding and that it ends at tx + 14 + len; unmasks and compares with COPY.
 */
function checkFrame(s: i32, opflags: u32, len: u32, key: u32): void {
  expect(s).toBeGreaterThanOrEqual(0);
  let f = tx() + <usize>s;
  expect(<u32>load<u8>(f)).toBe(opflags, "FIN/opcode byte");
  let b1 = <u32>load<u8>(f, 1);
  expect(b1 & 0x80).toBe(0x80, "MASK bit");
  let l7 = b1 & 0x7f;
  let hl: u32 = 2;
  let got: u32 = l7;
  if (l7 == 126) {
    hl = 4;
    got = <u32>bswap<u16>(load<u16>(f, 2));
    expect(got >= 126).toBe(true, "16-bit form only for >= 126");
  } else if (l7 == 127) {
    hl = 10;
    expect(load<u32>(f, 2)).toBe(0, "64-bit high word");
    got = bswap<u32>(load<u32>(f, 6));
    expect(got >= 65536).toBe(true, "64-bit form only for >= 65536");
  }
  expect(got).toBe(len, "length");
  expect(<u32>s + hl + 4).toBe(TX_HDR, "header ends where the payload starts");
  expect(load<u32>(f + hl)).toBe(key, "mask key");
  let ok = true;
  for (let i: u32 = 0; i < len; i++) {
    let b = load<u8>(pay() + i) ^ <u8>(key >>> ((i & 3) << 3));
    if (b != load<u8>(COPY + i)) { ok = false; break; }
  }
  expect(ok).toBe(true, "unmasked payload equals the staged payload");
}

describe("§5.7 example and masking (§5.3)", () => {
  it("send('Hello', key 0x3d21fa37) is the RFC's masked text frame", () => {
    setup();
    let n = stageStr("Hello");
    let s = send(0, 0x81, n, KEY, 0);
    expect(s).toBe(8);
    expect(hex(tx() + <usize>s, 11)).toBe("818537fa213d7f9f4d5158");
  });
  it("a different key gives different wire bytes but the same payload after unmasking", () => {
    setup();
    let n = stageStr("Hello");
    let s = send(0, 0x81, n, 0x01020304, 0);
    expect(hex(tx() + <usize>s, 11)).not.toBe("818537fa213d7f9f4d5158");
    checkFrame(s, 0x81, n, 0x01020304);
  });
});

describe("§5.2 minimal length encoding at every boundary", () => {
  it("0, 125 use the 7-bit form; 126, 65535 the 16-bit form; 65536 the 64-bit form", () => {
    setup(65536);
    let lens: u32[] = [0, 1, 125, 126, 127, 65535, 65536];
    let starts: i32[] = [8, 8, 8, 6, 6, 6, 0];
    for (let i = 0; i < lens.length; i++) {
      reopen();
      stage(lens[i], i);
      let s = send(0, 0x82, lens[i], 0xa5a5a5a5 ^ i, 0);
      expect(s).toBe(starts[i], "start for " + lens[i].toString());
      checkFrame(s, 0x82, lens[i], 0xa5a5a5a5 ^ i);
    }
  });
  it("a payload over tx_cap is refused with SEND_TOO_LONG; tx_cap itself is accepted", () => {
    setup(1024);
    expect(field(C_TX_CAP)).toBe(1024);
    stage(1024, 1);
    expect(send(0, 0x82, 1025, KEY, 0)).toBe(-Err.SEND_TOO_LONG);
    let s = send(0, 0x82, 1024, KEY, 0);
    checkFrame(s, 0x82, 1024, KEY);
    expect(send(0, 0x82, -1, KEY, 0)).toBe(-Err.SEND_TOO_LONG);
  });
});

describe("§5.4 fragmentation sequence on send", () => {
  it("a continuation with no message open is refused (SEND_CONT_NO_MSG); inside one it is accepted", () => {
    setup();
    expect(send(0, 0x80, 0, KEY, 0)).toBe(-Err.SEND_CONT_NO_MSG);
    expect(send(0, 0x00, 0, KEY, 0)).toBe(-Err.SEND_CONT_NO_MSG);
    stage(3, 0);
    checkFrame(send(0, 0x02, 3, KEY, 0), 0x02, 3, KEY);
    stage(3, 1); // the payload was masked in place: C copies the next one in
    checkFrame(send(0, 0x00, 3, KEY, 0), 0x00, 3, KEY);
    stage(3, 2);
    checkFrame(send(0, 0x80, 3, KEY, 0), 0x80, 3, KEY);
    expect(send(0, 0x80, 0, KEY, 0)).toBe(-Err.SEND_CONT_NO_MSG);
  });
  it("a new message while a fragmented one is open is refused (SEND_MSG_OPEN); after FIN it is accepted", () => {
    setup();
    stage(2, 0);
    expect(send(0, 0x01, 2, KEY, 0)).toBeGreaterThanOrEqual(0);
    expect(send(0, 0x81, 2, KEY, 0)).toBe(-Err.SEND_MSG_OPEN);
    expect(send(0, 0x02, 2, KEY, 0)).toBe(-Err.SEND_MSG_OPEN);
    expect(send(0, 0x80, 0, KEY, 0)).toBeGreaterThanOrEqual(0);
    stage(2, 0);
    checkFrame(send(0, 0x82, 2, KEY, 0), 0x82, 2, KEY);
  });
  it("control frames may be sent between fragments", () => {
    setup();
    stage(2, 0);
    expect(send(0, 0x01, 2, KEY, 0)).toBeGreaterThanOrEqual(0);
    stage(2, 1);
    checkFrame(send(0, 0x89, 2, KEY, 0), 0x89, 2, KEY);
    stage(2, 2);
    checkFrame(send(0, 0x8a, 2, KEY, 0), 0x8a, 2, KEY);
    stage(2, 3);
    checkFrame(send(0, 0x80, 2, KEY, 0), 0x80, 2, KEY);
  });
});

describe("§5.5 control frames on send", () => {
  it("a control frame over 125 bytes is refused (SEND_CTRL_TOO_LONG); 125 is accepted", () => {
    setup();
    stage(126, 0);
    expect(send(0, 0x89, 126, KEY, 0)).toBe(-Err.SEND_CTRL_TOO_LONG);
    expect(send(0, 0x8a, 126, KEY, 0)).toBe(-Err.SEND_CTRL_TOO_LONG);
    checkFrame(send(0, 0x89, 125, KEY, 0), 0x89, 125, KEY);
  });
  it("a control frame without FIN is refused (SEND_OPCODE); with FIN accepted", () => {
    setup();
    expect(send(0, 0x09, 0, KEY, 0)).toBe(-Err.SEND_OPCODE);
    expect(send(0, 0x0a, 0, KEY, 0)).toBe(-Err.SEND_OPCODE);
    expect(send(0, 0x08, 0, KEY, 0)).toBe(-Err.SEND_OPCODE);
    checkFrame(send(0, 0x8a, 0, KEY, 0), 0x8a, 0, KEY);
  });
  it("reserved opcodes and RSV bits are refused (SEND_OPCODE)", () => {
    setup();
    let bad: u32[] = [0x83, 0x87, 0x8b, 0x8f, 0xc1, 0xa1, 0x91, 0x181];
    for (let i = 0; i < bad.length; i++) expect(send(0, bad[i], 0, KEY, 0)).toBe(-Err.SEND_OPCODE, bad[i].toString());
    checkFrame(send(0, 0x81, 0, KEY, 0), 0x81, 0, KEY);
  });
});

describe("§5.5.1 sending a Close", () => {
  it("a 1-byte Close or a code that may not be sent is refused (SEND_CLOSE_CODE)", () => {
    setup();
    stageBytes([0x03]);
    expect(send(0, 0x88, 1, KEY, 0)).toBe(-Err.SEND_CLOSE_CODE);
    let bad: u32[] = [999, 1004, 1005, 1006, 1015, 1016, 2999, 5000];
    for (let i = 0; i < bad.length; i++) {
      store<u16>(pay(), bswap<u16>(<u16>bad[i]));
      expect(send(0, 0x88, 2, KEY, 0)).toBe(-Err.SEND_CLOSE_CODE, bad[i].toString());
    }
    expect(state()).toBe(State.OPEN);
  });
  it("a Close with 1000 and a reason is framed, moves to CLOSING and records C_CLOSE_TX", () => {
    setup();
    stageBytes([0x03, 0xe8, 0x62, 0x79, 0x65]);
    checkFrame(send(0, 0x88, 5, KEY, 0), 0x88, 5, KEY);
    expect(state()).toBe(State.CLOSING);
    expect(field(C_CLOSE_TX)).toBe(1000);
  });
  it("codes 3000 and 4999 may be sent", () => {
    setup();
    stageBytes([0x0b, 0xb8]);
    expect(send(0, 0x88, 2, KEY, 0)).toBeGreaterThanOrEqual(0);
    expect(field(C_CLOSE_TX)).toBe(3000);
    reopen();
    stageBytes([0x13, 0x87]);
    expect(send(0, 0x88, 2, KEY, 0)).toBeGreaterThanOrEqual(0);
    expect(field(C_CLOSE_TX)).toBe(4999);
  });
  it("an empty Close is allowed and recorded as 1005", () => {
    setup();
    checkFrame(send(0, 0x88, 0, KEY, 0), 0x88, 0, KEY);
    expect(field(C_CLOSE_TX)).toBe(1005);
  });
  it("after the Close every send is refused with CLOSE_SENT; before it they are accepted", () => {
    setup();
    stage(4, 0);
    expect(send(0, 0x81, 0, KEY, 0)).toBeGreaterThanOrEqual(0);
    expect(send(0, 0x89, 0, KEY, 0)).toBeGreaterThanOrEqual(0);
    expect(send(0, 0x88, 0, KEY, 0)).toBeGreaterThanOrEqual(0);
    expect(send(0, 0x81, 0, KEY, 0)).toBe(-Err.CLOSE_SENT);
    expect(send(0, 0x89, 0, KEY, 0)).toBe(-Err.CLOSE_SENT);
    expect(send(0, 0x88, 0, KEY, 0)).toBe(-Err.CLOSE_SENT);
  });
  it("after the server's Close (echo queued) sends are refused with CLOSE_SENT", () => {
    setup();
    let rx = <usize>field(C_RX_PTR);
    store<u8>(rx, 0x88);
    store<u8>(rx, 0x00, 1);
    expect(recv(0, 2, 0, 1, 2)).toBe(2);
    expect(state()).toBe(State.CLOSED);
    expect(send(0, 0x81, 0, KEY, 0)).toBe(-Err.CLOSE_SENT);
  });
  it("sends are refused with NOT_OPEN before the connection is open", () => {
    setup();
    let c = reopen();
    store<u32>(c, State.IDLE, C_STATE);
    expect(send(0, 0x81, 0, KEY, 0)).toBe(-Err.NOT_OPEN);
    store<u32>(c, State.CONNECTING, C_STATE);
    expect(send(0, 0x81, 0, KEY, 0)).toBe(-Err.NOT_OPEN);
    store<u32>(c, State.OPEN, C_STATE);
    expect(send(0, 0x81, 0, KEY, 0)).toBeGreaterThanOrEqual(0);
  });
});

describe("strict UTF-8 policy (UTF8_POLICY bit 1)", () => {
  it("invalid text is refused with SEND_UTF8 and nothing changes", () => {
    setup();
    config(Param.UTF8_POLICY, 3);
    let n = stageBytes([0x48, 0xff, 0x49]);
    let before = hex(tx(), TX_HDR + n);
    expect(send(0, 0x81, n, KEY, 0)).toBe(-Err.SEND_UTF8);
    expect(hex(tx(), TX_HDR + n)).toBe(before);
  });
  it("a code point split across fragments is accepted; one cut at FIN is refused", () => {
    setup();
    config(Param.UTF8_POLICY, 3);
    stageBytes([0xe4, 0xb8]);
    expect(send(0, 0x01, 2, KEY, 0)).toBeGreaterThanOrEqual(0);
    stageBytes([0xad, 0xe6]); // completes 中, starts 文
    expect(send(0, 0x00, 2, KEY, 0)).toBeGreaterThanOrEqual(0);
    stageBytes([0x96]);
    expect(send(0, 0x80, 1, KEY, 0)).toBe(-Err.SEND_UTF8); // 文 still unfinished
    // the refused fragment changed nothing: the right one completes the message
    stageBytes([0x96, 0x87]);
    expect(send(0, 0x80, 2, KEY, 0)).toBeGreaterThanOrEqual(0);
    stageBytes([0xe4]);
    expect(send(0, 0x81, 1, KEY, 0)).toBe(-Err.SEND_UTF8);
  });
  it("an invalid Close reason is refused under the strict policy", () => {
    setup();
    config(Param.UTF8_POLICY, 3);
    stageBytes([0x03, 0xe8, 0xff]);
    expect(send(0, 0x88, 3, KEY, 0)).toBe(-Err.SEND_UTF8);
    expect(state()).toBe(State.OPEN);
  });
  it("contrapositive: with bit 1 clear, invalid text is sent; binary is never checked", () => {
    setup();
    let n = stageBytes([0x48, 0xff, 0x49]);
    checkFrame(send(0, 0x81, n, KEY, 0), 0x81, n, KEY);
    reopen();
    conn_config(0, Param.UTF8_POLICY, 2);
    n = stageBytes([0xff]);
    checkFrame(send(0, 0x82, n, KEY, 0), 0x82, n, KEY);
  });
});

// send() writes a whole TEXT/BINARY message (FIN, OPEN, nothing fragmented open, no strict text
// check) inline, header and mask included for up to 125 bytes; everything else goes through the
// path that checks every rule. Both must frame a payload identically.
/** Frames `len` staged bytes with `opflags`; returns the frame's bytes as hex. */
function frameHex(opflags: u32, len: u32, key: u32): string {
  stage(len, len);
  let s = send(0, opflags, len, key, 0);
  checkFrame(s, opflags, len, key);
  return hex(tx() + <usize>s, TX_HDR - <u32>s + len);
}
describe("send fast path: the same frame as the checked path", () => {
  it("binary and text of every length 0..300 and every key byte phase: the fast path equals the checked path (opened by a fragment)", () => {
    setup();
    let keys: u32[] = [KEY, 0x01020304, 0xffffffff, 0];
    for (let len: u32 = 0; len <= 300; len++) {
      for (let k = 0; k < keys.length; k++) {
        for (let t: u32 = 1; t <= 2; t++) {
          reopen();
          let fast = frameHex(0x80 | t, len, keys[k]);
          // The checked path frames the same bytes as the final fragment of a message (opcode 0
          // there), so compare everything after the first byte, and the first byte's FIN.
          reopen();
          stage(0, 0);
          expect(send(0, t, 0, keys[k], 0)).toBe(8); // opens a message: the next send is checked
          let slow = frameHex(0x80, len, keys[k]);
          expect(fast.slice(2)).toBe(slow.slice(2), "len " + len.toString());
        }
      }
    }
  });
  it("16-bit lengths past 300 (128-byte mask blocks and every halving step), up to 65535: fast equals checked", () => {
    setup(65536);
    let lens: u32[] = [383, 510, 511, 512, 513, 767, 1000, 1023, 1024, 1025, 4095, 4103, 65535];
    for (let len: u32 = 301; len < 700; len += 37) lens.push(len);
    for (let i = 0; i < lens.length; i++) {
      let len = lens[i];
      reopen();
      let fast = frameHex(0x82, len, KEY ^ len);
      reopen();
      stage(0, 0);
      expect(send(0, 2, 0, KEY ^ len, 0)).toBe(8);
      let slow = frameHex(0x80, len, KEY ^ len);
      expect(fast.slice(2)).toBe(slow.slice(2), "len " + len.toString());
    }
  });
  it("under the strict policy text goes the checked path (invalid refused); binary stays framed", () => {
    setup();
    config(Param.UTF8_POLICY, 3);
    let n = stageBytes([0x61, 0x80]);
    expect(send(0, 0x81, n, KEY, 0)).toBe(-Err.SEND_UTF8);
    n = stageBytes([0x61, 0x80]);
    checkFrame(send(0, 0x82, n, KEY, 0), 0x82, n, KEY);
    n = stageBytes([0x61, 0x62]);
    checkFrame(send(0, 0x81, n, KEY, 0), 0x81, n, KEY);
  });
  it("a whole message is refused while a fragmented one is open, and after a Close, even when small", () => {
    setup();
    stage(3, 1);
    expect(send(0, 0x01, 3, KEY, 0)).toBe(8);
    stage(3, 1);
    expect(send(0, 0x82, 3, KEY, 0)).toBe(-Err.SEND_MSG_OPEN);
    stage(0, 0);
    expect(send(0, 0x80, 0, KEY, 0)).toBe(8);
    stage(3, 1);
    checkFrame(send(0, 0x82, 3, KEY, 0), 0x82, 3, KEY);
    stage(0, 0);
    expect(send(0, 0x88, 0, KEY, 0)).toBe(8);
    stage(3, 1);
    expect(send(0, 0x82, 3, KEY, 0)).toBe(-Err.CLOSE_SENT);
    expect(send(0, 0x81, 3, KEY, 0)).toBe(-Err.CLOSE_SENT);
  });
});
