/** Plain-text formatting for the CLI: tables, percentages, durations, sizes, a progress bar. */

/** Columns padded to their widest cell; the first column left-aligned, the others right-aligned. */
export function table(rows: ReadonlyArray<ReadonlyArray<string>>): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '))
    .join('\n');
}

/** 0.8123 → `81.2%`. */
export const percent = (rate: number): string => `${(rate * 100).toFixed(1)}%`;

/** Seconds → `950ms`, `12.3s`, `4.1m`, `2.0h`. */
export function seconds(s: number): string {
  if (s < 1) return `${Math.round(s * 1000)}ms`;
  if (s < 120) return `${s.toFixed(1)}s`;
  if (s < 7200) return `${(s / 60).toFixed(1)}m`;
  return `${(s / 3600).toFixed(1)}h`;
}

/** Milliseconds of latency → `0.25ms`, `120ms`, `2.5s`. */
export const millis = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(1)}s` : `${ms}ms`);

/** Bytes → `512 B`, `1.5 KiB`, `3.2 MiB`. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A money amount with up to 4 decimals. */
export const money = (n: number): string => (Math.round(n * 10_000) / 10_000).toString();

/** `[########............] 12/40`. */
export function progressBar(done: number, total: number, width = 30): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}
