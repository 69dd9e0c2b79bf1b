/** Tables for the terminal and the README, and the JSON results file. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One row of a results table. */
export interface Row {
  name: string;
  cells: string[];
}

/** Formats a number of microseconds (or any quantity) with sensible precision. */
export function fmt(value: number, unit = ''): string {
  if (!Number.isFinite(value)) return '–';
  const abs = Math.abs(value);
  const text =
    abs >= 10_000
      ? Math.round(value).toLocaleString('en-US')
      : abs >= 100
        ? value.toFixed(0)
        : abs >= 10
          ? value.toFixed(1)
          : value.toFixed(2);
  return text + unit;
}

/** Formats a ratio like `1.07×`. */
export function ratio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : '–';
}

/** A Markdown table (also readable in a terminal). The first column is left-aligned, the others right-aligned. */
export function table(headers: string[], rows: Row[]): string {
  const all = [headers, ...rows.map((r) => [r.name, ...r.cells])];
  const widths = headers.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) =>
    '| ' + cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(' | ') + ' |';
  const rule = '| ' + widths.map((w, c) => (c === 0 ? '-'.repeat(w) : '-'.repeat(w - 1) + ':')).join(' | ') + ' |';
  return [line(headers), rule, ...all.slice(1).map(line)].join('\n');
}

/** Writes `data` as pretty JSON to `bench/results/<name>.json` (or `BENCH_RESULTS_DIR`) and a dated copy; returns the first path. */
export function writeResults(name: string, data: unknown): string {
  const dir = process.env.BENCH_RESULTS_DIR ?? join(process.cwd(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const text = JSON.stringify(data, null, 2) + '\n';
  const latest = join(dir, `${name}.json`);
  writeFileSync(latest, text);
  writeFileSync(join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), text);
  return latest;
}

/** Versions of the installed packages named, read from node_modules. */
export function versions(packages: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of packages) {
    try {
      const file = join(process.cwd(), 'node_modules', name, 'package.json');
      out[name] = (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    } catch {
      out[name] = 'not installed';
    }
  }
  return out;
}
