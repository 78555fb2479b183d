// UTF-8 validation of text payloads (RFC 6455 §8.1: a text message that is not valid UTF-8 fails
// the connection with 1007), as RFC 3629 §4 defines it:
//
//   UTF8-1 = %x00-7F
//   UTF8-2 = %xC2-DF UTF8-tail
//   UTF8-3 = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) /
//            %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
//   UTF8-4 = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) /
//            %xF4 %x80-8F 2( UTF8-tail )
//   UTF8-tail = %x80-BF
//
// so overlong forms, the surrogates U+D800-DFFF and anything above U+10FFFF are invalid.
//
// utf8Check is written for an interpreter (wasm3), which pays per executed wasm instruction
// (see /work/shared/reference/wasm3-on-mcu.md) and, on every call, for copying the function's
// constant table into its frame: the entry scans ASCII in blocks of up to 128 bytes with one
// constant and calls a multi-byte validator only at the first non-ASCII byte. That one checks a whole code
// point per u32 load (a mask and a compare per sequence length), and for long chunks runs of
// 3-byte characters 8 at a time and 2-byte characters 4 at a time (group tests).
// utf8CheckRef is the plain per-byte state machine it is tested against.
//
// Return contract of both, for the chunk [p, p + len):
//    0    every byte belongs to a complete, valid sequence;
//    1..3 valid so far, but the last n bytes start a sequence that is not finished yet and can
//         still become valid: the caller carries them into the next chunk;
//   -1    invalid. A prefix that no continuation could make valid (E0 80, ED A0, F4 90, F5, C0,
//         a stray continuation byte...) is -1 even when it sits at the very end of the chunk.
// Neither reads outside [p, p + len).

const HI8: u64 = 0x8080808080808080;   // the top bit of each byte
const LO7F: u64 = 0x7f7f7f7f7f7f7f7f;  // + this sets a lane's top bit iff the lane (< 0x81) is non-zero

// Eight 3-byte sequences in 24 bytes, loaded as three u64 words w0 w1 w2 (little-endian: byte k
// of a word is bits 8k..8k+7). Lead bytes sit at offsets 0 3 6 | 9 12 15 | 18 21, i.e. at bytes
// 0,3,6 of w0, 1,4,7 of w1 and 2,5 of w2: eight different byte lanes, so they can be merged into
// one word and tested together.
const G3_MASK0: u64 = 0xc0f0c0c0f0c0c0f0;   // lead: top 4 bits, continuation: top 2 bits
const G3_WANT0: u64 = 0x80e08080e08080e0;   // lead 1110xxxx, continuation 10xxxxxx
const G3_MASK1: u64 = 0xf0c0c0f0c0c0f0c0;
const G3_WANT1: u64 = 0xe08080e08080e080;
const G3_MASK2: u64 = 0xc0c0f0c0c0f0c0c0;
const G3_WANT2: u64 = 0x8080e08080e08080;
const G3_LEAD0: u64 = 0x000f00000f00000f;   // low nibble of the leads in w0 (bytes 0,3,6)
const G3_LEAD1: u64 = 0x0f00000f00000f00;   // ... in w1 (bytes 1,4,7)
const G3_LEAD2: u64 = 0x00000f00000f0000;   // ... in w2 (bytes 2,5)
const G3_B1_0: u64 = 0x0020000020000020;    // bit 5 of each lead's second byte, moved onto the lead's lane
const G3_B1_1: u64 = 0x2000002000002000;
const G3_B1_2: u64 = 0x0000200000200000;
const G3_BAD_ED: u64 = 0x2d2d2d2d2d2d2d2d;
const G3_NIB_D: u64 = 0x0d0d0d0d0d0d0d0d;

// Four 2-byte sequences in one u64: 110xxxxx 10xxxxxx per 16-bit lane, lead >= C2.
const G2_MASK: u64 = 0xc0e0c0e0c0e0c0e0;
const G2_WANT: u64 = 0x80c080c080c080c0;
const G2_LEADBITS: u64 = 0x001e001e001e001e; // zero exactly for the overlong leads C0, C1
const G2_LO7F: u64 = 0x007f007f007f007f;
const G2_HI: u64 = 0x0080008000800080;

/**
 * True when the 24 bytes at p are eight valid 3-byte sequences. Exact: false for anything else
 * (the caller then goes one sequence at a time and finds out what it is).
 */
// @ts-ignore: decorator
@inline function eightThreeByte(p: usize): bool {
  // The shape first, one word at a time: the test that ends a run fails on the first word.
  let w0 = load<u64>(p);
  if ((w0 & G3_MASK0) != G3_WANT0) return false;
  let w1 = load<u64>(p, 8);
  let w2 = load<u64>(p, 16);
  if ((((w1 & G3_MASK1) ^ G3_WANT1) | ((w2 & G3_MASK2) ^ G3_WANT2)) != 0) return false;
  // The low nibbles of the 8 leads, one per lane. Only the leads E0 (overlong below A0) and ED
  // (surrogates from A0) depend on the second byte; when no lane is 0 or D the group is valid.
  // Every lane is < 0x10, so adding 0x7F flags non-zero lanes without carrying into the next.
  let n = (w0 & G3_LEAD0) | (w1 & G3_LEAD1) | (w2 & G3_LEAD2);
  if (((n + LO7F) & ((n ^ G3_NIB_D) + LO7F) & HI8) == HI8) return true;
  return eightThreeByteSpecial(p, n);
}

/**
 * The rest of eightThreeByte when a lead is E0 or ED (Hangul from U+D000 has ED): the second
 * bytes decide. Rare, so its constants may be the ones past wasm3's constant table (see
 * validateLong): binaryen inlines it, after the hot tests.
 */
function eightThreeByteSpecial(p: usize, n: u64): bool {
  let w0 = load<u64>(p);
  let w1 = load<u64>(p, 8);
  let w2 = load<u64>(p, 16);
  // Per character c = (lead & 0x0F) | (second byte & 0x20): c == 0x00 is E0 80..9F (overlong),
  // c == 0x2D is ED A0..BF (a surrogate). Every lane is < 0x30.
  let c = n | ((w0 >> 8) & G3_B1_0) | (((w1 >> 8) | (w2 << 56)) & G3_B1_1) | ((w2 >> 8) & G3_B1_2);
  return ((c + LO7F) & ((c ^ G3_BAD_ED) + LO7F) & HI8) == HI8;
}

/** True when the 8 bytes at p are four valid 2-byte sequences. Exact, like eightThreeByte. */
// @ts-ignore: decorator
@inline function fourTwoByte(p: usize): bool {
  let w = load<u64>(p);
  return (w & G2_MASK) == G2_WANT && (((w & G2_LEADBITS) + G2_LO7F) & G2_HI) == G2_HI;
}

/**
 * Checks the last bytes of a chunk, [i, end) with end - i < 4, byte by byte: complete sequences,
 * or an unfinished one at the very end (returns its length so far). Same return contract.
 */
function utf8Tail(i: usize, end: usize): i32 {
  while (i < end) {
    let b0 = <u32>load<u8>(i);
    if (b0 < 0x80) { i++; continue; }
    let need: usize;
    let lo: u32 = 0x80; // allowed range of the second byte (RFC 3629 §4)
    let hi: u32 = 0xbf;
    if (b0 < 0xc2) return -1;                  // continuation byte, or overlong C0/C1
    else if (b0 < 0xe0) need = 2;
    else if (b0 < 0xf0) {
      need = 3;
      if (b0 == 0xe0) lo = 0xa0;               // overlong
      else if (b0 == 0xed) hi = 0x9f;          // surrogates
    } else if (b0 < 0xf5) {
      need = 4;
      if (b0 == 0xf0) lo = 0x90;               // overlong
      else if (b0 == 0xf4) hi = 0x8f;          // above U+10FFFF
    } else return -1;                          // F5..FF never appear
    let have = end - i;
    if (have > need) have = need;
    if (have > 1) {
      let b1 = <u32>load<u8>(i, 1);
      if (b1 < lo || b1 > hi) return -1;
      if (have > 2 && (load<u8>(i, 2) & 0xc0) != 0x80) return -1;
      if (have > 3 && (load<u8>(i, 3) & 0xc0) != 0x80) return -1;
    }
    if (have < need) return <i32>have;         // unfinished, and it reaches the end
    i += need;
  }
  return 0;
}

/**
 * Validates the chunk [p, p + len). Returns 0, 1..3 (unfinished tail) or -1 (see the top).
 *
 * This entry is kept small on purpose: wasm3 copies a function's whole constant table into its
 * frame on every call, so the ASCII scan here uses one wide constant, and the multi-byte
 * validators (with the group-test constants) are only called once a non-ASCII byte turns up.
 */
export function utf8Check(p: usize, len: usize): i32 {
  let i = p;
  let end = p + len;
  // ASCII in blocks of words ORed, one test per block: on wasm3 a word costs ≈ 59 rv32
  // instructions (load + OR), a test and the loop ≈ 80. First 32 bytes: text that is not all
  // ASCII usually shows it early, and a failed 128-byte test costs ≈ 950 for nothing. Then
  // 128-byte blocks, then 64 and 32 (so 2^k bytes from 64 up end on whole blocks). 256-byte
  // blocks gain 0.17 instructions a byte on wasm3 but cost 5% on wasm2c (x86-64).
  if (len >= 32 && ((load<u64>(i) | load<u64>(i, 8) | load<u64>(i, 16) | load<u64>(i, 24)) & HI8) == 0) {
    i += 32;
    while (end - i >= 128) {
      if (((load<u64>(i) | load<u64>(i, 8) | load<u64>(i, 16) | load<u64>(i, 24) | load<u64>(i, 32) | load<u64>(i, 40) | load<u64>(i, 48) | load<u64>(i, 56) |
            load<u64>(i, 64) | load<u64>(i, 72) | load<u64>(i, 80) | load<u64>(i, 88) | load<u64>(i, 96) | load<u64>(i, 104) | load<u64>(i, 112) | load<u64>(i, 120)) & HI8) != 0) break;
      i += 128;
    }
    if (end - i >= 64 && ((load<u64>(i) | load<u64>(i, 8) | load<u64>(i, 16) | load<u64>(i, 24) | load<u64>(i, 32) | load<u64>(i, 40) | load<u64>(i, 48) | load<u64>(i, 56)) & HI8) == 0) i += 64;
    if (end - i >= 32 && ((load<u64>(i) | load<u64>(i, 8) | load<u64>(i, 16) | load<u64>(i, 24)) & HI8) == 0) i += 32;
  }
  while (end - i >= 8) {
    if ((load<u64>(i) & HI8) != 0) break;
    i += 8;
  }
  if (end - i < 8) {
    // The last bytes: one word ending at `end` when the chunk has 8 bytes (it overlaps bytes
    // already checked), else one byte at a time.
    if (len >= 8) {
      if ((load<u64>(end - 8) & HI8) == 0) return 0;
    } else {
      while (i < end && load<u8>(i) < 0x80) i++;
      if (i == end) return 0;
    }
  }
  return end - i >= GROUPS_MIN ? utf8Long(i, end) : utf8Short(i, end);
}

/** Remaining length from which utf8Check takes the validator with group tests. */
const GROUPS_MIN: usize = 64;

/** The validator without group tests on its own (utf8Check uses it below GROUPS_MIN bytes; tests). */
export function utf8CheckShort(p: usize, len: usize): i32 {
  return utf8Short(p, p + len);
}

/**
 * utf8Check for a chunk that is known not to be all ASCII (no ASCII block scan first): the receive
 * fast loop calls it for a small text frame whose inline ASCII test failed. Inlined: a dispatch
 * only, and on wasm3 each call level costs some 300 rv32 instructions.
 */
// @ts-ignore: decorator
@inline export function utf8CheckText(p: usize, len: usize): i32 {
  return len >= GROUPS_MIN ? utf8Long(p, p + len) : utf8Short(p, p + len);
}

/** [i, end) one sequence per step, after a short ASCII test: few constants, cheap to call. */
function utf8Short(i: usize, end: usize): i32 {
  return validateShort(i, end);
}

/** [i, end) with the group tests for runs of 3- and 2-byte characters: for long chunks. */
function utf8Long(i: usize, end: usize): i32 {
  return validateLong(i, end);
}

/**
 * The validator behind utf8Long: one sequence per u32 load, ASCII skipped by words, and the
 * group tests where a run of multi-byte characters starts.
 *
 * The code order matters on wasm3: a function's constants get table slots in the order the code
 * uses them, and those past the table's end (64 slots in the ESP32 build) are re-materialized by
 * an extra instruction at every use. So the per-sequence loop comes first, then the ASCII skip
 * and the group tests, and the rare cases (the chunk's last bytes) last.
 */
// @ts-ignore: decorator
@inline function validateLong(i: usize, end: usize): i32 {
  let lim: usize = end < 3 ? 0 : end - 3;   // i < lim: 4 bytes from i are inside the chunk
  while (i < lim) {
    // One sequence per u32 load (byte 0 of the chunk in bits 0-7), most frequent shape first.
    let v = load<u32>(i);
    if ((v & 0xc0c0f0) == 0x8080e0) {
      // 3 bytes. Lead low nibble and bit 5 of the second byte: 0x0000 is E0 80..9F (overlong),
      // 0x200D is ED A0..BF (surrogate).
      let c = v & 0x200f;
      if (c == 0 || c == 0x200d) return -1;
      i += 3;
      continue;
    }
    if ((v & 0xc0e0) == 0x80c0) {
      if ((v & 0x1e) == 0) return -1;          // C0, C1: overlong
      i += 2;
      continue;
    }
    if ((v & 0xc0c0c0f8) == 0x808080f0) {
      // 4 bytes: the top 5 bits of the 21-bit code point are the plane, which must be 1..16:
      // plane = 4 * (lead & 7) + ((second byte >> 4) & 3). Rotated, the lead's bits land above
      // the second byte's: r = ((lead & 7) << 20) + ((second >> 4) & 3), and 1 <= plane <= 16
      // exactly when 1 <= r <= 4 << 20.
      if ((rotr<u32>(v & 0x3007, 12) - 1) >= 0x400000) return -1;
      i += 4;
      continue;
    }
    if ((v & 0x80) != 0) return -1;

    // ASCII: up to 3 more of these 4 bytes tell where it ends without a load; past them, one
    // word tells whether 8 bytes are all ASCII, and ctz finds the first that is not.
    let top = v & 0x80808080;
    if (top != 0) {
      i += <usize>(ctz<u32>(top) >> 3);
    } else {
      i += 4;
      while (true) {
        if (end - i < 8) break;
        let t = load<u64>(i) & HI8;
        if (t != 0) {
          i += <usize>(<u32>ctz<u64>(t) >> 3);
          break;
        }
        i += 8;
        while (end - i >= 32) {
          if (((load<u64>(i) | load<u64>(i, 8) | load<u64>(i, 16) | load<u64>(i, 24)) & HI8) != 0) break;
          i += 32;
        }
      }
      if (end - i < 8) {
        while (i < end && load<u8>(i) < 0x80) i++;
        continue;
      }
    }

    // i is at a non-ASCII byte: a run of multi-byte sequences starts. CJK runs go 8 characters
    // per test, Cyrillic/Greek/Arabic... runs 4; once a group test fails, the rest of the run
    // goes one sequence at a time (retrying the group at each character would cost more).
    let lead = <u32>load<u8>(i);
    if ((lead & 0xf0) == 0xe0) {
      while (end - i >= 24 && eightThreeByte(i)) i += 24;
    } else if ((lead & 0xe0) == 0xc0) {
      while (end - i >= 8 && fourTwoByte(i)) i += 8;
    }
  }

  // The last 0-3 bytes, assembled zero-padded: a zero byte never matches a continuation byte,
  // so a 2- or 3-byte shape only matches a sequence that is all here; anything else (an
  // unfinished or invalid sequence) is utf8Tail's to tell.
  while (i < end) {
    let t = <u32>load<u8>(i);
    if (end - i >= 2) t |= <u32>load<u8>(i, 1) << 8;
    if (end - i == 3) t |= <u32>load<u8>(i, 2) << 16;
    if ((t & 0xc0c0f0) == 0x8080e0) {
      let c = t & 0x200f;
      if (c == 0 || c == 0x200d) return -1;
      i += 3;
      continue;
    }
    if ((t & 0xc0e0) == 0x80c0) {
      if ((t & 0x1e) == 0) return -1;
      i += 2;
      continue;
    }
    if ((t & 0x80) == 0) {
      i++;
      continue;
    }
    return utf8Tail(i, end);
  }
  return 0;
}

/**
 * The validator behind utf8Short (small text frames): ASCII first by words, then one sequence per
 * u32 load until ASCII comes back. Few constants and no group tests: cheap to call.
 */
// @ts-ignore: decorator
@inline function validateShort(i: usize, end: usize): i32 {
  while (i < end) {
    // ASCII: one word tells whether 8 bytes are all < 0x80; if not, ctz finds the first that is not.
    if (end - i >= 8) {
      let top = load<u64>(i) & HI8;
      if (top == 0) {
        i += 8;
        continue;
      }
      i += <usize>(ctz<u64>(top) >> 3);
    } else if (load<u8>(i) < 0x80) {
      i++;
      continue;
    }

    // One sequence per u32 load (byte 0 of the chunk in bits 0-7), most frequent shape first.
    while (true) {
      if (end - i < 4) {
        // The last 1-3 bytes, assembled zero-padded: a zero byte never matches a continuation
        // byte, so a 2- or 3-byte shape only matches a sequence that is all here; anything else
        // (an unfinished or invalid sequence) is utf8Tail's to tell.
        if (i == end) return 0;
        let t = <u32>load<u8>(i);
        if (end - i >= 2) t |= <u32>load<u8>(i, 1) << 8;
        if (end - i == 3) t |= <u32>load<u8>(i, 2) << 16;
        if ((t & 0xc0c0f0) == 0x8080e0) {
          let c = t & 0x200f;
          if (c == 0 || c == 0x200d) return -1;
          i += 3;
          continue;
        }
        if ((t & 0xc0e0) == 0x80c0) {
          if ((t & 0x1e) == 0) return -1;
          i += 2;
          continue;
        }
        if ((t & 0x80) == 0) break;
        return utf8Tail(i, end);
      }
      let v = load<u32>(i);
      if ((v & 0xc0c0f0) == 0x8080e0) {
        let c = v & 0x200f;                      // see validateLong
        if (c == 0 || c == 0x200d) return -1;
        i += 3;
      } else if ((v & 0xc0e0) == 0x80c0) {
        if ((v & 0x1e) == 0) return -1;          // C0, C1: overlong
        i += 2;
      } else if ((v & 0xc0c0c0f8) == 0x808080f0) {
        if ((rotr<u32>(v & 0x3007, 12) - 1) >= 0x400000) return -1;   // the plane, see validateLong
        i += 4;
      } else if ((v & 0x80) == 0) {
        break;                                   // ASCII again
      } else {
        return -1;
      }
    }
  }
  return 0;
}

/**
 * The scalar reference for utf8Check: one byte at a time through a small state machine (how many
 * continuation bytes are still due, and the allowed range of the next one), RFC 3629 §4 as written.
 */
export function utf8CheckRef(p: usize, len: usize): i32 {
  let due: u32 = 0;    // continuation bytes still expected
  let seen: u32 = 0;   // bytes of the current sequence so far
  let lo: u32 = 0x80;  // allowed range of the next continuation byte
  let hi: u32 = 0xbf;
  for (let i: usize = 0; i < len; i++) {
    let b = <u32>load<u8>(p + i);
    if (due == 0) {
      if (b <= 0x7f) continue;
      if (b >= 0xc2 && b <= 0xdf) {
        due = 1;
      } else if (b >= 0xe0 && b <= 0xef) {
        due = 2;
        if (b == 0xe0) lo = 0xa0;
        if (b == 0xed) hi = 0x9f;
      } else if (b >= 0xf0 && b <= 0xf4) {
        due = 3;
        if (b == 0xf0) lo = 0x90;
        if (b == 0xf4) hi = 0x8f;
      } else {
        return -1;
      }
      seen = 1;
    } else {
      if (b < lo || b > hi) return -1;
      lo = 0x80;
      hi = 0xbf;
      due--;
      seen++;
    }
  }
  return due == 0 ? 0 : <i32>seen;
}

// ---- Streaming: a text message arrives in frames and reads; a sequence may be cut anywhere. ----
//
// State area (8 bytes, owned by the caller): byte 0 = how many bytes of an unfinished sequence are
// carried (0..3), bytes 1..3 = those bytes; bytes 4..7 are scratch.

const ST_COUNT: usize = 0;
const ST_BYTES: usize = 1;

/** Starts a new message. */
export function utf8StreamReset(st: usize): void {
  store<u32>(st, 0);
  store<u32>(st, 0, 4);
}

/**
 * Feeds the next piece [p, p + len) of the message. Returns false as soon as the text so far can
 * never be valid (the connection is then failed with 1007; the state is left as it was, reset it
 * before reuse). A sequence cut at the end is carried to the next call.
 */
export function utf8StreamFeed(st: usize, p: usize, len: usize): bool {
  let carried = <usize>load<u8>(st, ST_COUNT);
  if (carried != 0) {
    // Finish the carried sequence with the first bytes of this piece, in the state area itself.
    let lead = <u32>load<u8>(st, ST_BYTES);
    let need: usize = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
    let take = need - carried;
    if (take > len) take = len;
    for (let j: usize = 0; j < take; j++) store<u8>(st + ST_BYTES + carried + j, load<u8>(p + j));
    let r = utf8Check(st + ST_BYTES, carried + take);
    if (r < 0) return false;
    if (r > 0) {                      // still unfinished: this piece was shorter than what was missing
      store<u8>(st, <u8>r, ST_COUNT);
      return true;
    }
    p += take;
    len -= take;
  }
  let r = utf8Check(p, len);
  if (r < 0) return false;
  let n = <usize>r;
  for (let j: usize = 0; j < n; j++) store<u8>(st + ST_BYTES + j, load<u8>(p + len - n + j));
  store<u8>(st, <u8>n, ST_COUNT);
  return true;
}

/** At FIN: true when the message ended on a sequence boundary (nothing carried). */
export function utf8StreamDone(st: usize): bool {
  return load<u8>(st, ST_COUNT) == 0;
}
