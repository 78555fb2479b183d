// RFC 6455 §5.3 payload masking: octet i of the payload is XORed with octet (i MOD 4) of the
// masking key. The same operation masks (client → server) and unmasks.
//
// Written for an interpreter (wasm3): it pays per executed wasm instruction (on the ESP32-C3 a
// u64 load or store is a byte-wise memcpy, ≈ 36 rv32 instructions), so the body works on 8-byte
// words in unrolled blocks of immediate-offset loads and stores. maskInPlace, the send path's
// kernel, has the longer blocks (128 bytes, one pointer) and does its ends in halving steps
// (64 ... 4, 2, 1 bytes) instead of loops (a byte loop costs ≈ 90 instructions a byte). maskCopy,
// for control frames (≤ 125 bytes) and the k_mask export, stays small: every unrolled step costs
// ≈ 110 bytes of rv32 code in the wasm2c build. See /work/shared/reference/wasm3-on-mcu.md.
//
// Key convention: `key` is the 4 mask octets as they sit in memory on a little-endian machine,
// i.e. keybyte[0] (the first octet on the wire) is the least significant byte. `phase` says how
// far into the key the first byte of this piece is, so a payload masked in several pieces gives
// the same result as one call: piece k starts with phase = (bytes before it) & 3.

/** Bytes per unrolled block of the word loop (8 words). */
const BLOCK: usize = 64;

/**
 * dst[i] = src[i] ^ keybyte[(i + phase) & 3] for i in [0, len).
 * dst may equal src (masking in place); otherwise the ranges must not overlap.
 */
export function maskCopy(dst: usize, src: usize, len: usize, key: u32, phase: u32): void {
  // Rotate the key so that its low byte is the one for dst[0]; after that, byte j of the rotated
  // key always goes with byte j of a stretch that starts at a multiple of 4 from here.
  let k = rotr<u32>(key, (phase & 3) << 3);
  let end = dst + len;

  // Head: bytes until dst is 8-aligned (the word stores are then aligned; loads from src may not
  // be, which wasm allows). Each byte moves the key on by one.
  let head = (<usize>0 - dst) & 7;
  if (head > len) head = len;
  let headEnd = dst + head;
  while (dst < headEnd) {
    store<u8>(dst, load<u8>(src) ^ <u8>k);
    k = rotr<u32>(k, 8);
    dst++;
    src++;
  }

  // Body: the key widened to 64 bits (two copies; 8 is a multiple of 4, so it stays in phase).
  let k64 = (<u64>k << 32) | <u64>k;
  let blockEnd = dst + ((end - dst) & ~(BLOCK - 1));
  while (dst < blockEnd) {
    store<u64>(dst, load<u64>(src) ^ k64);
    store<u64>(dst, load<u64>(src, 8) ^ k64, 8);
    store<u64>(dst, load<u64>(src, 16) ^ k64, 16);
    store<u64>(dst, load<u64>(src, 24) ^ k64, 24);
    store<u64>(dst, load<u64>(src, 32) ^ k64, 32);
    store<u64>(dst, load<u64>(src, 40) ^ k64, 40);
    store<u64>(dst, load<u64>(src, 48) ^ k64, 48);
    store<u64>(dst, load<u64>(src, 56) ^ k64, 56);
    dst += BLOCK;
    src += BLOCK;
  }
  let wordEnd = dst + ((end - dst) & ~(<usize>7));
  while (dst < wordEnd) {
    store<u64>(dst, load<u64>(src) ^ k64);
    dst += 8;
    src += 8;
  }

  // Tail: fewer than 8 bytes; the key is still in phase (whole words only since the head).
  while (dst < end) {
    store<u8>(dst, load<u8>(src) ^ <u8>k);
    k = rotr<u32>(k, 8);
    dst++;
    src++;
  }
}

/**
 * The body of maskInPlace from a point where the key is in phase (k's low byte goes with p[0]):
 * 128-byte blocks, then what is left in halving steps (64, 32, 16, 8, 4, 2, 1 bytes), so no
 * loop runs per byte or per word. Whole 4-byte groups keep the key in phase; only the 2-byte
 * step moves it on, for the last byte.
 */
// @ts-ignore: decorator
@inline function maskWordsInPlace(p: usize, len: usize, k: u32): void {
  let k64 = (<u64>k << 32) | <u64>k;
  let blockEnd = p + (len & ~(<usize>127));
  while (p < blockEnd) {
    store<u64>(p, load<u64>(p) ^ k64);
    store<u64>(p, load<u64>(p, 8) ^ k64, 8);
    store<u64>(p, load<u64>(p, 16) ^ k64, 16);
    store<u64>(p, load<u64>(p, 24) ^ k64, 24);
    store<u64>(p, load<u64>(p, 32) ^ k64, 32);
    store<u64>(p, load<u64>(p, 40) ^ k64, 40);
    store<u64>(p, load<u64>(p, 48) ^ k64, 48);
    store<u64>(p, load<u64>(p, 56) ^ k64, 56);
    store<u64>(p, load<u64>(p, 64) ^ k64, 64);
    store<u64>(p, load<u64>(p, 72) ^ k64, 72);
    store<u64>(p, load<u64>(p, 80) ^ k64, 80);
    store<u64>(p, load<u64>(p, 88) ^ k64, 88);
    store<u64>(p, load<u64>(p, 96) ^ k64, 96);
    store<u64>(p, load<u64>(p, 104) ^ k64, 104);
    store<u64>(p, load<u64>(p, 112) ^ k64, 112);
    store<u64>(p, load<u64>(p, 120) ^ k64, 120);
    p += 128;
  }
  if (len & 64) {
    store<u64>(p, load<u64>(p) ^ k64);
    store<u64>(p, load<u64>(p, 8) ^ k64, 8);
    store<u64>(p, load<u64>(p, 16) ^ k64, 16);
    store<u64>(p, load<u64>(p, 24) ^ k64, 24);
    store<u64>(p, load<u64>(p, 32) ^ k64, 32);
    store<u64>(p, load<u64>(p, 40) ^ k64, 40);
    store<u64>(p, load<u64>(p, 48) ^ k64, 48);
    store<u64>(p, load<u64>(p, 56) ^ k64, 56);
    p += 64;
  }
  if (len & 32) {
    store<u64>(p, load<u64>(p) ^ k64);
    store<u64>(p, load<u64>(p, 8) ^ k64, 8);
    store<u64>(p, load<u64>(p, 16) ^ k64, 16);
    store<u64>(p, load<u64>(p, 24) ^ k64, 24);
    p += 32;
  }
  if (len & 16) {
    store<u64>(p, load<u64>(p) ^ k64);
    store<u64>(p, load<u64>(p, 8) ^ k64, 8);
    p += 16;
  }
  if (len & 8) {
    store<u64>(p, load<u64>(p) ^ k64);
    p += 8;
  }
  if (len & 4) {
    store<u32>(p, load<u32>(p) ^ k);
    p += 4;
  }
  if (len & 2) {
    store<u16>(p, load<u16>(p) ^ <u16>k);
    k >>>= 16;
    p += 2;
  }
  if (len & 1) store<u8>(p, load<u8>(p) ^ <u8>k);
}

/**
 * maskCopy(p, p, len, key, 0): masks [p, p + len) in place from the key's first byte (the send
 * path: one whole frame payload).
 */
export function maskInPlace(p: usize, len: usize, key: u32): void {
  // Head: up to 7 bytes until p is 8-aligned, in at most one 1-, 2- and 4-byte step.
  let head = (<usize>0 - p) & 7;
  if (head > len) head = len;
  len -= head;
  if (head & 1) {
    store<u8>(p, load<u8>(p) ^ <u8>key);
    key = rotr<u32>(key, 8);
    p++;
  }
  if (head & 2) {
    store<u16>(p, load<u16>(p) ^ <u16>key);
    key = rotr<u32>(key, 16);
    p += 2;
  }
  if (head & 4) {
    store<u32>(p, load<u32>(p) ^ key);
    p += 4;
  }
  maskWordsInPlace(p, len, key);
}

/** The scalar reference for maskCopy: the same contract, one byte at a time, as RFC 6455 §5.3 reads. */
export function maskCopyRef(dst: usize, src: usize, len: usize, key: u32, phase: u32): void {
  for (let i: usize = 0; i < len; i++) {
    let j = (<u32>i + phase) & 3;
    store<u8>(dst + i, load<u8>(src + i) ^ <u8>(key >>> (j << 3)));
  }
}
