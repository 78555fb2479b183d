// SHA-1 (FIPS 180-4 §6.1), for the opening handshake only: RFC 6455 §4.1 has the client check
// Sec-WebSocket-Accept = base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
// It runs once per connection on ~60 bytes, so it is written for size and clarity, not speed:
// one rolling 16-word message schedule (§6.1.3's alternative method) and no unrolling.
// SHA-1 is not collision resistant; RFC 6455 uses it only as a handshake check, not for security.
//
// Works entirely in two static areas (no allocation), so it is not re-entrant; the engine is
// single-threaded and never calls it recursively.

/** Chaining state H0..H4 (FIPS 180-4 §5.3.1 initial values set by sha1()). */
const STATE: usize = memory.data(20);
/** Message schedule W[t & 15], rolling. */
const SCHED: usize = memory.data(64);
/** The padded last one or two blocks (§5.1.1). */
const TAIL: usize = memory.data(128);

// @ts-ignore: decorator
@inline function rotl(x: u32, n: u32): u32 { return (x << n) | (x >>> (32 - n)); }

/** Runs the compression function (§6.1.2 step 1-4) on the 64-byte block at `block`. */
function sha1Block(block: usize): void {
  let a = load<u32>(STATE, 0);
  let b = load<u32>(STATE, 4);
  let c = load<u32>(STATE, 8);
  let d = load<u32>(STATE, 12);
  let e = load<u32>(STATE, 16);
  for (let t: u32 = 0; t < 80; t++) {
    let slot = SCHED + ((<usize>t & 15) << 2);
    let w: u32;
    if (t < 16) {
      w = bswap<u32>(load<u32>(block + (<usize>t << 2))); // message words are big-endian
    } else {
      // W[t] = ROTL1(W[t-3] ^ W[t-8] ^ W[t-14] ^ W[t-16]); W[t-16] is in the slot being replaced.
      w = rotl(
        load<u32>(SCHED + ((<usize>(t - 3) & 15) << 2)) ^
        load<u32>(SCHED + ((<usize>(t - 8) & 15) << 2)) ^
        load<u32>(SCHED + ((<usize>(t - 14) & 15) << 2)) ^
        load<u32>(slot), 1);
    }
    store<u32>(slot, w);
    // f and K by round (§4.1.1, §4.2.1): Ch, Parity, Maj, Parity.
    let fk: u32;
    if (t < 20) fk = ((b & c) | (~b & d)) + 0x5a827999;
    else if (t < 40) fk = (b ^ c ^ d) + 0x6ed9eba1;
    else if (t < 60) fk = ((b & c) | (b & d) | (c & d)) + 0x8f1bbcdc;
    else fk = (b ^ c ^ d) + 0xca62c1d6;
    let tmp = rotl(a, 5) + fk + e + w;
    e = d;
    d = c;
    c = rotl(b, 30);
    b = a;
    a = tmp;
  }
  store<u32>(STATE, load<u32>(STATE, 0) + a, 0);
  store<u32>(STATE, load<u32>(STATE, 4) + b, 4);
  store<u32>(STATE, load<u32>(STATE, 8) + c, 8);
  store<u32>(STATE, load<u32>(STATE, 12) + d, 12);
  store<u32>(STATE, load<u32>(STATE, 16) + e, 16);
}

/**
 * Writes the 20-byte SHA-1 digest of [src, src + len) to [dst, dst + 20). `dst` may overlap the
 * input (the digest is written last). Any length up to the 32-bit address space.
 */
export function sha1(src: usize, len: usize, dst: usize): void {
  store<u32>(STATE, 0x67452301, 0);
  store<u32>(STATE, 0xefcdab89, 4);
  store<u32>(STATE, 0x98badcfe, 8);
  store<u32>(STATE, 0x10325476, 12);
  store<u32>(STATE, 0xc3d2e1f0, 16);

  let full = len & ~(<usize>63);
  for (let off: usize = 0; off < full; off += 64) sha1Block(src + off);

  // §5.1.1 padding: the rest of the message, a 1 bit, zeros, then the length in bits as a 64-bit
  // big-endian number, filling one block when the rest is < 56 bytes and two otherwise.
  let rest = len - full;
  for (let i: usize = 0; i < 128; i += 4) store<u32>(TAIL + i, 0);
  for (let i: usize = 0; i < rest; i++) store<u8>(TAIL + i, load<u8>(src + full + i));
  store<u8>(TAIL + rest, 0x80);
  let tailLen: usize = rest < 56 ? 64 : 128;
  let bits = <u64>len << 3;
  store<u32>(TAIL + tailLen - 8, bswap<u32>(<u32>(bits >>> 32)));
  store<u32>(TAIL + tailLen - 4, bswap<u32>(<u32>bits));
  sha1Block(TAIL);
  if (tailLen == 128) sha1Block(TAIL + 64);

  for (let i: usize = 0; i < 20; i += 4) store<u32>(dst + i, bswap<u32>(load<u32>(STATE + i)));
}
