// The committed ABI header and docs/engine-abi.md agree with what engine.wasm really exports and
// does. `npm test` rebuilds build/engine.wasm first; the committed header must describe that module.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { root } from "../../scripts/paths.ts";

const header = readFileSync(join(root, "component/generated/ws_engine_abi.h"), "utf8");
const doc = readFileSync(join(root, "docs/engine-abi.md"), "utf8");
const wasm = readFileSync(join(root, "build/engine.wasm"));

function define(name: string): number {
  const m = new RegExp(`^#define WSE_${name} (?:\\()?([0-9a-fx]+)u?`, "mi").exec(header);
  assert.ok(m, `WSE_${name} is in the header`);
  return Number(m[1]);
}

const headerExports = [...header.matchAll(/X\((\w+), "(\w)\((\w*)\)"\)/g)].map((m) => ({
  name: m[1], result: m[2], params: m[3].length,
}));

async function instance(): Promise<Record<string, any>> {
  const { instance } = await WebAssembly.instantiate(wasm, {});
  return instance.exports as Record<string, any>;
}

test("the header lists exactly the module's function exports, with their arity", async () => {
  const mod = new WebAssembly.Module(wasm);
  const fns = WebAssembly.Module.exports(mod).filter((e) => e.kind === "function").map((e) => e.name);
  assert.deepEqual(headerExports.map((e) => e.name).sort(), [...fns].sort());
  assert.equal(define("EXPORT_COUNT"), fns.length);
  const ex = await instance();
  for (const e of headerExports) assert.equal(ex[e.name].length, e.params, `${e.name} takes ${e.params} arguments`);
});

test("the module imports nothing, so any runtime can load it without host functions", () => {
  assert.deepEqual(WebAssembly.Module.imports(new WebAssembly.Module(wasm)), []);
});

test("docs/engine-abi.md documents every export and no export that does not exist", () => {
  const table = doc.slice(doc.indexOf("## Exports"), doc.indexOf("\n## ", doc.indexOf("## Exports") + 5));
  const documented = new Set([...table.matchAll(/`(\w+)`(?:, `(\w+)`)?\s*\|/g)].flatMap((m) => [m[1], m[2]]).filter(Boolean));
  for (const e of headerExports) assert.ok(documented.has(e.name), `${e.name} is documented`);
  for (const d of documented) assert.ok(headerExports.some((e) => e.name === d), `${d} is exported`);
});

test("every error's close code in the header is the one the engine sends", async () => {
  const ex = await instance();
  const rows = [...header.matchAll(/^\s+\{(\d+), (\d+), "(\w+)", "([^"]*)"\},$/gm)];
  assert.ok(rows.length >= 50, "the error table is in the header");
  for (const [, code, close, name, message] of rows) {
    assert.equal(ex.err_close_code(Number(code)), Number(close), `close code of ${name}`);
    assert.ok(message.length > 0, `${name} has a message`);
  }
  // A protocol error and a UTF-8 error, spelled out, so a shifted table cannot pass.
  assert.match(header, /\{40, 1002, "RSV", /);
  assert.match(header, /\{60, 1007, "UTF8", /);
});

test("the record offsets in the header are where the engine keeps its I/O block", async () => {
  const ex = await instance();
  const end = ex.init(3, 1000, 9, 300);
  assert.ok(end > 0, "init succeeds");
  const mem = new DataView(ex.memory.buffer);
  const rec = ex.conn(2);
  assert.ok(rec > 0);
  const field = (name: string) => mem.getUint32(rec + define(`C_${name}`), true);
  assert.equal(field("RX_CAP"), 1000 + 16);
  assert.equal(field("TX_CAP"), 1000);
  assert.equal(field("EV_CAP"), 9);
  assert.equal(field("EV_COUNT"), 0);
  assert.ok(field("RX_PTR") > rec && field("TX_PTR") > field("RX_PTR") && field("EV_PTR") > field("TX_PTR"));
  assert.ok(field("EV_PTR") + 9 * define("EV_SIZE") <= end, "the regions lie inside the layout");
  assert.equal(ex.conn_reset(2), 0);
  assert.equal(field("STATE"), define("STATE_IDLE"));
  assert.equal(mem.getUint32(rec + define("C_CFG_HS_LIMIT"), true), define("DEF_HS_LIMIT"));
  assert.equal(mem.getUint32(rec + define("C_CFG_PING_MS"), true), define("DEF_PING_MS"));
  // A misuse returns -code from the table.
  assert.equal(ex.conn(3), -define("ERR_BAD_SLOT"));
});

test("event records decode with the header's constants: full records and the short DATA form", async () => {
  const ex = await instance();
  assert.ok(ex.init(1, 1000, 16, 300) > 0);
  const rec = ex.conn(0);
  assert.equal(ex.conn_reset(0), 0);
  const u8 = () => new Uint8Array(ex.memory.buffer);
  const u32 = (a: number) => new DataView(ex.memory.buffer).getUint32(a, true);
  const rx = u32(rec + define("C_RX_PTR"));
  const hostPath = Buffer.from("h/");
  u8().set(Buffer.alloc(16, 7), rx);
  u8().set(hostPath, rx + 16);
  assert.ok(ex.hs_request(0, 80, 1, 1, 0, 0, 0, 0) > 0, "request built");
  const accept = Buffer.from(u8().subarray(rec + define("C_HS_AREA"), rec + define("C_HS_AREA") + 28)).toString("latin1");
  const resp = Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`, "latin1");
  const frames = Buffer.from([0x82, 3, 1, 2, 3, 0x81, 2, 0x68, 0x69, 0x89, 1, 0x70, 0x02, 1, 0x41]);
  u8().set(Buffer.concat([resp, frames]), rx);
  const n = ex.recv(0, resp.length + frames.length, 0, 1, 2);
  const ev = u32(rec + define("C_EV_PTR"));
  const full = define("EV_FULL");
  const decode = (i: number) => {
    const r = ev + i * define("EV_SIZE");
    const kind = u32(r + define("EV_KIND"));
    if ((kind & full) === 0) {
      const f = u8();
      return { type: define("EV_DATA"), opcode: f[kind] & 0xf, fin: f[kind] >> 7, ptr: kind + 2, len: f[kind + 1], a: f[kind + 1], b: 0, code: 0, short: true };
    }
    return { type: (kind >>> 8) & 0xff, opcode: kind & 0xf, fin: (kind & define("EV_FIN")) ? 1 : 0, ptr: u32(r + define("EV_PTR")),
      len: u32(r + define("EV_LEN")), a: u32(r + define("EV_A")), b: u32(r + define("EV_B")), code: (kind >>> 16) & 0x7fff, short: false };
  };
  const evs = Array.from({ length: n }, (_, i) => decode(i));
  const at = rx + resp.length;
  assert.deepEqual(evs.map((e) => e.type), [...Array(3).fill(define("EV_HEADER")), define("EV_OPEN"),
    define("EV_DATA"), define("EV_DATA"), define("EV_DATA"), define("EV_DATA")]);
  assert.equal(evs[0].short, false);
  // Two whole small frames: short records pointing at their frames.
  assert.deepEqual(evs[4], { type: define("EV_DATA"), opcode: 2, fin: 1, ptr: at + 2, len: 3, a: 3, b: 0, code: 0, short: true });
  assert.deepEqual(evs[5], { type: define("EV_DATA"), opcode: 1, fin: 1, ptr: at + 7, len: 2, a: 2, b: 0, code: 0, short: true });
  // A PING and a non-final BINARY frame go the full way.
  assert.deepEqual(evs[6], { type: define("EV_DATA"), opcode: 9, fin: 1, ptr: at + 11, len: 1, a: 1, b: 0, code: 0, short: false });
  assert.deepEqual(evs[7], { type: define("EV_DATA"), opcode: 2, fin: 0, ptr: at + 14, len: 1, a: 1, b: 0, code: 0, short: false });
  // An ERROR record carries code in the kind word.
  u8().set([0xc2, 0], rx);
  assert.equal(ex.recv(0, 2, 0, 1, 2), 1);
  const err = decode(0);
  assert.equal(err.type, define("EV_ERROR"));
  assert.equal(err.code, define("ERR_RSV"));
  assert.equal(err.a, 1002);
});
