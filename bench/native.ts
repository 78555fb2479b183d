// Section 2 bench, native host (x86-64): the receive path (parse + UTF-8 check of server frames
// through the engine's `recv`) and the send path (copy into tx + 14, `send` writes the header and
// masks in place) of engine.wasm on wasm2c and on wasm3, beside the stock ESP-IDF algorithm in
// plain C and a good C word loop (bench/native/cpaths.c). A benchmark, not a test: it prints tables
// and never fails on speed; it fails when any row's output differs from the stock row's.
//
//   npx tsx bench/native.ts [--quick] [--no-time] [--no-count] [--profile]
//
// wasm3 rows need a wasm3 checkout: WASM3_ROOT=/tmp/wasm3 (or --wasm3-root=DIR) for the headers
// (DIR/source) and WASM3_LIB (or --wasm3-lib=FILE, default DIR/build/source/libm3.a) for the host
// library. Without WASM3_ROOT the wasm3 rows are skipped. The library must be one valgrind can
// run (wasm3's own CMake build adds -march=native, i.e. AVX-512 on this machine, which valgrind
// 3.19 cannot decode: build it without that flag, e.g. into /tmp, and pass it as WASM3_LIB).
//
// The engine comes from component/generated (engine_wasm.c for wasm3, engine_wasm2c.c for wasm2c:
// `npx tsx scripts/build.ts` makes both); the wasm2c runtime from /usr/share/wabt/wasm2c (compiled
// here, never copied). Everything is built into build/bench/native with gcc -O2
// -fno-tree-vectorize (scalar code, as on the ESP32-C3) and WASM_RT_MEMCHECK_SIGNAL_HANDLER=0
// (explicit bounds checks, as on a 32-bit target).
//
// Instructions: callgrind counts only the measured region (CALLGRIND_TOGGLE_COLLECT around `reps`
// runs after one warm-up run, one dump per job). Time: per (path, input, size) the rows take
// turns, round-robin, each sample ~1 ms; median ns and the spread (interquartile range / median).

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Figures, INPUTS, INPUT_TITLE, INVALID_NOTE, SIZES, key, pathTable, perMessage, specs, ratio, table, sizeName } from "./native/report.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const opt = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const QUICK = flag("quick");
const out = join(root, "build/bench/native");

const wasm3Root = opt("wasm3-root") ?? process.env.WASM3_ROOT;
const wasm3Lib = opt("wasm3-lib") ?? process.env.WASM3_LIB ?? (wasm3Root ? join(wasm3Root, "build/source/libm3.a") : undefined);

function sh(cmd: string, args: string[], quiet = false): string {
  return execFileSync(cmd, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", quiet ? "pipe" : "inherit"], maxBuffer: 1 << 28 });
}

// ---------------------------------------------------------------------------------------------
// Build

const WASM2C_RT = "/usr/share/wabt/wasm2c";
const GEN = join(root, "component/generated");
const CFLAGS = ["-O2", "-fno-tree-vectorize", "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0"];

function build(): { exe: string; wasm3: boolean } {
  mkdirSync(out, { recursive: true });
  for (const f of ["engine_wasm2c.c", "engine_wasm.c"]) {
    if (!existsSync(join(GEN, f))) throw new Error(`component/generated/${f} missing: run npx tsx scripts/build.ts`);
  }
  const wasm3 = !!wasm3Root && !!wasm3Lib && existsSync(join(wasm3Root, "source/wasm3.h")) && existsSync(wasm3Lib);
  if (wasm3Root && !wasm3) console.log(`(wasm3 rows skipped: ${wasm3Root}/source/wasm3.h or ${wasm3Lib} not found)`);
  const inc = ["-Ibench/native", `-I${GEN}`, `-I${WASM2C_RT}`, ...(wasm3 ? [`-I${wasm3Root}/source`, "-DBENCH_WASM3"] : [])];
  const objs: string[] = [];
  const cc = (src: string, name: string, warn: boolean) => {
    const o = join(out, name + ".o");
    sh("gcc", [...CFLAGS, ...inc, ...(warn ? ["-Wall", "-Wextra", "-Werror"] : ["-w"]), "-c", "-o", o, src]);
    objs.push(o);
  };
  cc(join(GEN, "engine_wasm2c.c"), "engine_wasm2c", false);
  cc(join(GEN, "engine_wasm.c"), "engine_wasm", false);
  cc(join(WASM2C_RT, "wasm-rt-impl.c"), "wasm-rt-impl", false);
  for (const f of ["main", "jobs", "engine", "cpaths", "heapcount"]) cc(`bench/native/${f}.c`, f, true);
  const exe = join(out, "wsbench");
  sh("gcc", ["-o", exe, ...objs, ...(wasm3 ? [wasm3Lib!] : []), "-lm", "-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free"]);
  return { exe, wasm3 };
}

// ---------------------------------------------------------------------------------------------
// Runs

/** Instructions per job from one callgrind run with a dump per job. */
function count(exe: string): Figures {
  const cg = join(out, "count.callgrind");
  const r = spawnSync("valgrind", ["--tool=callgrind", "--collect-atstart=no", "--combine-dumps=yes",
    `--callgrind-out-file=${cg}`, exe, "count"], { cwd: root, encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`callgrind run failed (${r.status}, ${r.signal}):\n${r.stderr.slice(-3000)}`);
  const bytes = new Map<string, number>();
  for (const line of r.stdout.split("\n")) {
    const m = /^job (\S+ \S+ \S+ \d+) (\d+)\t(\d+)$/.exec(line);
    if (m) bytes.set(m[1], Number(m[3]));
  }
  const f: Figures = new Map();
  const text = readFileSync(cg, "utf8");
  const re = /^desc: Trigger: Client Request: job (\S+ \S+ \S+ \d+) (\d+)$[\s\S]*?^summary: (\d+)$/gm;
  for (const m of text.matchAll(re)) {
    const reps = Number(m[2]);
    f.set(m[1], { perRun: Number(m[3]) / reps, bytes: bytes.get(m[1])! });
  }
  if (f.size !== bytes.size) throw new Error(`callgrind dumps: ${f.size} of ${bytes.size} jobs found`);
  return f;
}

function time(exe: string, samples: number): Figures {
  const f: Figures = new Map();
  const text = sh(exe, ["time", String(samples)]);
  for (const line of text.split("\n")) {
    const m = /^time (\S+ \S+ \S+ \d+)\t(\d+)\t([\d.]+)\t([\d.]+)\t([\d.]+)$/.exec(line);
    if (m) {
      const med = Number(m[3]);
      f.set(m[1], { perRun: med, bytes: Number(m[2]), spread: (Number(m[5]) - Number(m[4])) / med });
    }
  }
  return f;
}

// ---------------------------------------------------------------------------------------------
// Profile: where the engine's instructions go, wasm2c build, function names from build/engine.wat

function watNames(): string[] {
  const wat = join(root, "build/engine.wat");
  if (!existsSync(wat)) return [];
  const names: string[] = [];
  for (const m of readFileSync(wat, "utf8").matchAll(/^ \(func \$(\S+)/gm)) names.push(m[1]);
  return names;
}

function profile(exe: string, job: string[], reps: number): string {
  const cg = join(out, `profile.${job.join("_")}.callgrind`);
  const r = spawnSync("valgrind", ["--tool=callgrind", "--collect-atstart=no", `--callgrind-out-file=${cg}`, exe, "one", ...job, String(reps)],
    { cwd: root, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`profile run failed: ${r.stderr.slice(-2000)}`);
  const ann = sh("callgrind_annotate", ["--threshold=99", cg], true);
  const names = watNames();
  const total = Number(/([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS/.exec(ann)?.[1].replace(/,/g, "") ?? "0");
  const lines: string[][] = [];
  for (const m of ann.matchAll(/^\s*([\d,]+) \(\s*([\d.]+)%\)\s+\S+:(\S+?)(?: \[.*\])?$/gm)) {
    const ir = Number(m[1].replace(/,/g, ""));
    if (ir / total < 0.01) continue;
    let fn = m[3];
    const w = /^w2c_f(\d+)$/.exec(fn);
    if (w && names[Number(w[1])]) fn = `${fn} = ${names[Number(w[1])]}`;
    else if (/^w2c_/.test(fn)) fn = `${fn} (export)`;
    lines.push([fn, (ir / reps).toFixed(0), `${m[2]}%`]);
  }
  return table(["function", "instructions per run", "share"], lines);
}

// ---------------------------------------------------------------------------------------------

function main(): void {
  const { exe, wasm3 } = build();
  const gcc = sh("gcc", ["-dumpfullversion"]).trim();
  const w2c = sh("wasm2c", ["--version"]).trim();
  const wasmSize = statSync(join(root, "build/engine.wasm")).size;
  console.log(`# Section 2: native host, engine.wasm through recv/send vs plain C`);
  console.log(`x86-64, gcc ${gcc} ${CFLAGS.join(" ")}; wasm2c ${w2c}; engine.wasm ${wasmSize} bytes (component/generated);` +
    ` wasm3 ${wasm3 ? wasm3Lib : "not built in (set WASM3_ROOT)"}`);

  const chk = sh(exe, ["check"]);
  const cm = /^checked\t(\d+)\t(\d+)$/m.exec(chk);
  if (!cm || cm[2] !== "0") throw new Error(`output check failed:\n${chk}`);
  console.log(`check: ${cm[1]} jobs, every row's frames / deliveries / verdicts identical to the stock C row's` +
    ` (text with an invalid last byte: engine rows fail with Close 1007, C validators reject, stock C delivers)`);

  if (!flag("no-count")) {
    const f = count(exe);
    console.log("\n## Instructions per payload byte (callgrind, measured region only)");
    console.log("Ratios are engine instructions ÷ peer instructions (< 1: the engine does less work).");
    const sp = specs("instr/B", false);
    for (const p of ["send", "recv", "utf8"]) {
      for (const input of INPUTS) {
        if (p === "send" && input !== "binary" && input !== "ascii") continue; // send does not look at the bytes
        const t = pathTable(f, sp[p], input, SIZES);
        if (t) console.log(`\n### ${p}, ${INPUT_TITLE[input]}\n\n${input === "invalid" ? INVALID_NOTE[p] + "\n\n" : ""}${t}`);
      }
    }
    const pm = perMessage(f);
    const sm = { ...specs("instr/msg", false).recv32 };
    for (const input of INPUTS) {
      const t = pathTable(pm, sm, input, [16]);
      if (t) console.log(`\n### recv32: 32 messages of 16 bytes in one buffer, ${INPUT_TITLE[input]} (per message)\n\n${t}`);
    }
    sendIdentical(f);
    summary(f, "instructions");
  }

  if (!flag("no-time")) {
    const samples = QUICK ? 7 : 21;
    const f = time(exe, samples);
    console.log(`\n## Nanoseconds per payload byte (wall clock, ${samples} samples per row, round-robin, median ±IQR/2)`);
    console.log("Ratios are engine time ÷ peer time.");
    const sp = specs("ns/B", true);
    for (const p of ["send", "recv", "utf8"]) {
      for (const input of INPUTS) {
        if (p === "send" && input !== "binary" && input !== "ascii") continue;
        const t = pathTable(f, sp[p], input, SIZES);
        const note = p === "recv" ? INVALID_NOTE[p] + " Here each engine run follows a re-open (two clock reads around it, and" +
          " caches the handshake has cooled), so small payloads read high: judge them by the instruction counts." : INVALID_NOTE[p];
        if (t) console.log(`\n### ${p}, ${INPUT_TITLE[input]}\n\n${input === "invalid" ? note + "\n\n" : ""}${t}`);
      }
    }
    const pm = perMessage(f);
    const sm = { ...specs("ns/msg", true).recv32 };
    for (const input of INPUTS) {
      const t = pathTable(pm, sm, input, [16]);
      if (t) console.log(`\n### recv32: 32 messages of 16 bytes in one buffer, ${INPUT_TITLE[input]} (ns per message)\n\n${t}`);
    }
  }

  if (flag("profile")) {
    console.log("\n## Where the engine's instructions go (wasm2c build, callgrind_annotate, function names from build/engine.wat)");
    const jobs: [string[], number][] = [
      [["recv", "wasm2c", "chinese", "65536"], 4], [["recv", "wasm2c", "ascii", "65536"], 4],
      [["send", "wasm2c", "binary", "65536"], 4], [["recv32", "wasm2c", "ascii", "16"], 64],
      [["send", "wasm2c", "binary", "16"], 256], [["recv", "wasm2c", "binary", "16"], 256],
    ];
    for (const [job, reps] of jobs) console.log(`\n### ${job.join(" ")} (${reps} runs)\n\n${profile(exe, job, reps)}`);
  }
}

/** The send path never reads the payload (UTF8_POLICY 1): text inputs must cost what binary does. */
function sendIdentical(f: Figures): void {
  let worst = 0;
  for (const [k, x] of f) {
    const [p, row, input, size] = k.split(" ");
    if (p !== "send" || input === "binary") continue;
    const b = f.get(key(p, row, "binary", Number(size)));
    if (b) worst = Math.max(worst, Math.abs(x.perRun / b.perRun - 1));
  }
  console.log(`\n(send, Chinese+ASCII and emoji: within ${(worst * 100).toFixed(1)}% of random binary on every row, so not shown)`);
}

function summary(f: Figures, what: string): void {
  console.log(`\n## Summary (${what}, engine ÷ peer at >= 1 KiB)`);
  const lines: string[][] = [];
  for (const size of SIZES.filter((s) => s >= 1024)) {
    const r = (p: string, a: string, b: string, i: string) => ratio(f, p, a, b, i, size);
    const fmt = (x: number) => (Number.isNaN(x) ? "-" : `${x.toFixed(2)}x`);
    lines.push([sizeName(size), fmt(r("send", "wasm3", "stock", "binary")), fmt(r("send", "wasm2c", "stock", "binary")),
      fmt(r("utf8", "wasm3", "cbyte", "ascii")), fmt(r("utf8", "wasm3", "cbyte", "chinese")),
      fmt(r("utf8", "wasm2c", "cbyte", "ascii")), fmt(r("utf8", "wasm2c", "cbyte", "chinese"))]);
  }
  console.log(table(["payload", "send wasm3÷stock", "send wasm2c÷stock", "UTF-8 wasm3÷C byte, ASCII", "UTF-8 wasm3÷C byte, Chinese+ASCII",
    "UTF-8 wasm2c÷C byte, ASCII", "UTF-8 wasm2c÷C byte, Chinese+ASCII"], lines));
  const w3 = f.get(key("recv32", "wasm3", "ascii", 16)), w2 = f.get(key("recv32", "wasm2c", "ascii", 16));
  const st = f.get(key("recv32", "stock", "ascii", 16));
  if (w3 || w2) {
    console.log(`recv of 32 16-byte text messages in one buffer: wasm3 ${w3 ? (w3.perRun / 32).toFixed(0) : "-"}, wasm2c ` +
      `${w2 ? (w2.perRun / 32).toFixed(0) : "-"}, stock C ${st ? (st.perRun / 32).toFixed(0) : "-"} ${what} per message`);
  }
}

main();
