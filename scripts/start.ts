// npm start: build what is missing, start a local echo server, run the echo example against it.
//
//   npm start                   local ws:// echo server on 127.0.0.1, example connects to it
//   npm start -- <uri>          the example connects to <uri> instead (no local server)
//   npm start -- --stdin        the example reads the URI from standard input (WEBSOCKET_URI_FROM_STDIN);
//                               the local server still runs and its URI is printed for you to paste
//
// Exits with the example's status: 0 when all five echoes came back and the close handshake finished.

import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { WebSocketServer } from "ws";
import { ensureTools } from "./deps.ts";
import { root } from "./paths.ts";

const args = process.argv.slice(2);
const useStdin = args.includes("--stdin");
const givenUri = args.find((a) => !a.startsWith("--"));

function buildExample(): void {
  const dir = join(root, "build/host");
  const step = (cmd: string, a: string[]) => {
    const r = spawnSync(cmd, a, { cwd: root, stdio: "inherit" });
    if (r.status !== 0) {
      console.error(`npm start: \`${cmd} ${a.join(" ")}\` failed`);
      process.exit(1);
    }
  };
  if (!existsSync(join(dir, "CMakeCache.txt"))) step("cmake", ["-S", ".", "-B", dir, "-DCMAKE_BUILD_TYPE=RelWithDebInfo"]);
  // Incremental: rebuilds only what changed (nothing, on the second run).
  step("cmake", ["--build", dir, "-j2", "--target", "echo_example", "echo_example_stdin"]);
}

/** A plain echo server: every message goes back with its type. */
function startEchoServer(): Promise<{ uri: string; close: () => void }> {
  return new Promise((resolve) => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    wss.on("connection", (ws) => {
      ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
    wss.on("listening", () => {
      const { port } = wss.address() as { port: number };
      resolve({ uri: `ws://127.0.0.1:${port}`, close: () => wss.close() });
    });
  });
}

ensureTools(["start"]);
buildExample();

const server = givenUri ? undefined : await startEchoServer();
const uri = givenUri ?? server!.uri;
if (server) console.log(`Local echo server listening at ${server.uri}`);

const exe = join(root, "build/host/component/examples/echo", useStdin ? "echo_example_stdin" : "echo_example");
if (useStdin) console.log(`The example reads the URI from standard input${server ? ` (e.g. ${server.uri})` : ""}.`);
const child = spawn(exe, useStdin ? [] : [uri], { stdio: [useStdin ? "inherit" : "ignore", "inherit", "inherit"] });
child.on("exit", (code, signal) => {
  server?.close();
  if (signal) console.error(`echo example killed by ${signal}`);
  process.exit(code ?? 1);
});
