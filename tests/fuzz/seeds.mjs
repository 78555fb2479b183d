// Writes the committed seed corpus: node tests/fuzz/seeds.mjs
// Each seed follows the input layout documented at the top of its harness (fuzz_*.c).
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const B = (...parts) => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(p))));
const write = (harness, name, bytes) => {
  const dir = join(here, "corpus", harness);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), bytes);
};
const accept = (key) =>
  createHash("sha1").update(key.toString("base64") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
const be16 = (v) => [v >> 8, v & 255];

// ---- fuzz_frames: 8-byte header, conn_config calls (3 bytes), operations (4 bytes), frames ----
const frames = ({ variant = 0, chunks = [0, 0, 0, 0], clock = 0, cfg = [], ops = [] }, ...wire) =>
  B([variant, 0xa5, ...chunks, clock, cfg.length | (ops.length << 3)], ...cfg, ...ops, ...wire);

// RFC 6455 §5.7 examples (the masked ones must fail: a server never masks).
const hello = [0x81, 0x05, ..."Hello"].map((c) => (typeof c === "string" ? c.charCodeAt(0) : c));
write("fuzz_frames", "rfc5.7-text-unmasked", frames({}, hello));
write("fuzz_frames", "rfc5.7-text-masked", frames({}, [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]));
write("fuzz_frames", "rfc5.7-fragmented", frames({ chunks: [1, 1, 1, 1] }, [0x01, 0x03, 0x48, 0x65, 0x6c], [0x80, 0x02, 0x6c, 0x6f]));
write("fuzz_frames", "rfc5.7-ping-pong", frames({}, [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f], [0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]));
write("fuzz_frames", "rfc5.7-binary-256", frames({ chunks: [100, 7, 0, 33] }, [0x82, 0x7e, 0x01, 0x00], Buffer.alloc(256, 0x5a)));
write("fuzz_frames", "rfc5.7-binary-64k-cut", frames({ variant: 1 }, [0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0], Buffer.alloc(600, 1)));
write("fuzz_frames", "utf8-split-fragments", frames({ variant: 2, chunks: [3, 5, 2, 7] },
  [0x01, 0x04, 0x48, 0xc3, 0xa9, 0xe2], [0x00, 0x02, 0x82, 0xac], [0x80, 0x04, 0xf0, 0x9f, 0x98, 0x80]));
write("fuzz_frames", "close-1000-reason", frames({}, [0x88, 0x06, ...be16(1000), ..."bye!"].map((c) => (typeof c === "string" ? c.charCodeAt(0) : c))));
write("fuzz_frames", "close-empty", frames({ variant: 3 }, [0x88, 0x00]));
write("fuzz_frames", "many-small-more", frames({ variant: 1, chunks: [0, 0, 0, 0] },
  ...Array.from({ length: 20 }, (_, i) => [0x82, 0x01, i])));
// ping interval 100 ms, pong timeout 1 s; ticks, sends of each kind, then the server closes.
write("fuzz_frames", "timers-and-sends", frames({
  clock: 0xff, chunks: [4, 4, 4, 4],
  cfg: [[1, 0, 100], [2, 1, 62], [7, 0, 3]],
  ops: [[0x00, 0, 3, 0], [0x41 | 0x20, 5, 1, 0x80], [0x41, 3, 1, 0x40], [0x40 | 0x20, 2, 1, 0x40], [0x00, 0, 40, 0],
        [0x89 - 0x80 + 0x40 + 0x20, 4, 1, 0x80], [0x80, 4, 1, 0x80], [0x00, 0, 200, 0]],
}, [0x81, 0x02, 0x68, 0x69], [0x8a, 0x00], [0x82, 0x03, 1, 2, 3], [0x88, 0x02, ...be16(1001)]));
write("fuzz_frames", "limits-small", frames({ cfg: [[4, 0, 10], [5, 0, 20], [8, 0, 3]] },
  [0x01, 0x08, ..."abcdefgh"].map((c) => (typeof c === "string" ? c.charCodeAt(0) : c)), [0x80, 0x0c, ...Buffer.alloc(12, 0x61)]));

// ---- fuzz_handshake: 31-byte header, six fields, response ----
const key = Buffer.from("the sample nonce");
const hs = ({ variant = 0, chunks = [0, 0, 0, 0], port = 80, limit = 0, host = "example.com", path = "/chat", proto = "",
  ua = "", auth = "", hdr = "" }, response) => {
  const f = [host, path, proto, ua, auth, hdr].map((s) => Buffer.from(s, "latin1"));
  return B([variant, 0x33, ...chunks, ...be16(port), limit, ...f.map((x) => x.length)], key, ...f, response);
};
const ok101 = (extra = "") =>
  `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept(key)}\r\n${extra}\r\n`;
write("fuzz_handshake", "valid-101", hs({}, ok101()));
write("fuzz_handshake", "valid-101-protocol-frames", hs({ chunks: [7, 13, 1, 0], proto: "chat, superchat", ua: "fuzz/1.0",
  auth: "user:pass", hdr: "X-Trace: 1\r\nX-Other: two" }, B(ok101("Sec-WebSocket-Protocol: chat\r\n"), hello)));
write("fuzz_handshake", "bare-lf-mixed-case", hs({ variant: 2 },
  `HTTP/1.1 101 OK\nupgrade: WebSocket\nCONNECTION: keep-alive, Upgrade\nsec-websocket-accept: ${accept(key)}\n\n`));
write("fuzz_handshake", "redirect-302", hs({}, "HTTP/1.1 302 Found\r\nLocation: ws://other.example/x\r\n\r\n"));
write("fuzz_handshake", "wrong-accept", hs({}, ok101().replace(accept(key), "dGhlIHNhbXBsZSBub25jZQ==AAAA")));
write("fuzz_handshake", "status-200", hs({}, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
write("fuzz_handshake", "ipv6-host-small-limit", hs({ host: "::1", port: 8080, limit: 20, variant: 3 }, ok101()));
write("fuzz_handshake", "bad-header-input", hs({ hdr: "X-A: b\r\nInjected\r\n" }, ok101()));

// ---- fuzz_uri: the URI itself ----
for (const [name, uri] of [
  ["plain", "ws://example.com/chat"],
  ["wss-userinfo-ipv6-port-query", "wss://user:p@ss@[fe80::1%25eth0]:8443/path?q=1"],
  ["query-only", "ws://host?x=y"],
  ["upper-scheme-port", "WSS://H.EXAMPLE:65535"],
  ["ipv4-port-path", "ws://127.0.0.1:8080/a/b/c"],
  ["fragment", "ws://h/p#frag"],
  ["bad-port", "ws://h:65536/"],
]) write("fuzz_uri", name, Buffer.from(uri, "latin1"));

// Long runs of 2-, 3- and 4-byte characters: the UTF-8 kernel's word-wide paths (8 three-byte or
// 4 two-byte sequences per step), whole, across fragments and with one bad byte deep inside.
const text = (s) => Buffer.from(s, "utf8");
const textFrame = (b, op = 0x81) => B([op, 0x7e, ...be16(b.length)], b);
const small = (b, op = 0x81) => B([op, b.length], b);
write("fuzz_frames", "utf8-long-runs", frames({ chunks: [0, 0, 0, 0] },
  textFrame(text("é".repeat(80))), textFrame(text("€".repeat(60))), textFrame(text("😀".repeat(40))),
  small(text("aé€😀".repeat(10)))));
write("fuzz_frames", "utf8-run-bad-deep", frames({ chunks: [64, 64, 64, 64] },
  textFrame(B(text("€".repeat(30)), [0xed, 0xa0, 0x80], text("€".repeat(30))))));
write("fuzz_frames", "utf8-run-fragments-small-chunk", frames({ variant: 3, chunks: [5, 0, 9, 0], cfg: [[8, 0, 7]] },
  small(text("€".repeat(10)).subarray(0, 29), 0x01), small(text("€".repeat(10)).subarray(29), 0x80)));
