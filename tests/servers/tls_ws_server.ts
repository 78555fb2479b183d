// TLS test servers for the wss:// tests (tests/c/test_tls_posix.c, tests/integration/test_integ_tls.c):
// Node `https` + the `ws` package, one process, three listeners on 127.0.0.1.
//
//   node --import tsx tests/servers/tls_ws_server.ts DIR
//
// DIR holds the certificates made by tests/tls/make_certs.sh. Listeners (each port chosen by the OS):
//   main    server.crt (CN/SAN localhost), no client certificate asked for
//   other   other.crt (CN/SAN other.test): for the name-check tests
//   mtls    server.crt, and a client certificate signed by ca.crt is REQUIRED
// Exits on SIGTERM, SIGINT or when stdin closes.
//
// HTTP paths (plain HTTPS requests, used by the port-level tests):
//   GET  /bytes?n=N&chunk=C   N bytes of the pattern byte[i] = (i * 7 + 3) & 0xff, written C bytes per
//                             write (each write is its own TLS record), one write per event-loop
//                             turn when C < 1024; then the response ends and the socket is closed
//   POST /echo                the request body comes back as the response body
//   POST /sink                the body is never read (fills the TCP window)
//   GET  /whoami              "peer=<CN of the client certificate, or none>"
// WebSocket paths:
//   /echo                     echo every message with its type
//   /small-records            echo, but every TLS record this socket sends carries at most 512 bytes
//   /drop?ms=M                echo, and destroy the socket M ms (default 20) after the upgrade
//                             (no Close frame, no close_notify): the client's reconnect path
//   /trickle                  send the text "trickle:0123456789abcdef" with the frame written one
//                             byte per TLS record, then a Close 1000 "bye"; echo anything received
//
// Lines on stdout:
//   PORT <listener> <n>       listening (one per listener)
//   TLS <listener> <version> <servername or ->     a TLS session was established
//   PEER <CN>                 a client certificate was presented and verified
//   CONN <path>               a WebSocket connection was accepted
//   CLOSE <code> <reason>     a WebSocket connection closed (1005 no code, 1006 no Close frame)

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import type { Duplex } from "node:stream";
import { join } from "node:path";
import { WebSocketServer, type WebSocket, type RawData } from "ws";

const dir = process.argv[2];
if (!dir) {
  process.stderr.write("usage: tls_ws_server.ts CERT_DIR\n");
  process.exit(2);
}
const file = (name: string): Buffer => readFileSync(join(dir, name));

function say(line: string): void {
  process.stdout.write(line + "\n");
}

function pattern(n: number, start = 0): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = ((start + i) * 7 + 3) & 0xff;
  return b;
}

// ---- plain HTTPS handlers ------------------------------------------------------------------

function onRequest(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? "/", "https://localhost");
  if (req.method === "GET" && url.pathname === "/bytes") {
    const n = Number(url.searchParams.get("n") ?? "0");
    const chunk = Math.max(1, Number(url.searchParams.get("chunk") ?? "16384"));
    res.writeHead(200, { "Content-Length": String(n), Connection: "close" });
    res.flushHeaders();
    let off = 0;
    const step = (): void => {
      while (off < n) {
        const len = Math.min(chunk, n - off);
        res.write(pattern(len, off));
        off += len;
        if (chunk < 1024) {
          setImmediate(step);   // one record per turn, so records also arrive in separate reads
          return;
        }
      }
      res.end();
    };
    step();
    return;
  }
  if (req.method === "POST" && url.pathname === "/echo") {
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("end", () => {
      const body = Buffer.concat(parts);
      res.writeHead(200, { "Content-Length": String(body.length) });
      res.end(body);
    });
    return;
  }
  if (req.method === "POST" && url.pathname === "/sink") {
    req.pause();   // never read: the client's writes must eventually block
    return;
  }
  if (url.pathname === "/whoami") {
    const sock = req.socket as TLSSocket;
    const cert = sock.getPeerCertificate();
    const cn = cert && cert.subject ? String(cert.subject.CN) : "none";
    const body = Buffer.from(`peer=${cn}`);
    res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": String(body.length) });
    res.end(body);
    return;
  }
  res.writeHead(404);
  res.end();
}

// ---- WebSocket -----------------------------------------------------------------------------

const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024, perMessageDeflate: false });

function asBuffer(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return data;
}

function echo(ws: WebSocket): void {
  ws.on("message", (data: RawData, isBinary: boolean) => ws.send(asBuffer(data), { binary: isBinary }));
  ws.on("close", (code: number, reason: Buffer) => say(`CLOSE ${code} ${reason.toString("utf8")}`));
}

// RFC 6455 4.2.2: Sec-WebSocket-Accept = base64(SHA-1(key + GUID)).
function acceptFor(key: string): string {
  return createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
}

// /trickle: the upgrade answered by hand, then one unmasked text frame and a Close frame written one
// byte per socket write (so one byte per TLS record), each on its own event-loop turn.
function trickle(req: IncomingMessage, socket: Duplex): void {
  const key = String(req.headers["sec-websocket-key"] ?? "");
  socket.write(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`,
  );
  const text = Buffer.from("trickle:0123456789abcdef");
  const reason = Buffer.from("bye");
  const bytes = Buffer.concat([
    Buffer.from([0x81, text.length]), text,
    Buffer.from([0x88, 2 + reason.length, 0x03, 0xe8]), reason,
  ]);
  say("CONN /trickle");
  let i = 0;
  const step = (): void => {
    if (i < bytes.length && !socket.destroyed) {
      socket.write(bytes.subarray(i, i + 1));
      i++;
      setImmediate(step);
    }
  };
  step();
  // The client's Close reply ends the handshake: the server closes TCP first (RFC 6455 7.1.1).
  socket.on("data", () => {
    if (i >= bytes.length) socket.end();
  });
  socket.on("error", () => {});
  socket.on("end", () => socket.end());
}

function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const path = new URL(req.url ?? "/", "https://localhost").pathname;
  if (path === "/trickle") {
    trickle(req, socket);
    return;
  }
  if (path !== "/echo" && path !== "/small-records" && path !== "/drop") {
    socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    return;
  }
  if (path === "/small-records") {
    (socket as TLSSocket).setMaxSendFragment(512);   // the smallest Node allows
  }
  wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
    say(`CONN ${req.url}`);
    echo(ws);
    if (path === "/drop") {
      const ms = Number(new URL(req.url ?? "/", "https://localhost").searchParams.get("ms") ?? "20");
      setTimeout(() => ws.terminate(), ms);
    }
  });
}

// ---- listeners -----------------------------------------------------------------------------

function listener(name: string, certFile: string, keyFile: string, requireClient: boolean): Server {
  const server = createServer(
    {
      cert: file(certFile),
      key: file(keyFile),
      ca: requireClient ? file("ca.crt") : undefined,
      requestCert: requireClient,
      rejectUnauthorized: requireClient,
    },
    onRequest,
  );
  server.on("upgrade", onUpgrade);
  server.on("secureConnection", (sock: TLSSocket) => {
    const sni = (sock as TLSSocket & { servername?: string | false }).servername || "-";
    say(`TLS ${name} ${sock.getProtocol()} ${sni}`);
    if (requireClient && sock.authorized) {
      const cert = sock.getPeerCertificate();
      say(`PEER ${cert.subject ? cert.subject.CN : "?"}`);
    }
  });
  server.on("tlsClientError", () => {});   // failed handshakes are what several tests expect
  server.listen(0, "127.0.0.1", () => {
    const addr = server.address();
    if (addr && typeof addr === "object") say(`PORT ${name} ${addr.port}`);
  });
  return server;
}

const servers = [
  listener("main", "server.crt", "server.key", false),
  listener("other", "other.crt", "other.key", false),
  listener("mtls", "server.crt", "server.key", true),
];

function shutdown(): void {
  for (const s of servers) s.close();
  process.exit(0);
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
process.stdin.on("end", shutdown);
process.stdin.on("close", shutdown);
process.stdin.on("error", shutdown);
process.stdin.resume();
