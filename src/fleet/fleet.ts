/**
 * This instance's share of the fleet statistics: every `interval` (an unref'd timer, never on the request path) the
 * counters added since the last write, the latency histograms and the sampled hot keys go to Redis in one pipelined
 * write, fail-open. A write that fails is retried with the next one (the counters keep adding up meanwhile).
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { emptyHistogram, observe, type Histogram } from './histogram.js';
import { HotKeys } from './hotkeys.js';
import { countersKey, hotKeysKey, bucketOf, INSTANCE_FIELD, SEP } from './keys.js';
import type { FleetSettings } from './options.js';
import type { RedisTier } from '../redis/tier.js';
import type { Stats, KindStats } from '../stats.js';
import type { WrapOutcome } from '../outcome.js';

/** Adds many fields to one hash in one atomic command (cluster-safe: one key), then sets its life. */
const ADD = `local k = KEYS[1]
for i = 2, #ARGV, 2 do redis.call('HINCRBYFLOAT', k, ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', k, ARGV[1])
return 1`;

/** Most kinds with latency histograms between two writes. */
const MAX_KINDS = 100;
/** Hot keys written per kind and bucket. */
const HOT_KEYS_WRITTEN = 32;

interface Latency {
  hit: Histogram;
  miss: Histogram;
}

/** What the fleet recorder needs from the cache. */
export interface FleetParts {
  redis: RedisTier;
  stats: Stats;
  namespace: string;
  version: string;
}

/** Records this instance's counters for the fleet and writes them to Redis. */
export class Fleet {
  /** This instance's id in the fleet statistics: host, pid and a random suffix. */
  readonly id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  readonly #settings: FleetSettings;
  readonly #parts: FleetParts;
  readonly #hot: HotKeys | undefined;
  #latency = new Map<string, Latency>();
  /** The counters already written (or being written), per kind, and the `since` of the stats they came from. */
  #sent = new Map<string, KindStats>();
  #sentSince = '';
  readonly #mask: number;
  #tick = 0;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<boolean> | undefined;
  /** Writes done and failed (for tests and the measurement). */
  readonly counters = { writes: 0, failed: 0 };

  constructor(settings: FleetSettings, parts: FleetParts) {
    this.#settings = settings;
    this.#parts = parts;
    this.#hot = settings.hotKeys > 0 ? new HotKeys(settings.hotKeys, settings.sample) : undefined;
    this.#mask = settings.sample - 1;
  }

  /** Whether this call is one of the sampled ones (timed, and counted for hot keys): one in `sample`. */
  sampled(): boolean {
    return (++this.#tick & this.#mask) === 0;
  }

  /** Starts the periodic write (unref'd: it never keeps the process alive). */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.flush(), this.#settings.interval);
    this.#timer.unref();
  }

  /** Counts a sampled call to `key` for the hot keys; `site` names the method or route that made a hashed key. */
  touch(kind: string, key: string, site: string | undefined): void {
    const hot = this.#hot;
    if (!hot) return;
    // `{namespace}:{kind}:{version}:` precedes the discriminator
    const prefix = this.#parts.namespace.length + kind.length + this.#parts.version.length + 3;
    hot.touch(kind, key, prefix, site);
  }

  /** Records the latency of a sampled call that began at `started` (performance.now()) once its outcome is known. */
  timed<T>(
    kind: string,
    started: number,
    outcome: Promise<WrapOutcome<T>> | WrapOutcome<T>,
  ): Promise<WrapOutcome<T>> | WrapOutcome<T> {
    if (!(outcome instanceof Promise)) {
      // a memory hit, served synchronously
      this.#observe(kind, outcome.result, performance.now() - started);
      return outcome;
    }
    return outcome.then((o) => {
      this.#observe(kind, o.result, performance.now() - started);
      return o;
    });
  }

  #observe(kind: string, result: string, ms: number): void {
    const which = result === 'hit' || result === 'stale' ? 'hit' : result === 'miss' ? 'miss' : undefined;
    if (!which) return;
    let l = this.#latency.get(kind);
    if (!l) {
      if (this.#latency.size >= MAX_KINDS) return;
      this.#latency.set(kind, (l = { hit: emptyHistogram(), miss: emptyHistogram() }));
    }
    observe(l[which], ms);
  }

  /** Writes what was counted since the last write; resolves whether Redis took it. Never rejects. */
  flush(): Promise<boolean> {
    if (this.#flushing) return this.#flushing;
    const run = this.#write().finally(() => (this.#flushing = undefined));
    return (this.#flushing = run);
  }

  /** Stops the timer and writes the last counters (bounded by the operation timeout). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  async #write(): Promise<boolean> {
    const { redis, stats, namespace } = this.#parts;
    const snapshot = stats.snapshot();
    const sent = snapshot.since === this.#sentSince ? this.#sent : new Map<string, KindStats>();
    const fields: string[] = [];
    for (const [kind, now] of Object.entries(snapshot.kinds)) addDelta(fields, kind, now, sent.get(kind));
    const latency = this.#latency;
    this.#latency = new Map();
    const scale = this.#settings.sample;
    for (const [kind, l] of latency) {
      addHistogram(fields, `${kind}${SEP}hit_ms`, l.hit, scale);
      addHistogram(fields, `${kind}${SEP}miss_ms`, l.miss, scale);
    }
    fields.push(INSTANCE_FIELD + this.id, '1');
    const start = bucketOf(this.#settings.clock());
    const ttl = String(this.#settings.retention + 10_000);
    const key = countersKey(namespace, start);
    const hot = this.#hot?.take();
    const writes: Array<Promise<unknown>> = [redis.send(key, false, ['EVAL', ADD, '1', key, ttl, ...fields])];
    for (const [kind, table] of hot ?? []) {
      const zkey = hotKeysKey(namespace, start, kind);
      const top = [...table].sort((a, b) => b[1] - a[1]).slice(0, HOT_KEYS_WRITTEN);
      for (const [label, n] of top) writes.push(redis.send(zkey, false, ['ZINCRBY', zkey, String(n), label]));
      writes.push(redis.send(zkey, false, ['PEXPIRE', zkey, ttl]));
    }
    const [reply] = await Promise.all(writes);
    if (reply === undefined) {
      // not written: the counter deltas stay unsent (the next write carries them); put the histograms back
      this.counters.failed++;
      for (const [kind, l] of latency) this.#merge(kind, l);
      return false;
    }
    this.counters.writes++;
    this.#sent = new Map(Object.entries(snapshot.kinds));
    this.#sentSince = snapshot.since;
    return true;
  }

  #merge(kind: string, back: Latency): void {
    const l = this.#latency.get(kind);
    if (!l) return void this.#latency.set(kind, back);
    for (const which of ['hit', 'miss'] as const) {
      back[which].counts.forEach((n, i) => (l[which].counts[i]! += n));
      l[which].sumMs += back[which].sumMs;
    }
  }
}

/** Pushes `field, delta` pairs for every counter of `now` that grew since `before`. */
function addDelta(fields: string[], kind: string, now: KindStats, before: KindStats | undefined): void {
  for (const [name, value] of Object.entries(now)) {
    if (typeof value !== 'number' || name === 'hitRate') continue;
    const delta = value - (((before as unknown as Record<string, number>)?.[name] as number | undefined) ?? 0);
    if (delta > 0) fields.push(`${kind}${SEP}${name}`, String(delta));
  }
  for (const [reason, value] of Object.entries(now.bypassReasons)) {
    const delta = value - (before?.bypassReasons[reason] ?? 0);
    if (delta > 0) fields.push(`${kind}${SEP}bypass:${reason}`, String(delta));
  }
}

/** Pushes a histogram's fields, each sampled count standing for `scale` calls. */
function addHistogram(fields: string[], prefix: string, h: Histogram, scale: number): void {
  if (h.sumMs === 0 && h.counts.every((n) => n === 0)) return;
  h.counts.forEach((n, i) => n > 0 && fields.push(`${prefix}:${i}`, String(n * scale)));
  fields.push(`${prefix}_sum`, String(h.sumMs * scale));
}
