// RFC 6455 §5.3 payload masking: octet i of the payload is XORed with octet (i MOD 4) of the
// masking key. The same operation masks (client → server) and unmasks.
//
// Written for an interpreter (wasm3): it pays per executed wasm instruction, so the body works
// on 8-byte words with an unrolled block of immediate-offset loads and stores, and the byte loops
// at the ends run at most 7 times. See /work/shared/reference/wasm3-on-mcu.md for the numbers.
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

/** The scalar reference for maskCopy: the same contract, one byte at a time, as RFC 6455 §5.3 reads. */
export function maskCopyRef(dst: usize, src: usize, len: usize, key: u32, phase: u32): void {
  for (let i: usize = 0; i < len; i++) {
    let j = (<u32>i + phase) & 3;
    store<u8>(dst + i, load<u8>(src + i) ^ <u8>(key >>> (j << 3)));
  }
}
