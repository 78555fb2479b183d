// Hostile raw-bytes WebSocket server for the C integration tests (test_integ_hostile.c,
// test_integ_misuse.c): it answers the opening handshake correctly or wrongly, then writes exactly
// the bytes a test scripts in the request's query string, with the pacing and splitting asked for,
// and reports on stdout what the client sends back. Built on node:net; nothing here validates the
// client beyond decoding its frames.
//
//   node --import tsx tests/servers/hostile_server.ts
//
// Listens on 127.0.0.1 port 0 and prints `PORT <n>`. Exits on SIGTERM, SIGINT or when stdin closes.
//
// Handshake (query parameter hs, default good):
//   good          101 with the right Sec-WebSocket-Accept
//   bad-accept    101 whose accept value is the one for another key
//   no-upgrade    101 without the Upgrade header
//   200           HTTP/1.1 200 OK with a small body
//   endless       a 101 status line, then header lines forever (with backpressure) until the client
//                 goes away; never the blank line
//   big           a correct 101 padded with `hsize` bytes (default 102400) of extra header lines
//   drip          the correct 101 written one byte per write, `hgap` ms apart (default 100)
//   silent        read the request, never answer
//
// Script: after the handshake, the query's other parameters run in the order given:
//   w=HEX         write these bytes (one write, or pieces, see split)
//   f=B0[:HEX]    write one unmasked frame: first header byte B0 (FIN/RSV/opcode as given, in hex),
//                 minimal length encoding, payload HEX
//   z=N           write N bytes 0x61 ('a'), in writes of at most 64 KiB
//   split=N       from here on, every write goes out in pieces of N bytes (0: whole)
//   gap=MS        from here on, wait MS ms after each piece (default 2 when split is set)
//   sleep=MS      wait MS ms
//   pings=N       N PING frames (payload: the 4-byte big-endian index) in one write
//   fsize=N       frame size for stream (default 1048576; 0: the whole message in one frame)
//   stream=N      one binary message of N bytes of the pattern below, in frames of fsize, written
//                 with backpressure
//   end=fin       half-close (FIN) now;  end=rst  reset the connection (RST) now
//   echo=1        after the script, echo the client's data frames (same opcode and FIN)
// After the script the server keeps reading: a client PING gets a PONG, a client Close gets a Close
// with the same code (unless the server sent a Close already) and the TCP connection is ended.
//
// Stream pattern: byte i of a stream is P[i % 1048583], where P[k] = x_k >>> 24 and x_k is the
// k-th output of xorshift32 (13, 17, 5) started at 0x12345678 (x_0 is the state after one step).
//
// Lines on stdout:
//   PORT <n>                            listening
//   ACCEPT                              a TCP connection was accepted
//   REQ <path-and-query>                the request target
//   HDR <line>                          each request header line, bytes outside 0x20-0x7e as \xNN
//   HS-SENT <bytes>                     (endless) header bytes written before the client left
//   SCRIPT-DONE                         the script has been written
//   FRAME <op> <fin> <len> <rsv> <masked> <hex of the first 64 payload bytes, or ->
//                                       a frame from the client (payload unmasked)
//   CLOSE <code> <reason>               the client's Close (1005 when it had no body)
//   END                                 the client half-closed its side
//   GONE                                the TCP connection is closed

import { type Socket } from "node:net";
import { say, acceptFor, frameHead, FrameReader, serveOnLoopback } from "./raw_ws.ts";

const PATTERN_LEN = 1048583;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The stream pattern, twice over, so that any window of up to PATTERN_LEN bytes is one subarray. */
const pattern: Buffer = (() => {
  const b = Buffer.alloc(2 * PATTERN_LEN);
  let x = 0x12345678;
  for (let i = 0; i < PATTERN_LEN; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    b[i] = x >>> 24;
  }
  b.copy(b, PATTERN_LEN, 0, PATTERN_LEN);
  return b;
})();

/** The header of an unmasked server frame with a minimal length encoding (RFC 6455 section 5.2). */
/** Resolves once the socket drains or closes (at once if it is already closed). */
function drainOrClose(sock: Socket): Promise<void> {
  if (sock.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      sock.off("drain", done);
      sock.off("close", done);
      resolve();
    };
    sock.on("drain", done);
    sock.on("close", done);
  });
}

function printable(s: Buffer): string {
  let out = "";
  for (const c of s) out += c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, "0")}`;
  return out;
}

class Conn {
  private split = 0;
  private gap = 0;
  private gapSet = false;
  private fsize = 1048576;
  private echo = false;
  private sentClose = false;
  private frames = new FrameReader();
  private gone = false;
  /** True while stream() is between a frame's header and the end of its payload: a PONG must not
   *  be written into the middle of a frame, so replies wait in `held` until the frame ends. */
  private inFrame = false;
  private held: Buffer[] = [];

  constructor(private sock: Socket) {
    sock.on("close", () => {
      this.gone = true;
    });
  }

  /** Writes buf whole or in pieces, waiting for the socket to drain when it asks to. */
  async out(buf: Buffer): Promise<void> {
    const piece = this.split > 0 ? this.split : buf.length || 1;
    for (let o = 0; o < buf.length; o += piece) {
      if (this.gone) return;
      if (!this.sock.write(buf.subarray(o, Math.min(buf.length, o + piece)))) {
        await drainOrClose(this.sock);
      }
      if (this.gap > 0) await sleep(this.gap);
    }
  }

  onClientBytes(data: Buffer): void {
    for (const f of this.frames.push(data)) {
      const hex = f.payload.length ? f.payload.subarray(0, 64).toString("hex") : "-";
      say(`FRAME ${f.opcode} ${f.fin ? 1 : 0} ${f.payload.length} ${f.rsv} ${f.masked ? 1 : 0} ${hex}`);
      if (f.opcode === 0x8) {
        const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
        say(`CLOSE ${code} ${f.payload.length > 2 ? printable(f.payload.subarray(2)) : ""}`);
        if (!this.sentClose) {
          this.sentClose = true;
          this.sock.write(Buffer.concat([frameHead(0x88, Math.min(2, f.payload.length)), f.payload.subarray(0, 2)]));
        }
        setTimeout(() => this.sock.end(), 20);
      } else if (f.opcode === 0x9) {
        const pong = Buffer.concat([frameHead(0x8a, f.payload.length), f.payload]);
        if (this.inFrame) this.held.push(pong);
        else this.sock.write(pong);
      } else if (this.echo && f.opcode !== 0xa && !this.sentClose) {
        this.sock.write(Buffer.concat([frameHead((f.fin ? 0x80 : 0) | f.opcode, f.payload.length), f.payload]));
      }
    }
  }

  /** Runs the script steps of the query in order. */
  async run(params: [string, string][]): Promise<void> {
    for (const [k, v] of params) {
      if (this.gone) return;
      switch (k) {
        case "w":
          await this.out(Buffer.from(v, "hex"));
          break;
        case "f": {
          const [b0s, hex = ""] = v.split(":");
          const payload = Buffer.from(hex, "hex");
          const b0 = parseInt(b0s, 16) & 0xff;
          if ((b0 & 0x0f) === 0x8) this.sentClose = true;
          await this.out(Buffer.concat([frameHead(b0, payload.length), payload]));
          break;
        }
        case "z": {
          let left = Number(v);
          while (left > 0 && !this.gone) {
            const n = Math.min(left, 65536);
            await this.out(Buffer.alloc(n, 0x61));
            left -= n;
          }
          break;
        }
        case "split":
          this.split = Number(v);
          if (!this.gapSet) this.gap = this.split > 0 ? 2 : 0;
          break;
        case "gap":
          this.gap = Number(v);
          this.gapSet = true;
          break;
        case "sleep":
          await sleep(Number(v));
          break;
        case "pings": {
          const n = Number(v);
          const all = Buffer.alloc(n * 6);
          for (let i = 0; i < n; i++) {
            all[i * 6] = 0x89;
            all[i * 6 + 1] = 4;
            all.writeUInt32BE(i, i * 6 + 2);
          }
          await this.out(all);
          break;
        }
        case "fsize":
          this.fsize = Number(v);
          break;
        case "stream":
          await this.stream(Number(v));
          break;
        case "end":
          if (v === "rst") this.sock.resetAndDestroy();
          else this.sock.end();
          break;
        case "echo":
          this.echo = v === "1";
          break;
        default:
          break;
      }
    }
    say("SCRIPT-DONE");
  }

  private async stream(total: number): Promise<void> {
    const fsize = this.fsize > 0 ? this.fsize : total;
    let off = 0;
    let first = true;
    do {
      const n = Math.min(fsize, total - off);
      const fin = off + n === total;
      await this.out(frameHead((fin ? 0x80 : 0) | (first ? 0x2 : 0x0), n));
      first = false;
      this.inFrame = true;
      // the payload, in windows of at most one pattern length
      for (let done = 0; done < n && !this.gone; ) {
        const w = Math.min(n - done, 1 << 20);
        const at = (off + done) % PATTERN_LEN;
        await this.out(pattern.subarray(at, at + w));
        done += w;
      }
      this.inFrame = false;
      for (const pong of this.held.splice(0)) this.sock.write(pong); // between frames: allowed (RFC 6455 5.4)
      off += n;
    } while (off < total && !this.gone);
  }
}

function response(accept: string | null, upgrade = true): string {
  return (
    "HTTP/1.1 101 Switching Protocols\r\n" +
    (upgrade ? "Upgrade: websocket\r\n" : "") +
    "Connection: Upgrade\r\n" +
    (accept !== null ? `Sec-WebSocket-Accept: ${accept}\r\n` : "")
  );
}

async function endless(sock: Socket): Promise<void> {
  let sent = 0;
  let gone = false;
  sock.on("close", () => {
    gone = true;
  });
  const status = Buffer.from("HTTP/1.1 101 Switching Protocols\r\n", "latin1");
  sock.write(status);
  sent += status.length;
  for (let i = 0; !gone && !sock.destroyed && sent < 256 * 1024 * 1024; i++) {
    const line = Buffer.from(`X-Endless-${i}: ${"z".repeat(40)}\r\n`, "latin1");
    sent += line.length;
    if (!sock.write(line)) await drainOrClose(sock);
    if ((i & 1023) === 1023) await sleep(0);
  }
  say(`HS-SENT ${sent}`);
}

function onSocket(sock: Socket): void {
  say("ACCEPT");
  sock.setNoDelay(true);
  sock.on("error", () => {});
  sock.on("end", () => say("END"));
  sock.on("close", () => say("GONE"));
  let head: Buffer = Buffer.alloc(0);
  let conn: Conn | null = null;

  sock.on("data", (data: Buffer) => {
    if (conn) {
      conn.onClientBytes(data);
      return;
    }
    head = Buffer.concat([head, data]);
    const endAt = head.indexOf("\r\n\r\n");
    if (endAt < 0) return;
    const lines = head.subarray(0, endAt).toString("latin1").split("\r\n");
    const rest = head.subarray(endAt + 4);
    const target = (lines[0] ?? "").split(" ")[1] ?? "/";
    say(`REQ ${target}`);
    let key = "";
    for (const l of lines.slice(1)) {
      say(`HDR ${printable(Buffer.from(l, "latin1"))}`);
      const c = l.indexOf(":");
      if (c > 0 && l.slice(0, c).trim().toLowerCase() === "sec-websocket-key") key = l.slice(c + 1).trim();
    }
    const url = new URL(target, "http://127.0.0.1");
    const hs = url.searchParams.get("hs") ?? "good";
    const params = [...url.searchParams.entries()].filter(([k]) => k !== "hs" && k !== "hsize" && k !== "hgap");
    const c = new Conn(sock);
    conn = c;
    if (rest.length) c.onClientBytes(rest);

    const start = async (): Promise<void> => {
      switch (hs) {
        case "good":
          await c.out(Buffer.from(response(acceptFor(key)) + "\r\n", "latin1"));
          break;
        case "bad-accept":
          await c.out(Buffer.from(response(acceptFor(key + "x")) + "\r\n", "latin1"));
          break;
        case "no-upgrade":
          await c.out(Buffer.from(response(acceptFor(key), false) + "\r\n", "latin1"));
          break;
        case "200":
          await c.out(Buffer.from("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n", "latin1"));
          return;
        case "endless":
          await endless(sock);
          return;
        case "big": {
          const size = Number(url.searchParams.get("hsize") ?? "102400");
          let pad = "";
          for (let i = 0; pad.length < size; i++) pad += `X-Pad-${i}: ${"p".repeat(80)}\r\n`;
          await c.out(Buffer.from(response(acceptFor(key)) + pad + "\r\n", "latin1"));
          break;
        }
        case "drip": {
          const gap = Number(url.searchParams.get("hgap") ?? "100");
          const all = Buffer.from(response(acceptFor(key)) + "\r\n", "latin1");
          for (let i = 0; i < all.length && !sock.destroyed; i++) {
            sock.write(all.subarray(i, i + 1));
            await sleep(gap);
          }
          break;
        }
        case "silent":
          return;
        default:
          sock.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
          return;
      }
      await c.run(params);
    };
    start().catch((e: unknown) => say(`SCRIPT-ERROR ${String(e)}`));
  });
}

serveOnLoopback(onSocket);
