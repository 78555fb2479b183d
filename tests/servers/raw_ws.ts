// The raw-bytes WebSocket pieces shared by the test servers that speak the protocol by hand
// (raw_server.ts, hostile_server.ts): stdout report lines, the accept value, server frame headers,
// a parser for the client's frames, and a loopback listener that lives as long as its test.

import { createHash } from "node:crypto";
import { createServer, type Socket } from "node:net";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** One report line on stdout (the C tests read them: PORT, FRAME, CLOSE, ...). */
export function say(line: string): void {
  process.stdout.write(line + "\n");
}

/** Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 section 4.2.2). */
export function acceptFor(key: string): string {
  return createHash("sha1").update(key + GUID).digest("base64");
}

/** An unmasked frame header with first byte b0 and the minimal length encoding (section 5.2). */
export function frameHead(b0: number, len: number): Buffer {
  if (len < 126) return Buffer.from([b0, len]);
  if (len < 65536) {
    const h = Buffer.alloc(4);
    h[0] = b0;
    h[1] = 126;
    h.writeUInt16BE(len, 2);
    return h;
  }
  const h = Buffer.alloc(10);
  h[0] = b0;
  h[1] = 127;
  h.writeBigUInt64BE(BigInt(len), 2);
  return h;
}

export type ClientFrame = { opcode: number; fin: boolean; rsv: number; masked: boolean; payload: Buffer };

/** Parses the client's frames from a byte stream (masked or not: the caller reports which). */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  /** Appends bytes and returns every complete frame now available, unmasked. */
  push(data: Buffer): ClientFrame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : data;
    const out: ClientFrame[] = [];
    for (;;) {
      if (this.buf.length < 2) break;
      const b0 = this.buf[0];
      const b1 = this.buf[1];
      let len = b1 & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) break;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) break;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      const masked = (b1 & 0x80) !== 0;
      const keyOff = off;
      if (masked) off += 4;
      if (this.buf.length < off + len) break;
      const payload = Buffer.from(this.buf.subarray(off, off + len));
      if (masked) for (let i = 0; i < len; i++) payload[i] ^= this.buf[keyOff + (i & 3)];
      out.push({ opcode: b0 & 0x0f, fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, masked, payload });
      this.buf = this.buf.subarray(off + len);
    }
    return out;
  }
}

/** Listens on 127.0.0.1 (port chosen by the OS, reported as `PORT <n>`) and exits on SIGTERM,
 *  SIGINT or when stdin closes, destroying every open connection. */
export function serveOnLoopback(onSocket: (sock: Socket) => void): void {
  const server = createServer(onSocket);
  const sockets = new Set<Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const shutdown = (): void => {
    for (const s of sockets) s.destroy();
    server.close();
    process.exit(0);
  };
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
}
