/**
 * Sampled top-K keys per kind (space-saving: a bounded table where a new key replaces the least counted one), kept
 * per instance between two fleet flushes.
 */

/** Most kinds tracked at once: past it, new kinds are not tracked until the next flush. */
const MAX_KINDS = 100;
/** A discriminator that is a hash: 43 base64url characters (keys.ts never lets a readable id look like one). */
const HASHED = /^[A-Za-z0-9_-]{43}$/;

/**
 * A readable label for a key's discriminator: a readable id as it is; a hash as `<method or route> #<8 chars>`,
 * e.g. `PriceService.predict #Ab3dE9xQ` or `route POST /predict #Zx81kQ0a`.
 */
export function keyLabel(discriminator: string, site: string | undefined): string {
  if (discriminator.length !== 43 || !HASHED.test(discriminator)) return discriminator;
  return `${site ?? 'wrap'} #${discriminator.slice(0, 8)}`;
}

/**
 * One kind's table, by key (the cache's own key strings, whose hash the engine keeps: a sampled call slices and
 * labels nothing; labels are made when the table is taken), and the keys whose count is `min`, in the table's order:
 * the next to be replaced. Counts only grow and a new key enters at `min + 1`, so those keys stay the least counted
 * until each was replaced or counted again; only then is the table scanned for the next least count. A replacement
 * cost a scan of the whole table before (64 keys, with a key per sampled call when a kind has more keys than that).
 */
interface Table {
  counts: Map<string, number>;
  /** The method or route that made a key, for its label (keys made by a plain `wrap` call have none). */
  sites: Map<string, string>;
  atMin: Set<string>;
  min: number;
  /** Characters before the discriminator: `{namespace}:{kind}:{version}:`. */
  prefix: number;
}

/** Top keys of each kind, sampled. */
export class HotKeys {
  readonly #size: number;
  readonly #scale: number;
  #kinds = new Map<string, Table>();

  /** `size` keys per kind; each counted call stands for `scale` calls (the sampling rate). */
  constructor(size: number, scale: number) {
    this.#size = size;
    this.#scale = scale;
  }

  /** Counts a sampled call for `key` (`prefixLength` characters precede the discriminator). */
  touch(kind: string, key: string, prefixLength: number, site: string | undefined): void {
    let table = this.#kinds.get(kind);
    if (!table) {
      if (this.#kinds.size >= MAX_KINDS) return;
      this.#kinds.set(
        kind,
        (table = { counts: new Map(), sites: new Map(), atMin: new Set(), min: 0, prefix: prefixLength }),
      );
    }
    const counts = table.counts;
    const count = counts.get(key);
    if (count !== undefined) {
      counts.set(key, count + 1);
      if (count === table.min) table.atMin.delete(key);
      return;
    }
    if (site !== undefined) table.sites.set(key, site);
    if (counts.size < this.#size) {
      counts.set(key, 1);
      return;
    }
    if (table.atMin.size === 0) leastCounted(table);
    const victim: string = table.atMin.values().next().value!;
    table.atMin.delete(victim);
    counts.delete(victim);
    table.sites.delete(victim);
    counts.set(key, table.min + 1);
  }

  /** The counts by label since the last take, scaled by the sampling rate, and starts over. */
  take(): Map<string, Map<string, number>> {
    const kinds = new Map<string, Map<string, number>>();
    const scale = this.#scale;
    for (const [kind, table] of this.#kinds) {
      const labelled = new Map<string, number>();
      for (const [key, n] of table.counts) {
        const label = keyLabel(key.slice(table.prefix), table.sites.get(key));
        labelled.set(label, (labelled.get(label) ?? 0) + n * scale);
      }
      kinds.set(kind, labelled);
    }
    this.#kinds = new Map();
    return kinds;
  }
}

/** Finds a full table's least count and the keys that have it, in the table's order. */
function leastCounted(table: Table): void {
  let min = Infinity;
  for (const n of table.counts.values()) if (n < min) min = n;
  table.min = min;
  for (const [key, n] of table.counts) if (n === min) table.atMin.add(key);
}
