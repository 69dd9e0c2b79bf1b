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
  if (!HASHED.test(discriminator)) return discriminator;
  return `${site ?? 'wrap'} #${discriminator.slice(0, 8)}`;
}

/** Top keys of each kind, sampled. */
export class HotKeys {
  readonly #size: number;
  readonly #scale: number;
  #kinds = new Map<string, Map<string, number>>();

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
      this.#kinds.set(kind, (table = new Map()));
    }
    const label = keyLabel(key.slice(prefixLength), site);
    const count = table.get(label);
    if (count !== undefined) {
      table.set(label, count + 1);
      return;
    }
    if (table.size < this.#size) {
      table.set(label, 1);
      return;
    }
    let min = Infinity;
    let victim = '';
    for (const [k, n] of table) if (n < min) [min, victim] = [n, k];
    table.delete(victim);
    table.set(label, min + 1);
  }

  /** The counts since the last take, scaled by the sampling rate, and starts over. */
  take(): Map<string, Map<string, number>> {
    const kinds = this.#kinds;
    this.#kinds = new Map();
    const scale = this.#scale;
    if (scale > 1) for (const table of kinds.values()) for (const [k, n] of table) table.set(k, n * scale);
    return kinds;
  }
}
