// The opening handshake: request building (RFC 6455 §4.1) and the response check (§4.1, §4.2.2).
import { hsRequest, hsRecv, HS_ACCEPT, HS_HEAD } from "../../assembly/handshake";
import { Err } from "../../assembly/errors";
import { Ev, EV_SIZE, EV_KIND, EV_FULL, EV_PTR, EV_LEN, EV_B } from "../../assembly/events";
import { State, CONN_SIZE, TX_HDR, C_RX_PTR, C_RX_CAP, C_TX_PTR, C_TX_CAP, C_EV_PTR, C_EV_CAP, C_EV_COUNT,
  C_MORE, C_STATE, C_ERROR, C_CFG_HS_LIMIT, DEF_HS_LIMIT } from "../../assembly/layout";

// ---------------------------------------------------------------------------------------------
// A connection record laid out by hand (the real init/conn_reset live elsewhere).

function newConn(rxCap: u32, txCap: u32, evCap: u32): usize {
  let c = heap.alloc(CONN_SIZE);
  memory.fill(c, 0, CONN_SIZE);
  let rx = heap.alloc(rxCap);
  let tx = heap.alloc(TX_HDR + txCap);
  let ev = heap.alloc(evCap * EV_SIZE);
  memory.fill(rx, 0, rxCap);
  memory.fill(tx, 0xaa, TX_HDR + txCap);
  store<u32>(c, <u32>rx, C_RX_PTR);
  store<u32>(c, rxCap, C_RX_CAP);
  store<u32>(c, <u32>tx, C_TX_PTR);
  store<u32>(c, txCap, C_TX_CAP);
  store<u32>(c, <u32>ev, C_EV_PTR);
  store<u32>(c, evCap, C_EV_CAP);
  store<u32>(c, DEF_HS_LIMIT, C_CFG_HS_LIMIT);
  store<u32>(c, State.IDLE, C_STATE);
  return c;
}

function freeConn(c: usize): void {
  heap.free(<usize>load<u32>(c, C_RX_PTR));
  heap.free(<usize>load<u32>(c, C_TX_PTR));
  heap.free(<usize>load<u32>(c, C_EV_PTR));
  heap.free(c);
}

/** Writes a byte string (one char = one byte) at p; returns p + length. */
function putBytes(p: usize, s: string): usize {
  for (let i = 0; i < s.length; i++) store<u8>(p + <usize>i, <u8>s.charCodeAt(i));
  return p + <usize>s.length;
}

function bytesAt(p: usize, n: usize): string {
  let s = "";
  for (let i: usize = 0; i < n; i++) s += String.fromCharCode(load<u8>(p + i));
  return s;
}

/** Lays the inputs out in the rx window as C does and calls hsRequest. */
function request(c: usize, key: string, host: string, port: u32, path: string, proto: string, ua: string,
                 auth: string, hdr: string): i32 {
  let p = <usize>load<u32>(c, C_RX_PTR);
  p = putBytes(p, key);
  p = putBytes(p, host);
  p = putBytes(p, path);
  p = putBytes(p, proto);
  p = putBytes(p, ua);
  p = putBytes(p, auth);
  putBytes(p, hdr);
  return hsRequest(c, port, host.length, path.length, proto.length, ua.length, auth.length, hdr.length);
}

function txText(c: usize, n: i32): string {
  return bytesAt(<usize>load<u32>(c, C_TX_PTR), <usize>n);
}

/** The tx window still holds the 0xaa fill of newConn: nothing was written. */
function txUntouched(c: usize): bool {
  let tx = <usize>load<u32>(c, C_TX_PTR);
  let n = TX_HDR + load<u32>(c, C_TX_CAP);
  for (let i: u32 = 0; i < n; i++) if (load<u8>(tx + i) != 0xaa) return false;
  return true;
}

// RFC 6455 §1.3: the nonce "dGhlIHNhbXBsZSBub25jZQ==" is base64 of these 16 bytes ...
const SAMPLE_KEY = "the sample nonce";
const SAMPLE_KEY_B64 = "dGhlIHNhbXBsZSBub25jZQ==";
// ... and the server answers with this Sec-WebSocket-Accept.
const SAMPLE_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
// A second, binary key: bytes 0x00..0x0f (RFC 4648 base64).
const BIN_KEY = "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f";
const BIN_KEY_B64 = "AAECAwQFBgcICQoLDA0ODw==";

const FIXED_LINES = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ";

// ---------------------------------------------------------------------------------------------
// Driving hsRecv the way C's receive loop does, recording events as text.

/** One event as text; HEADER/REDIRECT include the bytes they point at (valid until the next call). */
function eventText(e: usize): string {
  let kind = load<u32>(e, EV_KIND);
  if ((kind & EV_FULL) == 0) return "short DATA"; // never from the handshake parser
  let type = (kind >>> 8) & 0xff;
  let ptr = <usize>load<u32>(e, EV_PTR);
  let len = <usize>load<u32>(e, EV_LEN);
  let b = load<u32>(e, EV_B);
  let code = kind >>> 16 & 0x7fff;
  if (type == Ev.HEADER) return "HEADER " + bytesAt(ptr, len);
  if (type == Ev.REDIRECT) return "REDIRECT " + bytesAt(ptr, len) + " " + b.toString();
  if (type == Ev.OPEN) return "OPEN";
  if (type == Ev.ERROR) return "ERROR " + code.toString() + " " + b.toString();
  return "?" + type.toString();
}

let consumed: i32 = 0;   // bytes of the response consumed in total by the last drive()
let calls: i32 = 0;      // hsRecv calls made by the last drive()

/**
 * Feeds `resp` to hsRecv with new bytes arriving in reads of at most `step` bytes (0: as much as
 * the rx window takes), the first read cut at `first` (0: no special first read). Unconsumed bytes
 * are moved to the window start and presented again. Stops once the state leaves CONNECTING.
 * Returns the events, one per line.
 */
function drive(c: usize, resp: string, first: i32, step: i32): string {
  let rx = <usize>load<u32>(c, C_RX_PTR);
  let cap = <i32>load<u32>(c, C_RX_CAP);
  let ev = <usize>load<u32>(c, C_EV_PTR);
  let log = "";
  let keep = 0;
  let fed = 0;
  consumed = 0;
  calls = 0;
  while (load<u32>(c, C_STATE) == State.CONNECTING && fed < resp.length) {
    let n = resp.length - fed;
    if (n > cap - keep) n = cap - keep;
    if (fed == 0 && first > 0 && n > first) n = first;
    else if (step > 0 && n > step) n = step;
    if (n == 0) { log += "STALL: window full, nothing consumed\n"; break; }
    putBytes(rx + <usize>keep, resp.substr(fed, n));
    fed += n;
    let avail = keep + n;
    while (true) {
      store<u32>(c, 0, C_EV_COUNT);
      store<u32>(c, 0, C_MORE);
      let r = hsRecv(c, rx, rx + <usize>avail);
      calls++;
      let used = <i32>(r - rx);
      expect(used >= 0 && used <= avail).toBe(true, "position inside the input");
      let count = load<u32>(c, C_EV_COUNT);
      for (let i: u32 = 0; i < count; i++) log += eventText(ev + i * EV_SIZE) + "\n";
      consumed += used;
      keep = avail - used;
      memory.copy(rx, rx + <usize>used, <usize>keep);
      if (load<u32>(c, C_MORE) == 0 || load<u32>(c, C_STATE) != State.CONNECTING) break;
      avail = keep;
    }
  }
  return log;
}

/** A record in CONNECTING after a request with the RFC sample key and the given offer. */
function connecting(proto: string, rxCap: u32, evCap: u32): usize {
  let c = newConn(rxCap, 1024, evCap);
  let n = request(c, SAMPLE_KEY, "server.example.com", 80, "/chat", proto, "", "", "");
  expect(n > 0).toBe(true, "request built");
  return c;
}

/**
 * Runs `resp` whole, split in two at every offset, and one byte at a time; every run must give
 * `events` and, when `pos` >= 0, consume exactly `pos` bytes.
 */
function expectAllSplits(proto: string, resp: string, events: string, pos: i32): void {
  let c = connecting(proto, 512, 16);
  expect(drive(c, resp, 0, 0)).toBe(events, "whole");
  if (pos >= 0) expect(consumed).toBe(pos, "whole: position");
  freeConn(c);
  for (let k = 1; k < resp.length; k++) {
    c = connecting(proto, 512, 16);
    expect(drive(c, resp, k, 0)).toBe(events, "split at " + k.toString());
    if (pos >= 0) expect(consumed).toBe(pos, "split at " + k.toString() + ": position");
    freeConn(c);
  }
  c = connecting(proto, 512, 16);
  expect(drive(c, resp, 0, 1)).toBe(events, "byte by byte");
  if (pos >= 0) expect(consumed).toBe(pos, "byte by byte: position");
  freeConn(c);
}

/** Feeds `resp` whole and returns the events. */
function events1(proto: string, resp: string): string {
  let c = connecting(proto, 512, 16);
  let log = drive(c, resp, 0, 0);
  freeConn(c);
  return log;
}

function err(code: i32, status: i32): string {
  return "ERROR " + code.toString() + " " + status.toString() + "\n";
}

const STATUS_101 = "HTTP/1.1 101 Switching Protocols\r\n";
const UPGRADE = "Upgrade: websocket\r\n";
const CONNECTION = "Connection: Upgrade\r\n";
const ACCEPT = "Sec-WebSocket-Accept: " + SAMPLE_ACCEPT + "\r\n";
const VALID = STATUS_101 + UPGRADE + CONNECTION + ACCEPT + "\r\n";
const VALID_EVENTS = "HEADER Upgrade: websocket\nHEADER Connection: Upgrade\nHEADER Sec-WebSocket-Accept: " +
  SAMPLE_ACCEPT + "\nOPEN\n";

// =============================================================================================

describe("hsRequest: request bytes (RFC 6455 §4.1)", () => {
  it("minimal request: request line, Host with port, Upgrade, Connection, key, version 13, blank line", () => {
    let c = newConn(512, 1024, 8);
    let n = request(c, SAMPLE_KEY, "server.example.com", 80, "/chat", "", "", "", "");
    let want = "GET /chat HTTP/1.1\r\nHost: server.example.com:80\r\n" + FIXED_LINES + SAMPLE_KEY_B64 +
      "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    expect(n).toBe(want.length);
    expect(txText(c, n)).toBe(want);
    expect(load<u32>(c, C_STATE)).toBe(State.CONNECTING);
    freeConn(c);
  });

  it("Sec-WebSocket-Key is the base64 of the 16 key bytes (binary key)", () => {
    let c = newConn(512, 1024, 8);
    let n = request(c, BIN_KEY, "h", 8080, "/", "", "", "", "");
    let want = "GET / HTTP/1.1\r\nHost: h:8080\r\n" + FIXED_LINES + BIN_KEY_B64 +
      "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    expect(txText(c, n)).toBe(want);
    freeConn(c);
  });

  it("stores the expected accept base64(SHA-1(key + GUID)) (RFC 6455 §1.3 sample)", () => {
    let c = newConn(512, 1024, 8);
    request(c, SAMPLE_KEY, "h", 80, "/", "", "", "", "");
    expect(bytesAt(c + HS_ACCEPT, 28)).toBe(SAMPLE_ACCEPT);
    freeConn(c);
    // a different key gives a different accept (contrapositive)
    c = newConn(512, 1024, 8);
    request(c, BIN_KEY, "h", 80, "/", "", "", "", "");
    expect(bytesAt(c + HS_ACCEPT, 28)).not.toBe(SAMPLE_ACCEPT);
    freeConn(c);
  });

  it("all optional parts: User-Agent, Sec-WebSocket-Protocol, Basic Authorization, extra headers", () => {
    let c = newConn(512, 1024, 8);
    let n = request(c, SAMPLE_KEY, "example.com", 443, "/a/b?x=1", "chat, superchat", "ESP32 Websocket Client",
      "Aladdin:open sesame", "X-One: 1\r\nX-Two:\ttwo words\r\n");
    let want = "GET /a/b?x=1 HTTP/1.1\r\nHost: example.com:443\r\nUser-Agent: ESP32 Websocket Client\r\n" +
      FIXED_LINES + SAMPLE_KEY_B64 + "\r\nSec-WebSocket-Version: 13\r\n" +
      "Sec-WebSocket-Protocol: chat, superchat\r\n" +
      "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n" + // RFC 7617 §2 example
      "X-One: 1\r\nX-Two:\ttwo words\r\n\r\n";
    expect(n).toBe(want.length);
    expect(txText(c, n)).toBe(want);
    freeConn(c);
  });

  it("User-Agent line present only when a user agent is given", () => {
    let c = newConn(512, 1024, 8);
    let n = request(c, SAMPLE_KEY, "h", 80, "/", "", "UA/1", "", "");
    expect(txText(c, n).includes("\r\nUser-Agent: UA/1\r\n")).toBe(true);
    freeConn(c);
    c = newConn(512, 1024, 8);
    n = request(c, SAMPLE_KEY, "h", 80, "/", "", "", "", "");
    expect(txText(c, n).includes("User-Agent")).toBe(false);
    freeConn(c);
  });

  it("a missing final CRLF of the extra headers is added, a present one is not doubled", () => {
    let c = newConn(512, 1024, 8);
    let n = request(c, SAMPLE_KEY, "h", 80, "/", "", "", "", "A: 1\r\nB: 2");
    expect(txText(c, n).endsWith("\r\nA: 1\r\nB: 2\r\n\r\n")).toBe(true);
    freeConn(c);
    c = newConn(512, 1024, 8);
    n = request(c, SAMPLE_KEY, "h", 80, "/", "", "", "", "A: 1\r\nB: 2\r\n");
    expect(txText(c, n).endsWith("\r\nA: 1\r\nB: 2\r\n\r\n")).toBe(true);
    expect(txText(c, n).endsWith("\r\n\r\n\r\n")).toBe(false);
    freeConn(c);
  });

  it("empty path becomes '/', a path without a leading '/' (query only) gets one", () => {
    let c = newConn(512, 1024, 8);
    let n = request(c, SAMPLE_KEY, "h", 80, "", "", "", "", "");
    expect(txText(c, n).startsWith("GET / HTTP/1.1\r\n")).toBe(true);
    freeConn(c);
    c = newConn(512, 1024, 8);
    n = request(c, SAMPLE_KEY, "h", 80, "?q=1", "", "", "", "");
    expect(txText(c, n).startsWith("GET /?q=1 HTTP/1.1\r\n")).toBe(true);
    freeConn(c);
    c = newConn(512, 1024, 8);
    n = request(c, SAMPLE_KEY, "h", 80, "/?q=1", "", "", "", "");
    expect(txText(c, n).startsWith("GET /?q=1 HTTP/1.1\r\n")).toBe(true);
    freeConn(c);
  });

  it("an IPv6 host is bracketed in Host, a name is not", () => {
    let c = newConn(512, 1024, 8);
    let n = request(c, SAMPLE_KEY, "::1", 9000, "/", "", "", "", "");
    expect(txText(c, n).includes("\r\nHost: [::1]:9000\r\n")).toBe(true);
    freeConn(c);
    c = newConn(512, 1024, 8);
    n = request(c, SAMPLE_KEY, "10.0.0.1", 1, "/", "", "", "", "");
    expect(txText(c, n).includes("\r\nHost: 10.0.0.1:1\r\n")).toBe(true);
    freeConn(c);
    c = newConn(512, 1024, 8);
    n = request(c, SAMPLE_KEY, "h", 65535, "/", "", "", "", "");
    expect(txText(c, n).includes("\r\nHost: h:65535\r\n")).toBe(true);
    freeConn(c);
  });

  it("the protocol list is sent trimmed of surrounding spaces", () => {
    let c = newConn(512, 1024, 8);
    let n = request(c, SAMPLE_KEY, "h", 80, "/", "  a ,b\t", "", "", "");
    expect(txText(c, n).includes("\r\nSec-WebSocket-Protocol: a ,b\r\n")).toBe(true);
    freeConn(c);
  });

  it("only valid in IDLE: a second call -> BAD_STATE, request untouched", () => {
    let c = newConn(512, 1024, 8);
    let n = request(c, SAMPLE_KEY, "h", 80, "/", "", "", "", "");
    let first = txText(c, n);
    expect(request(c, BIN_KEY, "other", 80, "/", "", "", "", "")).toBe(-Err.BAD_STATE);
    expect(txText(c, n)).toBe(first);
    store<u32>(c, State.OPEN, C_STATE);
    expect(request(c, BIN_KEY, "other", 80, "/", "", "", "", "")).toBe(-Err.BAD_STATE);
    freeConn(c);
  });

  it("port outside 1..65535 -> BAD_ARG", () => {
    let c = newConn(512, 1024, 8);
    expect(request(c, SAMPLE_KEY, "h", 0, "/", "", "", "", "")).toBe(-Err.BAD_ARG);
    expect(request(c, SAMPLE_KEY, "h", 65536, "/", "", "", "", "")).toBe(-Err.BAD_ARG);
    expect(txUntouched(c)).toBe(true);
    expect(load<u32>(c, C_STATE)).toBe(State.IDLE);
    freeConn(c);
  });
});

/** The request is refused with `code`, nothing is written and the state stays IDLE. */
function expectRefused(host: string, path: string, proto: string, ua: string, hdr: string, code: i32): void {
  let c = newConn(512, 1024, 8);
  expect(request(c, SAMPLE_KEY, host, 80, path, proto, ua, "", hdr)).toBe(-code);
  expect(txUntouched(c)).toBe(true, "nothing written");
  expect(load<u32>(c, C_STATE)).toBe(State.IDLE);
  freeConn(c);
}

/** Contrapositive helper: the request is built. */
function expectBuilt(host: string, path: string, proto: string, ua: string, hdr: string): void {
  let c = newConn(512, 1024, 8);
  expect(request(c, SAMPLE_KEY, host, 80, path, proto, ua, "", hdr) > 0).toBe(true);
  freeConn(c);
}

describe("hsRequest: header injection is refused (RFC 7230 §3.2)", () => {
  it("host with CR, LF, space, NUL or DEL, or empty -> REQ_HOST", () => {
    expectRefused("h\r\nX: y", "/", "", "", "", Err.REQ_HOST);
    expectRefused("h\r", "/", "", "", "", Err.REQ_HOST);
    expectRefused("h\nX: y", "/", "", "", "", Err.REQ_HOST);
    expectRefused("h x", "/", "", "", "", Err.REQ_HOST);
    expectRefused("h\x00", "/", "", "", "", Err.REQ_HOST);
    expectRefused("h\x7f", "/", "", "", "", Err.REQ_HOST);
    expectRefused("", "/", "", "", "", Err.REQ_HOST);
    expectBuilt("h.example-1", "/", "", "", "");
  });
  it("path with CR, LF, space or tab -> REQ_PATH", () => {
    expectRefused("h", "/a\r\nX: y", "", "", "", Err.REQ_PATH);
    expectRefused("h", "/a\n", "", "", "", Err.REQ_PATH);
    expectRefused("h", "/a b", "", "", "", Err.REQ_PATH);
    expectRefused("h", "/a\tb", "", "", "", Err.REQ_PATH);
    expectBuilt("h", "/a%20b?c=d&e", "", "", "");
  });
  it("subprotocol list that is not comma-separated tokens -> REQ_PROTOCOL", () => {
    expectRefused("h", "/", "chat\r\nX: y", "", "", Err.REQ_PROTOCOL);
    expectRefused("h", "/", "chat\n", "", "", Err.REQ_PROTOCOL);
    expectRefused("h", "/", "a b", "", "", Err.REQ_PROTOCOL);
    expectRefused("h", "/", "a,,b", "", "", Err.REQ_PROTOCOL);
    expectRefused("h", "/", ",a", "", "", Err.REQ_PROTOCOL);
    expectRefused("h", "/", "a,", "", "", Err.REQ_PROTOCOL);
    expectRefused("h", "/", "a;b", "", "", Err.REQ_PROTOCOL);
    expectRefused("h", "/", "  ", "", "", Err.REQ_PROTOCOL);
    expectBuilt("h", "/", "a,b , c\t,d", "", "");
    expectBuilt("h", "/", "v1.json.api.example~x", "", "");
  });
  it("user agent with CR, LF, NUL or DEL -> REQ_USER_AGENT; tab and spaces are fine", () => {
    expectRefused("h", "/", "", "UA\r\nX: y", "", Err.REQ_USER_AGENT);
    expectRefused("h", "/", "", "UA\n", "", Err.REQ_USER_AGENT);
    expectRefused("h", "/", "", "UA\r", "", Err.REQ_USER_AGENT);
    expectRefused("h", "/", "", "UA\x00", "", Err.REQ_USER_AGENT);
    expectRefused("h", "/", "", "UA\x7f", "", Err.REQ_USER_AGENT);
    expectBuilt("h", "/", "", "My UA\t(1.0)", "");
  });
  it("extra header value with a bare CR, bare LF, NUL or other control -> REQ_HEADER", () => {
    expectRefused("h", "/", "", "", "X: a\rb\r\n", Err.REQ_HEADER);
    expectRefused("h", "/", "", "", "X: a\nInjected: 1\r\n", Err.REQ_HEADER);
    expectRefused("h", "/", "", "", "X: a\x00b", Err.REQ_HEADER);
    expectRefused("h", "/", "", "", "X: a\x1bb", Err.REQ_HEADER);
    expectRefused("h", "/", "", "", "X: a\r", Err.REQ_HEADER);
    expectRefused("h", "/", "", "", "X: 1\n", Err.REQ_HEADER);
    expectBuilt("h", "/", "", "", "X: a\tb c\r\nY:\r\n");
  });
  it("malformed header name, a line without colon, or an empty line -> REQ_HEADER", () => {
    expectRefused("h", "/", "", "", "X A: 1\r\n", Err.REQ_HEADER);
    expectRefused("h", "/", "", "", "X(A): 1\r\n", Err.REQ_HEADER);
    expectRefused("h", "/", "", "", "X : 1\r\n", Err.REQ_HEADER);
    expectRefused("h", "/", "", "", ": 1\r\n", Err.REQ_HEADER);
    expectRefused("h", "/", "", "", " X: 1\r\n", Err.REQ_HEADER);
    expectRefused("h", "/", "", "", "NoColon", Err.REQ_HEADER);
    expectRefused("h", "/", "", "", "X: 1\r\nNoColon\r\n", Err.REQ_HEADER);
    expectRefused("h", "/", "", "", "X: 1\r\n\r\nY: 2\r\n", Err.REQ_HEADER);
    expectRefused("h", "/", "", "", "\r\n", Err.REQ_HEADER);
    expectBuilt("h", "/", "", "", "X-Custom_1.a!#$%&'*+^`|~: v\r\n");
  });
});

describe("hsRequest: sizes", () => {
  it("inputs larger than the rx window -> REQ_TOO_LARGE", () => {
    let c = newConn(256, 1024, 8);
    // 16 + 100 + 140 = 256 fits exactly
    let host = "h".repeat(100);
    let path = "/" + "p".repeat(139);
    expect(request(c, SAMPLE_KEY, host, 80, path, "", "", "", "") > 0).toBe(true);
    freeConn(c);
    c = newConn(256, 1024, 8);
    // the lengths claim one byte more than the window holds (the bytes themselves are never read)
    let rx = <usize>load<u32>(c, C_RX_PTR);
    putBytes(rx, SAMPLE_KEY + host + path);
    expect(hsRequest(c, 80, 100, 141, 0, 0, 0, 0)).toBe(-Err.REQ_TOO_LARGE);
    expect(hsRequest(c, 80, 100, 140, 0, 0, 0, 0xffffffff)).toBe(-Err.REQ_TOO_LARGE);
    expect(txUntouched(c)).toBe(true);
    freeConn(c);
  });

  it("a request that fills the tx window exactly is built, one byte less room -> REQ_TOO_LARGE", () => {
    let c = newConn(512, 1024, 8);
    let n = request(c, SAMPLE_KEY, "h", 80, "/x", "p", "ua", "u:p", "A: b");
    let want = txText(c, n);
    freeConn(c);
    c = newConn(512, <u32>n - TX_HDR, 8);
    expect(request(c, SAMPLE_KEY, "h", 80, "/x", "p", "ua", "u:p", "A: b")).toBe(n);
    expect(txText(c, n)).toBe(want);
    freeConn(c);
    c = newConn(512, <u32>n - TX_HDR - 1, 8);
    expect(request(c, SAMPLE_KEY, "h", 80, "/x", "p", "ua", "u:p", "A: b")).toBe(-Err.REQ_TOO_LARGE);
    expect(txUntouched(c)).toBe(true);
    expect(load<u32>(c, C_STATE)).toBe(State.IDLE);
    freeConn(c);
  });
});

// =============================================================================================

describe("hsRecv: a valid 101 response (RFC 6455 §4.1, §4.2.2)", () => {
  it("whole, split at every offset and byte by byte: HEADER per line then OPEN, same position", () => {
    expectAllSplits("", VALID, VALID_EVENTS, VALID.length);
  });

  it("frame bytes packed after the blank line are not consumed", () => {
    let frames = "\x81\x02hi\x82\x00";
    expectAllSplits("", VALID + frames, VALID_EVENTS, VALID.length);
    let c = connecting("", 512, 16);
    drive(c, VALID + frames, 0, 0);
    expect(load<u32>(c, C_STATE)).toBe(State.OPEN);
    expect(bytesAt(<usize>load<u32>(c, C_RX_PTR), 6)).toBe(frames);
    freeConn(c);
  });

  it("bare LF line ends are accepted", () => {
    let resp = "HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\nConnection: Upgrade\nSec-WebSocket-Accept: " +
      SAMPLE_ACCEPT + "\n\n";
    expectAllSplits("", resp, VALID_EVENTS, resp.length);
  });

  it("header names and the Upgrade/Connection tokens are case-insensitive, values are trimmed", () => {
    let resp = "HTTP/1.1 101 OK\r\nuPGRADE:\t WebSocket \r\nCONNECTION: UPGRADE\r\nsec-websocket-accept:  " +
      SAMPLE_ACCEPT + "\t\r\nServer: x\r\n\r\n";
    expectAllSplits("", resp, "HEADER uPGRADE:\t WebSocket \nHEADER CONNECTION: UPGRADE\nHEADER sec-websocket-accept:  " +
      SAMPLE_ACCEPT + "\t\nHEADER Server: x\nOPEN\n", resp.length);
  });

  it("HTTP/1.0 and a status line without reason phrase are accepted", () => {
    let resp = "HTTP/1.0 101\r\n" + UPGRADE + CONNECTION + ACCEPT + "\r\n";
    expect(events1("", resp)).toBe(VALID_EVENTS);
  });

  it("state becomes OPEN; hsRecv then consumes nothing", () => {
    let c = connecting("", 512, 16);
    drive(c, VALID, 0, 0);
    expect(load<u32>(c, C_STATE)).toBe(State.OPEN);
    expect(load<u32>(c, C_ERROR)).toBe(0);
    let rx = <usize>load<u32>(c, C_RX_PTR);
    expect(hsRecv(c, rx, rx + 10)).toBe(rx);
    freeConn(c);
  });
});

describe("hsRecv: status other than 101 (RFC 6455 §4.1: the client must fail)", () => {
  it("404 -> HEADER lines then ERROR RESP_STATUS with b = 404", () => {
    let resp = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    expectAllSplits("", resp, "HEADER Content-Length: 0\n" + err(Err.RESP_STATUS, 404), -1);
    let c = connecting("", 512, 16);
    drive(c, resp, 0, 0);
    expect(load<u32>(c, C_STATE)).toBe(State.FAILED);
    expect(load<u32>(c, C_ERROR)).toBe(Err.RESP_STATUS);
    freeConn(c);
  });

  it("a 404 that carries valid upgrade headers still fails with RESP_STATUS", () => {
    let resp = "HTTP/1.1 404 Not Found\r\n" + UPGRADE + CONNECTION + ACCEPT + "\r\n";
    expect(events1("", resp).endsWith(err(Err.RESP_STATUS, 404))).toBe(true);
  });

  it("302 with Location -> REDIRECT (trimmed value, b = 302) then ERROR RESP_REDIRECT", () => {
    let resp = "HTTP/1.1 302 Found\r\nLocation:  ws://other.example/x \r\nContent-Length: 0\r\n\r\n";
    expectAllSplits("", resp, "HEADER Location:  ws://other.example/x \nREDIRECT ws://other.example/x 302\n" +
      "HEADER Content-Length: 0\n" + err(Err.RESP_REDIRECT, 302), -1);
  });

  it("a 3xx without Location is RESP_STATUS; a Location outside 3xx is no redirect", () => {
    expect(events1("", "HTTP/1.1 301 Moved\r\n\r\n")).toBe(err(Err.RESP_STATUS, 301));
    expect(events1("", "HTTP/1.1 200 OK\r\nLocation: /x\r\n\r\n")).toBe("HEADER Location: /x\n" + err(Err.RESP_STATUS, 200));
    expect(events1("", "HTTP/1.1 101 OK\r\nLocation: /x\r\n" + UPGRADE + CONNECTION + ACCEPT + "\r\n"))
      .toBe("HEADER Location: /x\n" + VALID_EVENTS);
  });

  it("100 Continue is not accepted as the handshake", () => {
    expect(events1("", "HTTP/1.1 100 Continue\r\n" + UPGRADE + CONNECTION + ACCEPT + "\r\n")
      .endsWith(err(Err.RESP_STATUS, 100))).toBe(true);
  });
});

describe("hsRecv: malformed status line -> RESP_STATUS_LINE (fails fast)", () => {
  it("each malformed status line fails as soon as it is complete, with b = 0", () => {
    let bad = ["HTTP/2 101 OK\r\n", "HTTP/1.1 10 OK\r\n", "HTTP/1.1 1010 OK\r\n", "http/1.1 101 OK\r\n",
      "ICY 200 OK\r\n", "HTTP/1.1  101 OK\r\n", "HTTP/1.1 1o1 OK\r\n", "HTTP/1.x 101 OK\r\n", "\r\n",
      "HTTP/1.1 101 OK\x00\r\n", "HTTP/1.1 101\tOK\r\n", " HTTP/1.1 101 OK\r\n"];
    for (let i = 0; i < bad.length; i++) {
      // only the status line arrives: the error must not wait for more
      let c = connecting("", 512, 16);
      expect(drive(c, bad[i], 0, 0)).toBe(err(Err.RESP_STATUS_LINE, 0), bad[i]);
      expect(load<u32>(c, C_STATE)).toBe(State.FAILED);
      freeConn(c);
    }
  });
  it("an incomplete status line waits (contrapositive)", () => {
    let c = connecting("", 512, 16);
    expect(drive(c, "HTTP/1.1 101 Swi", 0, 0)).toBe("");
    expect(consumed).toBe(0);
    expect(load<u32>(c, C_STATE)).toBe(State.CONNECTING);
    freeConn(c);
  });
});

describe("hsRecv: the §4.1 response checks", () => {
  it("wrong Sec-WebSocket-Accept -> RESP_ACCEPT at that line, b = 101", () => {
    let resp = STATUS_101 + UPGRADE + CONNECTION + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOp=\r\n\r\n";
    expectAllSplits("", resp, "HEADER Upgrade: websocket\nHEADER Connection: Upgrade\n" +
      "HEADER Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOp=\n" + err(Err.RESP_ACCEPT, 101), -1);
  });
  it("accept compared exactly: other case, truncated, extra character, doubled field -> RESP_ACCEPT", () => {
    let bad = ["S3PPLMBITXAQ9KYGZZHZRBK+XOO=", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo==",
      SAMPLE_ACCEPT + ", " + SAMPLE_ACCEPT, ""];
    for (let i = 0; i < bad.length; i++) {
      let resp = STATUS_101 + UPGRADE + CONNECTION + "Sec-WebSocket-Accept: " + bad[i] + "\r\n\r\n";
      expect(events1("", resp).endsWith(err(Err.RESP_ACCEPT, 101))).toBe(true, bad[i]);
    }
    expect(events1("", STATUS_101 + UPGRADE + CONNECTION + ACCEPT + ACCEPT + "\r\n").endsWith(err(Err.RESP_ACCEPT, 101)))
      .toBe(true);
  });
  it("missing Sec-WebSocket-Accept -> RESP_ACCEPT_MISSING at the blank line", () => {
    let resp = STATUS_101 + UPGRADE + CONNECTION + "\r\n";
    expectAllSplits("", resp, "HEADER Upgrade: websocket\nHEADER Connection: Upgrade\n" +
      err(Err.RESP_ACCEPT_MISSING, 101), -1);
  });
  it("missing or wrong Upgrade -> RESP_UPGRADE", () => {
    expect(events1("", STATUS_101 + CONNECTION + ACCEPT + "\r\n").endsWith(err(Err.RESP_UPGRADE, 101))).toBe(true);
    expect(events1("", STATUS_101 + "Upgrade: h2c\r\n" + CONNECTION + ACCEPT + "\r\n").endsWith(err(Err.RESP_UPGRADE, 101))).toBe(true);
    expect(events1("", STATUS_101 + "Upgrade: websockets\r\n" + CONNECTION + ACCEPT + "\r\n").endsWith(err(Err.RESP_UPGRADE, 101))).toBe(true);
    expect(events1("", STATUS_101 + "Upgrade: web socket\r\n" + CONNECTION + ACCEPT + "\r\n").endsWith(err(Err.RESP_UPGRADE, 101))).toBe(true);
    // contrapositive: websocket among other tokens
    expect(events1("", STATUS_101 + "Upgrade: foo, websocket\r\n" + CONNECTION + ACCEPT + "\r\n").endsWith("OPEN\n")).toBe(true);
  });
  it("Connection without the upgrade token -> RESP_CONNECTION; 'keep-alive, Upgrade' is accepted", () => {
    expect(events1("", STATUS_101 + UPGRADE + "Connection: keep-alive\r\n" + ACCEPT + "\r\n"))
      .toBe("HEADER Upgrade: websocket\nHEADER Connection: keep-alive\nHEADER Sec-WebSocket-Accept: " + SAMPLE_ACCEPT +
        "\n" + err(Err.RESP_CONNECTION, 101));
    expect(events1("", STATUS_101 + UPGRADE + ACCEPT + "\r\n").endsWith(err(Err.RESP_CONNECTION, 101))).toBe(true);
    expect(events1("", STATUS_101 + UPGRADE + "Connection: upgraded\r\n" + ACCEPT + "\r\n").endsWith(err(Err.RESP_CONNECTION, 101))).toBe(true);
    expect(events1("", STATUS_101 + UPGRADE + "Connection: keep-alive, Upgrade\r\n" + ACCEPT + "\r\n").endsWith("OPEN\n")).toBe(true);
    expect(events1("", STATUS_101 + UPGRADE + "Connection: keep-alive\r\nConnection: upgrade\r\n" + ACCEPT + "\r\n").endsWith("OPEN\n")).toBe(true);
  });
  it("a subprotocol that was not offered -> RESP_PROTOCOL", () => {
    let resp = STATUS_101 + UPGRADE + CONNECTION + ACCEPT + "Sec-WebSocket-Protocol: chat\r\n\r\n";
    // none offered
    expect(events1("", resp).endsWith("HEADER Sec-WebSocket-Protocol: chat\n" + err(Err.RESP_PROTOCOL, 101))).toBe(true);
    // others offered, or a prefix / extension of an offered one, or two of them
    expect(events1("superchat, v2", resp).endsWith(err(Err.RESP_PROTOCOL, 101))).toBe(true);
    expect(events1("cha", resp).endsWith(err(Err.RESP_PROTOCOL, 101))).toBe(true);
    expect(events1("chat2", resp).endsWith(err(Err.RESP_PROTOCOL, 101))).toBe(true);
    expect(events1("Chat", resp).endsWith(err(Err.RESP_PROTOCOL, 101))).toBe(true);
    let two = STATUS_101 + UPGRADE + CONNECTION + ACCEPT + "Sec-WebSocket-Protocol: chat, v2\r\n\r\n";
    expect(events1("chat, v2", two).endsWith(err(Err.RESP_PROTOCOL, 101))).toBe(true);
    let twice = STATUS_101 + UPGRADE + CONNECTION + ACCEPT + "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n\r\n";
    expect(events1("chat, v2", twice).endsWith(err(Err.RESP_PROTOCOL, 101))).toBe(true);
  });
  it("an offered subprotocol is accepted, at any place in the offer, or none chosen", () => {
    let resp = STATUS_101 + UPGRADE + CONNECTION + ACCEPT + "Sec-WebSocket-Protocol:  v2 \r\n\r\n";
    expectAllSplits("chat, v2", resp, "HEADER Upgrade: websocket\nHEADER Connection: Upgrade\nHEADER Sec-WebSocket-Accept: " +
      SAMPLE_ACCEPT + "\nHEADER Sec-WebSocket-Protocol:  v2 \nOPEN\n", resp.length);
    let first = STATUS_101 + UPGRADE + CONNECTION + ACCEPT + "Sec-WebSocket-Protocol: chat\r\n\r\n";
    expect(events1("chat,v2", first).endsWith("OPEN\n")).toBe(true);
    expect(events1("chat", first).endsWith("OPEN\n")).toBe(true);
    expect(events1("chat, v2", VALID)).toBe(VALID_EVENTS);
  });
  it("an extension in use -> RESP_EXTENSION (none offered); an empty field is fine", () => {
    let resp = STATUS_101 + UPGRADE + CONNECTION + ACCEPT + "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
    expectAllSplits("", resp, "HEADER Upgrade: websocket\nHEADER Connection: Upgrade\nHEADER Sec-WebSocket-Accept: " +
      SAMPLE_ACCEPT + "\nHEADER Sec-WebSocket-Extensions: permessage-deflate\n" + err(Err.RESP_EXTENSION, 101), -1);
    let empty = STATUS_101 + UPGRADE + CONNECTION + ACCEPT + "Sec-WebSocket-Extensions: \r\n\r\n";
    expect(events1("", empty).endsWith("OPEN\n")).toBe(true);
  });
});

describe("hsRecv: malformed header lines -> RESP_HEADER (fails fast, no HEADER event)", () => {
  it("no colon, empty name, non-token name, space before colon, obs-fold, control in value", () => {
    let bad = ["NoColon", ": empty-name", "Bad Name: x", "Bad(Name): x", "X : y", " folded", "\tfolded",
      "X: a\x00b", "X: a\rb", "X: a\x7f"];
    for (let i = 0; i < bad.length; i++) {
      let c = connecting("", 512, 16);
      let log = drive(c, STATUS_101 + UPGRADE + bad[i] + "\r\n", 0, 0);
      expect(log).toBe("HEADER Upgrade: websocket\n" + err(Err.RESP_HEADER, 101), bad[i]);
      expect(load<u32>(c, C_STATE)).toBe(State.FAILED);
      expect(load<u32>(c, C_ERROR)).toBe(Err.RESP_HEADER);
      freeConn(c);
    }
  });
  it("well-formed unusual lines pass (contrapositive): empty value, tabs, obs-text, token punctuation", () => {
    let resp = STATUS_101 + "X-Empty:\r\nX_T!#$%&'*+.^`|~: \tv\t\r\nX-Utf8: caf\xc3\xa9\r\n" + UPGRADE + CONNECTION + ACCEPT + "\r\n";
    expect(events1("", resp).endsWith("OPEN\n")).toBe(true);
  });
  it("a malformed header in a non-101 response reports b = the status", () => {
    expect(events1("", "HTTP/1.1 500 Oops\r\nNoColon\r\n\r\n")).toBe(err(Err.RESP_HEADER, 500));
  });
});

describe("hsRecv: limits", () => {
  it("head of exactly C_CFG_HS_LIMIT bytes passes, limit - 1 fails with RESP_TOO_LARGE", () => {
    let limits = [VALID.length, VALID.length - 1];
    for (let step = 0; step < 2; step++) {
      let c = connecting("", 512, 16);
      store<u32>(c, limits[0], C_CFG_HS_LIMIT);
      expect(drive(c, VALID + "\x81\x00", 0, step)).toBe(VALID_EVENTS);
      expect(load<u32>(c, HS_HEAD)).toBe(VALID.length);
      freeConn(c);
      c = connecting("", 512, 16);
      store<u32>(c, limits[1], C_CFG_HS_LIMIT);
      expect(drive(c, VALID + "\x81\x00", 0, step).endsWith(err(Err.RESP_TOO_LARGE, 101))).toBe(true);
      expect(load<u32>(c, C_ERROR)).toBe(Err.RESP_TOO_LARGE);
      freeConn(c);
    }
  });
  it("an unfinished line already over the limit fails without waiting for its end", () => {
    let c = connecting("", 512, 16);
    store<u32>(c, 40, C_CFG_HS_LIMIT);
    expect(drive(c, STATUS_101 + "X-Long: 0123456789", 0, 0)).toBe(err(Err.RESP_TOO_LARGE, 101));
    freeConn(c);
    // contrapositive: the same bytes under a larger limit just wait
    c = connecting("", 512, 16);
    store<u32>(c, 100, C_CFG_HS_LIMIT);
    expect(drive(c, STATUS_101 + "X-Long: 0123456789", 0, 0)).toBe("");
    expect(load<u32>(c, C_STATE)).toBe(State.CONNECTING);
    freeConn(c);
  });
  it("a line that fills the whole rx window without ending -> RESP_LINE_TOO_LONG", () => {
    let c = connecting("", 256, 16);
    let resp = STATUS_101 + "X-Long: " + "v".repeat(300) + "\r\n" + UPGRADE + CONNECTION + ACCEPT + "\r\n";
    expect(drive(c, resp, 0, 0)).toBe(err(Err.RESP_LINE_TOO_LONG, 101));
    expect(load<u32>(c, C_ERROR)).toBe(Err.RESP_LINE_TOO_LONG);
    freeConn(c);
    // the same with byte-by-byte reads
    c = connecting("", 256, 16);
    expect(drive(c, resp, 0, 1)).toBe(err(Err.RESP_LINE_TOO_LONG, 101));
    freeConn(c);
  });
  it("the longest line that fits the rx window (CRLF included) passes", () => {
    let c = connecting("", 256, 16);
    let line = "X-Long: " + "v".repeat(256 - 10);
    let resp = STATUS_101 + line + "\r\n" + UPGRADE + CONNECTION + ACCEPT + "\r\n";
    expect(drive(c, resp, 0, 0)).toBe("HEADER " + line + "\n" + VALID_EVENTS);
    freeConn(c);
  });
});

describe("hsRecv: event area full", () => {
  it("with room for fewer than two events it sets C_MORE and resumes at the same line", () => {
    let c = connecting("", 512, 2);
    let rx = <usize>load<u32>(c, C_RX_PTR);
    let resp = VALID + "\x81\x00";
    putBytes(rx, resp);
    let end = rx + <usize>resp.length;
    // first call: the status line and one header (the second needs room for two events)
    store<u32>(c, 0, C_EV_COUNT);
    let p = hsRecv(c, rx, end);
    expect(load<u32>(c, C_MORE)).toBe(1);
    expect(load<u32>(c, C_EV_COUNT)).toBe(1);
    expect(p).toBe(rx + <usize>(STATUS_101.length + UPGRADE.length));
    expect(load<u32>(c, C_STATE)).toBe(State.CONNECTING);
    // nothing consumed while the area is full
    store<u32>(c, 0, C_MORE);
    expect(hsRecv(c, p, end)).toBe(p);
    expect(load<u32>(c, C_MORE)).toBe(1);
    // re-called with an empty event area, it continues with the next line
    store<u32>(c, 0, C_EV_COUNT);
    store<u32>(c, 0, C_MORE);
    p = hsRecv(c, p, end);
    expect(eventText(<usize>load<u32>(c, C_EV_PTR))).toBe("HEADER Connection: Upgrade");
    expect(load<u32>(c, C_MORE)).toBe(1);
    store<u32>(c, 0, C_EV_COUNT);
    store<u32>(c, 0, C_MORE);
    p = hsRecv(c, p, end);
    store<u32>(c, 0, C_EV_COUNT);
    store<u32>(c, 0, C_MORE);
    p = hsRecv(c, p, end);
    expect(load<u32>(c, C_MORE)).toBe(0);
    expect(load<u32>(c, C_EV_COUNT)).toBe(1);
    expect(eventText(<usize>load<u32>(c, C_EV_PTR))).toBe("OPEN");
    expect(p).toBe(rx + <usize>VALID.length);
    freeConn(c);
  });
  it("the C loop over a 2-event area gives the same events and position as a large area", () => {
    let resp = "HTTP/1.1 302 Found\r\nLocation: ws://x/\r\nA: 1\r\n\r\n";
    let c = connecting("", 512, 2);
    let log = drive(c, resp, 0, 0);
    freeConn(c);
    expect(log).toBe(events1("", resp));
    expect(log).toBe("HEADER Location: ws://x/\nREDIRECT ws://x/ 302\nHEADER A: 1\n" + err(Err.RESP_REDIRECT, 302));
    c = connecting("", 512, 2);
    expect(drive(c, VALID + "xx", 0, 0)).toBe(VALID_EVENTS);
    expect(consumed).toBe(VALID.length);
    expect(calls).toBeGreaterThan(3);
    freeConn(c);
  });
});
