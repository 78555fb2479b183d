// Raw TCP echo server for the loopback bench floor (bench/loopback/tcp_client.c): the same Node
// process style as tests/servers/ws_server.ts, without WebSocket. Each message is a 4-byte big-endian
// length and the payload; every complete message is written back whole (header, then payload, corked
// into one write), as the `ws` server echoes every complete message.
//
//   node --import tsx bench/loopback/tcp_echo_server.ts
//
// Prints `PORT <n>`; exits on SIGTERM, SIGINT or when stdin closes.

import { createServer, type Socket } from "node:net";

function onSocket(sock: Socket): void {
  sock.setNoDelay(true);
  sock.on("error", () => {});
  let pending: Buffer[] = [];
  let have = 0;
  let need = 4;       // bytes of the current header or payload still to come
  let header = true;
  let len = 0;

  /** Takes n bytes off the front of the pending chunks. */
  const take = (n: number): Buffer => {
    const whole = pending.length === 1 ? pending[0] : Buffer.concat(pending, have);
    const out = whole.subarray(0, n);
    const rest = whole.subarray(n);
    pending = rest.length ? [rest] : [];
    have = rest.length;
    return out;
  };

  sock.on("data", (data: Buffer) => {
    pending.push(data);
    have += data.length;
    while (have >= need) {
      if (header) {
        len = take(4).readUInt32BE(0);
        header = false;
        need = len;
      } else {
        const payload = take(len);
        const head = Buffer.allocUnsafe(4);
        head.writeUInt32BE(len, 0);
        sock.cork();
        sock.write(head);
        sock.write(payload);
        sock.uncork();
        header = true;
        need = 4;
      }
    }
  });
}

const server = createServer(onSocket);
const sockets = new Set<Socket>();
server.on("connection", (s) => {
  sockets.add(s);
  s.on("close", () => sockets.delete(s));
});

function shutdown(): void {
  for (const s of sockets) s.destroy();
  server.close();
  process.exit(0);
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
process.stdin.on("end", shutdown);
process.stdin.on("close", shutdown);
process.stdin.resume();

server.listen(0, "127.0.0.1", () => {
  const addr = server.address();
  if (typeof addr === "object" && addr) process.stdout.write(`PORT ${addr.port}\n`);
});
