// Raw-socket WebSocket server for the C integration tests: byte-level behaviour that a WebSocket
// library will not produce. Built on node:net, with its own minimal RFC 6455 server side.
//
//   node --import tsx tests/servers/raw_server.ts
//
// Listens on 127.0.0.1 port 0 and prints `PORT <n>`. Exits on SIGTERM, SIGINT or when stdin closes.
//
// The request path chooses the behaviour:
//   /good                 correct 101, then echo frame by frame (same opcode and FIN; fragments stay fragments)
//   /bad-accept           101 whose Sec-WebSocket-Accept is not the one for the client's key
//   /packed?text=T        101 and a text frame carrying T (default "packed-hello") in ONE write, then echo
//   /bytewise?text=T      the 101 and every frame after it written one byte per write (1 ms apart);
//                         with text=T a text frame T follows the 101; then echo
//   /frame?b0=XX&hex=HH   correct 101, then one frame with first header byte 0xXX (FIN/RSV/opcode;
//                         default 81 = FIN + text) and the payload given in hex; then echo
//   /blackhole            accept TCP, read the request, never answer
//   anything else         HTTP 404
//
// Lines on stdout:
//   PORT <n>                 listening
//   ACCEPT                   a TCP connection was accepted
//   REQ <path-and-query>     a complete upgrade request was read
//   FRAME <opcode> <fin> <len>   a frame from the client (after unmasking)
//   CLOSE <code> <reason>    a Close frame from the client (1005 when it had no code)
//   END                      the client's TCP connection ended

import { type Socket } from "node:net";
import { say, acceptFor, frameHead, FrameReader, serveOnLoopback } from "./raw_ws.ts";


/** An unmasked server frame (RFC 6455 section 5.2). */
function frame(opcode: number, fin: boolean, payload: Buffer): Buffer {
  return Buffer.concat([frameHead((fin ? 0x80 : 0) | opcode, payload.length), payload]);
}

/** Writes either whole, or one byte per write with a 1 ms gap, keeping order across calls. */
class Writer {
  private queue: Buffer[] = [];
  private busy = false;
  constructor(private sock: Socket, private bytewise: boolean) {}

  write(buf: Buffer): void {
    if (!this.bytewise) {
      if (!this.sock.destroyed) this.sock.write(buf);
      return;
    }
    this.queue.push(buf);
    if (!this.busy) this.pump();
  }

  private pump(): void {
    const head = this.queue[0];
    if (!head || this.sock.destroyed) {
      this.busy = false;
      return;
    }
    this.busy = true;
    this.sock.write(head.subarray(0, 1));
    if (head.length > 1) this.queue[0] = head.subarray(1);
    else this.queue.shift();
    setTimeout(() => this.pump(), 1);
  }
}

function onSocket(sock: Socket): void {
  say("ACCEPT");
  sock.setNoDelay(true);
  sock.on("error", () => {});
  let head = Buffer.alloc(0);
  let upgraded = false;
  let writer: Writer | null = null;
  const frames = new FrameReader();
  let closed = false;

  const onFrames = (data: Buffer): void => {
    for (const f of frames.push(data)) {
      say(`FRAME ${f.opcode} ${f.fin ? 1 : 0} ${f.payload.length}`);
      switch (f.opcode) {
        case 0x8: {
          const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
          const reason = f.payload.length > 2 ? f.payload.subarray(2).toString("utf8") : "";
          say(`CLOSE ${code} ${reason}`);
          if (!closed) {
            closed = true;
            writer?.write(frame(0x8, true, f.payload.subarray(0, Math.min(2, f.payload.length))));
            setTimeout(() => sock.end(), 20);
          }
          break;
        }
        case 0x9:
          writer?.write(frame(0xa, true, f.payload));
          break;
        case 0xa:
          break;
        default:
          if (!closed) writer?.write(frame(f.opcode, f.fin, f.payload));
      }
    }
  };

  sock.on("end", () => say("END"));
  sock.on("data", (data: Buffer) => {
    if (upgraded) {
      onFrames(data);
      return;
    }
    head = Buffer.concat([head, data]);
    const endAt = head.indexOf("\r\n\r\n");
    if (endAt < 0) return;
    const text = head.subarray(0, endAt).toString("latin1");
    const rest = head.subarray(endAt + 4);
    const lines = text.split("\r\n");
    const target = (lines[0] ?? "").split(" ")[1] ?? "/";
    const url = new URL(target, "http://127.0.0.1");
    say(`REQ ${url.pathname}${url.search}`);
    let key = "";
    for (const l of lines.slice(1)) {
      const c = l.indexOf(":");
      if (c > 0 && l.slice(0, c).trim().toLowerCase() === "sec-websocket-key") key = l.slice(c + 1).trim();
    }
    const ok = (accept: string): Buffer =>
      Buffer.from(
        "HTTP/1.1 101 Switching Protocols\r\n" +
          "Upgrade: websocket\r\n" +
          "Connection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
        "latin1",
      );
    switch (url.pathname) {
      case "/good":
        writer = new Writer(sock, false);
        writer.write(ok(acceptFor(key)));
        break;
      case "/bad-accept":
        writer = new Writer(sock, false);
        // A well-formed accept value, but for a different key.
        writer.write(ok(acceptFor(key + "x")));
        break;
      case "/packed": {
        writer = new Writer(sock, false);
        const t = url.searchParams.get("text") ?? "packed-hello";
        writer.write(Buffer.concat([ok(acceptFor(key)), frame(0x1, true, Buffer.from(t, "utf8"))]));
        break;
      }
      case "/bytewise": {
        writer = new Writer(sock, true);
        writer.write(ok(acceptFor(key)));
        const t = url.searchParams.get("text");
        if (t !== null) writer.write(frame(0x1, true, Buffer.from(t, "utf8")));
        break;
      }
      case "/frame": {
        writer = new Writer(sock, false);
        const b0 = parseInt(url.searchParams.get("b0") ?? "81", 16) & 0xff;
        const payload = Buffer.from(url.searchParams.get("hex") ?? "", "hex");
        const f = frame(b0 & 0x0f, (b0 & 0x80) !== 0, payload);
        f[0] = b0; // keeps any RSV bits asked for
        writer.write(Buffer.concat([ok(acceptFor(key)), f]));
        break;
      }
      case "/blackhole":
        upgraded = true; // swallow whatever comes next
        writer = null;
        return;
      default:
        sock.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    }
    upgraded = true;
    if (rest.length) onFrames(rest);
  });
}

serveOnLoopback(onSocket);
