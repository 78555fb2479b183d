// Copies the committed bench results into README.md's performance section, so that the README
// shows every table of the latest run with its ratios and never drifts from bench/results/.
//
//   npx tsx bench/readme.ts          (bench/run.ts calls it after every run)
//
// The block between the two markers below is rewritten: one collapsible <details> per section,
// holding that section's results file with its headings moved under the README's own levels.
// Sections without a results file are left out; nothing outside the markers is touched.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { root } from "../scripts/paths.ts";

const BEGIN = "<!-- bench-results:begin (written by bench/readme.ts from bench/results/) -->";
const END = "<!-- bench-results:end -->";
const SECTIONS: [string, string][] = [
  ["rv32", "rv32imc (ESP32-C3 ISA) under QEMU: send, receive, UTF-8, 32 small messages, code size, heap"],
  ["memory", "memory per client and per engine instance"],
  ["loopback", "loopback echo end to end vs raw TCP, ws and libwebsockets"],
  ["native", "native host (x86-64): receive and send paths, callgrind and wall clock"],
  ["v8", "V8 (Node): engine.wasm kernels vs bufferutil, utf-8-validate, buffer.isUtf8"],
];

/** A results file as README text: its title line dropped, headings pushed three levels down. */
function section(file: string): string {
  const lines = readFileSync(file, "utf8").split("\n");
  const body = lines[0].startsWith("# Bench:") ? lines.slice(1) : lines;
  return body
    .map((l) => (/^#{1,3} /.test(l) ? `###${l}` : l))
    .join("\n")
    .trim();
}

export function writeReadme(): boolean {
  const readme = join(root, "README.md");
  const text = readFileSync(readme, "utf8");
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a < 0 || b < a) {
    console.error(`README.md has no bench-results markers; add\n${BEGIN}\n${END}`);
    return false;
  }
  const parts: string[] = [];
  for (const [name, title] of SECTIONS) {
    const file = join(root, "bench/results", `${name}.md`);
    if (!existsSync(file)) continue;
    parts.push(`<details><summary><b>${name}</b>: ${title} (bench/results/${name}.md)</summary>\n\n${section(file)}\n\n</details>`);
  }
  const next = `${text.slice(0, a + BEGIN.length)}\n\n${parts.join("\n\n")}\n\n${text.slice(b)}`;
  if (next !== text) writeFileSync(readme, next);
  return true;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exit(writeReadme() ? 0 : 1);
}
