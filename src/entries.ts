/**
 * Resolved entry options for `wrap` calls, memoised. Decorators and routes pass one options object on every call: it
 * is resolved once and found again by identity. Options written inline (`wrap(kind, id, fn, { memory: true })`) are a
 * new object each call: they are compared field by field with the few shapes seen lately for the kind (primitives by
 * value, functions and class instances by identity, plain objects and arrays by value), so that each distinct shape is
 * validated once and a call never gets another call's options.
 */
import { resolveEntry, type ResolvedEntry } from './entry.js';
import type { WrapOptions } from './cache.js';

/**
 * Every `wrap` option, and whether the resolved entry depends on it. Derived from the type: an option added to
 * `WrapOptions` without a line here does not compile. `args` and `cache` are read by the call itself, never resolved,
 * so inline options that differ only in them share a shape.
 */
const RESOLVED = {
  kind: true,
  ttl: true,
  tags: true,
  staleWhileRevalidate: true,
  grace: true,
  timeout: true,
  earlyRefresh: true,
  rewarm: true,
  memory: true,
  when: true,
  cacheErrors: true,
  lock: true,
  serialize: true,
  deserialize: true,
  cache: false,
  args: false,
  spanName: true,
  forceFresh: true,
  bypassReason: true,
} as const satisfies Record<keyof WrapOptions<unknown>, boolean>;

/** Inline shapes remembered per kind (a call site or two each), and kinds with such shapes; past either, forgotten. */
const MAX_SHAPES = 16;
const MAX_KINDS = 256;
/** Nested values (`memory: { maxEntries }`, `tags: ['a']`) are compared by value down to this depth. */
const MAX_DEPTH = 3;

/** Whether `value` is an array or a plain object (compared by value, not identity). */
function isPlain(value: object): boolean {
  if (Array.isArray(value)) return true;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A copy of what a value says, for a later `same`: plain objects and arrays copied down to MAX_DEPTH. */
function snapshot(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null || depth >= MAX_DEPTH || !isPlain(value)) return value;
  if (Array.isArray(value)) return Array.from(value, (item) => snapshot(item, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const name of Object.keys(value)) copy[name] = snapshot((value as Record<string, unknown>)[name], depth + 1);
  return copy;
}

/**
 * Whether `value` says what `kept` (its snapshot) says: primitives by value (NaN never matches: resolved again),
 * functions and class instances by identity, plain objects and arrays field by field, in the same order.
 */
function same(value: unknown, kept: unknown, depth = 0): boolean {
  if (typeof value !== 'object' || value === null || depth >= MAX_DEPTH || !isPlain(value)) return value === kept;
  if (typeof kept !== 'object' || kept === null || Array.isArray(value) !== Array.isArray(kept)) return false;
  const names = Object.keys(value);
  const keptNames = Object.keys(kept);
  if (names.length !== keptNames.length) return false;
  if (Array.isArray(value) && value.length !== (kept as unknown[]).length) return false;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (name !== keptNames[i]) return false;
    if (!same((value as Record<string, unknown>)[name], (kept as Record<string, unknown>)[name], depth + 1))
      return false;
  }
  return true;
}

/** An inline shape: the fields of an options object as resolved, and the last object seen with them. */
interface Shape {
  names: string[];
  values: unknown[];
  entry: ResolvedEntry;
  /** Seen again: a reused object, memoised by identity from then on. */
  last: object | undefined;
}

/** Whether `options` (a plain object) says what `shape` says, for every field the entry depends on. */
function matches(options: Record<string, unknown>, names: string[], shape: Shape): boolean {
  const kept = shape.names;
  if (names.length !== kept.length) return false;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (name !== kept[i]) return false;
    if ((RESOLVED as Record<string, boolean>)[name] === false) continue; // `args`, `cache`: never resolved
    if (!same(options[name], shape.values[i])) return false;
  }
  return true;
}

/** The entry options of one cache's `wrap` calls, resolved (and validated) once per options object or inline shape. */
export class Entries {
  readonly #byObject = new WeakMap<object, Map<string, ResolvedEntry>>();
  readonly #byKind = new Map<string, Shape[]>();

  /** The resolved entry of `options` for `kind` (`options.kind` first); throws ConfigError for invalid options. */
  get(kind: string, options: WrapOptions<any>): ResolvedEntry {
    const kindOf = options.kind ?? kind;
    const known = this.#byObject.get(options)?.get(kindOf);
    if (known) return known;
    const proto: unknown = Object.getPrototypeOf(options);
    if (proto !== Object.prototype && proto !== null) return this.#remember(options, kindOf, resolve(kindOf, options));
    const names = Object.keys(options);
    const shapes = this.#byKind.get(kindOf);
    if (shapes) {
      for (let i = 0; i < shapes.length; i++) {
        const shape = shapes[i]!;
        if (!matches(options as Record<string, unknown>, names, shape)) continue;
        // the same object twice in a row with this shape: a reused object, found by identity from now on
        if (shape.last === options) return this.#remember(options, kindOf, shape.entry);
        shape.last = options;
        return shape.entry;
      }
    }
    // Resolved from a copy, whose fields are what later calls are compared with: what is remembered is what the
    // copy says, even if a getter answers differently from one read to the next.
    const copy: Record<string, unknown> = { ...options };
    const entry = resolve(kindOf, copy);
    const keptNames = Object.keys(copy);
    const shape: Shape = {
      names: keptNames,
      values: keptNames.map((name) => snapshot(copy[name])),
      entry,
      last: options,
    };
    if (shapes) {
      if (shapes.length >= MAX_SHAPES) shapes.shift();
      shapes.push(shape);
    } else {
      if (this.#byKind.size >= MAX_KINDS) this.#byKind.clear();
      this.#byKind.set(kindOf, [shape]);
    }
    return entry;
  }

  #remember(options: object, kind: string, entry: ResolvedEntry): ResolvedEntry {
    let byKind = this.#byObject.get(options);
    if (!byKind) this.#byObject.set(options, (byKind = new Map()));
    byKind.set(kind, entry);
    return entry;
  }
}

/** Validates `options` for `kind`; a `spanName` other than `wrap` names the entry's owner in warnings. */
function resolve(kind: string, options: WrapOptions<any>): ResolvedEntry {
  const entry = resolveEntry(kind, options, 'wrap options');
  const by = options.spanName;
  if (by && by !== 'wrap') entry.owner = `${by} (kind '${kind}')`;
  return entry;
}
