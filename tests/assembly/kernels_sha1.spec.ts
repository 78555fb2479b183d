// SHA-1 (FIPS 180-4) and base64 (RFC 4648) kernels of the opening handshake, and the RFC 6455 §1.3
// accept computation built from them (tests/assembly/kernels_sha1.spec.ts).
import { sha1 } from "../../assembly/kernels/sha1";
import { base64Encode, base64Len } from "../../assembly/kernels/base64";

const IN: usize = heap.alloc(1024);
const OUT: usize = heap.alloc(256);
const GUARD: u8 = 0xa5;

/** Copies an ASCII string (one char = one byte) to `p`; returns its length. */
function put(p: usize, s: string): usize {
  for (let i = 0; i < s.length; i++) store<u8>(p + <usize>i, <u8>s.charCodeAt(i));
  return <usize>s.length;
}

function hex(p: usize, n: usize): string {
  let s = "";
  for (let i: usize = 0; i < n; i++) {
    let b = load<u8>(p + i);
    s += "0123456789abcdef".charAt(b >> 4) + "0123456789abcdef".charAt(b & 15);
  }
  return s;
}

function ascii(p: usize, n: usize): string {
  let s = "";
  for (let i: usize = 0; i < n; i++) s += String.fromCharCode(load<u8>(p + i));
  return s;
}

function fillGuard(p: usize, n: usize): void {
  for (let i: usize = 0; i < n; i++) store<u8>(p + i, GUARD);
}

/** SHA-1 of an ASCII string as lowercase hex; checks that nothing past the 20 digest bytes is written. */
function sha1Hex(s: string): string {
  let n = put(IN, s);
  fillGuard(OUT, 64);
  sha1(IN, n, OUT);
  for (let i: usize = 20; i < 64; i++) expect(load<u8>(OUT + i)).toBe(GUARD, "byte after the digest written");
  return hex(OUT, 20);
}

/** base64 of an ASCII string; checks the returned length and that nothing past it is written. */
function b64(s: string): string {
  let n = put(IN, s);
  fillGuard(OUT, 64);
  let m = base64Encode(IN, n, OUT);
  expect(m).toBe(base64Len(n), "returned length is 4 per started 3-byte group");
  for (let i = m; i < 64; i++) expect(load<u8>(OUT + i)).toBe(GUARD, "byte after the output written");
  return ascii(OUT, m);
}

describe("sha1: FIPS 180 test vectors", () => {
  it("one block: \"abc\"", () => {
    expect(sha1Hex("abc")).toBe("a9993e364706816aba3e25717850c26c9cd0d89d");
  });
  it("empty message pads to one block", () => {
    expect(sha1Hex("")).toBe("da39a3ee5e6b4b0d3255bfef95601890afd80709");
  });
  it("448-bit message: padding spills into a second block", () => {
    expect(sha1Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))
      .toBe("84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  });
  it("896-bit message: one full block then a one-block tail", () => {
    expect(sha1Hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"))
      .toBe("a49b2446a02c645bf419f995b67091253a04a259");
  });
  it("one million 'a' (15625 blocks)", () => {
    const n: usize = 1000000;
    let big = heap.alloc(n);
    for (let i: usize = 0; i < n; i++) store<u8>(big + i, 0x61);
    sha1(big, n, OUT);
    expect(hex(OUT, 20)).toBe("34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    heap.free(big);
  });
  it("a one-bit change of the input changes the digest (\"abc\" vs \"abb\")", () => {
    expect(sha1Hex("abb")).not.toBe("a9993e364706816aba3e25717850c26c9cd0d89d");
  });
  it("the digest depends on the length, not only on the bytes (\"abc\" vs \"abc\\0\")", () => {
    let n = put(IN, "abc");
    store<u8>(IN + n, 0);
    sha1(IN, n + 1, OUT);
    expect(hex(OUT, 20)).not.toBe("a9993e364706816aba3e25717850c26c9cd0d89d");
  });
  it("is repeatable: state is reset on each call", () => {
    sha1Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
    expect(sha1Hex("abc")).toBe("a9993e364706816aba3e25717850c26c9cd0d89d");
  });
  it("dst may be the input buffer", () => {
    let n = put(IN, "abc");
    sha1(IN, n, IN);
    expect(hex(IN, 20)).toBe("a9993e364706816aba3e25717850c26c9cd0d89d");
  });
});

describe("base64: RFC 4648 §10 test vectors", () => {
  it("empty input gives empty output", () => { expect(b64("")).toBe(""); });
  it("1 byte: two characters and \"==\"", () => { expect(b64("f")).toBe("Zg=="); });
  it("2 bytes: three characters and \"=\"", () => { expect(b64("fo")).toBe("Zm8="); });
  it("3 bytes: four characters, no padding", () => { expect(b64("foo")).toBe("Zm9v"); });
  it("4 bytes", () => { expect(b64("foob")).toBe("Zm9vYg=="); });
  it("5 bytes", () => { expect(b64("fooba")).toBe("Zm9vYmE="); });
  it("6 bytes", () => { expect(b64("foobar")).toBe("Zm9vYmFy"); });
  it("uses '+' and '/' for 62 and 63 and 'A' for 0", () => {
    store<u8>(IN, 0xfb); store<u8>(IN, 0xff, 1); store<u8>(IN, 0xbf, 2);
    expect(base64Encode(IN, 3, OUT)).toBe(4);
    expect(ascii(OUT, 4)).toBe("+/+/");
    store<u8>(IN, 0); store<u8>(IN, 0, 1); store<u8>(IN, 0, 2);
    base64Encode(IN, 3, OUT);
    expect(ascii(OUT, 4)).toBe("AAAA");
  });
  it("padding differs from data: \"f\" is not encoded like \"f\\0\"", () => {
    store<u8>(IN, 0x66); store<u8>(IN, 0, 1);
    expect(base64Encode(IN, 2, OUT)).toBe(4);
    expect(ascii(OUT, 4)).toBe("ZgA=");
    expect(ascii(OUT, 4)).not.toBe("Zg==");
  });
});

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

function accept(key: string): string {
  let n = put(IN, key + GUID);
  sha1(IN, n, IN + 512);
  let m = base64Encode(IN + 512, 20, OUT);
  expect(m).toBe(28, "a SHA-1 digest encodes to 28 characters");
  return ascii(OUT, m);
}

describe("RFC 6455 §1.3 Sec-WebSocket-Accept", () => {
  // RFC 6455 §1.3 gives "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" (Node/OpenSSL agree; the value
  // "s3pPLMBiTxaYwDV3rTp6ZaKxQeE=" quoted in some briefs is not it).
  it("base64(SHA-1(key + GUID)) of the RFC's sample nonce is the RFC's accept value", () => {
    expect(accept("dGhlIHNhbXBsZSBub25jZQ==")).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });
  it("a different nonce does not give the sample accept value", () => {
    expect(accept("dGhlIHNhbXBsZSBub25jZR==")).not.toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });
});
