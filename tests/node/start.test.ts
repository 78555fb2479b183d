// `npm start` does what the README says: it runs the echo example against a local echo server and
// shows the seed's log lines, in ESP-IDF's log format, then exits 0. Also with the URI on stdin,
// and over wss:// with a CA made for the run.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { root } from "../../scripts/paths.ts";

interface Run { code: number | null; out: string }

/** Runs scripts/start.ts (what `npm start` runs after installing) and collects its output. */
function start(args: string[], onLine?: (line: string, stdin: NodeJS.WritableStream) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(root, "scripts/start.ts"), ...args], {
      cwd: root, stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    let pending = "";
    const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error(`npm start timed out:\n${out}`)); }, 120_000);
    const take = (chunk: Buffer) => {
      out += chunk.toString();
      pending += chunk.toString();
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        onLine?.(pending.slice(0, nl), child.stdin);
        pending = pending.slice(nl + 1);
      }
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("exit", (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

/** The log lines of tag WEBSOCKET, as "<level> <message>" without the timestamp. */
function wsLines(out: string): string[] {
  return [...out.matchAll(/^([EWIDV]) \(\d+\) WEBSOCKET: (.*)$/gm)].map((m) => `${m[1]} ${m[2]}`);
}

function checkSeedLines(out: string): void {
  const lines = wsLines(out);
  const connecting = lines.findIndex((l) => /^I Connecting to (ws:\/\/127\.0\.0\.1|wss:\/\/localhost):\d+\.\.\.$/.test(l));
  assert.ok(connecting >= 0, `the connection is announced:\n${out}`);
  assert.ok(lines.indexOf("I WEBSOCKET_EVENT_CONNECTED") > connecting);
  for (let i = 0; i < 5; i++) {
    const n = String(i).padStart(4, "0");
    const sent = lines.indexOf(`I Sending hello ${n}`);
    const got = lines.indexOf(`W Received=hello ${n}`);
    assert.ok(sent > 0, `sent hello ${n}`);
    assert.ok(got > sent, `received hello ${n} after sending it`);
    assert.equal(lines[got - 1], "I WEBSOCKET_EVENT_DATA");
  }
  assert.ok(lines.includes("I WEBSOCKET_EVENT_CLOSED: code=1000"), "the close handshake finished with 1000");
}

test("npm start runs the echo example against its own server and exits 0", async () => {
  const { code, out } = await start([]);
  assert.equal(code, 0, out);
  checkSeedLines(out);
});

test("npm start -- --stdin takes the URI from standard input", async () => {
  let sent = false;
  const { code, out } = await start(["--stdin"], (line, stdin) => {
    const m = /^Local echo server listening at (\S+)$/.exec(line);
    if (m && !sent) {
      sent = true;
      stdin.write(`${m[1]}\n`);
    }
  });
  assert.ok(sent, "the local server's URI was printed");
  assert.equal(code, 0, out);
  checkSeedLines(out);
});

test("npm start -- --tls runs the example over wss:// against a CA it made, verified", async () => {
  const { code, out } = await start(["--tls"]);
  assert.equal(code, 0, out);
  assert.match(out, /Local echo server listening at wss:\/\/localhost:\d+ \(CA: /);
  assert.match(out, /I \(\d+\) WEBSOCKET: Connecting to wss:\/\/localhost:\d+\.\.\./);
  checkSeedLines(out);
});

test("npm start -- <uri> reports a server that cannot be reached and exits non-zero", async () => {
  // A port nobody listens on: the example gives up after its connect wait.
  const { code, out } = await start(["ws://127.0.0.1:9/"]);
  assert.notEqual(code, 0);
  assert.match(out, /WEBSOCKET: Connecting to ws:\/\/127\.0\.0\.1:9\/\.\.\./);
  assert.match(out, /E \(\d+\) WEBSOCKET: Could not connect within/);
});
