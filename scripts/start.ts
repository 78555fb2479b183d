// npm start: build what is missing, start a local echo server, run the echo example against it.
//
//   npm start                   local ws:// echo server on 127.0.0.1, example connects to it
//   npm start -- --tls          local wss:// echo server with a certificate from a CA made now (in a
//                               temporary folder); the example verifies it against that CA only
//                               (SSL_CERT_FILE, which the POSIX port reads as the system CA store)
//   npm start -- <uri>          the example connects to <uri> instead (no local server)
//   npm start -- --stdin        the example reads the URI from standard input (WEBSOCKET_URI_FROM_STDIN);
//                               the local server still runs and its URI is printed for you to paste
//
// Exits with the example's status: 0 when all five echoes came back and the close handshake finished.

import { spawn, spawnSync, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebSocketServer } from "ws";
import { ensureTools } from "./deps.ts";
import { root } from "./paths.ts";

const args = process.argv.slice(2);
const useStdin = args.includes("--stdin");
const useTls = args.includes("--tls");
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

interface EchoServer { uri: string; caFile?: string; close: () => void }

/** An echo server (every message goes back with its type): ws://127.0.0.1, or with --tls
 *  wss://localhost with a certificate signed by a CA made here (tests/tls/make_certs.sh). */
function startEchoServer(tls: boolean): Promise<EchoServer> {
  return new Promise((resolve) => {
    const echo = (wss: WebSocketServer) => wss.on("connection", (ws) => {
      ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
    if (!tls) {
      const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
      echo(wss);
      wss.on("listening", () => {
        const { port } = wss.address() as { port: number };
        resolve({ uri: `ws://127.0.0.1:${port}`, close: () => wss.close() });
      });
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), "ws-start-"));
    execFileSync("sh", [join(root, "tests/tls/make_certs.sh"), dir], { stdio: "inherit" });
    const https = createServer({ cert: readFileSync(join(dir, "server.crt")), key: readFileSync(join(dir, "server.key")) });
    echo(new WebSocketServer({ server: https }));
    https.listen(0, "127.0.0.1", () => {
      const { port } = https.address() as { port: number };
      resolve({
        uri: `wss://localhost:${port}`,
        caFile: join(dir, "ca.crt"),
        close: () => { https.close(); rmSync(dir, { recursive: true, force: true }); },
      });
    });
  });
}

ensureTools(["start"]);
buildExample();

const server = givenUri ? undefined : await startEchoServer(useTls);
const uri = givenUri ?? server!.uri;
if (server) console.log(`Local echo server listening at ${server.uri}${server.caFile ? ` (CA: ${server.caFile})` : ""}`);

const exe = join(root, "build/host/component/examples/echo", useStdin ? "echo_example_stdin" : "echo_example");
if (useStdin) console.log(`The example reads the URI from standard input${server ? ` (e.g. ${server.uri})` : ""}.`);
// With --tls the example trusts exactly the CA made above: the POSIX port's system store is SSL_CERT_FILE.
const env = server?.caFile ? { ...process.env, SSL_CERT_FILE: server.caFile } : process.env;
const child = spawn(exe, useStdin ? [] : [uri], { stdio: [useStdin ? "inherit" : "ignore", "inherit", "inherit"], env });
child.on("exit", (code, signal) => {
  server?.close();
  if (signal) console.error(`echo example killed by ${signal}`);
  process.exit(code ?? 1);
});
