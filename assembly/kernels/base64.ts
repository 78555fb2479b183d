// Base64 encoding (RFC 4648 §4, standard alphabet, '=' padding), used by the opening handshake:
// the Sec-WebSocket-Key (16 random bytes), the expected Sec-WebSocket-Accept (a SHA-1 digest) and
// the Basic Authorization credentials.

/** RFC 4648 §4 Table 1: value 0..63 → "A-Z a-z 0-9 + /". */
const ALPHABET: usize = memory.data<u8>([
  65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88,
  89, 90, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114,
  115, 116, 117, 118, 119, 120, 121, 122, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 43, 47,
]);

const PAD: u8 = 0x3d; // '='

/** Output length of base64Encode for `len` input bytes: 4 characters per started 3-byte group. */
// @ts-ignore: decorator
@inline export function base64Len(len: usize): usize { return (len + 2) / 3 * 4; }

/**
 * Encodes [src, src + len) as base64 into dst and returns the number of characters written,
 * always (len + 2) / 3 * 4. The buffers must not overlap.
 */
export function base64Encode(src: usize, len: usize, dst: usize): usize {
  let out = dst;
  let end = src + len;
  let p = src;
  // Whole 3-byte groups → 4 characters of 6 bits each.
  while (end - p >= 3) {
    let v = (<u32>load<u8>(p) << 16) | (<u32>load<u8>(p, 1) << 8) | <u32>load<u8>(p, 2);
    store<u8>(out, load<u8>(ALPHABET + (v >>> 18)));
    store<u8>(out, load<u8>(ALPHABET + ((v >>> 12) & 63)), 1);
    store<u8>(out, load<u8>(ALPHABET + ((v >>> 6) & 63)), 2);
    store<u8>(out, load<u8>(ALPHABET + (v & 63)), 3);
    p += 3;
    out += 4;
  }
  // §4: a final group of 1 byte gives 2 characters + "==", of 2 bytes 3 characters + "=".
  let rest = end - p;
  if (rest != 0) {
    let v = <u32>load<u8>(p) << 16;
    if (rest == 2) v |= <u32>load<u8>(p, 1) << 8;
    store<u8>(out, load<u8>(ALPHABET + (v >>> 18)));
    store<u8>(out, load<u8>(ALPHABET + ((v >>> 12) & 63)), 1);
    store<u8>(out, rest == 2 ? load<u8>(ALPHABET + ((v >>> 6) & 63)) : PAD, 2);
    store<u8>(out, PAD, 3);
    out += 4;
  }
  return out - dst;
}
