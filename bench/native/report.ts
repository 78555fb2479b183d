// Markdown tables for bench/native.ts and bench/rv32.ts: the same jobs (path x row x input x size,
// see bench/native/wsbench.h), one table per path and input, figures per payload byte beside the
// ratio of each engine row to its peers.

export const SIZES = [16, 125, 126, 1024, 65535, 65536, 1 << 20];
export const INPUTS = ["binary", "ascii", "chinese", "emoji", "invalid"] as const;
export const INPUT_TITLE: Record<string, string> = {
  binary: "random binary", ascii: "ASCII (JSON)", chinese: "Chinese+ASCII", emoji: "emoji",
  invalid: "Chinese+ASCII, last byte 0xFF (invalid)",
};

/** Printed under the tables of the input with an invalid last byte, per path. */
export const INVALID_NOTE: Record<string, string> = {
  recv: "Every row reads the whole payload before the bad byte. The engine rows fail the connection (one ERROR UTF8" +
    " event, close code 1007, state FAILED) and hand the Close 1007 they queued to the socket; the C validator rows" +
    " reject the frame; none delivers it. The stock C row has no UTF-8 check and delivers it: its column is the cost" +
    " of a path that does not detect the fault. Re-opening the engine's connection between runs is left out of the figures." +
    " Not in send (which does not read the bytes) nor in recv32 (the engine stops at the first bad frame).",
  utf8: "Every validator returns -1 (invalid), after reading every byte before the last.",
};
export const ROW_TITLE: Record<string, string> = {
  wasm3: "engine wasm3", wasm2c: "engine wasm2c", stock: "stock C", cbyte: "C byte validator", cword: "C word loop",
};

/** One measured job: a value per run (instructions or ns) and the payload bytes of one run. */
export interface Figure { perRun: number; bytes: number; spread?: number }
export type Figures = Map<string, Figure>;

export const key = (path: string, row: string, input: string, size: number): string => `${path} ${row} ${input} ${size}`;

export function sizeName(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n >> 20} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n >> 10} KiB`;
  return `${n} B`;
}

export function table(head: string[], lines: string[][]): string {
  const w = head.map((h, c) => Math.max(h.length, ...lines.map((l) => (l[c] ?? "").length)));
  const fmt = (l: string[]) => "| " + l.map((x, c) => (c === 0 ? x.padEnd(w[c]) : x.padStart(w[c]))).join(" | ") + " |";
  return [fmt(head), "| " + w.map((n, c) => (c === 0 ? "-".repeat(n) : "-".repeat(n - 1) + ":")).join(" | ") + " |",
    ...lines.map(fmt)].join("\n");
}

function num(x: number): string {
  if (x >= 1000) return Math.round(x).toLocaleString("en-US");
  if (x >= 100) return x.toFixed(1);
  if (x >= 10) return x.toFixed(2);
  return x.toFixed(3);
}

export interface TableSpec {
  path: string;
  rows: string[];                       // columns of figures, in order
  ratios: [string, string][];           // [row, baseline row]: a "row ÷ baseline" column each
  unit: string;                         // e.g. "instr/B", "ns/B"
  perRunColumn?: string;                // a row whose whole-run figure is shown too
  perRunUnit?: string;
  spread?: boolean;                     // show ±(IQR/2)/median after each figure
  divideBy?: (size: number) => number;  // per-byte by default (job bytes)
}

/** The table of one path and input over the sizes that were measured; "" when nothing was. */
export function pathTable(f: Figures, spec: TableSpec, input: string, sizes: number[]): string {
  const rows = spec.rows.filter((r) => sizes.some((s) => f.has(key(spec.path, r, input, s))));
  if (rows.length === 0) return "";
  const ratios = spec.ratios.filter(([a, b]) => rows.includes(a) && rows.includes(b));
  const head = ["payload", ...rows.map((r) => `${ROW_TITLE[r]} ${spec.unit}`)];
  if (spec.perRunColumn && rows.includes(spec.perRunColumn)) head.push(`${ROW_TITLE[spec.perRunColumn]} ${spec.perRunUnit}`);
  for (const [a, b] of ratios) head.push(`${a} ÷ ${b}`);
  const lines: string[][] = [];
  for (const s of sizes) {
    const got = rows.map((r) => f.get(key(spec.path, r, input, s)));
    if (got.every((g) => g === undefined)) continue;
    const per = (g: Figure | undefined) => (g === undefined ? NaN : g.perRun / g.bytes);
    const l = [sizeName(s), ...got.map((g) => (g === undefined ? "-" : num(per(g)) + (spec.spread && g.spread !== undefined ? ` ±${(g.spread * 50).toFixed(0)}%` : "")))];
    if (spec.perRunColumn && rows.includes(spec.perRunColumn)) {
      const g = f.get(key(spec.path, spec.perRunColumn, input, s));
      l.push(g === undefined ? "-" : num(g.perRun));
    }
    for (const [a, b] of ratios) {
      const x = f.get(key(spec.path, a, input, s)), y = f.get(key(spec.path, b, input, s));
      l.push(x && y ? `${(x.perRun / y.perRun).toFixed(2)}x` : "-");
    }
    lines.push(l);
  }
  return table(head, lines);
}

/** Ratio of two jobs' figures, or NaN. */
export function ratio(f: Figures, path: string, a: string, b: string, input: string, size: number): number {
  const x = f.get(key(path, a, input, size)), y = f.get(key(path, b, input, size));
  return x && y ? x.perRun / y.perRun : NaN;
}

/** The standard table specs (instructions or time). */
export function specs(unit: string, spread: boolean): Record<string, TableSpec> {
  return {
    send: {
      path: "send", rows: ["wasm3", "wasm2c", "stock", "cword"], unit, spread,
      ratios: [["wasm3", "stock"], ["wasm2c", "stock"], ["cword", "stock"], ["wasm3", "cword"], ["wasm2c", "cword"]],
      perRunColumn: "wasm3", perRunUnit: unit.replace("/B", "/call"),
    },
    recv: {
      path: "recv", rows: ["wasm3", "wasm2c", "stock", "cbyte", "cword"], unit, spread,
      ratios: [["wasm3", "stock"], ["wasm2c", "stock"], ["wasm3", "cbyte"], ["wasm2c", "cbyte"], ["wasm3", "cword"], ["wasm2c", "cword"]],
      perRunColumn: "wasm3", perRunUnit: unit.replace("/B", "/call"),
    },
    utf8: {
      path: "utf8", rows: ["wasm3", "wasm2c", "cbyte", "cword"], unit, spread,
      ratios: [["wasm3", "cbyte"], ["wasm2c", "cbyte"], ["wasm3", "cword"], ["wasm2c", "cword"]],
    },
    recv32: {
      path: "recv32", rows: ["wasm3", "wasm2c", "stock", "cbyte", "cword"], unit, spread,
      ratios: [["wasm3", "stock"], ["wasm2c", "stock"], ["wasm3", "cbyte"], ["wasm2c", "cbyte"]],
    },
  };
}

/** recv32 per message instead of per byte: a Figure whose bytes are the 32 messages. */
export function perMessage(f: Figures): Figures {
  const out: Figures = new Map();
  for (const [k, v] of f) if (k.startsWith("recv32 ")) out.set(k, { ...v, bytes: 32 });
  return out;
}
