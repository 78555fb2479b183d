// Kernel benchmark on V8 (Node): the engine's masking and UTF-8 kernels, compiled to wasm with
// the release flags, against what Node WebSocket stacks use:
//   mask:  bufferutil (native C), ws's JS fallback (ws/lib/buffer-util.js `_mask`)
//   UTF-8: buffer.isUtf8 (simdutf), utf-8-validate (native), ws's JS fallback (`_isValidUTF8`)
//
//   npx tsx bench/v8.ts [--quick] [--no-callgrind | --callgrind-only]
//
// The kernels come from bench/kernels_entry.ts, compiled with engine.wasm's release flags: it
// exports them with their scalar references, which engine.wasm does not. --quick: fewer samples.
//
// A second section counts instructions instead of time: the kernels translated by wasm2c (wabt
// 1.0.32, its runtime compiled from /usr/share/wabt/wasm2c, never copied into the repository)
// beside plain C byte loops, run under `valgrind --tool=callgrind` (bench/native_kernels.c).
// wasm2c is built with explicit bounds checks (WASM_RT_MEMCHECK_SIGNAL_HANDLER=0), as on rv32.
//
// This is a benchmark, not a test: it prints tables and never fails on speed. It does fail when a
// kernel's result disagrees with the reference implementations (checked before timing).
//
// Method: for each payload size, every row runs `reps` operations per sample (reps sized so a
// sample takes ~1 ms); samples are taken round-robin across the rows (row A, B, C, A, B, C, ...)
// so drift in clock speed or GC hits all rows alike. Reported: median ns per operation, the spread
// (interquartile range / median) and throughput; the ratio column is speed relative to the
// baseline row (bufferutil for mask, buffer.isUtf8 for UTF-8): > 1 means faster than it.
// The wasm kernels read and write linear memory, where the client keeps its data; the cost of
// copying a JS buffer into linear memory is shown as its own row and is not in the kernel rows.

import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as bufferModule from "node:buffer";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "package.json"));
const args = new Set(process.argv.slice(2));
const QUICK = args.has("--quick");
const SAMPLES = QUICK ? 9 : 31;
const SAMPLE_NS = 1e6;

// ---------------------------------------------------------------------------------------------
// Competitors

const bufferutil = require("bufferutil") as { mask(s: Buffer, m: Buffer, o: Buffer, off: number, len: number): void };
const utf8Validate = require("utf-8-validate") as (b: Buffer) => boolean;
const isUtf8 = bufferModule.isUtf8 as (b: Buffer) => boolean;
if (require("bufferutil") === require("bufferutil/fallback")) throw new Error("bufferutil loaded its JS fallback, not the native addon");
if (require("utf-8-validate") === require("utf-8-validate/fallback")) throw new Error("utf-8-validate loaded its JS fallback");

/** ws's JS fallbacks: the modules are loaded fresh with the native helpers hidden from them. */
function wsFallbacks(): { mask: typeof bufferutil.mask; isValidUTF8: (b: Buffer) => boolean } {
  const libDir = join(root, "node_modules/ws/lib");
  const bu = join(libDir, "buffer-util.js");
  const va = join(libDir, "validation.js");
  const saved = { isUtf8: (bufferModule as any).default.isUtf8, bu: process.env.WS_NO_BUFFER_UTIL, va: process.env.WS_NO_UTF_8_VALIDATE };
  process.env.WS_NO_BUFFER_UTIL = "1";
  process.env.WS_NO_UTF_8_VALIDATE = "1";
  (bufferModule as any).default.isUtf8 = undefined;
  try {
    delete require.cache[bu];
    delete require.cache[va];
    const mask = require(bu).mask;
    const isValidUTF8 = require(va).isValidUTF8;
    // Both must be the plain JS loops, not wrappers that call native code.
    if (!/output\[offset \+ i\]/.test(String(mask))) throw new Error("ws mask is not the JS fallback");
    if (/isUtf8|require/.test(String(isValidUTF8))) throw new Error("ws isValidUTF8 is not the JS fallback");
    return { mask, isValidUTF8 };
  } finally {
    (bufferModule as any).default.isUtf8 = saved.isUtf8;
    if (saved.bu === undefined) delete process.env.WS_NO_BUFFER_UTIL; else process.env.WS_NO_BUFFER_UTIL = saved.bu;
    if (saved.va === undefined) delete process.env.WS_NO_UTF_8_VALIDATE; else process.env.WS_NO_UTF_8_VALIDATE = saved.va;
    delete require.cache[bu];
    delete require.cache[va];
  }
}
const ws = wsFallbacks();

// ---------------------------------------------------------------------------------------------
// The engine kernels

/** The release flags of asconfig.json's "release" target, as asc command-line options. */
function releaseFlags(): string[] {
  const cfg = JSON.parse(readFileSync(join(root, "asconfig.json"), "utf8"));
  const t = { ...cfg.options, ...cfg.targets.release };
  const out: string[] = [];
  if (t.runtime) out.push("--runtime", t.runtime);
  if (t.optimizeLevel !== undefined) out.push("--optimizeLevel", String(t.optimizeLevel));
  if (t.shrinkLevel !== undefined) out.push("--shrinkLevel", String(t.shrinkLevel));
  if (t.converge) out.push("--converge");
  if (t.memoryBase !== undefined) out.push("--memoryBase", String(t.memoryBase));
  if (t.noAssert) out.push("--noAssert");
  for (const u of t.use ?? []) out.push("--use", u);
  if (t.disable?.length) out.push("--disable", t.disable.join(","));
  return out;
}

/**
 * build/bench/kernels.wasm from bench/kernels_entry.ts. asc runs inside bench/ so it does not pick
 * up asconfig.json (whose entry list would pull in the whole engine); the flags come from it.
 */
export function buildKernelsWasm(): string {
  const out = join(root, "build/bench/kernels.wasm");
  mkdirSync(dirname(out), { recursive: true });
  execFileSync(join(root, "node_modules/.bin/asc"),
    ["kernels_entry.ts", ...releaseFlags(), "-o", out], { cwd: join(root, "bench"), stdio: ["ignore", "ignore", "inherit"] });
  return out;
}

interface Kernels {
  source: string;
  mem: () => Uint8Array;
  grow: (pages: number) => number;
  k_mask(dst: number, src: number, len: number, key: number, phase: number): void;
  k_mask_ref(dst: number, src: number, len: number, key: number, phase: number): void;
  k_utf8(p: number, len: number): number;
  k_utf8_ref(p: number, len: number): number;
}

function loadKernels(): Kernels {
  const file = buildKernelsWasm();
  const mod = new WebAssembly.Module(readFileSync(file));
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  for (const imp of WebAssembly.Module.imports(mod)) {
    if (imp.kind !== "function") throw new Error(`unexpected import ${imp.module}.${imp.name} (${imp.kind})`);
    (imports[imp.module] ??= {})[imp.name] = () => { throw new Error(`${imp.module}.${imp.name} called`); };
  }
  const inst = new WebAssembly.Instance(mod, imports);
  const e = inst.exports as any;
  for (const name of ["k_mask", "k_mask_ref", "k_utf8", "k_utf8_ref", "memory"]) {
    if (!(name in e)) throw new Error(`${file} does not export ${name}`);
  }
  const memory = e.memory as WebAssembly.Memory;
  return {
    source: `${file.slice(root.length + 1)} (${statSync(file).size} bytes)`,
    mem: () => new Uint8Array(memory.buffer),
    grow: (pages) => memory.grow(pages),
    k_mask: e.k_mask, k_mask_ref: e.k_mask_ref, k_utf8: e.k_utf8, k_utf8_ref: e.k_utf8_ref,
  };
}

// ---------------------------------------------------------------------------------------------
// Inputs

const SIZES = [16, 125, 1024, 65536, 1 << 20];

function sizeName(n: number): string {
  return n >= 1 << 20 ? `${n >> 20} MiB` : n >= 1024 ? `${n >> 10} KiB` : `${n} B`;
}

let seed = 0x1234567;
function rnd(): number {
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed;
}

const ASCII_TEXT = '{"type":"telemetry","device":"esp32-c3","seq":12345,"temp":21.5,"rssi":-61,"ok":true} ';
const CHINESE_TEXT = "WebSocket 协议在单个 TCP 连接上提供全双工通信。客户端发送握手请求，服务器返回 101 状态码，之后双方以帧为单位交换数据；文本帧必须是有效的 UTF-8。";
const EMOJI_TEXT = "🙂👍🚀🎉😀🔥💡📦🌍✨ ";

/**
 * `size` bytes of text made of whole characters: the text repeated, cut at the last character
 * boundary that fits, then padded with ASCII spaces to the exact size (so it is valid UTF-8).
 */
function textOfSize(text: string, size: number): Buffer {
  const unit = Buffer.from(text, "utf8");
  const out = Buffer.alloc(size, 0x20);
  let at = 0;
  while (at < size) {
    let n = Math.min(unit.length, size - at);
    while (n > 0 && n < unit.length && (unit[n] & 0xc0) === 0x80) n--; // back to a boundary
    if (n === 0) break;
    unit.copy(out, at, 0, n);
    at += n;
  }
  return out;
}

function binaryOfSize(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = rnd() & 0xff;
  return b;
}

/**
 * Text with its last byte invalid: `size - 1` bytes of Chinese+ASCII (whole characters), then 0xFF,
 * a byte that never occurs in UTF-8. Chinese+ASCII rather than ASCII because its scan is the costly
 * one (multi-byte sequences all the way); either way a validator reads every byte before it finds
 * the fault, and every validator's verdict is "invalid" (k_utf8 -1, not an unfinished tail 1..3).
 */
function invalidOfSize(size: number): Buffer {
  const b = Buffer.alloc(size);
  textOfSize(CHINESE_TEXT, size - 1).copy(b);
  b[size - 1] = 0xff;
  return b;
}
const INVALID = { name: "Chinese+ASCII, last byte 0xFF (invalid)", make: invalidOfSize };

const INPUTS: { name: string; make: (n: number) => Buffer; utf8: boolean }[] = [
  { name: "ASCII (JSON)", make: (n) => textOfSize(ASCII_TEXT, n), utf8: true },
  { name: "Chinese+ASCII", make: (n) => textOfSize(CHINESE_TEXT, n), utf8: true },
  { name: "emoji", make: (n) => textOfSize(EMOJI_TEXT, n), utf8: true },
  { name: "random binary", make: (n) => binaryOfSize(n), utf8: false },
];

// ---------------------------------------------------------------------------------------------
// Timing

interface Row { name: string; run: (reps: number) => void; baseline?: boolean; note?: string }
interface Result { name: string; ns: number; spread: number; baseline?: boolean; note?: string }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length & 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo);
}

let sink = 0;

function measure(rows: Row[]): Result[] {
  // Calibrate: warm up each row, then pick reps so one sample takes about SAMPLE_NS.
  const reps = rows.map((r) => {
    r.run(10);
    let n = 1;
    for (;;) {
      const t0 = process.hrtime.bigint();
      r.run(n);
      const dt = Number(process.hrtime.bigint() - t0);
      if (dt > SAMPLE_NS / 4 || n >= 1 << 24) return Math.max(1, Math.round((n * SAMPLE_NS) / Math.max(dt, 1)));
      n *= 4;
    }
  });
  const samples: number[][] = rows.map(() => []);
  for (let s = 0; s < SAMPLES; s++) {
    for (let i = 0; i < rows.length; i++) {
      const t0 = process.hrtime.bigint();
      rows[i].run(reps[i]);
      samples[i].push(Number(process.hrtime.bigint() - t0) / reps[i]);
    }
  }
  return rows.map((r, i) => {
    const m = median(samples[i]);
    return { name: r.name, ns: m, spread: (quantile(samples[i], 0.75) - quantile(samples[i], 0.25)) / m, baseline: r.baseline, note: r.note };
  });
}

function fmtNs(ns: number): string {
  return ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(1)} ns`;
}
function fmtRate(bytes: number, ns: number): string {
  const gbs = bytes / ns; // bytes per ns = GB/s
  return gbs >= 1 ? `${gbs.toFixed(2)} GB/s` : `${(gbs * 1000).toFixed(0)} MB/s`;
}

function printTable(title: string, size: number, results: Result[]): void {
  const base = results.find((r) => r.baseline);
  console.log(`\n${title}, ${sizeName(size)}`);
  const head = ["row", "median/op", "spread", "throughput", `vs ${base?.name ?? "-"}`];
  const lines = results.map((r) => [
    r.name + (r.note ? ` (${r.note})` : ""),
    fmtNs(r.ns),
    `±${(r.spread * 50).toFixed(1)}%`,
    fmtRate(size, r.ns),
    base ? `${(base.ns / r.ns).toFixed(2)}x` : "",
  ]);
  const w = head.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c].length)));
  const fmt = (l: string[]) => "| " + l.map((x, c) => (c === 0 ? x.padEnd(w[c]) : x.padStart(w[c]))).join(" | ") + " |";
  console.log(fmt(head));
  console.log("| " + w.map((n, c) => (c === 0 ? "-".repeat(n) : "-".repeat(n - 1) + ":")).join(" | ") + " |");
  for (const l of lines) console.log(fmt(l));
}

// ---------------------------------------------------------------------------------------------
// Correctness first (a benchmark of a wrong kernel is worthless)

function crossCheck(k: Kernels, base: number): void {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const validByDecoder = (b: Uint8Array) => { try { decoder.decode(b); return true; } catch { return false; } };
  let n = 0;
  const mutate = (b: Buffer) => { const c = Buffer.from(b); for (let j = 1 + (rnd() % 3); j > 0; j--) c[rnd() % c.length] = rnd() & 0xff; return c; };
  const texts = [ASCII_TEXT, CHINESE_TEXT, EMOJI_TEXT, "Ελληνικά русский العربية 한국어 हिन्दी 𝄞𐍈"];
  for (let i = 0; i < 20000; i++) {
    const len = rnd() % 200;
    let b: Buffer;
    switch (i % 3) {
      case 0: b = binaryOfSize(len); break;
      case 1: b = textOfSize(texts[rnd() % texts.length], len).subarray(0, rnd() % (len + 1)); break;
      default: b = len === 0 ? Buffer.alloc(0) : mutate(textOfSize(texts[rnd() % texts.length], len)); break;
    }
    const mem = k.mem();
    const at = base + (rnd() & 7);
    mem.set(b, at);
    const r = k.k_utf8(at, b.length);
    const rr = k.k_utf8_ref(at, b.length);
    const whole = validByDecoder(b);
    // 0 ⇔ the decoder accepts it; n > 0 ⇒ dropping the last n bytes leaves valid text and the
    // whole chunk is not valid; -1 ⇒ no prefix ending in the chunk's last bytes fixes it.
    let ok = r === rr && (r === 0) === whole && (r === 0 ? isUtf8(b) : !isUtf8(b));
    if (r > 0) ok &&= r <= 3 && validByDecoder(b.subarray(0, b.length - r));
    if (!ok) throw new Error(`UTF-8 cross-check failed: ${b.toString("hex")} kernel ${r} ref ${rr} decoder ${whole}`);
    n++;
    // mask: kernel, reference and bufferutil agree
    const key = Buffer.from([rnd() & 255, rnd() & 255, rnd() & 255, rnd() & 255]);
    const keyU32 = key.readUInt32LE(0);
    const out = Buffer.alloc(b.length);
    bufferutil.mask(b, key, out, 0, b.length);
    k.k_mask(at + 4096, at, b.length, keyU32, 0);
    k.k_mask_ref(at + 8192, at, b.length, keyU32, 0);
    const m2 = k.mem();
    if (!out.equals(m2.subarray(at + 4096, at + 4096 + b.length)) || !out.equals(m2.subarray(at + 8192, at + 8192 + b.length))) {
      throw new Error(`mask cross-check failed at length ${b.length}`);
    }
  }
  console.log(`cross-check: ${n} inputs, k_utf8 = k_utf8_ref = TextDecoder(fatal) = buffer.isUtf8 on every verdict; k_mask = k_mask_ref = bufferutil`);
}

// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// Callgrind: instructions per byte, wasm2c vs plain C

function have(cmd: string): boolean {
  try { execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }); return true; } catch { return false; }
}

function callgrindSection(): void {
  console.log("\n## Instructions per byte (x86-64, callgrind): wasm2c translation vs plain C byte loops");
  if (!have("wasm2c") || !have("valgrind") || !have("gcc")) {
    console.log("skipped: wasm2c, valgrind or gcc not found");
    return;
  }
  const wasm = buildKernelsWasm();
  const dir = dirname(wasm);
  const rt = "/usr/share/wabt/wasm2c";
  execFileSync("wasm2c", [wasm, "-n", "kernels", "-o", join(dir, "kernels_w2c.c")], { stdio: "inherit" });
  const exe = join(dir, "native_kernels");
  const cflags = ["-O2", "-fno-tree-vectorize", "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0", `-I${dir}`, `-I${rt}`];
  execFileSync("gcc", [...cflags, "-o", exe, join(root, "bench/native_kernels.c"), join(dir, "kernels_w2c.c"), join(rt, "wasm-rt-impl.c"), "-lm"], { stdio: "inherit" });
  const gccVersion = execFileSync("gcc", ["-dumpfullversion"]).toString().trim();
  console.log(`gcc ${gccVersion} ${cflags.slice(0, 3).join(" ")}; wasm2c ${execFileSync("wasm2c", ["--version"]).toString().trim()}; counts cover the kernel calls only (CALLGRIND_TOGGLE_COLLECT)`);

  const count = (kernel: string, input: string, size: number): { perByte: number; perCall: number; result: number; reps: number } => {
    const reps = Math.max(1, Math.min(2000, Math.floor((256 * 1024) / size)));
    const r = spawnSync("valgrind", ["--tool=callgrind", "--collect-atstart=no", "--callgrind-out-file=/dev/null",
      exe, kernel, input, String(size), String(reps)], { encoding: "utf8" });
    const m = /Collected\s*:\s*(\d+)/.exec(r.stderr);
    if (r.status !== 0 || !m) throw new Error(`callgrind run failed: ${kernel} ${input} ${size}\n${r.stderr}`);
    const ir = Number(m[1]);
    return { perByte: ir / (reps * size), perCall: ir / reps, result: Number(r.stdout.trim().split(" ")[4]), reps };
  };

  // check: the printed result (UTF-8: the sum of every repetition's verdict) against the repetitions
  const table = (title: string, input: string, kernels: string[], names: string[], check: (result: number, reps: number) => boolean) => {
    console.log(`\n${title}`);
    const head = ["size", ...names.map((n) => `${n} /byte`), `${names[0]} /call`, `${names[0]} vs ${names[names.length - 1]}`];
    const lines: string[][] = [];
    for (const size of SIZES) {
      const c = kernels.map((kn) => count(kn, input, size));
      for (const x of c) if (!check(x.result, x.reps)) throw new Error(`unexpected result ${x.result} for ${input} ${size}`);
      lines.push([sizeName(size), ...c.map((x) => x.perByte.toFixed(2)), Math.round(c[0].perCall).toString(),
        `${(c[0].perByte / c[c.length - 1].perByte).toFixed(2)}x`]);
    }
    const w = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
    const fmt = (l: string[]) => "| " + l.map((x, i) => (i === 0 ? x.padEnd(w[i]) : x.padStart(w[i]))).join(" | ") + " |";
    console.log(fmt(head));
    console.log("| " + w.map((n, i) => (i === 0 ? "-".repeat(n) : "-".repeat(n - 1) + ":")).join(" | ") + " |");
    for (const l of lines) console.log(fmt(l));
  };

  table("mask (copying), random binary: instructions per byte", "binary",
    ["w2c_mask", "w2c_mask_ref", "c_mask"], ["k_mask wasm2c", "k_mask_ref wasm2c", "C byte loop"], () => true);
  for (const [input, name] of [["ascii", "ASCII (JSON)"], ["chinese", "Chinese+ASCII"], ["emoji", "emoji"]]) {
    table(`UTF-8, ${name}: instructions per byte`, input,
      ["w2c_utf8", "w2c_utf8_ref", "c_utf8"], ["k_utf8 wasm2c", "k_utf8_ref wasm2c", "C byte loop"], (r) => r === 0);
  }
  // every repetition must say -1 (invalid): the result printed is their sum
  table(`UTF-8, ${INVALID.name}: instructions per byte`, "invalid",
    ["w2c_utf8", "w2c_utf8_ref", "c_utf8"], ["k_utf8 wasm2c", "k_utf8_ref wasm2c", "C byte loop"], (r, reps) => r === -reps);
}

function main(): void {
  if (args.has("--callgrind-only")) { callgrindSection(); return; }
  const k = loadKernels();
  const PAGE = 65536;
  const need = 3 * (1 << 20) + 4 * PAGE;
  const oldPages = k.grow(Math.ceil(need / PAGE)); // fresh pages above everything the module uses
  const base = oldPages * PAGE;
  const SRC = base;                      // 8-aligned like a client's buffers
  const DST = base + (1 << 20) + PAGE;

  console.log(`# Kernel bench on V8: Node ${process.version}, ${process.platform}-${process.arch}`);
  console.log(`wasm: ${k.source}; ${SAMPLES} samples per row, round-robin, ~${SAMPLE_NS / 1e6} ms each`);
  crossCheck(k, base + 2 * (1 << 20) + 2 * PAGE);

  const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const keyU32 = key.readUInt32LE(0);
  const summary: string[] = [];

  console.log("\n## Mask (copying src → dst, as when framing a send)");
  for (const input of INPUTS) {
    for (const size of SIZES) {
      const src = input.make(size);
      const out = Buffer.alloc(size);
      k.mem().set(src, SRC);
      const rows: Row[] = [
        { name: "bufferutil.mask", baseline: true, run: (n) => { for (let i = 0; i < n; i++) bufferutil.mask(src, key, out, 0, size); } },
        { name: "k_mask (wasm)", run: (n) => { for (let i = 0; i < n; i++) k.k_mask(DST, SRC, size, keyU32, 0); } },
        { name: "k_mask_ref (wasm byte loop)", run: (n) => { for (let i = 0; i < n; i++) k.k_mask_ref(DST, SRC, size, keyU32, 0); } },
        { name: "ws _mask (JS)", run: (n) => { for (let i = 0; i < n; i++) ws.mask(src, key, out, 0, size); } },
        { name: "copy JS → linear memory", note: "not in k_mask", run: (n) => { const m = k.mem(); for (let i = 0; i < n; i++) m.set(src, SRC); } },
      ];
      const res = measure(rows);
      printTable(`mask, ${input.name}`, size, res);
      if (size >= 1024) {
        const r = res[0].ns / res[1].ns;
        summary.push(`mask ${input.name} ${sizeName(size)}: k_mask ${r.toFixed(2)}x bufferutil (target >= 1.0x) ${r >= 1 ? "met" : "NOT met"}`);
      }
    }
  }

  console.log("\n## UTF-8 validation");
  for (const input of INPUTS.filter((x) => x.utf8)) {
    for (const size of SIZES) {
      const src = input.make(size);
      k.mem().set(src, SRC);
      if (k.k_utf8(SRC, size) !== 0 || !isUtf8(src)) throw new Error("bench input is not valid UTF-8");
      const rows: Row[] = [
        { name: "buffer.isUtf8 (simdutf)", baseline: true, run: (n) => { for (let i = 0; i < n; i++) sink += isUtf8(src) ? 1 : 0; } },
        { name: "k_utf8 (wasm)", run: (n) => { for (let i = 0; i < n; i++) sink += k.k_utf8(SRC, size); } },
        { name: "k_utf8_ref (wasm DFA)", run: (n) => { for (let i = 0; i < n; i++) sink += k.k_utf8_ref(SRC, size); } },
        { name: "utf-8-validate", run: (n) => { for (let i = 0; i < n; i++) sink += utf8Validate(src) ? 1 : 0; } },
        { name: "ws isValidUTF8 (JS)", run: (n) => { for (let i = 0; i < n; i++) sink += ws.isValidUTF8(src) ? 1 : 0; } },
        { name: "copy JS → linear memory", note: "not in k_utf8", run: (n) => { const m = k.mem(); for (let i = 0; i < n; i++) m.set(src, SRC); } },
      ];
      const res = measure(rows);
      printTable(`UTF-8, ${input.name}`, size, res);
      const r = res[0].ns / res[1].ns;
      summary.push(`utf8 ${input.name} ${sizeName(size)}: k_utf8 ${r.toFixed(2)}x isUtf8 (target >= 0.5x) ${r >= 0.5 ? "met" : "NOT met"}`);
    }
  }

  console.log(`\n## UTF-8 validation, ${INVALID.name}`);
  console.log("Every validator must read the whole input to find the fault in its last byte; all of them say invalid" +
    " (checked before timing: k_utf8 and k_utf8_ref -1, buffer.isUtf8, utf-8-validate and ws false, TextDecoder throws)." +
    " TextDecoder's row includes the exception it throws. Not part of the targets.");
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const decodes = (b: Buffer) => { try { decoder.decode(b); return true; } catch { return false; } };
  for (const size of SIZES) {
    const src = INVALID.make(size);
    k.mem().set(src, SRC);
    const verdicts = { k_utf8: k.k_utf8(SRC, size), k_utf8_ref: k.k_utf8_ref(SRC, size), isUtf8: isUtf8(src),
      utf8Validate: utf8Validate(src), ws: ws.isValidUTF8(src), TextDecoder: decodes(src), head: isUtf8(src.subarray(0, size - 1)) };
    if (verdicts.k_utf8 !== -1 || verdicts.k_utf8_ref !== -1 || verdicts.isUtf8 || verdicts.utf8Validate || verdicts.ws ||
      verdicts.TextDecoder || !verdicts.head) {
      throw new Error(`invalid-last-byte input, ${sizeName(size)}: verdicts ${JSON.stringify(verdicts)}`);
    }
    const rows: Row[] = [
      { name: "buffer.isUtf8 (simdutf)", baseline: true, run: (n) => { for (let i = 0; i < n; i++) sink += isUtf8(src) ? 1 : 0; } },
      { name: "k_utf8 (wasm)", run: (n) => { for (let i = 0; i < n; i++) sink += k.k_utf8(SRC, size); } },
      { name: "k_utf8_ref (wasm DFA)", run: (n) => { for (let i = 0; i < n; i++) sink += k.k_utf8_ref(SRC, size); } },
      { name: "utf-8-validate", run: (n) => { for (let i = 0; i < n; i++) sink += utf8Validate(src) ? 1 : 0; } },
      { name: "ws isValidUTF8 (JS)", run: (n) => { for (let i = 0; i < n; i++) sink += ws.isValidUTF8(src) ? 1 : 0; } },
      { name: "TextDecoder fatal", note: "throws", run: (n) => { for (let i = 0; i < n; i++) sink += decodes(src) ? 1 : 0; } },
      { name: "copy JS → linear memory", note: "not in k_utf8", run: (n) => { const m = k.mem(); for (let i = 0; i < n; i++) m.set(src, SRC); } },
    ];
    printTable(`UTF-8, ${INVALID.name}`, size, measure(rows));
  }

  console.log("\n## Targets");
  for (const s of summary) console.log("- " + s);
  if (sink === 42) console.log(""); // keep results alive
  if (!args.has("--no-callgrind")) callgrindSection();
}

main();
