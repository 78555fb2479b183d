// maskCopy: RFC 6455 §5.3 masking, the word-wide kernel against its byte-loop reference
// (tests/assembly/kernels_mask.spec.ts).
import { maskCopy, maskCopyRef, maskInPlace } from "../../assembly/kernels/mask";

const MAXLEN: usize = 300;
const AREA: usize = 4096 + 64;
const SRC: usize = (heap.alloc(AREA + 16) + 15) & ~(<usize>15);  // 16-aligned bases
const DST: usize = (heap.alloc(AREA + 16) + 15) & ~(<usize>15);
const REF: usize = (heap.alloc(AREA + 16) + 15) & ~(<usize>15);
const GUARD: u8 = 0x5a;

let seed: u32 = 0x9e3779b9;
/** xorshift32: a fixed seed, so a failure reproduces. */
function rnd(): u32 {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed;
}

function fillRandom(p: usize, n: usize): void {
  for (let i: usize = 0; i < n; i++) store<u8>(p + i, <u8>rnd());
}

function fill(p: usize, n: usize, v: u8): void {
  for (let i: usize = 0; i < n; i++) store<u8>(p + i, v);
}

/** Index of the first differing byte, or -1. */
function diff(a: usize, b: usize, n: usize): i32 {
  for (let i: usize = 0; i < n; i++) if (load<u8>(a + i) != load<u8>(b + i)) return <i32>i;
  return -1;
}

/**
 * Runs maskCopy and maskCopyRef on the same input and compares. Copying: src at SRC+sa, dst at
 * DST+da (guard bytes around dst must survive). In place: the input at DST+da, masked onto itself.
 */
function agree(len: usize, key: u32, phase: u32, sa: usize, da: usize, inPlace: bool): bool {
  fill(DST, AREA, GUARD);
  fill(REF, AREA, GUARD);
  let src = SRC + sa;
  fillRandom(src, len);
  maskCopyRef(REF + 8 + da, src, len, key, phase);
  if (inPlace) {
    for (let i: usize = 0; i < len; i++) store<u8>(DST + 8 + da + i, load<u8>(src + i));
    maskCopy(DST + 8 + da, DST + 8 + da, len, key, phase);
  } else {
    maskCopy(DST + 8 + da, src, len, key, phase);
  }
  // Compare the whole area, guards included: a write outside [dst, dst + len) shows up here.
  return diff(DST, REF, len + 32) < 0;
}

describe("mask: RFC 6455 §5.3 and §5.7", () => {
  it("masks \"Hello\" with key 37 fa 21 3d into the §5.7 payload 7f 9f 4d 51 58", () => {
    let hello: u8[] = [0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let wire: u8[] = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
    for (let i = 0; i < 5; i++) store<u8>(SRC + <usize>i, hello[i]);
    let key: u32 = 0x3d21fa37; // bytes 37 fa 21 3d in memory, wire order
    maskCopy(DST, SRC, 5, key, 0);
    for (let i = 0; i < 5; i++) expect(load<u8>(DST + <usize>i)).toBe(wire[i]);
    maskCopyRef(REF, SRC, 5, key, 0);
    for (let i = 0; i < 5; i++) expect(load<u8>(REF + <usize>i)).toBe(wire[i]);
  });
  it("with the key bytes in the wrong order the §5.7 payload does not come out", () => {
    let hello: u8[] = [0x48, 0x65, 0x6c, 0x6c, 0x6f];
    for (let i = 0; i < 5; i++) store<u8>(SRC + <usize>i, hello[i]);
    maskCopy(DST, SRC, 5, 0x37fa213d, 0);
    expect(load<u8>(DST)).not.toBe(0x7f);
  });
  it("masking twice with the same key and phase restores the payload (round trip)", () => {
    for (let len: usize = 0; len <= MAXLEN; len += 7) {
      fillRandom(SRC, len);
      let key = rnd();
      let phase = rnd() & 3;
      maskCopy(DST + 3, SRC, len, key, phase);
      maskCopy(DST + 3, DST + 3, len, key, phase);
      expect(diff(DST + 3, SRC, len)).toBe(-1, "len " + len.toString());
    }
  });
  it("unmasking with another phase does not restore the payload", () => {
    fillRandom(SRC, 64);
    maskCopy(DST, SRC, 64, 0x04030201, 0);
    maskCopy(DST, DST, 64, 0x04030201, 1);
    expect(diff(DST, SRC, 64)).not.toBe(-1);
  });
  it("a zero key leaves the payload unchanged, a non-zero key changes it", () => {
    fillRandom(SRC, 100);
    maskCopy(DST, SRC, 100, 0, 2);
    expect(diff(DST, SRC, 100)).toBe(-1);
    maskCopy(DST, SRC, 100, 0x01000000, 2);
    expect(diff(DST, SRC, 100)).toBe(1); // keybyte[3] applies to byte 1 when phase = 2
  });
  it("masking in pieces with phase = offset & 3 equals masking the whole payload", () => {
    let len: usize = 1000;
    fillRandom(SRC, len);
    let key = rnd();
    maskCopyRef(REF, SRC, len, key, 0);
    let off: usize = 0;
    while (off < len) {
      let piece = <usize>(rnd() % 97);
      if (piece > len - off) piece = len - off;
      maskCopy(DST + off, SRC + off, piece, key, <u32>off & 3);
      off += piece;
    }
    expect(diff(DST, REF, len)).toBe(-1);
  });
});

describe("mask: maskCopy agrees with maskCopyRef", () => {
  it("copying: every length 0..300, every phase, every src and dst alignment 0..7", () => {
    let bad = 0;
    for (let len: usize = 0; len <= MAXLEN; len++)
      for (let phase: u32 = 0; phase < 4; phase++)
        for (let sa: usize = 0; sa < 8; sa++)
          for (let da: usize = 0; da < 8; da++)
            if (!agree(len, 0xc3a5_1e7f, phase, sa, da, false)) bad++;
    expect(bad).toBe(0);
  });
  it("in place: every length 0..300, every phase, every alignment 0..7", () => {
    let bad = 0;
    for (let len: usize = 0; len <= MAXLEN; len++)
      for (let phase: u32 = 0; phase < 4; phase++)
        for (let da: usize = 0; da < 8; da++)
          if (!agree(len, 0x8d_42_f1_06, phase, 0, da, true)) bad++;
    expect(bad).toBe(0);
  });
  it("seeded random sweep: lengths to 4096, random keys, phases, alignments, in place or not", () => {
    let bad = 0;
    for (let n = 0; n < 3000; n++) {
      let len = <usize>(rnd() % 4097);
      if (!agree(len, rnd(), rnd(), <usize>(rnd() & 7), <usize>(rnd() & 31), (rnd() & 1) != 0)) bad++;
    }
    expect(bad).toBe(0);
  });
  it("the comparison can fail: a one-byte change in the reference output is detected", () => {
    fill(DST, AREA, GUARD);
    fill(REF, AREA, GUARD);
    fillRandom(SRC, 100);
    maskCopy(DST + 8, SRC, 100, 0x11223344, 0);
    maskCopyRef(REF + 8, SRC, 100, 0x11223344, 0);
    expect(diff(DST, REF, 132)).toBe(-1);
    store<u8>(REF + 8 + 57, load<u8>(REF + 8 + 57) ^ 1);
    expect(diff(DST, REF, 132)).toBe(65);
  });
});

/** maskInPlace against maskCopyRef (phase 0) for the input at DST+da; guards around it must survive. */
function agreeInPlace(len: usize, key: u32, da: usize): bool {
  fill(DST, AREA, GUARD);
  fill(REF, AREA, GUARD);
  fillRandom(SRC, len);
  maskCopyRef(REF + 8 + da, SRC, len, key, 0);
  for (let i: usize = 0; i < len; i++) store<u8>(DST + 8 + da + i, load<u8>(SRC + i));
  maskInPlace(DST + 8 + da, len, key);
  return diff(DST, REF, len + 32) < 0;
}

describe("mask: maskInPlace (the send path's kernel) agrees with maskCopyRef", () => {
  it("every length 0..600 (128-byte blocks, every halving step), every alignment 0..7", () => {
    let bad = 0;
    for (let len: usize = 0; len <= 600; len++)
      for (let da: usize = 0; da < 8; da++)
        if (!agreeInPlace(len, 0x8d_42_f1_06, da)) bad++;
    expect(bad).toBe(0);
  });
  it("seeded random sweep: lengths to 4096, random keys and alignments", () => {
    let bad = 0;
    for (let n = 0; n < 2000; n++) {
      if (!agreeInPlace(<usize>(rnd() % 4097), rnd(), <usize>(rnd() & 31))) bad++;
    }
    expect(bad).toBe(0);
  });
  it("the comparison can fail: masking one byte short leaves the last byte unmasked", () => {
    fill(DST, AREA, GUARD);
    fill(REF, AREA, GUARD);
    fillRandom(SRC, 300);
    maskCopyRef(REF + 8, SRC, 300, 0x11223344, 0);
    for (let i: usize = 0; i < 300; i++) store<u8>(DST + 8 + i, load<u8>(SRC + i));
    maskInPlace(DST + 8, 299, 0x11223344);
    expect(diff(DST, REF, 332)).toBe(8 + 299);
  });
});

describe("mask: memory bounds", () => {
  it("reads nothing past the source: a source ending at the end of linear memory works", () => {
    memory.grow(1);
    let top = <usize>memory.size() << 16;
    for (let len: usize = 0; len <= 70; len++) {
      let src = top - len;
      fillRandom(src, len);
      maskCopy(DST + (len & 7), src, len, 0xdeadbeef, <u32>len);
      maskCopyRef(REF + (len & 7), src, len, 0xdeadbeef, <u32>len);
      expect(diff(DST + (len & 7), REF + (len & 7), len)).toBe(-1);
      // and in place, ending at the end of memory
      maskCopy(src, src, len, 0xdeadbeef, <u32>len);
      expect(diff(src, REF + (len & 7), len)).toBe(-1);
    }
    for (let len: usize = 0; len <= 600; len++) {
      let p = top - len;
      fillRandom(p, len);
      maskCopyRef(REF, p, len, 0x0badcafe, 0);
      maskInPlace(p, len, 0x0badcafe);
      expect(diff(p, REF, len)).toBe(-1);
    }
  });
});
