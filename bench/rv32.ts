// Section 3 bench, rv32imc (the ESP32-C3's ISA): the jobs of bench/native (send path, receive
// path, 32 small messages in one buffer, UTF-8 validation) cross-compiled and run bare-metal on
// `qemu-system-riscv32 -M virt -bios none -icount shift=0`; retired instructions come from the
// minstret CSR read around the measured runs (bench/rv32/main.c). Also: code size (.text,
// riscv64-unknown-elf-size, and what the final link keeps) and the heap wasm3 + the engine take.
// A benchmark, not a test: it never fails on speed; it fails when a row's output differs from the
// stock C row's (checked on the target before counting).
//
//   npx tsx bench/rv32.ts [--wasm3-lib=FILE] [--wasm3-lib-fastmis=FILE] [--wasm3-root=DIR]
//                         [--wasm3-cflags="-DESP32 -DM3_IN_IRAM -Dd_m3HasFloat=0"]
//
// wasm3 is never built here: pass an rv32 libm3.a built from a wasm3 checkout (WASM3_RV32_LIB,
// and WASM3_RV32_LIB_FASTMIS for a second build with fast misaligned access), plus the checkout
// (WASM3_ROOT, for its headers) and the configuration macros the library was built with
// (WASM3_RV32_CFLAGS; bench/rv32/main.c and the shim must see the same ones). Without a library
// the wasm3 rows are skipped. The flags used for the figures in the report were:
//   riscv64-unknown-elf-gcc -march=rv32imc -mabi=ilp32 --specs=picolibc.specs -O2 -DESP32
//     -DM3_IN_IRAM -Dd_m3HasFloat=0 -DNDEBUG -ffunction-sections -fdata-sections
//     [-mno-strict-align -mtune=size]    (the "fast misaligned" variant)
//   over m3_{bind,code,compile,core,env,exec,function,info,module,parse,validate}.c, then ar rcs.
//
// Toolchain: Debian's riscv64-unknown-elf-gcc 12 (-march=rv32imc -mabi=ilp32) with
// picolibc-riscv64-unknown-elf (--specs=picolibc.specs; its rv32im/ilp32 multilib is what gcc
// picks for rv32imc, so libc's memcpy has no compressed instructions: same instruction counts).
// Memory map: bench/rv32/virt.ld. wasm2c's runtime comes from /usr/share/wabt/wasm2c and its
// header /usr/include/wasm-rt.h is reached through a symlink under build/ (never copied).

import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, basename } from "node:path";
import { fileURLToPath } from "node:url";
import { Figures, INPUTS, INPUT_TITLE, INVALID_NOTE, ROW_TITLE, SIZES, key, pathTable, perMessage, specs, ratio, table, sizeName } from "./native/report.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const opt = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const out = join(root, "build/bench/rv32");

const wasm3Root = opt("wasm3-root") ?? process.env.WASM3_ROOT ?? "/tmp/wasm3";
const wasm3Lib = opt("wasm3-lib") ?? process.env.WASM3_RV32_LIB;
const wasm3LibFast = opt("wasm3-lib-fastmis") ?? process.env.WASM3_RV32_LIB_FASTMIS;
const wasm3Cflags = (opt("wasm3-cflags") ?? process.env.WASM3_RV32_CFLAGS ?? "-DESP32 -DM3_IN_IRAM -Dd_m3HasFloat=0").split(/\s+/).filter(Boolean);

const GCC = "riscv64-unknown-elf-gcc";
const ARCH = ["-march=rv32imc", "-mabi=ilp32", "--specs=picolibc.specs"];
const CFLAGS = ["-O2", "-ffunction-sections", "-fdata-sections", "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0"];
const GEN = join(root, "component/generated");
const WASM2C_RT = "/usr/share/wabt/wasm2c";

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 26 });
}

interface Variant { name: string; dir: string; lib?: string; onlyWasm3: boolean }

/** Compiles every object of one variant and links build/bench/rv32/<name>/wsbench.elf. */
function build(v: Variant): string {
  mkdirSync(v.dir, { recursive: true });
  const inc = join(out, "inc");
  mkdirSync(inc, { recursive: true });
  const link = join(inc, "wasm-rt.h");
  rmSync(link, { force: true });
  symlinkSync("/usr/include/wasm-rt.h", link);
  const w3 = v.lib ? ["-DBENCH_WASM3", ...wasm3Cflags, `-I${wasm3Root}/source`] : [];
  const incs = ["-Ibench/native", `-I${GEN}`, `-I${WASM2C_RT}`, `-I${inc}`, "-Ibench/rv32/include", ...w3];
  const objs: string[] = [];
  const cc = (src: string, warn: boolean, extra: string[] = []) => {
    const o = join(v.dir, basename(src, ".c") + ".o");
    sh(GCC, [...ARCH, ...CFLAGS, ...incs, ...extra, ...(warn ? ["-Wall", "-Wextra", "-Werror"] : ["-w"]), "-c", "-o", o, src]);
    objs.push(o);
  };
  cc(join(GEN, "engine_wasm2c.c"), false);
  cc(join(GEN, "engine_wasm.c"), false);
  cc(join(WASM2C_RT, "wasm-rt-impl.c"), false);
  for (const f of ["jobs", "engine", "cpaths", "heapcount"]) cc(`bench/native/${f}.c`, true);
  // minstret needs Zicsr in the assembler; the code is still rv32imc (multilib chosen at link).
  cc("bench/rv32/main.c", true, ["-march=rv32imc_zicsr", ...(v.onlyWasm3 ? ["-DBENCH_ONLY_WASM3"] : [])]);
  const elf = join(v.dir, "wsbench.elf");
  sh(GCC, [...ARCH, "-o", elf, ...objs, ...(v.lib ? [v.lib] : []), "-Wl,--gc-sections", "-T", "bench/rv32/virt.ld",
    `-Wl,-Map=${join(v.dir, "wsbench.map")}`, "-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free"]);
  return elf;
}

interface Run {
  jobs: Figures; heap: { config: string; step: string; live: number; peak: number }[]; checked: number;
  fns: { index: number; wasm: number; code: number; heap: number }[]; stack: { rt: string; op: string; bytes: number }[];
}

/** Runs one ELF on qemu; the variants run in parallel (instruction counts do not depend on load). */
async function run(elf: string): Promise<Run> {
  const { status, text } = await new Promise<{ status: number | null; text: string }>((resolve) => {
    const p = spawn("qemu-system-riscv32", ["-M", "virt", "-m", "128M", "-bios", "none", "-kernel", elf,
      "-icount", "shift=0", "-nographic", "-monitor", "none"], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    let buf = "";
    p.stdout.setEncoding("utf8");
    p.stdout.on("data", (d: string) => { buf += d; });
    const timer = setTimeout(() => p.kill(), 3600e3);
    p.on("close", (code) => { clearTimeout(timer); resolve({ status: code, text: buf }); });
  });
  writeFileSync(elf.replace(/\.elf$/, ".out"), text);
  if (status !== 0 || !/^done\r?$/m.test(text)) throw new Error(`qemu run failed (${status}):\n${text.slice(-3000)}`);
  const jobs: Figures = new Map();
  for (const m of text.matchAll(/^job (\S+ \S+ \S+ \d+) (\d+)\t(\d+)\t(\d+)\r?$/gm)) {
    jobs.set(m[1], { perRun: Number(m[4]) / Number(m[2]), bytes: Number(m[3]) });
  }
  const heap = [...text.matchAll(/^heap\t([^\t]+)\t([^\t]+)\t(\d+)\t(\d+)\t\d+\r?$/gm)].map((m) =>
    ({ config: m[1], step: m[2], live: Number(m[3]), peak: Number(m[4]) }));
  const c = /^checked\t(\d+)\t(\d+)/m.exec(text);
  if (!c || c[2] !== "0") throw new Error("output check failed on the target");
  const fns = [...text.matchAll(/^fn\t(\d+)\t(\d+)\t(\d+)\t(\d+)\r?$/gm)].map((m) =>
    ({ index: Number(m[1]), wasm: Number(m[2]), code: Number(m[3]), heap: Number(m[4]) }));
  const stack = [...text.matchAll(/^stack\t([^\t]+)\t([^\t]+)\t(\d+)\r?$/gm)].map((m) => ({ rt: m[1], op: m[2], bytes: Number(m[3]) }));
  return { jobs, heap, checked: Number(c[1]), fns, stack };
}

// ---------------------------------------------------------------------------------------------
// Code size

/** Berkeley `size` of object files or archive members: text (code + read-only data), data, bss. */
function sizes(files: string[]): { text: number; data: number; bss: number } {
  const s = sh("riscv64-unknown-elf-size", ["-t", ...files]);
  const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+\d+\s+[0-9a-f]+\s+\(TOTALS\)/m.exec(s)!;
  return { text: Number(m[1]), data: Number(m[2]), bss: Number(m[3]) };
}

/** Bytes the final link kept in ALLOC sections (.text*, .rodata*, .srodata*, .data*, .sdata*), per input file, from the map. */
function linked(map: string): Map<string, number> {
  const out = new Map<string, number>();
  const lines = readFileSync(map, "utf8").split("\n");
  const start = lines.findIndex((l) => l.startsWith("Linker script and memory map"));
  let pending: string | null = null;
  for (const l of lines.slice(start)) {
    let m = /^ (\.(?:text|rodata|srodata|data|sdata)\S*)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S+)$/.exec(l);
    if (!m && pending) {
      const n = /^\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S+)$/.exec(l);
      if (n) m = [l, pending, n[1], n[2]] as unknown as RegExpExecArray;
    }
    pending = null;
    if (m) {
      out.set(m[3], (out.get(m[3]) ?? 0) + parseInt(m[2], 16));
      continue;
    }
    const w = /^ (\.(?:text|rodata|srodata|data|sdata)\S*)$/.exec(l);
    if (w) pending = w[1];
  }
  return out;
}

function sumWhere(m: Map<string, number>, test: (file: string) => boolean): number {
  let s = 0;
  for (const [f, n] of m) if (test(f)) s += n;
  return s;
}

/** Symbol sizes of one object (nm -S), for the C paths' functions. */
function symbolSizes(obj: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of sh("riscv64-unknown-elf-nm", ["-S", "--size-sort", obj]).split("\n")) {
    const x = /^[0-9a-f]+ ([0-9a-f]+) [tT] (\S+)$/.exec(l);
    if (x) m.set(x[2], parseInt(x[1], 16));
  }
  return m;
}

/** The component's own binding objects, compiled for rv32 against the posix port's headers. */
function componentShim(dir: string): { shim: number; binding: number } | null {
  try {
    const inc = ["-Icomponent/src", "-Icomponent/port", "-Icomponent/port/posix/include", `-I${GEN}`, "-Icomponent/include", `-I${wasm3Root}/source`];
    const o1 = join(dir, "ws_engine_wasm3.o"), o2 = join(dir, "ws_engine.o");
    sh(GCC, [...ARCH, ...CFLAGS, ...wasm3Cflags, "-DWS_ENGINE_RUNTIME_WASM3", ...inc, "-w", "-c", "-o", o1, "component/src/ws_engine_wasm3.c"]);
    sh(GCC, [...ARCH, ...CFLAGS, ...wasm3Cflags, "-DWS_ENGINE_RUNTIME_WASM3", ...inc, "-w", "-c", "-o", o2, "component/src/ws_engine.c"]);
    return { shim: sizes([o1]).text, binding: sizes([o2]).text };
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const variants: Variant[] = [];
  const haveLib = (p?: string) => !!p && existsSync(p) && existsSync(join(wasm3Root, "source/wasm3.h"));
  variants.push({ name: haveLib(wasm3Lib) ? "wasm3" : "nowasm3", dir: join(out, haveLib(wasm3Lib) ? "wasm3" : "nowasm3"),
    lib: haveLib(wasm3Lib) ? wasm3Lib : undefined, onlyWasm3: false });
  if (haveLib(wasm3LibFast)) variants.push({ name: "fastmis", dir: join(out, "fastmis"), lib: wasm3LibFast, onlyWasm3: true });

  const gccv = sh(GCC, ["-dumpversion"]).trim();
  const qemuv = /version (\S+)/.exec(sh("qemu-system-riscv32", ["--version"]))?.[1];
  console.log("# Section 3: rv32imc (ESP32-C3 ISA), bare-metal on qemu, instructions from minstret");
  console.log(`riscv64-unknown-elf-gcc ${gccv} ${ARCH.slice(0, 2).join(" ")} ${CFLAGS.join(" ")}, picolibc; qemu ${qemuv} -icount shift=0; ` +
    `wasm3: ${variants[0].lib ?? "not given (rows skipped)"}${variants[1] ? `, fast-misaligned build ${variants[1].lib}` : ""}; shim config ${wasm3Cflags.join(" ")}`);

  const built = variants.map((v) => ({ v, elf: build(v) }));
  const results = await Promise.all(built.map(({ elf }) => run(elf)));
  const runs = built.map((b, i) => ({ ...b, r: results[i] }));
  const main = runs[0];
  const f: Figures = new Map(main.r.jobs);
  const fast = runs.find((x) => x.v.name === "fastmis");
  if (fast) {
    for (const [k, x] of fast.r.jobs) if (k.split(" ")[1] === "wasm3") f.set(k.replace(" wasm3 ", " wasm3f "), x);
  }
  console.log(`check: ${main.r.checked} jobs on the target, every row's output identical to the stock C row's` +
    ` (text with an invalid last byte: engine rows fail with Close 1007, C validators reject, stock C delivers)` +
    (fast ? `; fast-misaligned build: ${fast.r.checked} jobs` : ""));

  // Tables: the standard specs, with the fast-misaligned wasm3 build as one more column.
  ROW_TITLE.wasm3f = "engine wasm3 fast-misaligned";
  const sp = specs("instr/B", false);
  if (fast) {
    for (const s of Object.values(sp)) {
      s.rows = ["wasm3", "wasm3f", ...s.rows.slice(1)];
      s.ratios = [...s.ratios, ...s.ratios.filter(([a]) => a === "wasm3").map(([, b]) => ["wasm3f", b] as [string, string])];
    }
  }
  console.log("\n## Instructions per payload byte (minstret around the measured runs)");
  console.log("Ratios are engine instructions ÷ peer instructions (< 1: the engine does less work).");
  for (const p of ["send", "recv", "utf8"]) {
    for (const input of INPUTS) {
      if (p === "send" && input !== "binary" && input !== "ascii") continue; // send does not look at the bytes
      const t = pathTable(f, sp[p], input, SIZES);
      if (t) console.log(`\n### ${p}, ${INPUT_TITLE[input]}\n\n${input === "invalid" ? INVALID_NOTE[p] + "\n\n" : ""}${t}`);
    }
  }
  sendIdentical(f);
  const pm = perMessage(f);
  const sm = { ...specs("instr/msg", false).recv32 };
  if (fast) {
    sm.rows = ["wasm3", "wasm3f", ...sm.rows.slice(1)];
    sm.ratios = [...sm.ratios, ["wasm3f", "stock"], ["wasm3f", "cbyte"]];
  }
  for (const input of INPUTS) {
    const t = pathTable(pm, sm, input, [16]);
    if (t) console.log(`\n### recv32: 32 messages of 16 bytes in one buffer, ${INPUT_TITLE[input]} (per message)\n\n${t}`);
  }

  targets(f, !!fast);
  codeSize(main.v, main.elf);
  heapTable(main.r.heap);
  fnTable(main.r.fns);
  stackTable(main.r.stack);
}

function sendIdentical(f: Figures): void {
  let worst = 0;
  for (const [k, x] of f) {
    const [p, row, input, size] = k.split(" ");
    if (p !== "send" || input === "binary") continue;
    const b = f.get(key(p, row, "binary", Number(size)));
    if (b) worst = Math.max(worst, Math.abs(x.perRun / b.perRun - 1));
  }
  console.log(`\n(send, Chinese+ASCII and emoji: within ${(worst * 100).toFixed(1)}% of random binary on every row: ` +
    `the send path does not look at the bytes under the default UTF8_POLICY 1)`);
}

function targets(f: Figures, fast: boolean): void {
  console.log("\n## Targets (engine on wasm3, and wasm2c for send)");
  const lines: string[][] = [];
  const fmt = (x: number) => (Number.isNaN(x) ? "-" : `${x.toFixed(2)}x`);
  const verdict = (x: number, lim: number) => (Number.isNaN(x) ? "-" : x <= lim ? "met" : "NOT met");
  const rows: [string, string, string, string, string, number, string][] = [];
  for (const size of SIZES.filter((s) => s >= 1024)) {
    rows.push([`send (frame + mask) ÷ stock, ${sizeName(size)}`, "send", "wasm3", "stock", "binary", size, "<= 0.6x"]);
  }
  for (const size of SIZES.filter((s) => s >= 1024)) {
    rows.push([`send ÷ stock, wasm2c, ${sizeName(size)}`, "send", "wasm2c", "stock", "binary", size, "<= 0.3x"]);
  }
  for (const size of [1024, 65536, 1 << 20]) {
    rows.push([`UTF-8 (k_utf8) ÷ C byte loop, ASCII, ${sizeName(size)}`, "utf8", "wasm3", "cbyte", "ascii", size, "<= 0.7x"]);
    rows.push([`UTF-8 (k_utf8) ÷ C byte loop, Chinese+ASCII, ${sizeName(size)}`, "utf8", "wasm3", "cbyte", "chinese", size, "<= 4x"]);
  }
  for (const [what, p, a, b, input, size, lim] of rows) {
    const limit = Number(lim.replace(/[^\d.]/g, ""));
    const x = ratio(f, p, a, b, input, size);
    const y = fast && a === "wasm3" ? ratio(f, p, "wasm3f", b, input, size) : NaN;
    lines.push([what, lim, fmt(x), verdict(x, limit), ...(fast ? [fmt(y), verdict(y, limit)] : [])]);
  }
  for (const input of ["binary", "ascii", "chinese"]) {
    const k = key("recv32", "wasm3", input, 16);
    const x = f.get(k), y = f.get(key("recv32", "wasm3f", input, 16));
    const per = (g?: { perRun: number }) => (g ? g.perRun / 32 : NaN);
    lines.push([`recv, 32 x 16-byte ${INPUT_TITLE[input]} messages in one buffer, instructions per message`, "<= 300",
      Number.isNaN(per(x)) ? "-" : per(x).toFixed(0), verdict(per(x), 300),
      ...(fast ? [Number.isNaN(per(y)) ? "-" : per(y).toFixed(0), verdict(per(y), 300)] : [])]);
  }
  console.log(table(["target", "limit", "wasm3", "", ...(fast ? ["wasm3 fast-misaligned", ""] : [])], lines));
}

function codeSize(v: Variant, elf: string): void {
  console.log("\n## Code size (rv32imc, -O2; `size` text = code + read-only data, bytes)");
  const d = v.dir;
  const map = linked(join(d, "wsbench.map"));
  const lines: string[][] = [];
  const obj = (n: string) => join(d, n + ".o");
  const keptOf = (n: string) => sumWhere(map, (f) => f.endsWith("/" + n + ".o"));
  if (v.lib) {
    const lib = sizes([v.lib]).text;
    const keptLib = sumWhere(map, (f) => f.includes(basename(v.lib!) + "("));
    lines.push(["wasm3 interpreter (libm3.a)", String(lib), String(keptLib)]);
  }
  const wasm = sizes([obj("engine_wasm")]).text;
  lines.push(["engine.wasm bytes (engine_wasm.o)", String(wasm), String(keptOf("engine_wasm"))]);
  const comp = componentShim(d);
  if (comp) {
    lines.push(["component shim component/src/ws_engine_wasm3.c", String(comp.shim), "-"]);
    lines.push(["component binding component/src/ws_engine.c (runtime-independent)", String(comp.binding), "-"]);
  }
  lines.push(["bench driver bench/native/engine.c (both runtimes)", String(sizes([obj("engine")]).text), String(keptOf("engine"))]);
  const w2c = sizes([obj("engine_wasm2c")]).text, rt = sizes([obj("wasm-rt-impl")]).text;
  lines.push(["engine on wasm2c (engine_wasm2c.o)", String(w2c), String(keptOf("engine_wasm2c"))]);
  lines.push(["wasm2c runtime (wasm-rt-impl.o)", String(rt), String(keptOf("wasm-rt-impl"))]);
  const syms = symbolSizes(obj("cpaths"));
  const sym = (n: string) => syms.get(n) ?? 0;
  lines.push(["stock C send (stock_send)", String(sym("stock_send")), "-"]);
  lines.push(["stock C receive (c_recv, header decode)", String(sym("c_recv")), "-"]);
  lines.push(["C byte-loop UTF-8 validator (utf8_byteloop)", String(sym("utf8_byteloop")), "-"]);
  lines.push(["C word loop send (cword_send)", String(sym("cword_send")), "-"]);
  lines.push(["C word-loop UTF-8 validator (utf8_wordloop)", String(sym("utf8_wordloop")), "-"]);
  lines.push(["all C paths (cpaths.o)", String(sizes([obj("cpaths")]).text), String(keptOf("cpaths"))]);
  console.log(table(["part", "text (object)", "kept in the linked ELF"], lines));
  if (v.lib) {
    const keptLib = sumWhere(map, (f) => f.includes(basename(v.lib!) + "("));
    const total = keptLib + keptOf("engine_wasm") + (comp ? comp.shim : 0);
    const native = sym("stock_send") + sym("c_recv");
    const nativeW = sym("cword_send") + sym("c_recv") + sym("utf8_wordloop");
    console.log(`\nwasm3 + engine + shim: ${total} bytes of flash (interpreter as linked ${keptLib} + engine.wasm ${keptOf("engine_wasm")}` +
      ` + shim ${comp ? comp.shim : "?"}), vs the native loops: stock send + receive ${native} bytes, word-loop send + receive + validator ${nativeW} bytes.` +
      ` wasm2c instead: ${keptOf("engine_wasm2c") + keptOf("wasm-rt-impl")} bytes (engine + runtime as linked).`);
  }
}

function heapTable(heap: Run["heap"]): void {
  if (heap.length === 0) return;
  console.log("\n## Heap (bytes requested, live after each step; malloc/calloc/realloc/free wrapped in the harness)");
  console.log("Configurations as the component runs them: buf 1024, 16 event records, scratch 1088, wasm3 value stack 2048," +
    " linear memory capped at the layout's size (wse_layout_size, as the component does: \"capped\") or not;" +
    " every function compiled at load (m3_CompileModule, as the component does) unless \"lazy compile\".");
  const configs = [...new Set(heap.map((h) => h.config))];
  const steps = [...new Set(heap.map((h) => h.step))].filter((s) => s !== "start");
  const lines = steps.map((s) => [s, ...configs.map((c) => {
    const h = heap.find((x) => x.config === c && x.step === s);
    return h ? h.live.toLocaleString("en-US") : "";
  })]);
  lines.push(["peak", ...configs.map((c) => Math.max(...heap.filter((x) => x.config === c).map((x) => x.peak)).toLocaleString("en-US"))]);
  console.log(table(["step", ...configs], lines));
  const at = (c: string) => heap.find((x) => x.config === c && x.step.startsWith("slot 0 open"))?.live;
  const one = at("wasm3 1 conn buf 1024 capped"), two = at("wasm3 2 conn buf 1024 capped"), eight = at("wasm3 8 conn buf 1024 capped");
  if (one !== undefined && two !== undefined && eight !== undefined) {
    const once = one - (two - one);
    console.log(`\nwasm3, capped: one-time ≈ ${once.toLocaleString("en-US")} bytes (target 24 KiB = 24,576: ` +
      `${once <= 24576 ? "met" : "NOT met"}), per client ${(two - one).toLocaleString("en-US")} bytes` +
      ` (2 - 1 conns; (8 - 1) / 7 = ${((eight - one) / 7).toFixed(0)}), at buf 1024.`);
  }
  const w1 = at("wasm2c 1 conn buf 1024"), w2 = at("wasm2c 2 conn buf 1024"), w8 = at("wasm2c 8 conn buf 1024");
  if (w1 !== undefined && w2 !== undefined && w8 !== undefined) {
    // The first wasm2c instance of the process also pays wasm_rt_init's type table (the 1-conn
    // column's "after close"), so the per-client figure comes from the 2- and 8-conn columns.
    const per = (w8 - w2) / 6;
    console.log(`wasm2c, capped (the page shrunk to the layout): one-time ≈ ${(w2 - 2 * per).toLocaleString("en-US")} bytes ` +
      `(+ ${(w1 - (w2 - per)).toLocaleString("en-US")} for the process's first instance), per client ${per.toFixed(0)} bytes ` +
      `((8 - 2) / 6), with a whole 64 KiB page for a moment at creation; uncapped: ` +
      `${at("wasm2c 1 conn buf 1024 uncapped")?.toLocaleString("en-US")} bytes for 1 conn.`);
  }
}

/** Function names in index order, from the text form asc writes next to build/engine.wasm. */
function watNames(): string[] {
  const wat = join(root, "build/engine.wat");
  if (!existsSync(wat)) return [];
  return [...readFileSync(wat, "utf8").matchAll(/^ \(func \$(\S+)/gm)].map((m) => m[1]);
}

function fnTable(fns: Run["fns"]): void {
  if (fns.length === 0) return;
  const names = watNames();
  console.log("\n## wasm3 compiled code per function (strict build)");
  console.log("Each function of engine.wasm compiled alone (CompileFunction, index order): code = the code-page words it" +
    " emitted; heap = what the heap grew by (whole code pages of d_m3CodePageAlignSize, so it moves in steps, plus its" +
    " constant table). The component compiles them all when it creates the instance (m3_CompileModule).");
  const rows = [...fns].sort((a, b) => b.code - a.code);
  const lines = rows.map((f) => [names[f.index] ?? `#${f.index}`, String(f.wasm), String(f.code), String(f.heap)]);
  const sum = (k: "wasm" | "code" | "heap") => fns.reduce((t, f) => t + f[k], 0);
  lines.push(["total", String(sum("wasm")), String(sum("code")), String(sum("heap"))]);
  console.log(table(["function", "wasm body bytes", "code bytes", "heap bytes"], lines));
}

function stackTable(stack: Run["stack"]): void {
  if (stack.length === 0) return;
  console.log("\n## Native stack high-water mark of engine calls (rv32imc)");
  console.log("Free stack painted before each operation, deepest overwritten byte after it, counted from the caller of" +
    " the bench's wrapper (bench/native/engine.c, which calls the runtime as component/src/ws_engine_wasm{2c,3}.c do)." +
    " wasm3 is the strict build, every function compiled at creation as the component does; 1 conn, buf 1024." +
    " This is the engine's share of the client task's stack on the ESP32-C3's ISA (figures under 128 show as 128).");
  const rts = [...new Set(stack.map((x) => x.rt))];
  const ops = [...new Set(stack.map((x) => x.op))];
  const lines = ops.map((op) => [op, ...rts.map((rt) => {
    const x = stack.find((y) => y.rt === rt && y.op === op);
    return x ? x.bytes.toLocaleString("en-US") : "";
  })]);
  console.log(table(["operation", ...rts.map((r) => `${r} (bytes)`)], lines));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
