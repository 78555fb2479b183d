// The `ws` package as a loopback bench client (Node peer of ours_client.c), in its own process.
// Driven by bench/loopback.ts over stdin/stdout with the protocol of bench_common.h.
//
//   node --import tsx bench/loopback/ws_client.ts PORT
//
// Binary messages, permessage-deflate off (as the server), bufferutil/utf-8-validate native.

import { createInterface } from "node:readline";
import { WebSocket, type RawData } from "ws";

const port = Number(process.argv[2]);
const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`, { perMessageDeflate: false });

function reply(line: string): void {
  process.stdout.write(line + "\n");
}

function pattern(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

let seq = 0;   // next sequence number to stamp; equal to the next expected echo between runs

/** One run: resolves with [messages echoed, elapsed ns], rejects on a wrong echo. */
function runOnce(size: number, depth: number, ms: number): Promise<[number, bigint]> {
  const ref = pattern(size);
  return new Promise((resolve, reject) => {
    let rxSeq = seq;
    let inflight = 0;
    let echoed = 0;
    let sending = true;
    const t0 = process.hrtime.bigint();
    const deadline = t0 + BigInt(ms) * 1000000n;
    const sendOne = (): void => {
      const msg = Buffer.from(ref);
      if (size >= 4) msg.writeUInt32LE(seq >>> 0, 0);
      seq++;
      inflight++;
      ws.send(msg, { binary: true });
    };
    const onMessage = (data: RawData): void => {
      const got = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
      const ok = got.length === size &&
        (size < 4 ? got.equals(ref) : got.readUInt32LE(0) === (rxSeq >>> 0) && got.subarray(4).equals(ref.subarray(4)));
      if (!ok) {
        ws.off("message", onMessage);
        reject(new Error(`wrong echo #${rxSeq}`));
        return;
      }
      rxSeq++;
      inflight--;
      echoed++;
      if (sending && process.hrtime.bigint() >= deadline) sending = false;
      if (sending) {
        while (inflight < depth) sendOne();
      } else if (inflight === 0) {
        ws.off("message", onMessage);
        resolve([echoed, process.hrtime.bigint() - t0]);
      }
    };
    ws.on("message", onMessage);
    while (inflight < depth) sendOne();
  });
}

ws.on("error", (e) => {
  reply(`FAIL ${e.message}`);
  process.exit(1);
});
ws.on("open", () => {
  reply("READY");
  const rl = createInterface({ input: process.stdin });
  const queue: string[] = [];
  let busy = false;
  let ended = false;
  const next = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    while (queue.length) {
      const line = queue.shift()!.trim().split(/\s+/);
      if (line[0] === "quit") process.exit(0);
      try {
        let r: [number, bigint];
        if (line[0] === "rtt") r = await runOnce(Number(line[1]), 1, Number(line[2]));
        else if (line[0] === "pipe") r = await runOnce(Number(line[1]), Number(line[2]), Number(line[3]));
        else { reply("FAIL bad command"); continue; }
        reply(`OK ${r[0]} ${r[1]}`);
      } catch (e) {
        reply(`FAIL ${(e as Error).message}`);
        process.exit(1);
      }
    }
    busy = false;
    if (ended) process.exit(0);
  };
  rl.on("line", (l) => { queue.push(l); void next(); });
  rl.on("close", () => {
    ended = true;
    if (!busy) process.exit(0);
  });
});
