/** "Did you mean ...?" for unknown option names: the closest known name by edit distance. */

/** Edit distance (insertions, deletions, substitutions, swaps of adjacent characters) between two short strings. */
function distance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[0]!.push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]!.push(d);
    }
  }
  return rows[a.length]![b.length]!;
}

/**
 * `"; did you mean 'ttl'?"` for `name` = `'ttll'`: the known name closest to `name` (case ignored), when it is close
 * enough (at most a third of its length, and at least one edit, away); otherwise `''`. Meant to end an error message.
 */
export function didYouMean(name: string, known: Iterable<string>): string {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = distance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best === undefined) return '';
  return bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? `; did you mean '${best}'?` : '';
}
