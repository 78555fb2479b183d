// Shared by bench/loopback.ts and bench/memory.ts: building the C programs of bench/loopback's CMake
// project, child processes that answer one line per command, and markdown tables.

import { spawn, spawnSync, execFileSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { createInterface, type Interface } from "node:readline";
import { join } from "node:path";
import { root } from "../../scripts/paths.ts";

// ---------------------------------------------------------------------------------------------
// Build

export function have(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

/** Configures (once) and builds bench/loopback's CMake project into `dir` with `defs`. */
export function buildPrograms(dir: string, defs: string[]): void {
  if (!existsSync(join(root, "component/generated/ws_engine_abi.h")) || !existsSync(join(root, "component/generated/engine_wasm2c.c"))) {
    execFileSync(process.execPath, ["--import", "tsx", join(root, "scripts/build.ts")], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
  }
  mkdirSync(dir, { recursive: true });
  const cfg = spawnSync("cmake", ["-S", join(root, "bench/loopback"), "-B", dir, "-DCMAKE_BUILD_TYPE=Release", ...defs], { encoding: "utf8" });
  if (cfg.status !== 0) throw new Error(`cmake configure failed:\n${cfg.stdout}\n${cfg.stderr}`);
  const b = spawnSync("cmake", ["--build", dir, "-j2"], { encoding: "utf8" });
  if (b.status !== 0) throw new Error(`build failed:\n${b.stdout}\n${b.stderr}`);
}

// ---------------------------------------------------------------------------------------------
// Processes

/** A child process answering one line per command. */
export class Proc {
  readonly child: ChildProcessWithoutNullStreams;
  private lines: string[] = [];
  private waiters: ((l: string) => void)[] = [];
  private rl: Interface;
  private exited = false;
  stderr = "";

  constructor(readonly name: string, cmd: string, argv: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(cmd, argv, { cwd: root, env: { ...process.env, ...env } });
    this.rl = createInterface({ input: this.child.stdout });
    this.rl.on("line", (l) => {
      const w = this.waiters.shift();
      if (w) w(l); else this.lines.push(l);
    });
    this.child.stderr.on("data", (d: Buffer) => { this.stderr += d.toString(); });
    this.child.on("exit", () => {
      this.exited = true;
      for (const w of this.waiters.splice(0)) w("EXIT");
    });
  }

  next(timeoutMs = 30000): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.exited) return Promise.resolve("EXIT");
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${this.name}: no answer within ${timeoutMs} ms\n${this.stderr}`)), timeoutMs);
      this.waiters.push((x) => { clearTimeout(t); resolve(x); });
    });
  }

  /** Waits for a line starting with `prefix`, returning it. */
  async expect(prefix: string, timeoutMs = 30000): Promise<string> {
    for (;;) {
      const l = await this.next(timeoutMs);
      if (l.startsWith(prefix)) return l;
      if (l === "EXIT" || l.startsWith("FAIL")) throw new Error(`${this.name}: ${l}\n${this.stderr}`);
    }
  }

  async ask(line: string, timeoutMs = 30000): Promise<string> {
    this.child.stdin.write(line + "\n");
    return this.next(timeoutMs);
  }

  stop(): void {
    if (!this.exited) {
      this.child.stdin.end();
      setTimeout(() => { if (!this.exited) this.child.kill("SIGTERM"); }, 2000).unref();
    }
  }
}

export async function startServer(script: string): Promise<{ proc: Proc; port: number }> {
  const proc = new Proc(script, process.execPath, ["--import", "tsx", join(root, script)]);
  const l = await proc.expect("PORT");
  return { proc, port: Number(l.split(" ")[1]) };
}

/** A markdown table, first column left-aligned, the others right-aligned. */
export function table(head: string[], rows: string[][]): string {
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const fmt = (l: string[]) => "| " + l.map((x, c) => (c === 0 ? x.padEnd(w[c]) : x.padStart(w[c]))).join(" | ") + " |";
  return [fmt(head), "| " + w.map((n, c) => (c === 0 ? "-".repeat(n) : "-".repeat(n - 1) + ":")).join(" | ") + " |", ...rows.map(fmt)].join("\n");
}

