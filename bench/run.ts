// npm run bench [-- section ...]: every benchmark section this machine can run, or the ones named.
//
// Each section is its own script (bench/<section>.ts) printing markdown tables with ratio columns.
// Their output is shown live and written to bench/results/<section>.md under a header that
// describes the machine (CPU, cores, load, versions), so a committed result says where it came from.
// Benchmarks never fail on speed; a section fails only when its own correctness checks fail.

import { spawnSync, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync, readFileSync } from "node:fs";
import { cpus, loadavg, release } from "node:os";
import { join } from "node:path";
import { ensureTools } from "../scripts/deps.ts";
import { root } from "../scripts/paths.ts";
import { writeReadme } from "./readme.ts";

/** Sections in the order they run, with what each compares. */
const SECTIONS: Record<string, string> = {
  v8: "engine.wasm kernels in Node vs bufferutil, utf-8-validate, buffer.isUtf8, ws's JS fallback; wasm2c kernels under callgrind",
  native: "receive and send paths through the engine (wasm2c, wasm3 when WASM3_ROOT is set) vs the stock C path and a C word loop",
  rv32: "the same on rv32imc (ESP32-C3 ISA) under qemu-system-riscv32 -icount, instructions from minstret",
  loopback: "end-to-end echo over loopback vs libwebsockets, ws and raw TCP",
  memory: "heap and stack per client vs the stock component's budget",
};

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).split("\n")[0].trim();
  } catch {
    return "not installed";
  }
}

function machine(): string {
  const cpu = cpus();
  const asc = JSON.parse(readFileSync(join(root, "node_modules/assemblyscript/package.json"), "utf8")).version;
  return [
    `- date: ${new Date().toISOString()}`,
    `- CPU: ${cpu[0]?.model ?? "unknown"}, ${cpu.length} cores; load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`,
    `- kernel: Linux ${release()}; Node ${process.version}; AssemblyScript ${asc}`,
    `- ${version("gcc", ["--version"])}; ${version("wasm2c", ["--version"]).replace(/^/, "wasm2c ")}; ${version("valgrind", ["--version"])}`,
    `- engine.wasm: ${existsSync(join(root, "build/engine.wasm")) ? readFileSync(join(root, "build/engine.wasm")).length + " bytes" : "not built"}`,
  ].join("\n");
}

const wanted = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const passThrough = process.argv.slice(2).filter((a) => a.startsWith("--"));
for (const w of wanted) {
  if (!(w in SECTIONS)) {
    console.error(`unknown section "${w}"; sections: ${Object.keys(SECTIONS).join(", ")}`);
    process.exit(2);
  }
}
ensureTools(["bench"]);
execFileSync(process.execPath, ["--import", "tsx", join(root, "scripts/build.ts")], { cwd: root, stdio: "inherit" });

const resultsDir = join(root, "bench/results");
mkdirSync(resultsDir, { recursive: true });
let failed = 0;
for (const [name, what] of Object.entries(SECTIONS)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  const script = join(root, "bench", `${name}.ts`);
  if (!existsSync(script)) {
    console.log(`\n## ${name}: not available yet (${what})`);
    continue;
  }
  console.log(`\n## ${name}: ${what}\n`);
  const r = spawnSync(process.execPath, ["--import", "tsx", script, ...passThrough], {
    cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 * 1024 * 1024,
  });
  process.stdout.write(r.stdout ?? "");
  if (r.status !== 0) failed++;
  writeFileSync(join(resultsDir, `${name}.md`), `# Bench: ${name}\n\n${what}\n\n${machine()}\n\n${r.stdout ?? ""}`);
}
// README.md's performance section shows the results files as they now are.
if (!writeReadme()) failed++;
process.exit(failed === 0 ? 0 : 1);
