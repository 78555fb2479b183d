// WebSocket URI parsing (RFC 6455 §3, with the authority syntax of RFC 3986 §3.2).
//
//   ws-URI  = "ws:"  "//" host [ ":" port ] path [ "?" query ]
//   wss-URI = "wss:" "//" host [ ":" port ] path [ "?" query ]
//
// The parser copies nothing: it returns pointers into the caller's bytes, so C can hand the host,
// path and userinfo straight to hsRequest and to its socket/TLS code. It accepts a userinfo part
// ("user:password@", used for Basic authentication like esp_websocket_client does) and bracketed
// IPv6 literals. It rejects what would let a URI smuggle bytes into the request (spaces, CR, LF,
// other control characters) and the fragment that RFC 6455 §3 forbids.

import { Err } from "./errors";

// ---- Result record at `out` (u32 each). The first nine words are the ABI's URI result record. ----
export const UR_SCHEME: u32 = 0;      // 0 ws, 1 wss
export const UR_PORT: u32 = 4;        // explicit port, or 80 / 443 by scheme
export const UR_HOST_PTR: u32 = 8;    // host, without the brackets of an IPv6 literal
export const UR_HOST_LEN: u32 = 12;
export const UR_PATH_PTR: u32 = 16;   // path and "?query" as written; points at the end when absent
export const UR_PATH_LEN: u32 = 20;   // 0: no path (the request uses "/")
export const UR_USER_PTR: u32 = 24;   // raw "user:password" (before '@'), not decoded
export const UR_USER_LEN: u32 = 28;   // 0: no userinfo
export const UR_IPV6: u32 = 32;       // 1 when the host was a bracketed IPv6 literal
export const UR_NEEDS_SLASH: u32 = 36; // 1 when the path is only "?query": the request line needs "/" before it
export const UR_RESULT_SIZE: u32 = 40;

const PORT_WS: u32 = 80;
const PORT_WSS: u32 = 443;

/**
 * Parses the URI in [src, src + len) and writes the result record (URI_* offsets above) at `out`.
 * Returns 0, or a positive Err (URI_*) and then leaves `out` untouched. Pointers in the record are
 * absolute addresses inside [src, src + len].
 *
 * The scheme is case-insensitive (RFC 3986 §3.1). The authority ends at the first '/' or '?';
 * everything from there on is the request target (path and query). Percent-escapes are not
 * decoded: the path goes on the request line as written, the userinfo is sent base64-encoded.
 */
export function uriParse(src: usize, len: usize, out: usize): i32 {
  if (len == 0) return Err.URI_EMPTY;
  let end = src + len;

  // RFC 6455 §3: "Fragment identifiers are meaningless in the context of WebSocket URIs and MUST
  // NOT be used". Space and control characters are never valid in a URI (RFC 3986 §2) and would
  // end up on the request line or in the Host header: reject them before looking at the syntax.
  for (let q = src; q < end; q++) {
    let b = <u32>load<u8>(q);
    if (b <= 0x20 || b == 0x7f) return Err.URI_CHAR;
    if (b == 0x23) return Err.URI_FRAGMENT; // '#'
  }

  // Scheme: "ws://" or "wss://", any case.
  let scheme: u32 = 0;
  let p = src;
  if (len < 5) return Err.URI_SCHEME;
  if ((<u32>load<u8>(p) | 0x20) != 0x77 || (<u32>load<u8>(p, 1) | 0x20) != 0x73) return Err.URI_SCHEME; // "ws"
  p += 2;
  if ((<u32>load<u8>(p) | 0x20) == 0x73) { scheme = 1; p++; } // "wss"
  if (end - p < 3 || load<u8>(p) != 0x3a || load<u8>(p, 1) != 0x2f || load<u8>(p, 2) != 0x2f) return Err.URI_SCHEME; // "://"
  p += 3;

  // Authority: up to the first '/' or '?' (a '#' was rejected above).
  let auth = p;
  let authEnd = p;
  while (authEnd < end) {
    let b = load<u8>(authEnd);
    if (b == 0x2f || b == 0x3f) break;
    authEnd++;
  }

  // Userinfo: everything before the last '@' of the authority. The last one, because passwords
  // in the wild contain '@' even though RFC 3986 wants it percent-encoded. The user name (before
  // the first ':') must not be empty.
  let userPtr = auth;
  let userLen: usize = 0;
  let at = authEnd;
  while (at > auth) {
    if (load<u8>(at - 1) == 0x40) break;
    at--;
  }
  if (at > auth) {
    userLen = at - 1 - auth;
    if (userLen == 0 || load<u8>(auth) == 0x3a) return Err.URI_USERINFO;
    for (let q = auth; q < at - 1; q++) {
      let b = load<u8>(q);
      if (b == 0x5b || b == 0x5d) return Err.URI_USERINFO; // '[' ']' only belong to an IPv6 host
    }
    p = at;
  }

  // Host: a bracketed IPv6 literal (RFC 3986 §3.2.2) or a name / IPv4 address.
  let host = p;
  let hostLen: usize = 0;
  let ipv6: u32 = 0;
  if (p < authEnd && load<u8>(p) == 0x5b) { // '['
    host = p + 1;
    let q = host;
    let colons = 0;
    while (q < authEnd) {
      let b = <u32>load<u8>(q);
      if (b == 0x5d) break; // ']'
      if (b == 0x3a) colons++;
      // hex digits, ':', '.' (embedded IPv4) and '%' (a zone id, RFC 6874)
      else if (!isHex(b) && b != 0x2e && b != 0x25) return Err.URI_HOST;
      q++;
    }
    if (q == authEnd || colons < 2) return Err.URI_HOST; // no ']', or not an IPv6 address
    hostLen = q - host;
    ipv6 = 1;
    p = q + 1;
    if (p < authEnd && load<u8>(p) != 0x3a) return Err.URI_HOST; // "[::1]x"
  } else {
    while (p < authEnd) {
      let b = load<u8>(p);
      if (b == 0x3a) break; // ':' starts the port
      if (b == 0x5b || b == 0x5d) return Err.URI_HOST;
      p++;
    }
    hostLen = p - host;
    if (hostLen == 0) return Err.URI_HOST;
  }

  // Port: ":" followed by 1-5 digits, 1..65535. An empty port after ':' is refused, although
  // RFC 3986 allows it, because it is always a mistake in a configuration string.
  let port = scheme ? PORT_WSS : PORT_WS;
  if (p < authEnd) { // at ':'
    p++;
    if (p == authEnd) return Err.URI_PORT;
    let v: u32 = 0;
    while (p < authEnd) {
      let d = <u32>load<u8>(p) - 0x30;
      if (d > 9) return Err.URI_PORT;
      v = v * 10 + d;
      if (v > 65535) return Err.URI_PORT;
      p++;
    }
    if (v == 0) return Err.URI_PORT;
    port = v;
  }

  // Path and query: the rest, as written.
  let pathLen = end - authEnd;
  let needsSlash: u32 = pathLen != 0 && load<u8>(authEnd) == 0x3f ? 1 : 0;

  store<u32>(out, scheme, UR_SCHEME);
  store<u32>(out, port, UR_PORT);
  store<u32>(out, <u32>host, UR_HOST_PTR);
  store<u32>(out, <u32>hostLen, UR_HOST_LEN);
  store<u32>(out, <u32>authEnd, UR_PATH_PTR);
  store<u32>(out, <u32>pathLen, UR_PATH_LEN);
  store<u32>(out, <u32>userPtr, UR_USER_PTR);
  store<u32>(out, <u32>userLen, UR_USER_LEN);
  store<u32>(out, ipv6, UR_IPV6);
  store<u32>(out, needsSlash, UR_NEEDS_SLASH);
  return 0;
}

// @ts-ignore: decorator
@inline function isHex(b: u32): bool {
  return b - 0x30 < 10 || (b | 0x20) - 0x61 < 6;
}
