// WebSocket test server for the C integration tests (tests/integration), built on the `ws` package.
//
//   node --import tsx tests/servers/ws_server.ts
//
// Listens on 127.0.0.1 port 0 and prints `PORT <n>` once listening. Exits on SIGTERM, SIGINT or
// when its stdin closes (so it never outlives the test that started it).
//
// The request path chooses the behaviour:
//   /echo                     echo every message with its type (a fragmented message comes back whole)
//   /close?code=C&reason=R    echo the first message, then close with C and R
//   /ping?payload=P           ping the client with P on connect; a text "ping:X" asks for another
//                             ping with X; each PONG received is answered with the text "pong:<payload>"
//   /nopong                   echo, but never answer the client's PINGs
//   /404                      answer the upgrade with HTTP 404
//   /redirect?to=T            answer 302, Location T (a T starting with '/' becomes ws://127.0.0.1:<port>T;
//                             add &rel=1 to send T as given)
//   /redirect-loop            answer 302 with a Location pointing at /redirect-loop again
//   /subproto                 select "chat" if offered, else the first offered subprotocol; echo
//   /subproto-bad             answer with the subprotocol "bogus", which no test offers
//   /record                   echo (every path reports the received close, see below)
//   /drop?after=N             echo N messages, then destroy the TCP socket (no close frame)
//   /headers[?drop=N]         add a Set-Cookie header, send {"url":..., "headers":{...}} as the first
//                             text message, then echo (and destroy the socket after N echoes if drop=N)
//   anything else             HTTP 404
//
// Lines on stdout, one event each, for the tests to wait on:
//   PORT <n>                          listening
//   CONN <path-and-query>             a WebSocket connection was accepted
//   HTTP <status> <path-and-query>    an upgrade request answered with a plain HTTP status
//   PING <payload>                    a PING from the client arrived (payload as text)
//   PONG <payload>                    a PONG from the client arrived
//   CLOSE <code> <reason>             the connection closed: the code and reason of the client's
//                                     Close frame (1005 = Close without a code, 1006 = no Close frame)

import { createServer, type IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket, type RawData } from "ws";

function say(line: string): void {
  process.stdout.write(line + "\n");
}

function intParam(url: URL, name: string, fallback: number): number {
  const v = url.searchParams.get(name);
  if (v === null || v === "") return fallback;
  const n = Number(v);
  return Number.isInteger(n) ? n : fallback;
}

function asText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString("utf8");
  return data.toString("utf8");
}

function rejectUpgrade(socket: Duplex, status: number, reason: string, extra: string[] = []): void {
  const body = `${status} ${reason}\n`;
  const head = [
    `HTTP/1.1 ${status} ${reason}`,
    "Connection: close",
    "Content-Type: text/plain",
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...extra,
  ];
  socket.end(head.join("\r\n") + "\r\n\r\n" + body);
}

// Servers that differ only in options; all run in noServer mode behind one HTTP server.
const common = { noServer: true, maxPayload: 64 * 1024 * 1024, perMessageDeflate: false } as const;
const plain = new WebSocketServer({ ...common });
const noPong = new WebSocketServer({ ...common, autoPong: false });
const subproto = new WebSocketServer({
  ...common,
  handleProtocols: (offered: Set<string>) => (offered.has("chat") ? "chat" : offered.values().next().value ?? false),
});
const badSubproto = new WebSocketServer({ ...common });
badSubproto.on("headers", (headers: string[]) => {
  headers.push("Sec-WebSocket-Protocol: bogus");
});
const withCookie = new WebSocketServer({ ...common });
withCookie.on("headers", (headers: string[]) => {
  headers.push("Set-Cookie: session=integ42; Path=/");
});

/** Wires up the reporting every connection gets: PING/PONG/CLOSE lines. */
function report(ws: WebSocket): void {
  ws.on("ping", (data: Buffer) => say(`PING ${data.toString("utf8")}`));
  ws.on("pong", (data: Buffer) => say(`PONG ${data.toString("utf8")}`));
  ws.on("close", (code: number, reason: Buffer) => say(`CLOSE ${code} ${reason.toString("utf8")}`));
  ws.on("error", (err: Error) => say(`WSERROR ${err.message.replace(/\s+/g, " ")}`));
}

/** Echo with the original type. */
function echo(ws: WebSocket, data: RawData, isBinary: boolean): void {
  if (ws.readyState === ws.OPEN) ws.send(data as Buffer, { binary: isBinary });
}

function onConnection(ws: WebSocket, req: IncomingMessage, url: URL): void {
  say(`CONN ${url.pathname}${url.search}`);
  report(ws);
  switch (url.pathname) {
    case "/close": {
      const code = intParam(url, "code", 1000);
      const reason = url.searchParams.get("reason") ?? "";
      ws.once("message", (data, isBinary) => {
        echo(ws, data, isBinary);
        ws.close(code, reason);
      });
      return;
    }
    case "/ping": {
      ws.ping(url.searchParams.get("payload") ?? "hi");
      ws.on("pong", (data: Buffer) => {
        if (ws.readyState === ws.OPEN) ws.send(`pong:${data.toString("utf8")}`);
      });
      ws.on("message", (data, isBinary) => {
        const text = isBinary ? "" : asText(data);
        if (text.startsWith("ping:")) ws.ping(text.slice(5));
        else echo(ws, data, isBinary);
      });
      return;
    }
    case "/drop": {
      const after = intParam(url, "after", 1);
      let seen = 0;
      if (after <= 0) {
        ws.terminate();
        return;
      }
      ws.on("message", (data, isBinary) => {
        seen++;
        if (seen < after) {
          echo(ws, data, isBinary);
          return;
        }
        // Echo the last one, and drop once it is on the wire.
        ws.send(data as Buffer, { binary: isBinary }, () => ws.terminate());
      });
      return;
    }
    case "/headers": {
      const drop = intParam(url, "drop", 0);
      let seen = 0;
      ws.send(JSON.stringify({ url: req.url, headers: req.headers }));
      ws.on("message", (data, isBinary) => {
        seen++;
        if (drop > 0 && seen >= drop) ws.send(data as Buffer, { binary: isBinary }, () => ws.terminate());
        else echo(ws, data, isBinary);
      });
      return;
    }
    default:
      ws.on("message", (data, isBinary) => echo(ws, data, isBinary));
  }
}

const server = createServer((_req, res) => {
  res.writeHead(426, { "Content-Type": "text/plain" });
  res.end("WebSocket only\n");
});

server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  const url = new URL(req.url ?? "/", `http://127.0.0.1:${port}`);
  const pathQ = `${url.pathname}${url.search}`;
  socket.on("error", () => {});
  let wss: WebSocketServer | null = null;
  switch (url.pathname) {
    case "/echo":
    case "/close":
    case "/ping":
    case "/record":
    case "/drop":
      wss = plain;
      break;
    case "/nopong":
      wss = noPong;
      break;
    case "/subproto":
      wss = subproto;
      break;
    case "/subproto-bad":
      wss = badSubproto;
      break;
    case "/headers":
      wss = withCookie;
      break;
    case "/redirect": {
      let to = url.searchParams.get("to") ?? "/echo";
      if (to.startsWith("/") && url.searchParams.get("rel") !== "1") to = `ws://127.0.0.1:${port}${to}`;
      say(`HTTP 302 ${pathQ}`);
      rejectUpgrade(socket, 302, "Found", [`Location: ${to}`]);
      return;
    }
    case "/redirect-loop":
      say(`HTTP 302 ${pathQ}`);
      rejectUpgrade(socket, 302, "Found", [`Location: ws://127.0.0.1:${port}/redirect-loop`]);
      return;
    default:
      say(`HTTP 404 ${pathQ}`);
      rejectUpgrade(socket, 404, "Not Found");
      return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req, url));
});

function shutdown(): void {
  for (const wss of [plain, noPong, subproto, badSubproto, withCookie]) {
    for (const ws of wss.clients) ws.terminate();
  }
  server.close();
  process.exit(0);
}

process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
process.stdin.on("end", shutdown);
process.stdin.on("close", shutdown);
process.stdin.on("error", shutdown);
process.stdin.resume();

server.listen(0, "127.0.0.1", () => {
  const addr = server.address();
  if (typeof addr === "object" && addr) say(`PORT ${addr.port}`);
});
