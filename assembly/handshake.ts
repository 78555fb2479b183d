// The opening handshake (RFC 6455 §4.1 client requirements, §4.2.2 the server's response).
//
// hsRequest builds the HTTP/1.1 Upgrade request from inputs that C laid out in the rx window and
// remembers what the response must match (the expected Sec-WebSocket-Accept, where the offered
// subprotocols are). hsRecv parses the response head incrementally: it consumes whole lines only,
// so the response may arrive in any split, and it stops right after the blank line, leaving any
// frame bytes packed behind the 101 to the frame parser.
//
// Every input is validated before one byte is written (REQ_* errors), so nothing the application
// configured can inject a header line (RFC 7230 §3.2: no CR, LF or NUL in a field; names are tokens).

import { Err } from "./errors";
import { Ev, emit, evRoom } from "./events";
import { State, C_RX_PTR, C_RX_CAP, C_TX_PTR, C_TX_CAP, C_MORE, C_STATE, C_ERROR, C_CFG_HS_LIMIT,
  C_HS_AREA, TX_HDR } from "./layout";
import { sha1 } from "./kernels/sha1";
import { base64Encode, base64Len } from "./kernels/base64";

// ---- Handshake area of the connection record (C_HS_AREA .. C_HS_AREA_END, 80 bytes). ----
/** Expected Sec-WebSocket-Accept value, 28 base64 characters. */
export const HS_ACCEPT: u32 = C_HS_AREA;             // 96..123
/** Offset in the tx window of the offered subprotocol list inside the request (HS_PROTO_LEN 0: none). */
export const HS_PROTO_OFF: u32 = C_HS_AREA + 28;     // 124
export const HS_PROTO_LEN: u32 = C_HS_AREA + 32;     // 128
/** Response head bytes consumed so far (status line, header lines, CRLFs). */
export const HS_HEAD: u32 = C_HS_AREA + 36;          // 132
/** HTTP status code of the response, 0 until the status line is parsed. */
export const HS_STATUS: u32 = C_HS_AREA + 40;        // 136
/** F_* flags: what the response has shown so far. */
export const HS_FLAGS: u32 = C_HS_AREA + 44;         // 140
// While hsRequest computes the accept value it uses the whole area as scratch: key + GUID (60 bytes)
// at C_HS_AREA, the SHA-1 digest (20 bytes) at HS_DIGEST; the base64 of the digest then lands on
// HS_ACCEPT, and the other fields are written after that.
const HS_DIGEST: u32 = C_HS_AREA + 60;        // 156..175

const F_STATUS: u32 = 1;      // status line parsed
const F_UPGRADE: u32 = 2;     // Upgrade lists "websocket"
const F_CONNECTION: u32 = 4;  // Connection lists "upgrade"
const F_ACCEPT: u32 = 8;      // Sec-WebSocket-Accept seen (and matched)
const F_PROTOCOL: u32 = 16;   // Sec-WebSocket-Protocol seen (and offered)
const F_LOCATION: u32 = 32;   // Location of a 3xx reported

const KEY_LEN: u32 = 16;      // §4.1: "a randomly selected 16-byte value"
const KEY_B64_LEN: u32 = 24;
const ACCEPT_LEN: u32 = 28;

const CR: u32 = 0x0d;
const LF: u32 = 0x0a;

// ---- Fixed text (ASCII bytes; the text is in the comment above each). ----
// "GET "
const S_GET = memory.data<u8>([0x47, 0x45, 0x54, 0x20]);
const S_GET_LEN: u32 = 4;
// " HTTP/1.1\r\nHost: "
const S_HTTP_HOST = memory.data<u8>([0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, 0x31, 0x0d, 0x0a,
  0x48, 0x6f, 0x73, 0x74, 0x3a, 0x20]);
const S_HTTP_HOST_LEN: u32 = 17;
// "User-Agent: "
const S_UA = memory.data<u8>([0x55, 0x73, 0x65, 0x72, 0x2d, 0x41, 0x67, 0x65, 0x6e, 0x74, 0x3a, 0x20]);
const S_UA_LEN: u32 = 12;
// "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
const S_UPGRADE_KEY = memory.data<u8>([0x55, 0x70, 0x67, 0x72, 0x61, 0x64, 0x65, 0x3a, 0x20, 0x77, 0x65,
  0x62, 0x73, 0x6f, 0x63, 0x6b, 0x65, 0x74, 0x0d, 0x0a, 0x43, 0x6f, 0x6e, 0x6e, 0x65, 0x63, 0x74, 0x69,
  0x6f, 0x6e, 0x3a, 0x20, 0x55, 0x70, 0x67, 0x72, 0x61, 0x64, 0x65, 0x0d, 0x0a, 0x53, 0x65, 0x63, 0x2d,
  0x57, 0x65, 0x62, 0x53, 0x6f, 0x63, 0x6b, 0x65, 0x74, 0x2d, 0x4b, 0x65, 0x79, 0x3a, 0x20]);
const S_UPGRADE_KEY_LEN: u32 = 60;
// "\r\nSec-WebSocket-Version: 13\r\n"
const S_VERSION = memory.data<u8>([0x0d, 0x0a, 0x53, 0x65, 0x63, 0x2d, 0x57, 0x65, 0x62, 0x53, 0x6f,
  0x63, 0x6b, 0x65, 0x74, 0x2d, 0x56, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x3a, 0x20, 0x31, 0x33, 0x0d,
  0x0a]);
const S_VERSION_LEN: u32 = 29;
// "Sec-WebSocket-Protocol: "
const S_PROTOCOL = memory.data<u8>([0x53, 0x65, 0x63, 0x2d, 0x57, 0x65, 0x62, 0x53, 0x6f, 0x63, 0x6b,
  0x65, 0x74, 0x2d, 0x50, 0x72, 0x6f, 0x74, 0x6f, 0x63, 0x6f, 0x6c, 0x3a, 0x20]);
const S_PROTOCOL_LEN: u32 = 24;
// "Authorization: Basic "
const S_AUTH = memory.data<u8>([0x41, 0x75, 0x74, 0x68, 0x6f, 0x72, 0x69, 0x7a, 0x61, 0x74, 0x69, 0x6f,
  0x6e, 0x3a, 0x20, 0x42, 0x61, 0x73, 0x69, 0x63, 0x20]);
const S_AUTH_LEN: u32 = 21;
// RFC 6455 §1.3 / §4.2.2: "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
const S_GUID = memory.data<u8>([0x32, 0x35, 0x38, 0x45, 0x41, 0x46, 0x41, 0x35, 0x2d, 0x45, 0x39, 0x31,
  0x34, 0x2d, 0x34, 0x37, 0x44, 0x41, 0x2d, 0x39, 0x35, 0x43, 0x41, 0x2d, 0x43, 0x35, 0x41, 0x42, 0x30,
  0x44, 0x43, 0x38, 0x35, 0x42, 0x31, 0x31]);
const S_GUID_LEN: u32 = 36;

// Lower-case header names and tokens of the response, compared case-insensitively (RFC 7230 §3.2,
// RFC 6455 §4.1 items 2 and 3). Each name has a distinct length, which picks the candidate.
// "upgrade"
const N_UPGRADE = memory.data<u8>([0x75, 0x70, 0x67, 0x72, 0x61, 0x64, 0x65]);
// "connection"
const N_CONNECTION = memory.data<u8>([0x63, 0x6f, 0x6e, 0x6e, 0x65, 0x63, 0x74, 0x69, 0x6f, 0x6e]);
// "location"
const N_LOCATION = memory.data<u8>([0x6c, 0x6f, 0x63, 0x61, 0x74, 0x69, 0x6f, 0x6e]);
// "sec-websocket-accept"
const N_ACCEPT = memory.data<u8>([0x73, 0x65, 0x63, 0x2d, 0x77, 0x65, 0x62, 0x73, 0x6f, 0x63, 0x6b, 0x65,
  0x74, 0x2d, 0x61, 0x63, 0x63, 0x65, 0x70, 0x74]);
// "sec-websocket-protocol"
const N_PROTOCOL = memory.data<u8>([0x73, 0x65, 0x63, 0x2d, 0x77, 0x65, 0x62, 0x73, 0x6f, 0x63, 0x6b,
  0x65, 0x74, 0x2d, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x63, 0x6f, 0x6c]);
// "sec-websocket-extensions"
const N_EXTENSIONS = memory.data<u8>([0x73, 0x65, 0x63, 0x2d, 0x77, 0x65, 0x62, 0x73, 0x6f, 0x63, 0x6b,
  0x65, 0x74, 0x2d, 0x65, 0x78, 0x74, 0x65, 0x6e, 0x73, 0x69, 0x6f, 0x6e, 0x73]);
// "websocket"
const T_WEBSOCKET = memory.data<u8>([0x77, 0x65, 0x62, 0x73, 0x6f, 0x63, 0x6b, 0x65, 0x74]);

/**
 * RFC 7230 §3.2.6 tchar: "!#$%&'*+-.^_`|~", digits and letters. 1 = tchar, for bytes 0..127.
 */
const TCHAR = memory.data<u8>([
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
  0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0,
]);

// @ts-ignore: decorator
@inline function isTchar(b: u32): bool {
  return b < 128 && load<u8>(TCHAR + <usize>b) != 0;
}

// @ts-ignore: decorator
@inline function isOws(b: u32): bool {
  return b == 0x20 || b == 0x09;
}

/** Bytes that may not appear in a header value: controls other than HTAB, and DEL (RFC 7230 §3.2). */
// @ts-ignore: decorator
@inline function isCtl(b: u32): bool {
  return (b < 0x20 && b != 0x09) || b == 0x7f;
}

/** First position in [p, e) holding a byte that is a control, a space or DEL; e if none. */
function findCtlOrSpace(p: usize, e: usize): usize {
  while (p < e) {
    let b = <u32>load<u8>(p);
    if (b <= 0x20 || b == 0x7f) break;
    p++;
  }
  return p;
}

/** First position in [p, e) holding a control character (HTAB allowed) or DEL; e if none. */
function findCtl(p: usize, e: usize): usize {
  while (p < e) {
    if (isCtl(<u32>load<u8>(p))) break;
    p++;
  }
  return p;
}

/** Copies n bytes from src to dst and returns dst + n. */
// @ts-ignore: decorator
@inline function put(dst: usize, src: usize, n: usize): usize {
  memory.copy(dst, src, n);
  return dst + n;
}

// @ts-ignore: decorator
@inline function putCrlf(dst: usize): usize {
  store<u16>(dst, 0x0a0d);
  return dst + 2;
}

/** Number of decimal digits of v (v <= 99999). */
function decimalLen(v: u32): u32 {
  return v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : 5;
}

/** Writes v in decimal (n digits) at dst; returns dst + n. */
function putDecimal(dst: usize, v: u32, n: u32): usize {
  let q = dst + n;
  while (q > dst) {
    q--;
    store<u8>(q, 0x30 + v % 10);
    v /= 10;
  }
  return dst + n;
}

/**
 * Checks a subprotocol list: tokens separated by commas, optional spaces/tabs around them (the
 * #token rule of RFC 7230 §7, with no empty elements: RFC 6455 §4.1 item 10). [p, e) is trimmed.
 */
function validTokenList(p: usize, e: usize): bool {
  while (true) {
    let t = p;
    while (p < e && isTchar(<u32>load<u8>(p))) p++;
    if (p == t) return false;
    while (p < e && isOws(<u32>load<u8>(p))) p++;
    if (p == e) return true;
    if (load<u8>(p) != 0x2c) return false; // ','
    p++;
    while (p < e && isOws(<u32>load<u8>(p))) p++;
  }
  return false;
}

/**
 * Checks the extra header block: "Name: value" lines, each name a token followed directly by ':',
 * no control characters in values (HTAB allowed), lines ended by CRLF except possibly the last.
 * Returns -1 if malformed, 1 if the final CRLF is missing, 0 otherwise.
 */
function checkHeaders(p: usize, e: usize): i32 {
  while (p < e) {
    let t = p;
    while (p < e && isTchar(<u32>load<u8>(p))) p++;
    if (p == t || p == e || load<u8>(p) != 0x3a) return -1; // empty or non-token name, or no ':'
    p = findCtl(p + 1, e);
    if (p == e) return 1; // last line without CRLF
    // the only control allowed is the CR of a CRLF (a bare CR or LF could start a new line)
    if (<u32>load<u8>(p) != CR || p + 1 == e || <u32>load<u8>(p, 1) != LF) return -1;
    p += 2;
  }
  return 0;
}

/**
 * Builds the opening handshake request (RFC 6455 §4.1) at the start of the tx window.
 *
 * Inputs, one after another at the start of the rx window: 16 key bytes, host, path, subprotocol
 * list, user agent, raw "user:password", extra header lines. Returns the request length, or -Err:
 * BAD_STATE unless IDLE, BAD_ARG for a port outside 1..65535, REQ_* for an input that could
 * corrupt the request, REQ_TOO_LARGE when the inputs overrun the rx window or the request the tx
 * window. On success the state becomes CONNECTING and the handshake area holds what hsRecv checks.
 *
 * The request: "GET <path> HTTP/1.1", Host (bracketed when it holds ':', port always included),
 * User-Agent (if given), Upgrade, Connection, Sec-WebSocket-Key, Sec-WebSocket-Version: 13, then
 * Sec-WebSocket-Protocol and "Authorization: Basic" if given, then the extra headers and a blank
 * line. A path that does not start with '/' (e.g. "?q") gets one in front; an empty path is "/".
 */
export function hsRequest(c: usize, port: u32, hostLen: u32, pathLen: u32, protoLen: u32, uaLen: u32,
                          authLen: u32, hdrLen: u32): i32 {
  if (load<u32>(c, C_STATE) != State.IDLE) return -Err.BAD_STATE;
  if (port - 1 >= 65535) return -Err.BAD_ARG;

  let rx = <usize>load<u32>(c, C_RX_PTR);
  let inLen = <u64>KEY_LEN + <u64>hostLen + <u64>pathLen + <u64>protoLen + <u64>uaLen + <u64>authLen + <u64>hdrLen;
  if (inLen > <u64>load<u32>(c, C_RX_CAP)) return -Err.REQ_TOO_LARGE;
  let key = rx;
  let host = key + KEY_LEN;
  let path = host + hostLen;
  let proto = path + pathLen;
  let ua = proto + protoLen;
  let auth = ua + uaLen;
  let hdr = auth + authLen;
  let hdrEnd = hdr + hdrLen;

  // Validate everything before writing anything.
  if (hostLen == 0 || findCtlOrSpace(host, path) != path) return -Err.REQ_HOST;
  let hostColon = false;
  for (let q = host; q < path; q++) if (load<u8>(q) == 0x3a) { hostColon = true; break; }
  if (findCtlOrSpace(path, proto) != proto) return -Err.REQ_PATH;
  // The list is sent trimmed of surrounding spaces; a list with no token at all is an error.
  let protoEnd = ua;
  while (proto < protoEnd && isOws(<u32>load<u8>(proto))) proto++;
  while (protoEnd > proto && isOws(<u32>load<u8>(protoEnd - 1))) protoEnd--;
  if (protoLen != 0 && !validTokenList(proto, protoEnd)) return -Err.REQ_PROTOCOL;
  let protoOut = <u32>(protoEnd - proto);
  if (findCtl(ua, auth) != auth) return -Err.REQ_USER_AGENT;
  let hdrState = checkHeaders(hdr, hdrEnd);
  if (hdrState < 0) return -Err.REQ_HEADER;

  // Size of the request, from the lengths alone.
  let pathOut: u64 = pathLen == 0 ? 1 : <u64>pathLen + (load<u8>(path) != 0x2f ? 1 : 0);
  let portDigits = decimalLen(port);
  let total: u64 = <u64>S_GET_LEN + pathOut + S_HTTP_HOST_LEN + hostLen + (hostColon ? 2 : 0) + 1 + portDigits + 2
    + (uaLen != 0 ? <u64>S_UA_LEN + uaLen + 2 : 0)
    + S_UPGRADE_KEY_LEN + KEY_B64_LEN + S_VERSION_LEN
    + (protoOut != 0 ? <u64>S_PROTOCOL_LEN + protoOut + 2 : 0)
    + (authLen != 0 ? <u64>S_AUTH_LEN + base64Len(authLen) + 2 : 0)
    + <u64>hdrLen + (hdrState == 1 ? 2 : 0)
    + 2;
  let tx = <usize>load<u32>(c, C_TX_PTR);
  if (total > <u64>TX_HDR + <u64>load<u32>(c, C_TX_CAP)) return -Err.REQ_TOO_LARGE;

  // Request line and Host (RFC 7230 §5.4; an IPv6 literal goes in brackets).
  let d = put(tx, S_GET, S_GET_LEN);
  if (pathLen == 0 || load<u8>(path) != 0x2f) { store<u8>(d, 0x2f); d++; }
  d = put(d, path, pathLen);
  d = put(d, S_HTTP_HOST, S_HTTP_HOST_LEN);
  if (hostColon) { store<u8>(d, 0x5b); d++; }
  d = put(d, host, hostLen);
  if (hostColon) { store<u8>(d, 0x5d); d++; }
  store<u8>(d, 0x3a); d++;
  d = putDecimal(d, port, portDigits);
  d = putCrlf(d);
  if (uaLen != 0) {
    d = put(d, S_UA, S_UA_LEN);
    d = put(d, ua, uaLen);
    d = putCrlf(d);
  }
  // §4.1 items 5, 6, 7 and 9: Upgrade, Connection, the nonce as base64, version 13.
  d = put(d, S_UPGRADE_KEY, S_UPGRADE_KEY_LEN);
  let keyB64 = d;
  d += base64Encode(key, KEY_LEN, d);
  d = put(d, S_VERSION, S_VERSION_LEN);
  let protoOff: u32 = 0;
  if (protoOut != 0) { // §4.1 item 10
    d = put(d, S_PROTOCOL, S_PROTOCOL_LEN);
    protoOff = <u32>(d - tx);
    d = put(d, proto, protoOut);
    d = putCrlf(d);
  }
  if (authLen != 0) { // RFC 7617: base64 of "user:password"
    d = put(d, S_AUTH, S_AUTH_LEN);
    d += base64Encode(auth, authLen, d);
    d = putCrlf(d);
  }
  d = put(d, hdr, hdrLen);
  if (hdrState == 1) d = putCrlf(d);
  d = putCrlf(d);

  // §4.2.2 item 5.4 / §4.1: the server must answer base64(SHA-1(key_b64 + GUID)).
  let area = c + C_HS_AREA;
  memory.copy(area, keyB64, KEY_B64_LEN);
  memory.copy(area + KEY_B64_LEN, S_GUID, S_GUID_LEN);
  sha1(area, KEY_B64_LEN + S_GUID_LEN, c + HS_DIGEST);
  base64Encode(c + HS_DIGEST, 20, c + HS_ACCEPT);

  store<u32>(c, protoOff, HS_PROTO_OFF);
  store<u32>(c, protoOut, HS_PROTO_LEN);
  store<u32>(c, 0, HS_HEAD);
  store<u32>(c, 0, HS_STATUS);
  store<u32>(c, 0, HS_FLAGS);
  store<u32>(c, State.CONNECTING, C_STATE);
  return <i32>(d - tx);
}

/** Fails the handshake: ERROR event (b = HTTP status, 0 if none yet), state FAILED. Returns end. */
function fail(c: usize, err: u32, end: usize): usize {
  emit(c, Ev.ERROR, 0, 0, 0, 0, 0, load<u32>(c, HS_STATUS), err);
  store<u32>(c, err, C_ERROR);
  store<u32>(c, State.FAILED, C_STATE);
  return end;
}

/** [p, p + n) equals the lower-case `name` ignoring ASCII case (`name` holds letters and '-'). */
function equalsLower(p: usize, name: usize, n: u32): bool {
  // b | 0x20 equals a lower-case letter only for that letter in either case, and '-' (0x2d) only
  // for '-' or CR (0x0d), which never reaches here (names are tokens, values have no CR).
  for (let i: usize = 0; i < <usize>n; i++) {
    if ((<u32>load<u8>(p + i) | 0x20) != <u32>load<u8>(name + i)) return false;
  }
  return true;
}

/** One of the comma-separated elements of [p, e), trimmed, equals `word` ignoring case. */
function hasToken(p: usize, e: usize, word: usize, n: u32): bool {
  while (p < e) {
    while (p < e && (isOws(<u32>load<u8>(p)) || load<u8>(p) == 0x2c)) p++;
    let t = p;
    while (p < e && load<u8>(p) != 0x2c) p++;
    let te = p;
    while (te > t && isOws(<u32>load<u8>(te - 1))) te--;
    if (te - t == <usize>n && equalsLower(t, word, n)) return true;
  }
  return false;
}

/** [p, e) is one of the tokens of the offered list (in the request, in the tx window). */
function offered(c: usize, p: usize, e: usize): bool {
  let n = e - p;
  let q = <usize>load<u32>(c, C_TX_PTR) + <usize>load<u32>(c, HS_PROTO_OFF);
  let qe = q + <usize>load<u32>(c, HS_PROTO_LEN);
  while (q < qe) {
    while (q < qe && !isTchar(<u32>load<u8>(q))) q++;
    let t = q;
    while (q < qe && isTchar(<u32>load<u8>(q))) q++;
    if (q - t == n && n != 0 && memory.compare(t, p, n) == 0) return true;
  }
  return false;
}

/**
 * Parses the status line [p, e) (no CRLF): "HTTP/1.x" SP 3DIGIT [SP reason-phrase]
 * (RFC 7230 §3.1.2; the SP before an empty reason may be missing). Returns the code, or -1.
 */
function statusLine(p: usize, e: usize): i32 {
  if (e - p < 12) return -1;
  // "HTTP/1." as a u32 and three bytes, then the minor version digit
  if (load<u32>(p) != 0x50545448 || load<u8>(p, 4) != 0x2f || load<u8>(p, 5) != 0x31 || load<u8>(p, 6) != 0x2e) return -1;
  if (<u32>load<u8>(p, 7) - 0x30 > 9 || load<u8>(p, 8) != 0x20) return -1;
  let d0 = <u32>load<u8>(p, 9) - 0x30;
  let d1 = <u32>load<u8>(p, 10) - 0x30;
  let d2 = <u32>load<u8>(p, 11) - 0x30;
  if (d0 > 9 || d1 > 9 || d2 > 9) return -1;
  if (e - p > 12 && (load<u8>(p, 12) != 0x20 || findCtl(p + 13, e) != e)) return -1;
  return <i32>(d0 * 100 + d1 * 10 + d2);
}

/**
 * One header line [p, e) (no CRLF): emits HEADER (and REDIRECT for a 3xx Location), records what
 * the final check needs, and returns 0 or the Err that fails the handshake.
 */
function headerLine(c: usize, p: usize, e: usize): u32 {
  // field-name ":" OWS field-value OWS (RFC 7230 §3.2). A leading space or tab is obs-fold
  // (§3.2.4), which a client may reject: it fails the name check here.
  let q = p;
  while (q < e && isTchar(<u32>load<u8>(q))) q++;
  if (q == p || q == e || load<u8>(q) != 0x3a) return Err.RESP_HEADER;
  let nameLen = <u32>(q - p);
  let v = q + 1;
  let ve = e;
  if (findCtl(v, ve) != ve) return Err.RESP_HEADER;
  while (v < ve && isOws(<u32>load<u8>(v))) v++;
  while (ve > v && isOws(<u32>load<u8>(ve - 1))) ve--;

  emit(c, Ev.HEADER, 0, 0, <u32>p, <u32>(e - p), 0, 0, 0);

  let status = load<u32>(c, HS_STATUS);
  let flags = load<u32>(c, HS_FLAGS);
  let upgrading = status == 101;
  // §4.1 "the client MUST validate the server's response as follows", items 2-6; the values are
  // only judged in a 101 response (any other status fails at the blank line anyway).
  if (nameLen == 7 && equalsLower(p, N_UPGRADE, 7)) {
    if (hasToken(v, ve, T_WEBSOCKET, 9)) flags |= F_UPGRADE;
  } else if (nameLen == 10 && equalsLower(p, N_CONNECTION, 10)) {
    if (hasToken(v, ve, N_UPGRADE, 7)) flags |= F_CONNECTION;
  } else if (nameLen == 20 && equalsLower(p, N_ACCEPT, 20)) {
    // §11.3.3: the field MUST NOT appear more than once in a response.
    if (upgrading && ((flags & F_ACCEPT) != 0 || ve - v != ACCEPT_LEN || memory.compare(v, c + HS_ACCEPT, ACCEPT_LEN) != 0)) {
      return Err.RESP_ACCEPT;
    }
    flags |= F_ACCEPT;
  } else if (nameLen == 22 && equalsLower(p, N_PROTOCOL, 22)) {
    // §4.1 item 6: a subprotocol the client did not offer fails; §11.3.4: at most one field.
    // An empty value selects nothing and is treated like an absent field.
    if (upgrading && ve != v) {
      if ((flags & F_PROTOCOL) != 0 || !offered(c, v, ve)) return Err.RESP_PROTOCOL;
      flags |= F_PROTOCOL;
    }
  } else if (nameLen == 24 && equalsLower(p, N_EXTENSIONS, 24)) {
    // §4.1 item 5: no extension was offered, so any extension in use fails.
    if (upgrading && ve != v) return Err.RESP_EXTENSION;
  } else if (nameLen == 8 && equalsLower(p, N_LOCATION, 8)) {
    // A redirect: C may follow it (the first non-empty Location of a 3xx response).
    if (status - 300 < 100 && (flags & F_LOCATION) == 0 && ve != v) {
      emit(c, Ev.REDIRECT, 0, 0, <u32>v, <u32>(ve - v), 0, status, 0);
      flags |= F_LOCATION;
    }
  }
  store<u32>(c, flags, HS_FLAGS);
  return 0;
}

/**
 * Parses response bytes [p, end) during CONNECTING and returns the position after the last byte
 * it consumed. It consumes whole lines only (CRLF, or a bare LF); the caller keeps the rest and
 * presents it again at the start of the next call, followed by new bytes.
 *
 * Events: HEADER per header line (not for the status line), REDIRECT for the Location of a 3xx,
 * then OPEN (state OPEN; the return value is right after the blank line, where frames start) or
 * ERROR (state FAILED, C_ERROR set; returns end). Before each line it needs room for two events;
 * without it, it sets C_MORE = 1 and returns the position of that line.
 *
 * Limits: the head (status line through the blank line, CRLFs included) may be at most
 * C_CFG_HS_LIMIT bytes (RESP_TOO_LARGE); a line with no end that fills the rx window fails with
 * RESP_LINE_TOO_LONG. Returns p unchanged if the state is not CONNECTING.
 */
export function hsRecv(c: usize, p: usize, end: usize): usize {
  if (load<u32>(c, C_STATE) != State.CONNECTING) return p;
  let limit = <u64>load<u32>(c, C_CFG_HS_LIMIT);
  while (true) {
    let q = p;
    while (q < end && <u32>load<u8>(q) != LF) q++;
    if (q == end) {
      // An unfinished line: wait for more, unless it can no longer fit.
      let n = end - p;
      let err: u32 = 0;
      if (<u64>load<u32>(c, HS_HEAD) + <u64>n > limit) err = Err.RESP_TOO_LARGE;
      else if (n >= <usize>load<u32>(c, C_RX_CAP)) err = Err.RESP_LINE_TOO_LONG;
      if (err == 0) return p;
      if (evRoom(c) < 1) { store<u32>(c, 1, C_MORE); return p; }
      return fail(c, err, end);
    }
    if (evRoom(c) < 2) { store<u32>(c, 1, C_MORE); return p; }

    let next = q + 1;
    let e = q;
    if (e > p && <u32>load<u8>(e - 1) == CR) e--;
    let head = <u64>load<u32>(c, HS_HEAD) + <u64>(next - p);
    if (head > limit) return fail(c, Err.RESP_TOO_LARGE, end);
    store<u32>(c, <u32>head, HS_HEAD);

    let flags = load<u32>(c, HS_FLAGS);
    if ((flags & F_STATUS) == 0) {
      let status = statusLine(p, e);
      if (status < 0) return fail(c, Err.RESP_STATUS_LINE, end);
      store<u32>(c, <u32>status, HS_STATUS);
      store<u32>(c, flags | F_STATUS, HS_FLAGS);
    } else if (e != p) {
      let err = headerLine(c, p, e);
      if (err != 0) return fail(c, err, end);
    } else {
      // The blank line ends the head (RFC 7230 §3). §4.1: anything but 101 fails the handshake.
      let status = load<u32>(c, HS_STATUS);
      if (status != 101) {
        return fail(c, status - 300 < 100 && (flags & F_LOCATION) != 0 ? Err.RESP_REDIRECT : Err.RESP_STATUS, end);
      }
      if ((flags & F_UPGRADE) == 0) return fail(c, Err.RESP_UPGRADE, end);
      if ((flags & F_CONNECTION) == 0) return fail(c, Err.RESP_CONNECTION, end);
      if ((flags & F_ACCEPT) == 0) return fail(c, Err.RESP_ACCEPT_MISSING, end);
      emit(c, Ev.OPEN, 0, 0, 0, 0, 0, 0, 0);
      store<u32>(c, State.OPEN, C_STATE);
      return next;
    }
    p = next;
  }
  return p;
}
