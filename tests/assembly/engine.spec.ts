// The engine's exports (assembly/index.ts): init and the slot layout, argument validation,
// configuration, the timers (tick) and the handshake-then-frames path of recv.

import {
  init, conn, scratch, conn_reset, conn_config, uri_parse, hs_request, recv, send, tick,
  err_close_code, k_mask, k_utf8,
} from "../../assembly/index";
// The scalar references are not exports of engine.wasm (the device would compile them for nothing).
import { maskCopyRef as k_mask_ref } from "../../assembly/kernels/mask";
import { utf8CheckRef as k_utf8_ref } from "../../assembly/kernels/utf8";
import {
  CONN_SIZE, C_RX_PTR, C_RX_CAP, C_TX_PTR, C_TX_CAP, C_CTL_PTR, C_CTL_LEN, C_EV_PTR, C_EV_CAP, C_STATE,
  C_ERROR, C_CLOSE_TX, C_CFG_PING_MS, C_CFG_PONG_MS, C_CFG_CLOSE_MS, C_CFG_MAX_FRAME, C_CFG_MAX_MSG,
  C_CFG_HS_LIMIT, C_CFG_UTF8, C_CFG_CHUNK, C_KEEP_LEN, TX_HDR, CTL_CAP, RX_MIN, State, Param,
  DEF_PING_MS, DEF_PONG_MS, DEF_CLOSE_MS, DEF_MAX_FRAME, DEF_MAX_MSG, DEF_HS_LIMIT, DEF_UTF8,
} from "../../assembly/layout";
import { EV_SIZE, Ev } from "../../assembly/events";
import { Err } from "../../assembly/errors";
import {
  K1, K2, NOW, WIRE, wReset, w8, w16, wStr, wHead, wText, setup, config, reopen, openViaHandshake, putStr,
  field, state, evType, evCode, evA, feedOnce, ctlTrace, allSplits, dataTrace,
} from "./engine_util.include";

describe("before init", () => {
  it("every slot export returns -NOT_INIT", () => {
    expect(conn(0)).toBe(-Err.NOT_INIT);
    expect(scratch()).toBe(-Err.NOT_INIT);
    expect(conn_reset(0)).toBe(-Err.NOT_INIT);
    expect(conn_config(0, Param.CHUNK, 16)).toBe(-Err.NOT_INIT);
    expect(uri_parse(5)).toBe(-Err.NOT_INIT);
    expect(hs_request(0, 80, 1, 1, 0, 0, 0, 0)).toBe(-Err.NOT_INIT);
    expect(recv(0, 0, 0, 0, 0)).toBe(-Err.NOT_INIT);
    expect(send(0, 0x81, 0, 0, 0)).toBe(-Err.NOT_INIT);
    expect(tick(0, 0, 0)).toBe(-Err.NOT_INIT);
  });
});

describe("init", () => {
  it("rejects out-of-range arguments with -BAD_ARG", () => {
    expect(init(0, 1024, 16, 256)).toBe(-Err.BAD_ARG);
    expect(init(-1, 1024, 16, 256)).toBe(-Err.BAD_ARG);
    expect(init(1, 15, 16, 256)).toBe(-Err.BAD_ARG);
    expect(init(1, (1 << 20) + 1, 16, 256)).toBe(-Err.BAD_ARG);
    expect(init(1, -1, 16, 256)).toBe(-Err.BAD_ARG);
    expect(init(1, 1024, 3, 256)).toBe(-Err.BAD_ARG);
    expect(init(1, 1024, 16, 127)).toBe(-Err.BAD_ARG);
    expect(conn(0)).toBe(-Err.NOT_INIT);
  });
  it("accepts the limits themselves", () => {
    expect(init(1, 16, 4, 128)).toBeGreaterThan(0);
    expect(init(1, 1 << 20, 4, 128)).toBeGreaterThan(0);
    expect(field(C_TX_CAP)).toBe(1 << 20);
    expect(field(C_RX_CAP)).toBe((1 << 20) + 16);
  });
  it("lays out slots as documented: record, rx max(buf+16, 256), tx 14+buf, ctl, events; 8-aligned", () => {
    let end = init(3, 1000, 5, 200);
    expect(end).toBeGreaterThan(0);
    let s = scratch();
    expect(s & 7).toBe(0);
    expect(conn(0) - s).toBe(200);
    let prevEnd = conn(0);
    for (let i = 0; i < 3; i++) {
      let c = <usize>conn(i);
      expect(<i32>c).toBe(prevEnd, "slot follows the previous one");
      expect(c & 7).toBe(0);
      let rx = load<u32>(c, C_RX_PTR);
      expect(rx).toBe(<u32>c + CONN_SIZE);
      expect(load<u32>(c, C_RX_CAP)).toBe(1016);
      let tx = load<u32>(c, C_TX_PTR);
      expect(tx).toBe(rx + 1016);
      expect(load<u32>(c, C_TX_CAP)).toBe(1000);
      let ctl = load<u32>(c, C_CTL_PTR);
      expect(ctl).toBe(tx + 1016); // 14 + 1000 rounded up to 8
      expect(ctl & 7).toBe(0);
      let ev = load<u32>(c, C_EV_PTR);
      expect(ev).toBe(ctl + ((CTL_CAP + 7) & ~7));
      expect(load<u32>(c, C_EV_CAP)).toBe(5);
      prevEnd = <i32>((ev + 5 * EV_SIZE + 7) & ~7); // the event area rounded up to 8
      expect(load<u32>(c, C_STATE)).toBe(State.IDLE);
    }
    expect(end).toBe(prevEnd);
    expect(conn(3)).toBe(-Err.BAD_SLOT);
    expect(conn(-1)).toBe(-Err.BAD_SLOT);
    expect(<usize>end <= (<usize>memory.size() << 16)).toBe(true);
  });
  it("the rx window is at least RX_MIN bytes", () => {
    init(1, 16, 4, 128);
    expect(field(C_RX_CAP)).toBe(RX_MIN);
    init(1, 300, 4, 128);
    expect(field(C_RX_CAP)).toBe(316);
  });
  it("a layout too large for memory is refused with -NO_MEMORY and the old one stays", () => {
    let end = init(2, 1024, 16, 256);
    expect(init(0x7fffffff, 1 << 20, 4, 128)).toBe(-Err.NO_MEMORY);
    expect(init(1, 1024, 0x7fffffff, 128)).toBe(-Err.NO_MEMORY);
    expect(conn(1)).toBeGreaterThan(0);
    expect(init(2, 1024, 16, 256)).toBeGreaterThan(0);
    expect(end).toBeGreaterThan(0);
  });
  it("every slot export validates the slot", () => {
    init(2, 1024, 16, 256);
    let bad: i32[] = [2, -1, 1000];
    for (let i = 0; i < bad.length; i++) {
      let s = bad[i];
      expect(conn(s)).toBe(-Err.BAD_SLOT);
      expect(conn_reset(s)).toBe(-Err.BAD_SLOT);
      expect(conn_config(s, Param.CHUNK, 16)).toBe(-Err.BAD_SLOT);
      expect(hs_request(s, 80, 1, 1, 0, 0, 0, 0)).toBe(-Err.BAD_SLOT);
      expect(recv(s, 0, 0, 0, 0)).toBe(-Err.BAD_SLOT);
      expect(send(s, 0x81, 0, 0, 0)).toBe(-Err.BAD_SLOT);
      expect(tick(s, 0, 0)).toBe(-Err.BAD_SLOT);
    }
    expect(conn_reset(1)).toBe(0);
  });
});

describe("conn_reset and conn_config", () => {
  it("conn_reset applies the documented defaults and IDLE, keeping the regions", () => {
    init(1, 512, 8, 128);
    let c = <usize>conn(0);
    let rx = load<u32>(c, C_RX_PTR);
    conn_config(0, Param.PING_INTERVAL_MS, 1);
    store<u32>(c, State.FAILED, C_STATE);
    store<u32>(c, 77, C_ERROR);
    expect(conn_reset(0)).toBe(0);
    expect(load<u32>(c, C_STATE)).toBe(State.IDLE);
    expect(load<u32>(c, C_ERROR)).toBe(0);
    expect(load<u32>(c, C_RX_PTR)).toBe(rx);
    expect(load<u32>(c, C_EV_CAP)).toBe(8);
    expect(load<u32>(c, C_CFG_PING_MS)).toBe(DEF_PING_MS);
    expect(load<u32>(c, C_CFG_PONG_MS)).toBe(DEF_PONG_MS);
    expect(load<u32>(c, C_CFG_CLOSE_MS)).toBe(DEF_CLOSE_MS);
    expect(load<u32>(c, C_CFG_MAX_FRAME)).toBe(DEF_MAX_FRAME);
    expect(load<u32>(c, C_CFG_MAX_MSG)).toBe(DEF_MAX_MSG);
    expect(load<u32>(c, C_CFG_HS_LIMIT)).toBe(DEF_HS_LIMIT);
    expect(load<u32>(c, C_CFG_UTF8)).toBe(DEF_UTF8);
    expect(load<u32>(c, C_CFG_CHUNK)).toBe(512);
  });
  it("conn_config stores valid values and refuses the rest with -BAD_PARAM", () => {
    init(1, 512, 8, 128);
    let c = <usize>conn(0);
    expect(conn_config(0, 0, 1)).toBe(-Err.BAD_PARAM);
    expect(conn_config(0, 9, 1)).toBe(-Err.BAD_PARAM);
    expect(conn_config(0, Param.PING_INTERVAL_MS, 0)).toBe(0);
    expect(load<u32>(c, C_CFG_PING_MS)).toBe(0);
    expect(conn_config(0, Param.PONG_TIMEOUT_MS, 0xffffffff)).toBe(0);
    expect(load<u32>(c, C_CFG_PONG_MS)).toBe(0xffffffff);
    expect(conn_config(0, Param.CLOSE_TIMEOUT_MS, 7)).toBe(0);
    expect(load<u32>(c, C_CFG_CLOSE_MS)).toBe(7);
    expect(conn_config(0, Param.MAX_FRAME, 0)).toBe(-Err.BAD_PARAM);
    expect(conn_config(0, Param.MAX_FRAME, 0x80000000)).toBe(-Err.BAD_PARAM);
    expect(conn_config(0, Param.MAX_FRAME, 1)).toBe(0);
    expect(load<u32>(c, C_CFG_MAX_FRAME)).toBe(1);
    expect(conn_config(0, Param.MAX_MESSAGE, 0)).toBe(-Err.BAD_PARAM);
    expect(conn_config(0, Param.MAX_MESSAGE, 0x80000000)).toBe(-Err.BAD_PARAM);
    expect(conn_config(0, Param.MAX_MESSAGE, 0x7fffffff)).toBe(0);
    expect(conn_config(0, Param.HS_LIMIT, 63)).toBe(-Err.BAD_PARAM);
    expect(conn_config(0, Param.HS_LIMIT, 64)).toBe(0);
    expect(load<u32>(c, C_CFG_HS_LIMIT)).toBe(64);
    expect(conn_config(0, Param.UTF8_POLICY, 4)).toBe(-Err.BAD_PARAM);
    expect(conn_config(0, Param.UTF8_POLICY, 3)).toBe(0);
    expect(load<u32>(c, C_CFG_UTF8)).toBe(3);
    expect(conn_config(0, Param.CHUNK, 0)).toBe(-Err.BAD_PARAM);
    expect(conn_config(0, Param.CHUNK, 513)).toBe(-Err.BAD_PARAM);
    expect(conn_config(0, Param.CHUNK, 512)).toBe(0);
    expect(conn_config(0, Param.CHUNK, 1)).toBe(0);
    expect(load<u32>(c, C_CFG_CHUNK)).toBe(1);
  });
});

describe("uri_parse, err_close_code, kernels", () => {
  it("uri_parse reads scratch + 64 and writes the record at scratch", () => {
    init(1, 512, 8, 128);
    let s = <usize>scratch();
    let n = putStr(s + 64, "wss://example.com:8443/a?b");
    expect(uri_parse(<i32>n)).toBe(0);
    expect(load<u32>(s)).toBe(1);
    expect(load<u32>(s, 4)).toBe(8443);
    expect(load<u32>(s, 12)).toBe(11);
    n = putStr(s + 64, "http://example.com/");
    expect(uri_parse(<i32>n)).toBe(-Err.URI_SCHEME);
    expect(uri_parse(65)).toBe(-Err.URI_TOO_LONG);
    expect(uri_parse(-1)).toBe(-Err.URI_TOO_LONG);
  });
  it("err_close_code: 1002 protocol, 1007 UTF-8, 1009 size, 0 otherwise", () => {
    expect(err_close_code(Err.RSV)).toBe(1002);
    expect(err_close_code(Err.CLOSE_CODE)).toBe(1002);
    expect(err_close_code(Err.UTF8)).toBe(1007);
    expect(err_close_code(Err.CLOSE_UTF8)).toBe(1007);
    expect(err_close_code(Err.FRAME_TOO_BIG)).toBe(1009);
    expect(err_close_code(Err.MSG_TOO_BIG)).toBe(1009);
    expect(err_close_code(Err.PONG_TIMEOUT)).toBe(0);
    expect(err_close_code(Err.RESP_ACCEPT)).toBe(0);
    expect(err_close_code(Err.BAD_SLOT)).toBe(0);
  });
  it("k_mask equals k_mask_ref for every length 0..40 and phase", () => {
    let src = memory.data(64);
    let a = memory.data(64);
    let b = memory.data(64);
    for (let i = 0; i < 48; i++) store<u8>(src + i, <u8>(i * 37 + 11));
    let ok = true;
    for (let len: usize = 0; len <= 40; len++) {
      for (let ph: u32 = 0; ph < 4; ph++) {
        k_mask(a + 1, src + 3, len, 0x8badf00d, ph);
        k_mask_ref(b + 1, src + 3, len, 0x8badf00d, ph);
        for (let i: usize = 0; i < len; i++) if (load<u8>(a + 1 + i) != load<u8>(b + 1 + i)) ok = false;
        let k0 = <u8>(0x8badf00d >>> ((ph & 3) << 3));
        if (len > 0 && load<u8>(a + 1) != (load<u8>(src + 3) ^ k0)) ok = false;
      }
    }
    expect(ok).toBe(true);
  });
  it("k_utf8 equals k_utf8_ref: valid, unfinished tail, invalid", () => {
    let p = memory.data(32);
    let cases: u8[][] = [[0x41, 0x42], [0xe4, 0xb8, 0xad], [0xe4, 0xb8], [0xf0, 0x9f, 0x98], [0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80]];
    let want: i32[] = [0, 0, 2, 3, -1, -1, -1];
    for (let i = 0; i < cases.length; i++) {
      let c = cases[i];
      for (let j = 0; j < c.length; j++) store<u8>(p + j, c[j]);
      expect(k_utf8(p, c.length)).toBe(want[i], i.toString());
      expect(k_utf8_ref(p, c.length)).toBe(want[i], i.toString());
    }
  });
});

describe("timers (tick)", () => {
  it("queues an empty masked PING every ping interval", () => {
    setup();
    config(Param.PING_INTERVAL_MS, 1000);
    reopen(0);
    expect(tick(0, 999, K1)).toBe(0);
    expect(field(C_CTL_LEN)).toBe(0);
    expect(tick(0, 1000, K1)).toBe(0);
    expect(ctlTrace()).toBe("T9fmk1:;");
    expect(tick(0, 1999, K2)).toBe(0);
    expect(field(C_CTL_LEN)).toBe(0);
    expect(tick(0, 2000, K2)).toBe(0);
    expect(ctlTrace()).toBe("T9fmk2:;");
  });
  it("ping interval 0 never pings", () => {
    setup();
    config(Param.PING_INTERVAL_MS, 0);
    reopen(0);
    expect(tick(0, 1000000, K1)).toBe(0);
    expect(tick(0, 0x80000000, K1)).toBe(0);
    expect(field(C_CTL_LEN)).toBe(0);
    expect(state()).toBe(State.OPEN);
  });
  it("fails with PONG_TIMEOUT (no Close) when a PING stays unanswered for the pong timeout", () => {
    setup();
    config(Param.PING_INTERVAL_MS, 1000);
    config(Param.PONG_TIMEOUT_MS, 3000);
    reopen(0);
    tick(0, 1000, K1); // ping outstanding since 1000
    tick(0, 2000, K1);
    tick(0, 3000, K1);
    expect(tick(0, 3999, K1)).toBe(0);
    expect(state()).toBe(State.OPEN);
    expect(tick(0, 4000, K1)).toBe(1);
    expect(evType(0)).toBe(Ev.ERROR);
    expect(evCode(0)).toBe(Err.PONG_TIMEOUT);
    expect(evA(0)).toBe(0);
    expect(field(C_CTL_LEN)).toBe(0);
    expect(field(C_ERROR)).toBe(Err.PONG_TIMEOUT);
    expect(state()).toBe(State.FAILED);
    expect(tick(0, 5000, K1)).toBe(0); // nothing after FAILED
  });
  it("contrapositive: a PONG clears the outstanding ping", () => {
    setup();
    config(Param.PING_INTERVAL_MS, 1000);
    config(Param.PONG_TIMEOUT_MS, 3000);
    reopen(0);
    tick(0, 1000, K1);
    tick(0, 2000, K1);
    wReset(); wHead(0x8a, 0);
    expect(feedOnce(2500)).toBe(1);
    expect(tick(0, 4000, K1)).toBe(0);
    expect(state()).toBe(State.OPEN);
    expect(ctlTrace()).toBe("T9fmk1:;"); // a new ping, outstanding since 4000
    expect(tick(0, 6999, K1)).toBe(0);
    expect(tick(0, 7000, K1)).toBe(1);
    expect(evCode(0)).toBe(Err.PONG_TIMEOUT);
  });
  it("pong timeout 0 never fails", () => {
    setup();
    config(Param.PING_INTERVAL_MS, 1000);
    config(Param.PONG_TIMEOUT_MS, 0);
    reopen(0);
    for (let t: u32 = 1000; t <= 100000; t += 1000) expect(tick(0, t, K1)).toBe(0);
    expect(state()).toBe(State.OPEN);
  });
  it("fails with CLOSE_TIMEOUT when the server does not answer our Close in time", () => {
    setup();
    config(Param.CLOSE_TIMEOUT_MS, 5000);
    reopen(0);
    expect(send(0, 0x88, 0, 1, 100)).toBeGreaterThanOrEqual(0);
    expect(tick(0, 5099, K1)).toBe(0);
    expect(state()).toBe(State.CLOSING);
    expect(field(C_CTL_LEN)).toBe(0); // no pings while closing
    expect(tick(0, 5100, K1)).toBe(1);
    expect(evCode(0)).toBe(Err.CLOSE_TIMEOUT);
    expect(evA(0)).toBe(0);
    expect(state()).toBe(State.FAILED);
  });
  it("contrapositive: the server's Close in time ends in CLOSED and tick does nothing", () => {
    setup();
    config(Param.CLOSE_TIMEOUT_MS, 5000);
    reopen(0);
    send(0, 0x88, 0, 1, 100);
    wReset(); wHead(0x88, 0);
    expect(feedOnce(3000)).toBe(2);
    expect(state()).toBe(State.CLOSED);
    expect(tick(0, 100000, K1)).toBe(0);
    expect(state()).toBe(State.CLOSED);
  });
  it("timers use wrapping u32 differences across now = 0xFFFFFFFF", () => {
    setup();
    config(Param.PING_INTERVAL_MS, 1000);
    config(Param.PONG_TIMEOUT_MS, 2000);
    reopen(0xffffff00);
    expect(tick(0, 0x2e7, K1)).toBe(0);
    expect(field(C_CTL_LEN)).toBe(0);
    expect(tick(0, 0x2e8, K1)).toBe(0); // 0xffffff00 + 1000 wraps to 0x2e8
    expect(ctlTrace()).toBe("T9fmk1:;");
    expect(tick(0, 0x2e8 + 1999, K1)).toBe(0);
    expect(state()).toBe(State.OPEN);
    expect(tick(0, 0x2e8 + 2000, K1)).toBe(1);
    expect(evCode(0)).toBe(Err.PONG_TIMEOUT);
    setup();
    config(Param.CLOSE_TIMEOUT_MS, 300);
    reopen(0);
    send(0, 0x88, 0, 1, 0xffffff00);
    expect(tick(0, 0x2b, K1)).toBe(0);
    expect(tick(0, 0x2c, K1)).toBe(1);
    expect(evCode(0)).toBe(Err.CLOSE_TIMEOUT);
  });
  it("tick does nothing while IDLE or CONNECTING", () => {
    setup();
    let c = reopen(0);
    store<u32>(c, State.IDLE, C_STATE);
    expect(tick(0, 1000000, K1)).toBe(0);
    expect(field(C_CTL_LEN)).toBe(0);
    store<u32>(c, State.CONNECTING, C_STATE);
    expect(tick(0, 1000000, K1)).toBe(0);
    expect(field(C_CTL_LEN)).toBe(0);
  });
});

const RESP = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
const HDRS = "HUpgrade: websocket;HConnection: Upgrade;HSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=;O;";

describe("handshake then frames in one buffer", () => {
  it("a frame packed after the blank line of the 101 response is delivered, split anywhere", () => {
    setup();
    openViaHandshake();
    reopen();
    expect(state()).toBe(State.CONNECTING);
    wReset();
    let n = putStr(WIRE, RESP);
    for (let i: u32 = 0; i < n; i++) w8(load<u8>(WIRE + i)); // advance wlen over the response
    wText(0x81, "Hello");
    wHead(0x89, 0);
    let t = allSplits();
    expect(t).toBe(HDRS + dataTrace(1, 1, WIRE + n + 2, 5) + "D9:;|T10fmk1:;|S2K0");
  });
  it("a bad frame right after the handshake fails the connection with its close code", () => {
    setup();
    openViaHandshake();
    reopen();
    wReset();
    let n = putStr(WIRE, RESP);
    for (let i: u32 = 0; i < n; i++) w8(load<u8>(WIRE + i));
    wHead(0x83, 0);
    expect(allSplits()).toBe(HDRS + "E41,1002;|T8fmk2:03ea;|S5K0");
  });
  it("timers start when the connection opens", () => {
    setup();
    config(Param.PING_INTERVAL_MS, 1000);
    openViaHandshake();
    reopen();
    wReset();
    let n = putStr(WIRE, RESP);
    for (let i: u32 = 0; i < n; i++) w8(load<u8>(WIRE + i));
    expect(feedOnce(50000)).toBe(4);
    expect(state()).toBe(State.OPEN);
    expect(tick(0, 50999, K1)).toBe(0);
    expect(field(C_CTL_LEN)).toBe(0);
    expect(tick(0, 51000, K1)).toBe(0);
    expect(ctlTrace()).toBe("T9fmk1:;");
  });
});
