// npm test: every test suite of the project, from a fresh clone.
//
//  1. Debian packages (installed when run as root, else the apt-get line is printed).
//  2. The engine: build/engine.wasm is rebuilt; component/generated must match it (in CI a stale
//     committed copy fails the run; locally it is rewritten and you are told to commit it).
//  3. as-pect specs of the engine (tests/assembly).
//  4. The C component and its tests with CMake + ctest (tests/c, tests/integration) against the
//     real engine and real servers on loopback; then all of it again built with ASan + UBSan.
//  5. Node's test runner for the Node-side tests (tests/node).
//  6. The libFuzzer harnesses of the engine (tests/fuzz), FUZZ_SECONDS each (default 30).
// Each suite prints its own summary; the last line is `N passed, N failed` over all of them.

import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ensureTools } from "./deps.ts";
import { generate, staleGenerated } from "./build.ts";
import { root } from "./paths.ts";

interface Result { suite: string; passed: number; failed: number; note?: string }

const results: Result[] = [];
const ANSI = /\x1b\[[0-9;]*m/g;

/** Runs a command with its output shown live and captured. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): { code: number; out: string } {
  const r = spawnSync(cmd, args, {
    cwd: root, env: { ...process.env, ...env }, encoding: "utf8", maxBuffer: 256 * 1024 * 1024,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out = (r.stdout ?? "") + (r.stderr ?? "");
  process.stdout.write(out);
  return { code: r.status ?? 1, out };
}

function engine(): void {
  const stale = staleGenerated();
  if (stale.length === 0) {
    results.push({ suite: "generated", passed: 1, failed: 0 });
  } else if (process.env.CI) {
    console.error(`component/generated differs from a fresh build: ${stale.join(", ")}`);
    results.push({ suite: "generated", passed: 0, failed: 1, note: "stale: run npm run build and commit" });
  } else {
    generate(join(root, "component/generated"));
    console.log(`component/generated was stale (${stale.join(", ")}); rewritten — commit it.`);
    results.push({ suite: "generated", passed: 1, failed: 0, note: "rewritten" });
  }
}

function aspect(): void {
  const { code, out } = run(join(root, "node_modules/.bin/asp"), ["--no-logo"]);
  const m = /\[Tests\]:\s*(\d+)\s*\/\s*(\d+)/.exec(out.replace(ANSI, ""));
  if (!m) {
    results.push({ suite: "as-pect", passed: 0, failed: 1, note: `no summary (exit ${code})` });
    return;
  }
  const passed = Number(m[1]);
  let failed = Number(m[2]) - passed;
  if (code !== 0 && failed === 0) failed = 1; // a spec file that did not compile
  results.push({ suite: "as-pect", passed, failed });
}

/** Configures, builds and runs ctest in build/<name> with extra CMake options. */
function ctest(suite: string, name: string, options: string[], ctestArgs: string[] = []): void {
  const dir = join(root, "build", name);
  const cfg = run("cmake", ["-S", ".", "-B", dir, "-DCMAKE_BUILD_TYPE=RelWithDebInfo", ...options]);
  const bld = cfg.code === 0 ? run("cmake", ["--build", dir, "-j2"]) : cfg;
  if (bld.code !== 0) {
    results.push({ suite, passed: 0, failed: 1, note: "build failed" });
    return;
  }
  const { code, out } = run("ctest", ["--test-dir", dir, "--output-on-failure", "-j2", ...ctestArgs]);
  const m = /(\d+)% tests passed, (\d+) tests failed out of (\d+)/.exec(out);
  if (!m) {
    results.push({ suite, passed: 0, failed: 1, note: `no summary (exit ${code})` });
    return;
  }
  results.push({ suite, passed: Number(m[3]) - Number(m[2]), failed: Number(m[2]) });
}

/** libFuzzer harnesses on the engine (tests/fuzz), each for FUZZ_SECONDS (default 30). */
function fuzz(): void {
  const seconds = process.env.FUZZ_SECONDS ?? "30";
  const { code, out } = run("bash", [join(root, "tests/fuzz/run.sh"), seconds]);
  const clean = [...out.matchAll(/^fuzz_\w+: \d+ executions .* no findings$/gm)].length;
  const found = [...out.matchAll(/^fuzz_\w+: FINDING/gm)].length;
  if (clean + found === 0) {
    results.push({ suite: "fuzz", passed: 0, failed: 1, note: `no summary (exit ${code})` });
    return;
  }
  results.push({ suite: "fuzz", passed: clean, failed: found + (code !== 0 && found === 0 ? 1 : 0) });
}

function nodeTests(): void {
  const dir = join(root, "tests/node");
  if (!existsSync(dir)) return;
  const files = readdirSync(dir).filter((f) => f.endsWith(".test.ts")).map((f) => join(dir, f));
  if (files.length === 0) return;
  const { code, out } = run(process.execPath, ["--import", "tsx", "--test", ...files]);
  const pass = /^# pass (\d+)/m.exec(out);
  const fail = /^# fail (\d+)/m.exec(out);
  if (!pass || !fail) {
    results.push({ suite: "node", passed: 0, failed: 1, note: `no summary (exit ${code})` });
    return;
  }
  results.push({ suite: "node", passed: Number(pass[1]), failed: Number(fail[1]) });
}

/** The Node-side TypeScript (scripts, bench drivers, test servers) type-checks. */
function typecheck(): void {
  const { code } = run(join(root, "node_modules/.bin/tsc"), ["-p", "tsconfig.json"]);
  results.push({ suite: "tsc", passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1 });
}

ensureTools(["test"]);
typecheck();
engine();
aspect();
ctest("ctest", "host", []);
// The same C tests again with AddressSanitizer + UndefinedBehaviorSanitizer (-Werror stays on).
// valgrind cannot run sanitized binaries, so its leak run is in the plain build only.
ctest("ctest-asan", "asan", ["-DWS_SANITIZE=ON"], ["-LE", "valgrind"]);
nodeTests();
fuzz();

console.log("\nSummary");
for (const r of results) {
  console.log(`  ${r.suite.padEnd(10)} ${r.passed} passed, ${r.failed} failed${r.note ? ` (${r.note})` : ""}`);
}
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
