// Memory per client: this component's host build against the stock esp_websocket_client's budget.
//
//   npx tsx bench/memory.ts
//
// Program: bench/memory/mem_client.c (protocol in its header comment), built by bench/loopback's
// CMake project with the component's defaults (WS_ENGINE_MAX_CONNS 8, buffer_size 1024) into
//   build/bench/memory         wasm2c engine (host default)
//   build/bench/memory-wasm3   wasm3 interpreter, when a host wasm3 build exists at WASM3_ROOT
//                              (default /tmp/wasm3: source/wasm3.h, build/source/libm3.a); skipped
//                              otherwise. That libm3 has wasm3's desktop defaults (32 KiB code
//                              pages, 2000-slot function stacks).
//   build/bench/memory-wasm3-mcu
//                              wasm3 built with the defaults it picks for ESP32
//                              (m3_config_platforms.h: 1 KiB code pages, stack height 256, no
//                              cascaded opcodes, ...; MCU_DEFINES below), when WASM3_MCU_LIB names
//                              such a host libm3.a (built by the user, outside this repository, with
//                              exactly those macros); skipped otherwise. The component is compiled
//                              with the same macros.
// Servers: tests/servers/ws_server.ts (ws://) and tests/servers/tls_ws_server.ts (wss://, with
// certificates made by tests/tls/make_certs.sh into build/bench/memory/certs) when the build has
// mbedTLS (WS_PORT_HAVE_MBEDTLS) and openssl is installed.
//
// Figures:
//   heap        bench/loopback/alloc_count.c preloaded: malloc_usable_size of live blocks of every
//               malloc-family call. Per extra client = (heap with N clients - heap with 1) / (N - 1),
//               each client connected and having echoed one 1 KiB message.
//   engine slot a connection's part of the engine's linear memory (record 256 + rx window + tx
//               window + control output + event records; docs/engine-abi.md), read from the live
//               instance: the distance between two clients' records, split by the record's pointers.
//               Linear memory is allocated once for all WS_ENGINE_MAX_CONNS slots, so the heap
//               column does not see it; per-client figures add it.
//   engine      the heap taken by creating the engine instance (runtime + module + linear memory),
//               measured around the first ws_engine_uri_parse(); one-time = that minus the slots.
//   stack       high-water mark of a client task's stack on the host, over connect, handshake,
//               1 KiB and 8 KiB echoes and the close handshake: the BEGIN handler paints the free
//               stack below its frame, the FINISH handler finds the deepest overwritten byte. Host
//               x86-64 frames are larger than rv32's, so this is an approximation of the device's.
//               On the device the task stack is allocated from the heap at its configured size
//               (task_stack, default 6144 in this component), which is what a client costs.
// Stock budget (esp_websocket_client 1.8.0, ws://): rx buffer + tx buffer (2 x buffer_size), 1 KiB
// handshake buffer, 4 KiB task stack, plus its structures: about 8.4 KB per client, measured from
// its structures for esp32c3. Target: each extra ws client <= 0.7x that (<= 6 KB with its stack);
// wasm3 + engine one-time heap <= 24 KB.

import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { root } from "../scripts/paths.ts";
import { buildPrograms, have, Proc, startServer, table } from "./loopback/harness.ts";
import { spawnSync } from "node:child_process";

const STOCK = { buffers: 2 * 1024, handshake: 1024, stack: 4096, total: 8400 };
const TARGET_RATIO = 0.7;
const TARGET_EXTRA = 6000;
const TARGET_ONE_TIME = 24 * 1024;
const DEFAULT_TASK_STACK = 6144;   // WS_CLIENT_DEFAULT_TASK_STACK (component/src/ws_client.h)
const N_WS = 8;                    // = WS_ENGINE_MAX_CONNS of the default build
const N_WSS = 4;

const wasm3Root = process.env.WASM3_ROOT ?? "/tmp/wasm3";
const wasm3Lib = process.env.WASM3_LIB ?? join(wasm3Root, "build/source/libm3.a");

/** A host libm3.a built with MCU_DEFINES (optional). */
const wasm3McuLib = process.env.WASM3_MCU_LIB;
/** wasm3's own defaults for ESP32 (m3_config_platforms.h), as WASM3_MCU_LIB must be built. */
const MCU_DEFINES = ["d_m3CodePageAlignSize=1024", "d_m3MaxFunctionStackHeight=256", "d_m3CascadedOpcodes=0",
  "d_m3VerboseErrorMessages=0", "d_m3MaxConstantTableSize=64", "d_m3MaxNativeStack=0"];

interface Run {
  runtime: string; tls: boolean; maxConns: number; structSize: number;
  engine: number; heap: Map<number, number>; slot: number[]; parts: [string, number][]; stackHw: number; stackSize: number;
}

async function runMem(build: string, mode: "ws" | "wss", port: number, n: number, ca?: string): Promise<Run> {
  const argv = [mode, String(port), String(n), ...(ca ? [ca] : [])];
  const p = new Proc(`mem_client ${mode}`, join(build, "mem_client"), argv, { LD_PRELOAD: join(build, "liballoc_count.so") });
  const r: Partial<Run> = { heap: new Map(), parts: [] };
  for (;;) {
    const l = await p.next(60000);
    if (l === "EXIT") break;
    const f = l.split(" ");
    switch (f[0]) {
      case "FAIL": throw new Error(`mem_client ${argv.join(" ")}: ${l}\n${p.stderr}`);
      case "RUNTIME": Object.assign(r, { runtime: f[1], tls: f[2] === "1", maxConns: Number(f[3]), structSize: Number(f[4]) }); break;
      case "ENGINE": r.engine = Number(f[1]); break;
      case "HEAP": r.heap!.set(Number(f[1]), Number(f[2])); break;
      case "SLOT": r.slot = f.slice(1).map(Number); break;
      case "PARTS": r.parts = f.slice(1).map((kv) => { const [k, v] = kv.split("="); return [k, Number(v)] as [string, number]; }); break;
      case "STACK": r.stackHw = Number(f[1]); r.stackSize = Number(f[2]); break;
    }
  }
  if (r.stackHw === undefined || !r.slot) throw new Error(`mem_client ${argv.join(" ")}: incomplete output\n${p.stderr}`);
  return r as Run;
}

const kb = (b: number): string => `${(b / 1000).toFixed(2)} KB`;
const perExtra = (r: Run, n: number): number => (r.heap.get(n)! - r.heap.get(1)!) / (n - 1);

async function main(): Promise<void> {
  const builds: { name: string; dir: string }[] = [];
  const dir2c = join(root, "build/bench/memory");
  buildPrograms(dir2c, ["-DCMAKE_C_FLAGS=-g", "-DWASM3_ROOT="]);
  builds.push({ name: "wasm2c", dir: dir2c });
  if (existsSync(join(wasm3Root, "source/wasm3.h")) && existsSync(wasm3Lib)) {
    const dir3 = join(root, "build/bench/memory-wasm3");
    buildPrograms(dir3, ["-DCMAKE_C_FLAGS=-g", `-DWASM3_ROOT=${wasm3Root}`, `-DWASM3_LIB=${wasm3Lib}`]);
    builds.push({ name: "wasm3", dir: dir3 });
    const mcuLib = wasm3McuLib && existsSync(wasm3McuLib) ? wasm3McuLib : null;
    if (!mcuLib) console.log("(wasm3 ESP32-config rows skipped: set WASM3_MCU_LIB to a host libm3.a built with -D" +
      MCU_DEFINES.join(" -D") + ")");
    if (mcuLib) {
      const dir3m = join(root, "build/bench/memory-wasm3-mcu");
      buildPrograms(dir3m, ["-DCMAKE_C_FLAGS=-g", `-DWASM3_ROOT=${wasm3Root}`, `-DWASM3_LIB=${mcuLib}`,
        `-DWASM3_DEFINES=${MCU_DEFINES.join(";")}`]);
      builds.push({ name: "wasm3 (ESP32 config)", dir: dir3m });
    }
  }

  const ws = await startServer("tests/servers/ws_server.ts");
  const procs: Proc[] = [ws.proc];
  let tlsPort = 0;
  const certs = join(root, "build/bench/memory/certs");
  let tlsNote = "";
  if (have("openssl") && existsSync(join(root, "tests/servers/tls_ws_server.ts")) && existsSync(join(root, "tests/tls/make_certs.sh"))) {
    mkdirSync(certs, { recursive: true });
    const mk = spawnSync("sh", [join(root, "tests/tls/make_certs.sh"), certs], { encoding: "utf8" });
    if (mk.status === 0) {
      const tp = new Proc("tls_ws_server", process.execPath, ["--import", "tsx", join(root, "tests/servers/tls_ws_server.ts"), certs]);
      procs.push(tp);
      tlsPort = Number((await tp.expect("PORT main")).split(" ")[2]);
    } else {
      tlsNote = `certificates not made: ${mk.stderr.split("\n")[0]}`;
    }
  } else {
    tlsNote = "openssl, tests/servers/tls_ws_server.ts or tests/tls/make_certs.sh missing";
  }

  try {
    const runs: { build: string; ws: Run; wss?: Run; wssNote?: string }[] = [];
    for (const b of builds) {
      const w = await runMem(b.dir, "ws", ws.port, N_WS);
      let wss: Run | undefined;
      let wssNote: string | undefined;
      if (!w.tls) wssNote = "built without mbedTLS (WS_PORT_HAVE_MBEDTLS unset)";
      else if (!tlsPort) wssNote = tlsNote;
      else {
        try {
          wss = await runMem(b.dir, "wss", tlsPort, N_WSS, join(certs, "ca.crt"));
        } catch (e) {
          wssNote = `wss run failed: ${(e as Error).message.split("\n")[0]}`;
        }
      }
      runs.push({ build: b.name, ws: w, wss, wssNote });
    }
    if (builds.length === 1) console.log(`(wasm3 rows skipped: no ${join(wasm3Root, "source/wasm3.h")} and ${wasm3Lib})`);

    const r0 = runs[0].ws;
    const [stride, rec, rx, tx, ctl, ev, evCap] = r0.slot;
    console.log(`# Memory per client (host build, buffer_size 1024, WS_ENGINE_MAX_CONNS ${r0.maxConns}, heap from alloc_count.c)`);
    console.log(`\nEngine slot per connection, read from the live instance: ${stride} B = record ${rec} + rx window ${rx} + ` +
      `tx window ${tx} + control output ${ctl} + ${evCap} event records ${ev}. sizeof(struct esp_websocket_client) = ${r0.structSize} B ` +
      `(inside the heap figure; events are read in place from the slot, and an ERROR event's message is allocated only while it is posted).`);

    if (r0.parts.length) {
      const h = perExtra(r0, N_WS);
      const known = r0.parts.reduce((a, [, v]) => a + v, 0);
      console.log(`\nMalloc heap of one ws:// client (${runs[0].build}, blocks it points to, malloc_usable_size): ` +
        r0.parts.map(([k, v]) => `${k} ${v}`).join(" + ") + ` + the rest ${(h - known).toFixed(0)} (the event loop's queue and ` +
        `handler records, the thread's TLS block) = ${h.toFixed(0)} B. locks = lock, tx_lock, life_lock and the wake-up signal ` +
        `(host port: an owner word or flag each; their waits sleep on a shared static table of pthread mutex + condition variable pairs); conn = the port's connection record.`);
    }

    // ---- per extra client, ws
    console.log(`\n### Each extra ws:// client (heap = (heap with ${N_WS} clients - heap with 1) / ${N_WS - 1})\n`);
    const lines: string[][] = [];
    const targets: string[][] = [];
    for (const r of runs) {
      const h = perExtra(r.ws, N_WS);
      const slot = r.ws.slot[0];
      const noStack = h + slot;
      const withDefault = noStack + DEFAULT_TASK_STACK;
      const withStock = noStack + STOCK.stack;
      lines.push([r.build, `${h.toFixed(0)}`, `${slot}`, `${noStack.toFixed(0)}`, `${r.ws.stackHw}`,
        `${withDefault.toFixed(0)} (${(withDefault / STOCK.total).toFixed(2)}x)`, `${withStock.toFixed(0)} (${(withStock / STOCK.total).toFixed(2)}x)`]);
      targets.push([`${r.build}: extra ws client, default task stack ${DEFAULT_TASK_STACK} <= ${TARGET_RATIO}x stock (<= ${TARGET_EXTRA} B)`,
        kb(withDefault), `${(withDefault / STOCK.total).toFixed(2)}x`, withDefault <= TARGET_EXTRA ? "met" : "NOT met"]);
      targets.push([`${r.build}: extra ws client, task stack 4096 (stock's) <= ${TARGET_EXTRA} B`,
        kb(withStock), `${(withStock / STOCK.total).toFixed(2)}x`, withStock <= TARGET_EXTRA ? "met" : "NOT met"]);
    }
    lines.push(["stock 1.8.0 (esp32c3)", "-", "-", `${STOCK.total - STOCK.stack}`, "-", `${STOCK.total} (1.00x)`, `${STOCK.total} (1.00x)`]);
    console.log(table(["engine runtime", "malloc heap", "engine slot", "heap, no stack", "stack high-water (host)",
      `with task_stack ${DEFAULT_TASK_STACK} (vs stock)`, "with task_stack 4096 (vs stock)"], lines));
    console.log(`\nStock budget: ${STOCK.buffers} B rx+tx buffers + ${STOCK.handshake} B handshake buffer + ${STOCK.stack} B stack + ` +
      `its structures = ${STOCK.total} B per client (the brief's esp32c3 figure).`);

    // ---- first client and wss
    console.log(`\n### First client, and wss://\n`);
    const fl: string[][] = [];
    for (const r of runs) {
      fl.push([`${r.build} ws://`, `${r.ws.heap.get(1)! - r.ws.heap.get(0)!}`, `${perExtra(r.ws, N_WS).toFixed(0)}`, `${r.ws.stackHw}`]);
      if (r.wss) {
        fl.push([`${r.build} wss://`, `${r.wss.heap.get(1)! - r.wss.heap.get(0)!}`, `${perExtra(r.wss, N_WSS).toFixed(0)}`, `${r.wss.stackHw}`]);
      } else {
        fl.push([`${r.build} wss://`, `skipped: ${r.wssNote}`, "", ""]);
      }
    }
    console.log(table(["client", "first client heap (engine excluded)", "each extra client heap (slot excluded)", "stack high-water (host)"], fl));
    console.log("\nwss:// heap is mostly mbedTLS (Debian 2.28 defaults: 16 KiB input and output record buffers per session, " +
      "the CA chain parsed per connection); ESP-IDF's mbedTLS config (dynamic buffers, smaller content length) differs, so only the difference to ws:// is ours.");

    // ---- engine one-time
    console.log(`\n### Engine instance (one-time heap, shared by all clients)\n`);
    const el: string[][] = [];
    for (const r of runs) {
      const slots = r.ws.maxConns * r.ws.slot[0];
      // What the first client takes beyond any later one: code the runtime compiles on first use
      // (wasm3 compiles a function when it is first called) and other lazily made shared state.
      const lazy = r.ws.heap.get(1)! - r.ws.heap.get(0)! - perExtra(r.ws, N_WS);
      const oneTime = r.ws.engine + lazy - slots;
      el.push([r.build, `${r.ws.engine}`, `${lazy.toFixed(0)}`, `${r.ws.maxConns} x ${r.ws.slot[0]} = ${slots}`, `${oneTime.toFixed(0)} (${kb(oneTime)})`]);
      if (r.build.startsWith("wasm3")) {
        targets.push([`${r.build} + engine one-time heap <= ${TARGET_ONE_TIME / 1024} KiB (${TARGET_ONE_TIME} B)`, kb(oneTime),
          `${(oneTime / TARGET_ONE_TIME).toFixed(2)}x`, oneTime <= TARGET_ONE_TIME ? "met" : "NOT met"]);
        targets.push([`${r.build} + engine with its ${r.ws.maxConns} slots`, kb(oneTime + slots), "", ""]);
      }
    }
    console.log(table(["engine runtime", "instance heap at creation", "+ first client beyond an extra one", "slots inside it",
      "one-time (instance + first-use - slots)"], el));
    console.log("\nBoth runtimes hold linear memory sized to the layout (wse_layout_size, src/ws_engine.c): wasm3 through its " +
      "memoryLimit, wasm2c by shrinking the 64 KiB page its runtime allocates (so a 64 KiB block exists for a moment at " +
      "creation). wasm3's instance heap is runtime + compiled code (every function, compiled at creation; host code words " +
      "are 8 bytes, twice rv32's) + layout.");

    console.log("\n### Targets\n");
    console.log(table(["target", "measured", "vs target base", ""], targets));
  } finally {
    for (const p of procs) p.stop();
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
