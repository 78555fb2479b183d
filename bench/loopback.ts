// Loopback echo, end to end: this component's host client against a libwebsockets client, the `ws`
// Node client and raw TCP (the floor), each a separate process talking to a server process over
// 127.0.0.1.
//
//   npx tsx bench/loopback.ts [--quick] [--no-profile]
//
// Servers: tests/servers/ws_server.ts (`ws`, path /echo echoes every message whole) for the three
// WebSocket clients; bench/loopback/tcp_echo_server.ts (same Node process style, no WebSocket:
// 4-byte length + payload, echoed whole) for raw TCP. Clients (bench/loopback/, built with CMake
// into build/bench/loopback against the component's host library, Release, wasm2c engine):
//   raw TCP      tcp_client.c: blocking socket, one send() per message
//   ws           ws_client.ts: the `ws` package in its own Node process
//   lws          lws_client.c: libwebsockets 4.1 (Debian), single-threaded lws_service loop
//   ours         ours_client.c: esp_websocket_client API, buffer_size 1024 (the default), the
//                application thread sends and waits for the DATA handler (the client task)
//   ours, send in handler   the DATA handler sends the next message (no thread hand-off per
//                message; pipelined: the application sends the first DEPTH, the handler one per echo)
// Every echo is checked (length, sequence number, content); a wrong echo fails the section.
//
// Metrics: sequential round trips/s (send one, wait for its echo) and pipelined MB/s of echoed
// payload (DEPTH messages kept in flight) at 16 B, 1 KiB, 64 KiB. Method as bench/v8.ts: each
// client process stays connected; one sample = one timed run of ~SAMPLE_MS on one client, samples
// taken round-robin across the rows (A, B, C, ..., A, B, C, ...) after one discarded warm-up run
// each, so drift and other load hit all rows alike. Reported: median, spread (IQR / median, shown
// as ± half of it), ratios against raw TCP and each peer.
//
// Heap per connection (ours and lws): bench/loopback/alloc_count.c preloaded (LD_PRELOAD; counts
// malloc_usable_size of live blocks of every malloc-family call of the process); the client opens
// 1, then 16 connections to the same server; per extra connection = (heap at 16 - heap at 1) / 15.
// For ours the engine slot of each connection (in the engine's linear memory, allocated once for
// WS_ENGINE_MAX_CONNS = 16 slots in this build) is added: it is per-connection memory that the
// one-time instance allocation hides.
//
// Profile: perf record (cpu-clock, call graphs) of ours_client over a sequential 1 KiB run and a
// pipelined 64 KiB run, top symbols by self time; strace -c -f syscall counts per message for ours
// and lws. Both only show where time goes; they are not part of the figures above.

import { spawnSync, execFileSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { root } from "../scripts/paths.ts";
import { buildPrograms, have, Proc, startServer, table } from "./loopback/harness.ts";

const args = new Set(process.argv.slice(2));
const QUICK = args.has("--quick");
const SAMPLES = QUICK ? 5 : 15;
const SAMPLE_MS = QUICK ? 100 : 120;
const SIZES = [16, 1024, 65536];
/** Messages in flight in the pipelined runs: ~256 KiB in flight at 64 KiB, 64 messages below. */
const depthFor = (size: number): number => Math.max(4, Math.min(64, Math.floor((256 * 1024) / size)));
const BUILD = join(root, "build/bench/loopback");

// ---------------------------------------------------------------------------------------------
// Statistics and tables (as bench/v8.ts)

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo);
}
const median = (xs: number[]): number => quantile(xs, 0.5);

interface Stat { med: number; spread: number }
function stat(xs: number[]): Stat {
  const m = median(xs);
  return { med: m, spread: m > 0 ? (quantile(xs, 0.75) - quantile(xs, 0.25)) / m : 0 };
}

const sizeName = (n: number): string => (n >= 1024 ? `${n >> 10} KiB` : `${n} B`);
const fmtRate = (v: number): string => (v >= 10000 ? `${(v / 1000).toFixed(1)}k` : v >= 1000 ? `${(v / 1000).toFixed(2)}k` : v.toFixed(0));
const fmtMB = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const fmtSpread = (s: Stat): string => `±${(s.spread * 50).toFixed(0)}%`;
const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(2)}x` : "-");

// ---------------------------------------------------------------------------------------------
// The runs

interface Row { key: string; name: string; proc: Proc; pipe: boolean }

async function sample(row: Row, size: number, pipe: boolean): Promise<number> {
  const line = pipe ? `pipe ${size} ${depthFor(size)} ${SAMPLE_MS}` : `rtt ${size} ${SAMPLE_MS}`;
  const ans = await row.proc.ask(line, SAMPLE_MS + 30000);
  const m = /^OK (\d+) (\d+)$/.exec(ans);
  if (!m) throw new Error(`${row.name}: "${line}" answered "${ans}"\n${row.proc.stderr}`);
  const n = Number(m[1]);
  const ns = Number(m[2]);
  return pipe ? (n * size * 1000) / ns /* bytes per µs = MB/s */ : (n * 1e9) / ns;
}

async function measure(rows: Row[], size: number, pipe: boolean): Promise<Map<string, Stat>> {
  const active = rows.filter((r) => !pipe || r.pipe);
  for (const r of active) await sample(r, size, pipe);   // warm-up, discarded
  const got = new Map<string, number[]>(active.map((r) => [r.key, []]));
  for (let s = 0; s < SAMPLES; s++) {
    for (const r of active) got.get(r.key)!.push(await sample(r, size, pipe));
  }
  return new Map(active.map((r) => [r.key, stat(got.get(r.key)!)]));
}

function printMetric(title: string, rows: Row[], res: Map<number, Map<string, Stat>>, fmt: (v: number) => string, unit: string): void {
  console.log(`\n### ${title}\n`);
  const head = ["client"];
  for (const s of SIZES) head.push(`${sizeName(s)} ${unit}`, "spread", "vs raw TCP");
  const lines: string[][] = [];
  for (const r of rows) {
    if (!SIZES.every((s) => res.get(s)!.has(r.key))) continue;
    const l = [r.name];
    for (const s of SIZES) {
      const st = res.get(s)!.get(r.key)!;
      l.push(fmt(st.med), fmtSpread(st), ratio(st.med, res.get(s)!.get("tcp")!.med));
    }
    lines.push(l);
  }
  console.log(table(head, lines));
}

/** ours vs each other row, per size: the ratio table. */
function printRatios(title: string, rows: Row[], res: Map<number, Map<string, Stat>>, ours: string): void {
  console.log(`\n${title}\n`);
  const peers = rows.filter((r) => r.key !== ours && SIZES.every((s) => res.get(s)!.has(r.key)));
  const head = ["size", ...peers.map((p) => `vs ${p.name}`)];
  const lines = SIZES.map((s) => [sizeName(s), ...peers.map((p) => ratio(res.get(s)!.get(ours)!.med, res.get(s)!.get(p.key)!.med))]);
  console.log(table(head, lines));
}

// ---------------------------------------------------------------------------------------------
// Heap per connection

interface Heap { h0: number; h1: number; h16: number; context?: number; slot?: number[] }

async function heapOf(name: string, exe: string, port: number): Promise<Heap> {
  const p = new Proc(name, exe, ["heap", String(port), "1", "16"], { LD_PRELOAD: join(BUILD, "liballoc_count.so") });
  const h: Partial<Heap> = {};
  for (;;) {
    const l = await p.next(60000);
    if (l === "EXIT") break;
    if (l.startsWith("FAIL")) throw new Error(`${name} heap: ${l}\n${p.stderr}`);
    const f = l.split(" ");
    if (f[0] === "HEAP") {
      if (f[1] === "0") h.h0 = Number(f[2]);
      if (f[1] === "1") h.h1 = Number(f[2]);
      if (f[1] === "16") h.h16 = Number(f[2]);
    } else if (f[0] === "CONTEXT") {
      h.context = Number(f[1]);
    } else if (f[0] === "SLOT") {
      h.slot = f.slice(1).map(Number);
    }
  }
  if (h.h0 === undefined || h.h1 === undefined || h.h16 === undefined) throw new Error(`${name} heap: incomplete output\n${p.stderr}`);
  return h as Heap;
}

// ---------------------------------------------------------------------------------------------
// Profile

function perfProfile(port: number, cmdLine: string, label: string): void {
  const out = join(BUILD, `perf-${label}.data`);
  const r = spawnSync("perf", ["record", "-q", "-e", "cpu-clock", "-F", "4000", "-g", "-o", out, "--",
    join(BUILD, "ours_client"), "run", String(port)], { input: `${cmdLine}\nquit\n`, encoding: "utf8", cwd: root });
  if (r.status !== 0 || !existsSync(out)) {
    console.log(`(perf record failed: ${(r.stderr || "").split("\n")[0]})`);
    return;
  }
  const ok = /OK (\d+) (\d+)/.exec(r.stdout);
  const rep = spawnSync("perf", ["report", "-i", out, "--no-children", "--sort", "dso,symbol", "--stdio", "-g", "none",
    "--percent-limit", "1.5"], { encoding: "utf8", maxBuffer: 64 << 20 });
  const lines = rep.stdout.split("\n").filter((l) => /^\s+\d+\.\d+%/.test(l)).slice(0, 18)
    .map((l) => {
      const m = /^\s+([\d.]+%)\s+(\S+)\s+\[(.)\]\s+(.*)$/.exec(l);
      return m ? [m[4].replace(/(\s+-)+\s*$/, "").trim().slice(0, 60), m[2], m[3] === "k" ? "kernel" : "user", m[1]] : [l.trim(), "", "", ""];
    });
  const byObj = spawnSync("perf", ["report", "-i", out, "--no-children", "--sort", "dso", "--stdio", "-g", "none", "--percent-limit", "0.5"],
    { encoding: "utf8", maxBuffer: 64 << 20 }).stdout.split("\n").filter((l) => /^\s+\d+\.\d+%/.test(l))
    .map((l) => l.trim().split(/\s+/)).map((f) => `${f[1]} ${f[0]}`).join(", ");
  const per = ok ? ` (${ok[1]} messages in ${(Number(ok[2]) / 1e6).toFixed(0)} ms)` : "";
  console.log(`\nperf, ours_client \`${cmdLine}\`${per}: self time by symbol, >= 1.5% (both threads and the kernel)\n`);
  console.log(table(["symbol", "object", "space", "self"], lines));
  console.log(`\nBy object: ${byObj}`);
  rmSync(out, { force: true });
}

/** Syscalls per echoed message from strace -c -f over one run. */
function syscallsPerMessage(name: string, argv: string[], cmdLine: string): Map<string, number> | null {
  const sum = join(BUILD, `strace-${name}.txt`);
  const r = spawnSync("strace", ["-f", "-c", "-o", sum, ...argv], { input: `${cmdLine}\nquit\n`, encoding: "utf8", cwd: root });
  const ok = /OK (\d+) (\d+)/.exec(r.stdout ?? "");
  if (!ok || !existsSync(sum)) return null;
  const n = Number(ok[1]);
  const text = execFileSync("cat", [sum], { encoding: "utf8" });
  rmSync(sum, { force: true });
  const m = new Map<string, number>();
  for (const l of text.split("\n")) {
    const f = l.trim().split(/\s+/);
    // % time, seconds, usecs/call, calls, [errors], syscall
    if (f.length >= 5 && /^\d/.test(f[0]) && f[f.length - 1] !== "total") {
      const calls = Number(f[3]);
      m.set(f[f.length - 1], calls / n);
    }
  }
  return m;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  buildPrograms(BUILD, ["-DCMAKE_C_FLAGS=-g -DWS_ENGINE_MAX_CONNS=16", "-DWASM3_ROOT="]);
  const hasLws = existsSync(join(BUILD, "lws_client"));
  console.log(`# Loopback echo over 127.0.0.1, client and server in separate processes`);
  console.log(`${SAMPLES} samples of ~${SAMPLE_MS} ms per row, round-robin, after one warm-up run each; ` +
    `pipelined depth ${SIZES.map((s) => `${depthFor(s)} at ${sizeName(s)}`).join(", ")}. ` +
    `Our client: host build (wasm2c engine, Release, -g), buffer_size 1024 (default), WS_ENGINE_MAX_CONNS 16; ` +
    `the POSIX port's 16 KiB read-ahead (client task stack) and 16 KiB write batch (sender's stack, MSG_MORE between batches), ` +
    `so a 64 KiB message is 5 reads and 5 writes of 1 KiB frames.`);

  const ws = await startServer("tests/servers/ws_server.ts");
  const tcp = await startServer("bench/loopback/tcp_echo_server.ts");
  const procs: Proc[] = [ws.proc, tcp.proc];
  try {
    const mk = (key: string, name: string, cmd: string, argv: string[], pipe = true): Row => {
      const proc = new Proc(name, cmd, argv);
      procs.push(proc);
      return { key, name, proc, pipe };
    };
    const rows: Row[] = [
      mk("tcp", "raw TCP (C)", join(BUILD, "tcp_client"), [String(tcp.port)]),
      mk("ws", "ws (Node)", process.execPath, ["--import", "tsx", join(root, "bench/loopback/ws_client.ts"), String(ws.port)]),
      ...(hasLws ? [mk("lws", "libwebsockets (C)", join(BUILD, "lws_client"), ["run", String(ws.port)])] : []),
      mk("ours", "ours (app task sends)", join(BUILD, "ours_client"), ["run", String(ws.port)]),
      mk("oursh", "ours (send in handler)", join(BUILD, "ours_client"), ["run", String(ws.port), "handler"]),
    ];
    for (const r of rows) await r.proc.expect("READY");
    if (!hasLws) console.log("(libwebsockets not found: its rows are missing)");

    const rtt = new Map<number, Map<string, Stat>>();
    const mbs = new Map<number, Map<string, Stat>>();
    for (const size of SIZES) rtt.set(size, await measure(rows, size, false));
    for (const size of SIZES) mbs.set(size, await measure(rows, size, true));

    printMetric("Sequential round trips per second (send one, wait for its echo)", rows, rtt, fmtRate, "rt/s");
    printRatios("Round trips/s, ours (app task sends) against each row:", rows, rtt, "ours");
    printRatios("Round trips/s, ours (send in handler) against each row:", rows, rtt, "oursh");
    printMetric("Pipelined echo, MB/s of payload echoed", rows, mbs, fmtMB, "MB/s");
    printRatios("Pipelined MB/s, ours (app task sends) against each row:", rows, mbs, "ours");
    printRatios("Pipelined MB/s, ours (send in handler) against each row:", rows, mbs, "oursh");

    // ---- heap per connection
    console.log("\n### Heap per connection (alloc_count.c preloaded; malloc_usable_size of live blocks)\n");
    const heaps: [string, Heap][] = [["ours", await heapOf("ours", join(BUILD, "ours_client"), ws.port)]];
    if (hasLws) heaps.push(["libwebsockets", await heapOf("lws", join(BUILD, "lws_client"), ws.port)]);
    const hl: string[][] = [];
    let oursPer = 0;
    let lwsPer = 0;
    for (const [name, h] of heaps) {
      const extra = (h.h16 - h.h1) / 15;
      const slot = h.slot ? h.slot[0] : 0;
      const per = extra + slot;
      if (name === "ours") oursPer = per; else lwsPer = per;
      hl.push([name, `${h.h1 - h.h0}`, `${extra.toFixed(0)}`, slot ? `${slot}` : "-", `${per.toFixed(0)} (${(per / 1024).toFixed(2)} KiB)`,
        `${((h.h16 - h.h0) / 16).toFixed(0)}`, h.context !== undefined ? `${h.context}` : "in the first connection"]);
    }
    console.log(table(["client", "first connection (incl. one-time)", "malloc per extra connection", "engine slot",
      "heap per connection", "average at 16", "context (before any connection)"], hl));
    const ours = heaps[0][1];
    if (ours.slot) {
      const [stride, rec, rx, tx, ctl, ev, evCap] = ours.slot;
      console.log(`\nEngine slot of one connection (read from the live instance): ${stride} B = record ${rec} + rx window ${rx} + ` +
        `tx window ${tx} + control output ${ctl} + ${evCap} event records ${ev}. It lives in the engine's linear memory, ` +
        `allocated once for all slots, so the malloc column does not see it; "heap per connection" adds it.`);
    }

    // ---- targets
    console.log("\n### Targets\n");
    const tl: string[][] = [];
    for (const s of SIZES) {
      const r = rtt.get(s)!;
      const v = r.get("ours")!.med / r.get("tcp")!.med;
      tl.push([`round trips/s ${sizeName(s)} >= 0.9x raw TCP`, `${v.toFixed(2)}x`, v >= 0.9 ? "met" : "NOT met"]);
    }
    for (const s of SIZES) {
      const m = mbs.get(s)!;
      for (const peer of ["ws", "lws"]) {
        if (!m.has(peer)) continue;
        const v = m.get("ours")!.med / m.get(peer)!.med;
        tl.push([`pipelined MB/s ${sizeName(s)} >= 1.0x ${peer}`, `${v.toFixed(2)}x`, v >= 1 ? "met" : "NOT met"]);
      }
    }
    tl.push(["heap per connection <= 4 KiB (malloc + engine slot)", `${(oursPer / 1024).toFixed(2)} KiB`, oursPer <= 4096 ? "met" : "NOT met"]);
    tl.push(["heap per connection, malloc only (slot excluded)", `${(((ours.h16 - ours.h1) / 15) / 1024).toFixed(2)} KiB`, (ours.h16 - ours.h1) / 15 <= 4096 ? "met" : "NOT met"]);
    if (lwsPer) tl.push(["(libwebsockets, for reference)", `${(lwsPer / 1024).toFixed(2)} KiB`, ""]);
    console.log(table(["target", "ours", ""], tl));

    // ---- profile
    if (!args.has("--no-profile")) {
      console.log("\n### Where our client's time goes");
      if (have("perf")) {
        perfProfile(ws.port, `rtt 1024 ${QUICK ? 600 : 1500}`, "rtt1k");
        perfProfile(ws.port, `pipe 65536 ${depthFor(65536)} ${QUICK ? 600 : 1500}`, "pipe64k");
      } else {
        console.log("(perf not installed: no profile)");
      }
      if (have("strace")) {
        const cases: [string, string][] = [["rtt 1024 500", "sequential 1 KiB"], [`pipe 65536 ${depthFor(65536)} 500`, "pipelined 64 KiB"], [`pipe 16 ${depthFor(16)} 500`, "pipelined 16 B"]];
        for (const [cmdLine, label] of cases) {
          const who: [string, string[]][] = [
            ["ours", [join(BUILD, "ours_client"), "run", String(ws.port)]],
            ...(hasLws ? [["lws", [join(BUILD, "lws_client"), "run", String(ws.port)]] as [string, string[]]] : []),
            ["tcp", [join(BUILD, "tcp_client"), String(tcp.port)]],
          ];
          const res = who.map(([n, a]) => [n, syscallsPerMessage(n, a, cmdLine)] as const);
          const names = new Set<string>();
          for (const [, m] of res) if (m) for (const [k, v] of m) if (v >= 0.05) names.add(k);
          const order = [...names].sort((a, b) => (res[0][1]?.get(b) ?? 0) - (res[0][1]?.get(a) ?? 0));
          console.log(`\nSyscalls per echoed message, ${label} (strace -c -f over one run; connection setup included but negligible):\n`);
          const lines = order.map((k) => [k, ...res.map(([, m]) => (m?.get(k) ?? 0).toFixed(2))]);
          lines.push(["total", ...res.map(([, m]) => (m ? [...m.values()].reduce((a, b) => a + b, 0) : 0).toFixed(2))]);
          console.log(table(["syscall", ...res.map(([n]) => n)], lines));
        }
      }
    }
  } finally {
    for (const p of procs) p.stop();
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
