/*
 * Instruction counts of the engine kernels as native code: the wasm2c translation of
 * build/bench/kernels.wasm (bench/kernels_entry.ts) beside plain C byte loops, one measurement
 * per process, counted by callgrind between two CALLGRIND_TOGGLE_COLLECT client requests.
 *
 *   native_kernels <kernel> <input> <size> <reps>
 *     kernel: w2c_mask | w2c_mask_ref | c_mask | w2c_utf8 | w2c_utf8_ref | c_utf8
 *     input:  ascii | chinese | emoji | binary | invalid (Chinese+ASCII, last byte 0xFF)
 *
 * Built and run by `npx tsx bench/v8.ts --callgrind` (see there for the flags): the wasm2c runtime
 * comes from /usr/share/wabt/wasm2c at build time and is never copied into the repository.
 * Prints one line: kernel input size reps result. Instructions come from callgrind's summary.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <valgrind/callgrind.h>

#include "wasm-rt.h"
#include "kernels_w2c.h"

/* The same inputs as bench/v8.ts: text repeated, cut at a character boundary, padded with spaces. */
static const char ASCII_TEXT[] =
    "{\"type\":\"telemetry\",\"device\":\"esp32-c3\",\"seq\":12345,\"temp\":21.5,\"rssi\":-61,\"ok\":true} ";
static const char CHINESE_TEXT[] =
    "WebSocket 协议在单个 TCP 连接上提供全双工通信。客户端发送握手请求，服务器返回 101 状态码，"
    "之后双方以帧为单位交换数据；文本帧必须是有效的 UTF-8。";
static const char EMOJI_TEXT[] = "🙂👍🚀🎉😀🔥💡📦🌍✨ ";

static void text_of_size(uint8_t *out, size_t size, const char *text) {
  size_t unit = strlen(text);
  size_t at = 0;
  memset(out, ' ', size);
  while (at < size) {
    size_t n = size - at < unit ? size - at : unit;
    while (n > 0 && n < unit && ((uint8_t)text[n] & 0xc0) == 0x80) n--;
    if (n == 0) break;
    memcpy(out + at, text, n);
    at += n;
  }
}

static void binary_of_size(uint8_t *out, size_t size) {
  uint32_t s = 0x1234567;
  for (size_t i = 0; i < size; i++) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    out[i] = (uint8_t)s;
  }
}

/* Plain C byte loops: the baselines. Built with -O2 -fno-tree-vectorize (one byte per iteration). */

static void c_mask(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key, uint32_t phase) {
  uint8_t k[4];
  memcpy(k, &key, 4); /* little-endian host: k[0] is the key's low byte, as in maskCopy */
  for (size_t i = 0; i < len; i++) dst[i] = src[i] ^ k[(i + phase) & 3];
}

/* A byte-at-a-time UTF-8 validator (RFC 3629 §4), same contract as utf8Check. */
static int c_utf8(const uint8_t *p, size_t len) {
  unsigned due = 0, seen = 0, lo = 0x80, hi = 0xbf;
  for (size_t i = 0; i < len; i++) {
    unsigned b = p[i];
    if (due == 0) {
      if (b < 0x80) continue;
      if (b >= 0xc2 && b <= 0xdf) due = 1;
      else if (b >= 0xe0 && b <= 0xef) { due = 2; if (b == 0xe0) lo = 0xa0; if (b == 0xed) hi = 0x9f; }
      else if (b >= 0xf0 && b <= 0xf4) { due = 3; if (b == 0xf0) lo = 0x90; if (b == 0xf4) hi = 0x8f; }
      else return -1;
      seen = 1;
    } else {
      if (b < lo || b > hi) return -1;
      lo = 0x80;
      hi = 0xbf;
      due--;
      seen++;
    }
  }
  return due == 0 ? 0 : (int)seen;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s kernel input size reps\n", argv[0]);
    return 2;
  }
  const char *kernel = argv[1], *input = argv[2];
  size_t size = strtoul(argv[3], NULL, 10);
  long reps = strtol(argv[4], NULL, 10);

  wasm_rt_init();
  Z_kernels_init_module();
  Z_kernels_instance_t inst;
  Z_kernels_instantiate(&inst);
  wasm_rt_memory_t *mem = Z_kernelsZ_memory(&inst);
  /* Two buffers of `size` bytes, 64 KiB-aligned, above everything the module uses. */
  uint32_t span = (uint32_t)((size + 0xffff) >> 16) + 1;
  uint32_t old = wasm_rt_grow_memory(mem, 2 * span);
  if (old == (uint32_t)-1) {
    fprintf(stderr, "memory.grow failed\n");
    return 1;
  }
  uint32_t src_off = old << 16, dst_off = (old + span) << 16;
  uint8_t *src = mem->data + src_off, *dst = mem->data + dst_off;

  if (!strcmp(input, "ascii")) text_of_size(src, size, ASCII_TEXT);
  else if (!strcmp(input, "chinese")) text_of_size(src, size, CHINESE_TEXT);
  else if (!strcmp(input, "emoji")) text_of_size(src, size, EMOJI_TEXT);
  else if (!strcmp(input, "binary")) binary_of_size(src, size);
  else if (!strcmp(input, "invalid") && size > 0) {
    text_of_size(src, size - 1, CHINESE_TEXT); /* whole characters, then a byte UTF-8 never has */
    src[size - 1] = 0xff;
  }
  else { fprintf(stderr, "unknown input %s\n", input); return 2; }

  const uint32_t key = 0x3d21fa37;
  long result = 0;
  enum { W_MASK, W_MASK_REF, C_MASK, W_UTF8, W_UTF8_REF, C_UTF8 } k;
  if (!strcmp(kernel, "w2c_mask")) k = W_MASK;
  else if (!strcmp(kernel, "w2c_mask_ref")) k = W_MASK_REF;
  else if (!strcmp(kernel, "c_mask")) k = C_MASK;
  else if (!strcmp(kernel, "w2c_utf8")) k = W_UTF8;
  else if (!strcmp(kernel, "w2c_utf8_ref")) k = W_UTF8_REF;
  else if (!strcmp(kernel, "c_utf8")) k = C_UTF8;
  else { fprintf(stderr, "unknown kernel %s\n", kernel); return 2; }

  CALLGRIND_TOGGLE_COLLECT;
  for (long r = 0; r < reps; r++) {
    switch (k) {
      case W_MASK: Z_kernelsZ_k_mask(&inst, dst_off, src_off, (u32)size, key, 0); break;
      case W_MASK_REF: Z_kernelsZ_k_mask_ref(&inst, dst_off, src_off, (u32)size, key, 0); break;
      case C_MASK: c_mask(dst, src, size, key, 0); break;
      case W_UTF8: result += (int32_t)Z_kernelsZ_k_utf8(&inst, src_off, (u32)size); break;
      case W_UTF8_REF: result += (int32_t)Z_kernelsZ_k_utf8_ref(&inst, src_off, (u32)size); break;
      case C_UTF8: result += c_utf8(src, size); break;
    }
    __asm__ volatile("" ::: "memory"); /* keep every repetition */
  }
  CALLGRIND_TOGGLE_COLLECT;

  if (k == W_MASK || k == W_MASK_REF || k == C_MASK) result = dst[size ? size - 1 : 0];
  printf("%s %s %zu %ld %ld\n", kernel, input, size, reps, result);
  Z_kernels_free(&inst);
  wasm_rt_free();
  return 0;
}
