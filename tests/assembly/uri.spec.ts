// uriParse: RFC 6455 §3 WebSocket URIs (tests/assembly/uri.spec.ts).
import { uriParse, UR_SCHEME, UR_PORT, UR_HOST_PTR, UR_HOST_LEN, UR_PATH_PTR, UR_PATH_LEN,
  UR_USER_PTR, UR_USER_LEN, UR_IPV6, UR_NEEDS_SLASH, UR_RESULT_SIZE } from "../../assembly/uri";
import { Err } from "../../assembly/errors";

const SRC: usize = heap.alloc(512);
const OUT: usize = heap.alloc(UR_RESULT_SIZE);

/** Copies an ASCII/byte string (one char = one byte) to SRC and parses it. */
function parse(s: string): i32 {
  for (let i = 0; i < s.length; i++) store<u8>(SRC + <usize>i, <u8>s.charCodeAt(i));
  for (let i: u32 = 0; i < UR_RESULT_SIZE; i += 4) store<u32>(OUT + i, 0xdeadbeef);
  return uriParse(SRC, <usize>s.length, OUT);
}

function field(off: u32): u32 { return load<u32>(OUT + off); }

/** The bytes a (ptr, len) pair of the result points at, as a string. */
function text(ptrOff: u32, lenOff: u32): string {
  let p = <usize>field(ptrOff);
  let n = field(lenOff);
  let s = "";
  for (let i: u32 = 0; i < n; i++) s += String.fromCharCode(load<u8>(p + i));
  return s;
}

function expectParsed(uri: string, scheme: u32, port: u32, host: string, path: string, user: string, ipv6: u32, needsSlash: u32): void {
  expect(parse(uri)).toBe(0, uri);
  expect(field(UR_SCHEME)).toBe(scheme, uri + " scheme");
  expect(field(UR_PORT)).toBe(port, uri + " port");
  expect(text(UR_HOST_PTR, UR_HOST_LEN)).toBe(host, uri + " host");
  expect(text(UR_PATH_PTR, UR_PATH_LEN)).toBe(path, uri + " path");
  expect(text(UR_USER_PTR, UR_USER_LEN)).toBe(user, uri + " userinfo");
  expect(field(UR_IPV6)).toBe(ipv6, uri + " ipv6");
  expect(field(UR_NEEDS_SLASH)).toBe(needsSlash, uri + " needs_slash");
  // pointers are absolute addresses inside the source
  let hp = <usize>field(UR_HOST_PTR);
  expect(hp >= SRC && hp + field(UR_HOST_LEN) <= SRC + uri.length).toBe(true, uri + " host inside src");
  let pp = <usize>field(UR_PATH_PTR);
  expect(pp >= SRC && pp + field(UR_PATH_LEN) <= SRC + uri.length).toBe(true, uri + " path inside src");
}

function expectRejected(uri: string, err: i32): void {
  expect(parse(uri)).toBe(err, uri);
  expect(field(UR_PORT)).toBe(0xdeadbeef, uri + ": result left untouched");
}

describe("uri: accepted forms (RFC 6455 §3)", () => {
  it("ws:// with a host name gets default port 80 and an empty path", () => {
    expectParsed("ws://example.com", 0, 80, "example.com", "", "", 0, 0);
  });
  it("wss:// gets default port 443", () => {
    expectParsed("wss://example.com", 1, 443, "example.com", "", "", 0, 0);
  });
  it("scheme is case-insensitive", () => {
    expectParsed("WS://h", 0, 80, "h", "", "", 0, 0);
    expectParsed("WsS://h", 1, 443, "h", "", "", 0, 0);
  });
  it("IPv4 host with explicit port and path", () => {
    expectParsed("ws://192.168.1.10:8080/chat", 0, 8080, "192.168.1.10", "/chat", "", 0, 0);
  });
  it("bracketed IPv6 host is returned without brackets, flagged, with its port", () => {
    expectParsed("ws://[::1]:9000", 0, 9000, "::1", "", "", 1, 0);
    expectParsed("wss://[2001:db8::42]/x", 1, 443, "2001:db8::42", "/x", "", 1, 0);
    expectParsed("ws://[::ffff:10.0.0.1]", 0, 80, "::ffff:10.0.0.1", "", "", 1, 0);
  });
  it("explicit port at the bounds 1 and 65535", () => {
    expectParsed("ws://h:1", 0, 1, "h", "", "", 0, 0);
    expectParsed("wss://h:65535/", 1, 65535, "h", "/", "", 0, 0);
  });
  it("explicit port overrides the default even when it equals the other scheme's", () => {
    expectParsed("wss://h:80", 1, 80, "h", "", "", 0, 0);
  });
  it("path with query is returned as written", () => {
    expectParsed("ws://h/a/b?x=1&y=2", 0, 80, "h", "/a/b?x=1&y=2", "", 0, 0);
  });
  it("query without a path: path starts at '?' and needs_slash is set", () => {
    expectParsed("ws://h?x=1", 0, 80, "h", "?x=1", "", 0, 1);
    expectParsed("ws://h:81?x", 0, 81, "h", "?x", "", 0, 1);
  });
  it("a path starting with '/' does not need a slash (contrapositive)", () => {
    expectParsed("ws://h/?x=1", 0, 80, "h", "/?x=1", "", 0, 0);
  });
  it("empty path gives path_len 0", () => {
    expectParsed("ws://h:81", 0, 81, "h", "", "", 0, 0);
  });
  it("userinfo is returned raw, before the last '@'", () => {
    expectParsed("ws://user:pa%40ss@h/p", 0, 80, "h", "/p", "user:pa%40ss", 0, 0);
    expectParsed("ws://user@h", 0, 80, "h", "", "user", 0, 0);
    expectParsed("ws://u:p@ss@h:9", 0, 9, "h", "", "u:p@ss", 0, 0);
    expectParsed("ws://u:p@[::1]:9", 0, 9, "::1", "", "u:p", 1, 0);
  });
  it("'@' in the path is not userinfo", () => {
    expectParsed("ws://h/a@b", 0, 80, "h", "/a@b", "", 0, 0);
  });
});

describe("uri: rejections", () => {
  it("empty URI -> URI_EMPTY", () => {
    expectRejected("", Err.URI_EMPTY);
  });
  it("other schemes and a missing '://' -> URI_SCHEME", () => {
    expectRejected("http://h", Err.URI_SCHEME);
    expectRejected("http://", Err.URI_SCHEME);
    expectRejected("wsx://h", Err.URI_SCHEME);
    expectRejected("wss", Err.URI_SCHEME);
    expectRejected("ws:/h", Err.URI_SCHEME);
    expectRejected("ws:h", Err.URI_SCHEME);
    expectRejected("h:80", Err.URI_SCHEME);
    expectRejected("//h", Err.URI_SCHEME);
  });
  it("missing or empty host -> URI_HOST", () => {
    expectRejected("ws://", Err.URI_HOST);
    expectRejected("wss://", Err.URI_HOST);
    expectRejected("ws:///path", Err.URI_HOST);
    expectRejected("ws://:80", Err.URI_HOST);
    expectRejected("ws://?q", Err.URI_HOST);
    expectRejected("ws://u@", Err.URI_HOST);
  });
  it("bad IPv6 brackets -> URI_HOST", () => {
    expectRejected("ws://[::1", Err.URI_HOST);
    expectRejected("ws://[::1/x]", Err.URI_HOST);
    expectRejected("ws://[]", Err.URI_HOST);
    expectRejected("ws://[h]", Err.URI_HOST);
    expectRejected("ws://[::1]x", Err.URI_HOST);
    expectRejected("ws://[::1]]", Err.URI_HOST);
    expectRejected("ws://::1]", Err.URI_HOST);
    expectRejected("ws://h]", Err.URI_HOST);
    expectRejected("ws://h[", Err.URI_HOST);
  });
  it("port 0, 65536, empty or non-numeric -> URI_PORT", () => {
    expectRejected("ws://h:0", Err.URI_PORT);
    expectRejected("ws://h:00", Err.URI_PORT);
    expectRejected("ws://h:65536", Err.URI_PORT);
    expectRejected("ws://h:99999999999", Err.URI_PORT);
    expectRejected("ws://h:", Err.URI_PORT);
    expectRejected("ws://h:/", Err.URI_PORT);
    expectRejected("ws://h:x", Err.URI_PORT);
    expectRejected("ws://h:8x", Err.URI_PORT);
    expectRejected("ws://h:-1", Err.URI_PORT);
    expectRejected("ws://[::1]:", Err.URI_PORT);
    expectRejected("ws://h:80:81", Err.URI_PORT);
  });
  it("a fragment anywhere -> URI_FRAGMENT (RFC 6455 §3)", () => {
    expectRejected("ws://h/p#frag", Err.URI_FRAGMENT);
    expectRejected("ws://h#frag", Err.URI_FRAGMENT);
    expectRejected("ws://h/?q#", Err.URI_FRAGMENT);
    expectRejected("#ws://h", Err.URI_FRAGMENT);
  });
  it("space, CR, LF, tab, other controls and DEL anywhere -> URI_CHAR", () => {
    expectRejected("ws://h/a b", Err.URI_CHAR);
    expectRejected("ws://h\r\nX: y", Err.URI_CHAR);
    expectRejected("ws://h/\r", Err.URI_CHAR);
    expectRejected("ws://h/\n", Err.URI_CHAR);
    expectRejected("ws://h/\t", Err.URI_CHAR);
    expectRejected("ws://h/\x7f", Err.URI_CHAR);
    expectRejected("ws://h/\x00", Err.URI_CHAR);
    expectRejected("ws://h\x01", Err.URI_CHAR);
    expectRejected(" ws://h", Err.URI_CHAR);
    expectRejected("ws://u ser@h", Err.URI_CHAR);
  });
  it("bytes above 0x7f are not control characters (contrapositive of URI_CHAR)", () => {
    expectParsed("ws://h/\xe9", 0, 80, "h", "/\xe9", "", 0, 0);
  });
  it("malformed userinfo -> URI_USERINFO", () => {
    expectRejected("ws://@h", Err.URI_USERINFO);
    expectRejected("ws://:pw@h", Err.URI_USERINFO);
    expectRejected("ws://u[1]:p@h", Err.URI_USERINFO);
  });
  it("an empty password is allowed (contrapositive of URI_USERINFO)", () => {
    expectParsed("ws://u:@h", 0, 80, "h", "", "u:", 0, 0);
  });
});
