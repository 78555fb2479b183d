// utf8Check (RFC 3629 §4 validation for RFC 6455 §8.1 text), its byte-at-a-time reference
// utf8CheckRef, and the streaming API (tests/assembly/kernels_utf8.spec.ts).
//
// Every input is placed so that it ends exactly at the end of linear memory: a read past the
// chunk traps and fails the test.
import { utf8Check, utf8CheckShort, utf8CheckText, utf8CheckRef, utf8StreamReset, utf8StreamFeed, utf8StreamDone } from "../../assembly/kernels/utf8";

const ST: usize = heap.alloc(8);
let lastPageEnd: usize = 0;

/** End of a page nobody else uses, which is the last page of linear memory. */
function memEnd(): usize {
  let top = <usize>memory.size() << 16;
  if (top != lastPageEnd) {
    memory.grow(1);
    lastPageEnd = <usize>memory.size() << 16;
  }
  return lastPageEnd;
}

/** Copies bytes so they end at the end of memory; returns the start. */
function place(b: u8[]): usize {
  let p = memEnd() - <usize>b.length;
  for (let i = 0; i < b.length; i++) store<u8>(p + <usize>i, b[i]);
  return p;
}

function check(b: u8[]): i32 { return utf8Check(place(b), <usize>b.length); }
function checkShort(b: u8[]): i32 { return utf8CheckShort(place(b), <usize>b.length); }
function checkText(b: u8[]): i32 { return utf8CheckText(place(b), <usize>b.length); }
function checkRef(b: u8[]): i32 { return utf8CheckRef(place(b), <usize>b.length); }

function hex(b: u8[]): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? "0" : "") + b[i].toString(16) + " ";
  return s;
}

/** UTF-8 encoding of a scalar value, written out here (RFC 3629 §3), not by the library. */
function enc(cp: u32): u8[] {
  if (cp < 0x80) return [<u8>cp];
  if (cp < 0x800) return [<u8>(0xc0 | cp >> 6), <u8>(0x80 | cp & 63)];
  if (cp < 0x10000) return [<u8>(0xe0 | cp >> 12), <u8>(0x80 | (cp >> 6) & 63), <u8>(0x80 | cp & 63)];
  return [<u8>(0xf0 | cp >> 18), <u8>(0x80 | (cp >> 12) & 63), <u8>(0x80 | (cp >> 6) & 63), <u8>(0x80 | cp & 63)];
}

function ascii(n: i32): u8[] {
  let a = new Array<u8>(n);
  for (let i = 0; i < n; i++) a[i] = <u8>(0x61 + i % 26);
  return a;
}

function cat(a: u8[], b: u8[]): u8[] { return a.concat(b); }

function utf8Of(s: string): u8[] {
  let buf = Uint8Array.wrap(String.UTF8.encode(s));
  let a = new Array<u8>(buf.length);
  for (let i = 0; i < buf.length; i++) a[i] = buf[i];
  return a;
}

/**
 * Expects `want` from both kernels for `b`, alone and after ASCII prefixes of 0..40 bytes (so the
 * sequence meets the word, 32-byte and tail paths at every offset); when `want` is not an
 * unfinished tail, also with ASCII after it (which must not change the verdict).
 */
function expectVerdict(b: u8[], want: i32): void {
  for (let pre = 0; pre <= 40; pre++) {
    let x = cat(ascii(pre), b);
    expect(check(x)).toBe(want, "utf8Check " + hex(b) + "after " + pre.toString() + " ASCII");
    expect(checkShort(x)).toBe(want, "utf8CheckShort " + hex(b) + "after " + pre.toString() + " ASCII");
    expect(checkRef(x)).toBe(want, "utf8CheckRef " + hex(b) + "after " + pre.toString() + " ASCII");
    if (want <= 0) {
      for (let post = 1; post <= 9; post += 4) {
        let y = cat(x, ascii(post));
        expect(check(y)).toBe(want, "utf8Check " + hex(b) + "then ASCII");
        expect(checkShort(y)).toBe(want, "utf8CheckShort " + hex(b) + "then ASCII");
        expect(checkRef(y)).toBe(want, "utf8CheckRef " + hex(b) + "then ASCII");
      }
    }
  }
}

let seed: u32 = 0x2545f491;
function rnd(): u32 {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed;
}

/** A random scalar value, weighted towards the classes that matter (ASCII, 2, 3, 4 bytes, edges). */
function randomScalar(): u32 {
  let k = rnd() % 10;
  if (k < 3) return rnd() % 0x80;
  if (k < 5) return 0x80 + rnd() % (0x800 - 0x80);
  if (k < 8) {
    let cp = 0x800 + rnd() % (0x10000 - 0x800);
    return cp >= 0xd800 && cp <= 0xdfff ? cp - 0x800 : cp;
  }
  if (k < 9) return 0x10000 + rnd() % 0x100000;
  let edges: u32[] = [0, 0x7f, 0x80, 0x7ff, 0x800, 0xfff, 0x1000, 0xd7ff, 0xe000, 0xffff, 0x10000, 0x3ffff, 0x40000, 0xfffff, 0x100000, 0x10ffff];
  return edges[rnd() % 16];
}

function randomText(chars: i32): u8[] {
  let out = new Array<u8>(0);
  for (let i = 0; i < chars; i++) out = out.concat(enc(randomScalar()));
  return out;
}

/** Feeds b in pieces cut at `cuts` (ascending offsets); returns -1 if a feed failed, else 1 if done. */
function streamPieces(b: u8[], cuts: i32[]): i32 {
  let p = place(b);
  utf8StreamReset(ST);
  let from = 0;
  for (let i = 0; i <= cuts.length; i++) {
    let to = i < cuts.length ? cuts[i] : b.length;
    if (!utf8StreamFeed(ST, p + <usize>from, <usize>(to - from))) return -1;
    from = to;
  }
  return utf8StreamDone(ST) ? 1 : 0;
}

const CHINESE = "WebSocket 协议使得客户端与服务器之间可以进行全双工通信，数据帧可以分片传输，文本消息必须是有效的 UTF-8 编码。";
const EMOJI = "🙂👍🏽🚀🇯🇵 ok 👨‍👩‍👧 𝄞𐍈🀄";
const MIXED = "Ελληνικά, русский, العربية, 日本語, 한국어, हिन्दी, ไทย and plain ASCII 🎉";

describe("utf8: valid sequences and range boundaries (RFC 3629 §4)", () => {
  it("accepts the boundary scalar values of each length: 0, 7F, 80, 7FF, 800, FFFF, 10000, 10FFFF", () => {
    let cps: u32[] = [0, 0x7f, 0x80, 0x7ff, 0x800, 0xffff, 0x10000, 0x10ffff];
    for (let i = 0; i < cps.length; i++) expectVerdict(enc(cps[i]), 0);
  });
  it("accepts the neighbours of the excluded ranges: D7FF, E000, FFFD, and E0 A0 80 / F0 90 80 80 / F4 8F BF BF", () => {
    let cps: u32[] = [0xd7ff, 0xe000, 0xfffd, 0x800, 0x10000, 0x10ffff];
    for (let i = 0; i < cps.length; i++) expectVerdict(enc(cps[i]), 0);
  });
  it("accepts Chinese text", () => { expectVerdict(utf8Of(CHINESE), 0); });
  it("accepts emoji (4-byte sequences, joiners, flags)", () => { expectVerdict(utf8Of(EMOJI), 0); });
  it("accepts mixed scripts (2-, 3- and 4-byte runs between ASCII)", () => { expectVerdict(utf8Of(MIXED), 0); });
  it("accepts an empty chunk", () => {
    expect(utf8Check(memEnd(), 0)).toBe(0);
    expect(utf8CheckRef(memEnd(), 0)).toBe(0);
  });
  it("accepts every scalar value from U+0000 to U+10FFFF except the surrogates, in blocks", () => {
    let bad = 0;
    for (let start: u32 = 0; start < 0x110000; start += 0x400) {
      if (start >= 0xd800 && start < 0xe000) continue;
      let b = new Array<u8>(0);
      for (let cp = start; cp < start + 0x400; cp++) b = b.concat(enc(cp));
      if (check(b) != 0) bad++;
    }
    expect(bad).toBe(0);
  });
  it("rejects every surrogate U+D800..U+DFFF encoded as 3 bytes", () => {
    let accepted = 0;
    for (let cp: u32 = 0xd800; cp <= 0xdfff; cp++) {
      if (check(enc(cp)) != -1) accepted++;
      if (checkRef(enc(cp)) != -1) accepted++;
    }
    expect(accepted).toBe(0);
  });
});

describe("utf8: invalid input is -1", () => {
  it("rejects overlong forms: C0 80, C1 BF, E0 80 80, E0 9F BF, F0 80 80 80, F0 8F BF BF", () => {
    expectVerdict([0xc0, 0x80], -1);
    expectVerdict([0xc1, 0xbf], -1);
    expectVerdict([0xe0, 0x80, 0x80], -1);
    expectVerdict([0xe0, 0x9f, 0xbf], -1);
    expectVerdict([0xf0, 0x80, 0x80, 0x80], -1);
    expectVerdict([0xf0, 0x8f, 0xbf, 0xbf], -1);
  });
  it("rejects surrogates: ED A0 80 .. ED BF BF", () => {
    expectVerdict([0xed, 0xa0, 0x80], -1);
    expectVerdict([0xed, 0xbf, 0xbf], -1);
    expectVerdict([0xed, 0xad, 0xbf], -1);
  });
  it("rejects values above U+10FFFF: F4 90 80 80, F7 BF BF BF, and the bytes F5..FF anywhere", () => {
    expectVerdict([0xf4, 0x90, 0x80, 0x80], -1);
    expectVerdict([0xf7, 0xbf, 0xbf, 0xbf], -1);
    for (let b = 0xf5; b <= 0xff; b++) {
      expectVerdict([<u8>b], -1);
      expectVerdict([<u8>b, 0x80, 0x80, 0x80], -1);
    }
  });
  it("rejects stray continuation bytes 80..BF, alone and after complete sequences", () => {
    for (let b = 0x80; b <= 0xbf; b++) {
      expect(check([<u8>b])).toBe(-1);
      expect(check(cat(enc(0x4e2d), [<u8>b]))).toBe(-1);
      expect(check(cat(enc(0x3b1), [<u8>b, 0x41, 0x41, 0x41, 0x41]))).toBe(-1);
      expect(checkRef(cat(enc(0x1f600), [<u8>b]))).toBe(-1);
      expect(check(cat(enc(0x1f600), [<u8>b]))).toBe(-1);
    }
  });
  it("rejects a sequence cut short by an ASCII byte or a new lead (E4 B8 41, C3 E4 B8 AD, F0 9F 98 41)", () => {
    expectVerdict([0xe4, 0xb8, 0x41], -1);
    expectVerdict([0xc3, 0xe4, 0xb8, 0xad], -1);
    expectVerdict([0xf0, 0x9f, 0x98, 0x41], -1);
    expectVerdict([0xe4, 0x41, 0xad], -1);
  });
  it("rejects a lone lead followed by ASCII, accepts the same lead completed", () => {
    expectVerdict([0xc3, 0x41], -1);
    expectVerdict([0xc3, 0xa9, 0x41], 0);
  });
});

describe("utf8: unfinished sequence at the end of a chunk", () => {
  it("returns n for the first n bytes of a 2-, 3- or 4-byte sequence", () => {
    expectVerdict([0xc3], 1);
    expectVerdict([0xe4], 1);
    expectVerdict([0xe4, 0xb8], 2);
    expectVerdict([0xf0], 1);
    expectVerdict([0xf0, 0x9f], 2);
    expectVerdict([0xf0, 0x9f, 0x98], 3);
    expectVerdict([0xf4, 0x8f, 0xbf], 3);
    expectVerdict([0xe0, 0xa0], 2);
    expectVerdict([0xed, 0x9f], 2);
  });
  it("returns n for every proper prefix of Chinese text and emoji, 0 only at a character boundary", () => {
    let texts: string[] = [CHINESE, EMOJI, MIXED];
    for (let t = 0; t < texts.length; t++) {
      let b = utf8Of(texts[t]);
      for (let cut = 0; cut <= b.length; cut++) {
        let x = b.slice(0, cut);
        let want = 0;
        while (want < 4 && want < cut && (b[cut - 1 - want] & 0xc0) == 0x80) want++;
        if (want < cut && b[cut - 1 - want] >= 0xc0) {
          let lead = b[cut - 1 - want];
          let size = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
          want = want + 1 == size ? 0 : want + 1;
        } else want = 0;
        expect(check(x)).toBe(want, texts[t] + " cut at " + cut.toString());
        expect(checkRef(x)).toBe(want, texts[t] + " cut at " + cut.toString() + " (ref)");
      }
    }
  });
  it("fails fast: a prefix that can never become valid is -1 at the end (E0 80, E0 9F, ED A0, F0 80, F0 8F, F4 90, F5, C0, C1)", () => {
    let cases: u8[][] = [[0xe0, 0x80], [0xe0, 0x9f], [0xed, 0xa0], [0xed, 0xbf], [0xf0, 0x80], [0xf0, 0x8f],
      [0xf4, 0x90], [0xf4, 0xbf], [0xf5], [0xff], [0xc0], [0xc1], [0xe4, 0x41], [0xf0, 0x9f, 0x41]];
    for (let i = 0; i < cases.length; i++) expectVerdict(cases[i], -1);
  });
});

// utf8Check takes the validator with group tests when at least 64 bytes follow the first
// non-ASCII byte, and the one without below that: each group test runs once with a run too short
// for the group path (10 characters) and once with a run long enough (30 / 40 characters).
describe("utf8: group fast paths are exact", () => {
  it("a bad 3-byte sequence at each of the 8 places of a CJK group is -1; its valid neighbour is 0", () => {
    let runs: i32[] = [10, 30];
    for (let r = 0; r < runs.length; r++) {
      for (let at = 0; at < 8; at++) {
        for (let pre = 0; pre < 3; pre++) {
          let bad: u8[][] = [[0xe0, 0x80, 0x80], [0xe0, 0x9f, 0xbf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xe4, 0x41, 0x80], [0xe4, 0xc0, 0x80]];
          let good: u8[][] = [[0xe0, 0xa0, 0x80], [0xed, 0x9f, 0xbf], [0xef, 0xbf, 0xbf], [0xe1, 0x80, 0x80]];
          for (let k = 0; k < bad.length; k++) {
            let b = ascii(pre);
            for (let c = 0; c < runs[r]; c++) b = b.concat(c == at ? bad[k] : enc(0x4e00 + c));
            expect(check(b)).toBe(-1, "bad " + hex(bad[k]) + "at " + at.toString());
            expect(checkShort(b)).toBe(-1, "short: bad " + hex(bad[k]) + "at " + at.toString());
            expect(checkText(b)).toBe(-1, "text: bad " + hex(bad[k]) + "at " + at.toString());
            expect(checkRef(b)).toBe(-1);
          }
          for (let k = 0; k < good.length; k++) {
            let b = ascii(pre);
            for (let c = 0; c < runs[r]; c++) b = b.concat(c == at ? good[k] : enc(0xac00 + c));
            expect(check(b)).toBe(0, "good " + hex(good[k]) + "at " + at.toString());
            expect(checkShort(b)).toBe(0, "short: good " + hex(good[k]) + "at " + at.toString());
          }
        }
      }
    }
  });
  it("every lead C0..FF with every second byte 00..FF (then continuation bytes to its length), mid-chunk and at its end: the verdict of the reference", () => {
    // Covers the per-sequence tests (3-byte E0/ED cases, the 4-byte plane test) exactly.
    let bad = 0;
    let ones = 0;
    for (let lead = 0xc0; lead <= 0xff; lead++) {
      for (let b1 = 0; b1 <= 0xff; b1++) {
        let seq: u8[] = [<u8>lead, <u8>b1];
        if (lead >= 0xe0) seq.push(0x80);
        if (lead >= 0xf0) seq.push(0xbf);
        let mid = cat(cat(ascii(2), seq), ascii(6));
        let r = checkRef(mid);
        if (check(mid) != r || checkShort(mid) != r) bad++;
        if (r == 0) ones++;
        let tail = cat(ascii(5), seq);
        r = checkRef(tail);
        if (check(tail) != r || checkShort(tail) != r) bad++;
      }
    }
    expect(bad).toBe(0);
    // Valid: C2..DF with a continuation (30 * 64), E0 A0..BF, E1..EC, ED 80..9F, EE..EF
    // (32 + 12 * 64 + 32 + 2 * 64), F0 90..BF, F1..F3, F4 80..8F (48 + 3 * 64 + 16).
    expect(ones).toBe(30 * 64 + 32 + 12 * 64 + 32 + 2 * 64 + 48 + 3 * 64 + 16);
  });
  it("a bad 2-byte sequence at each of the 4 places of a 2-byte group is -1; its valid neighbour is 0", () => {
    let runs: i32[] = [6, 40];
    for (let r = 0; r < runs.length; r++) {
      for (let at = 0; at < 4; at++) {
        let bad: u8[][] = [[0xc0, 0x80], [0xc1, 0xbf], [0xc3, 0x41], [0xc3, 0xc3]];
        let good: u8[][] = [[0xc2, 0x80], [0xdf, 0xbf]];
        for (let k = 0; k < bad.length; k++) {
          let b = new Array<u8>(0);
          for (let c = 0; c < runs[r]; c++) b = b.concat(c == at ? bad[k] : enc(0x430 + c));
          expect(check(b)).toBe(-1, "bad " + hex(bad[k]) + "at " + at.toString());
          expect(checkShort(b)).toBe(-1, "short: bad " + hex(bad[k]) + "at " + at.toString());
        }
        for (let k = 0; k < good.length; k++) {
          let b = new Array<u8>(0);
          for (let c = 0; c < runs[r]; c++) b = b.concat(c == at ? good[k] : enc(0x430 + c));
          expect(check(b)).toBe(0, "good " + hex(good[k]) + "at " + at.toString());
          expect(checkShort(b)).toBe(0, "short: good " + hex(good[k]) + "at " + at.toString());
        }
      }
    }
  });
});

describe("utf8: the ASCII block scan hands over at the right byte", () => {
  it("one non-ASCII byte (valid 2-byte sequence / stray continuation) at every offset of 300 ASCII bytes", () => {
    for (let at = 0; at < 299; at++) {
      let b = ascii(300);
      b[at] = 0xc3;
      b[at + 1] = 0xa9;
      expect(check(b)).toBe(0, "valid at " + at.toString());
      b[at] = 0x41;
      expect(check(b)).toBe(-1, "stray continuation at " + (at + 1).toString());
      expect(checkShort(b)).toBe(-1);
      expect(checkRef(b)).toBe(-1);
    }
  });
  it("a byte >= 0x80 at every offset of ASCII chunks of 31..700 bytes (first 32 bytes, 128-, 64-, 32-byte blocks, words, tail) is -1 (F5) / 0 (2-byte)", () => {
    // Lengths around every block size the scan uses, and at every offset.
    let lens: i32[] = [31, 32, 33, 63, 64, 65, 95, 96, 127, 128, 160, 255, 256, 287, 288, 289, 319, 320, 383, 384, 415, 416, 447, 448, 511, 512, 543, 544, 545, 575, 576, 607, 608, 700];
    let bad = 0;
    for (let k = 0; k < lens.length; k++) {
      let n = lens[k];
      let b = ascii(n);
      if (check(b) != 0) bad++;
      for (let at = 0; at < n; at++) {
        b[at] = 0xf5;                             // never valid
        if (check(b) != -1) bad++;
        if (at + 1 < n) {
          b[at + 1] = 0x80;
          b[at] = 0xc2;                           // U+0080: valid
          if (check(b) != 0) bad++;
          b[at + 1] = <u8>(0x61 + (at + 1) % 26);
        }
        b[at] = <u8>(0x61 + at % 26);
      }
    }
    expect(bad).toBe(0);
  });
  it("pure ASCII of every length 0..300 is 0; with its last byte made a lead byte it is 1", () => {
    for (let n = 0; n <= 300; n++) {
      let b = ascii(n);
      expect(check(b)).toBe(0, "ascii " + n.toString());
      if (n > 0) {
        b[n - 1] = 0xe4;
        expect(check(b)).toBe(1, "lead at the end of " + n.toString());
        expect(checkShort(b)).toBe(1);
      }
    }
  });
});

describe("utf8: utf8Check agrees with utf8CheckRef (seeded random sweep)", () => {
  it("random bytes, lengths 0..40", () => {
    let bad = 0;
    for (let n = 0; n < 20000; n++) {
      let len = <i32>(rnd() % 41);
      let b = new Array<u8>(len);
      // half the time mostly high bytes, so that sequences form now and then
      let high = (rnd() & 1) != 0;
      for (let i = 0; i < len; i++) b[i] = <u8>(high ? (rnd() | 0x80) : rnd());
      if (check(b) != checkRef(b) || checkShort(b) != checkRef(b)) bad++;
    }
    expect(bad).toBe(0);
  });
  it("random bytes after a long valid prefix, lengths 64..300 (the group-test validator)", () => {
    let bad = 0;
    for (let n = 0; n < 3000; n++) {
      let b = randomText(20 + <i32>(rnd() % 40));
      let tail = <i32>(rnd() % 12);
      for (let i = 0; i < tail; i++) b.push(<u8>((rnd() & 1) != 0 ? (rnd() | 0x80) : rnd()));
      let r = checkRef(b);
      if (check(b) != r || checkShort(b) != r || checkText(b) != r) bad++;
    }
    expect(bad).toBe(0);
  });
  it("random valid text is 0 for both, and every truncation agrees", () => {
    let bad = 0;
    for (let n = 0; n < 2000; n++) {
      let b = randomText(<i32>(rnd() % 60));
      if (check(b) != 0 || checkRef(b) != 0) bad++;
      let cut = b.length == 0 ? 0 : <i32>(rnd() % <u32>b.length);
      let x = b.slice(0, cut);
      if (check(x) != checkRef(x) || checkShort(x) != checkRef(x)) bad++;
    }
    expect(bad).toBe(0);
  });
  it("mutated valid text (one to three bytes replaced) agrees", () => {
    let bad = 0;
    let rejected = 0;
    for (let n = 0; n < 6000; n++) {
      let b = randomText(1 + <i32>(rnd() % 50));
      let m = 1 + <i32>(rnd() % 3);
      for (let j = 0; j < m; j++) {
        let at = <i32>(rnd() % <u32>b.length);
        let k = rnd() & 3;
        b[at] = k == 0 ? <u8>rnd() : k == 1 ? <u8>(0x80 | rnd() & 0x3f) : k == 2 ? <u8>(0xe0 | rnd() & 0x0f) : <u8>(rnd() & 0x7f);
      }
      let r = check(b);
      if (r != checkRef(b) || checkShort(b) != r || checkText(b) != r) bad++;
      if (r < 0) rejected++;
    }
    expect(bad).toBe(0);
    expect(rejected).toBeGreaterThan(1000); // the sweep does reach invalid input
  });
});

describe("utf8: streaming across chunks", () => {
  it("every valid text split at every offset gives the same verdict: valid and complete", () => {
    let texts: string[] = [CHINESE, EMOJI, MIXED];
    for (let t = 0; t < texts.length; t++) {
      let b = utf8Of(texts[t]);
      for (let s = 0; s <= b.length; s++) expect(streamPieces(b, [s])).toBe(1, texts[t] + " split at " + s.toString());
    }
  });
  it("split at every pair of offsets (3 pieces) and one byte at a time", () => {
    let b = utf8Of("中文🙂é a𐍈");
    for (let s = 0; s <= b.length; s++)
      for (let u = s; u <= b.length; u++) expect(streamPieces(b, [s, u])).toBe(1);
    let cuts = new Array<i32>(0);
    for (let i = 1; i < b.length; i++) cuts.push(i);
    expect(streamPieces(b, cuts)).toBe(1);
  });
  it("a message cut inside its last character is not done at FIN, at every split", () => {
    let b = utf8Of("数据🙂");
    let cut = b.slice(0, b.length - 1);
    for (let s = 0; s <= cut.length; s++) expect(streamPieces(cut, [s])).toBe(0);
  });
  it("invalid text split at every offset fails, at the same byte as the whole-chunk check", () => {
    let good = utf8Of("通信🙂ok");
    let bads: u8[][] = [[0xed, 0xa0, 0x80], [0xe0, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf], [0x80], [0xf5]];
    for (let k = 0; k < bads.length; k++) {
      let b = good.slice(0, 6).concat(bads[k]).concat(good.slice(6));
      for (let s = 0; s <= b.length; s++) expect(streamPieces(b, [s])).toBe(-1, hex(bads[k]) + " split at " + s.toString());
      // fail-fast position: feeding one byte at a time, the first refusal comes at the first byte
      // after which no continuation could make the text valid (by the reference on prefixes)
      let firstBad = -1;
      for (let i = 1; i <= b.length && firstBad < 0; i++) if (checkRef(b.slice(0, i)) == -1) firstBad = i - 1;
      let p = place(b);
      utf8StreamReset(ST);
      let failedAt = -1;
      for (let i = 0; i < b.length; i++) if (!utf8StreamFeed(ST, p + <usize>i, 1)) { failedAt = i; break; }
      expect(failedAt).toBe(firstBad, hex(bads[k]));
      expect(firstBad).toBe(6 + (k < 3 ? 1 : 0), hex(bads[k]) + ": the reference fails at the first impossible byte");
    }
  });
  it("a carried prefix completed by an invalid byte fails in the next feed", () => {
    let p = place([0xe4, 0xb8, 0x41]);
    utf8StreamReset(ST);
    expect(utf8StreamFeed(ST, p, 2)).toBe(true);
    expect(utf8StreamDone(ST)).toBe(false);
    expect(utf8StreamFeed(ST, p + 2, 1)).toBe(false);
  });
  it("reset clears a carried prefix", () => {
    let p = place([0xe4, 0xb8]);
    utf8StreamReset(ST);
    utf8StreamFeed(ST, p, 2);
    expect(utf8StreamDone(ST)).toBe(false);
    utf8StreamReset(ST);
    expect(utf8StreamDone(ST)).toBe(true);
  });
  it("random valid text in random pieces is valid; with a byte mutated, agrees with the whole-chunk reference", () => {
    let bad = 0;
    for (let n = 0; n < 1500; n++) {
      let b = randomText(1 + <i32>(rnd() % 40));
      let mutate = (rnd() & 1) != 0;
      if (mutate) b[<i32>(rnd() % <u32>b.length)] = <u8>rnd();
      let cuts = new Array<i32>(0);
      let at = 0;
      while (true) {
        at += <i32>(rnd() % 7);
        if (at >= b.length) break;
        cuts.push(at);
      }
      let r = streamPieces(b, cuts);
      let whole = checkRef(b);
      let want = whole < 0 ? -1 : whole == 0 ? 1 : 0;
      if (r != want) bad++;
    }
    expect(bad).toBe(0);
  });
});
