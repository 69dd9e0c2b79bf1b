/** Redis keys and hash fields of the fleet statistics: `{namespace}:__fleet:...`, one hash per 10 s bucket. */
import { BUCKET_MS } from './options.js';

/** Separates a kind from its counter in a hash field (kinds never contain it). */
export const SEP = '|';
/** Field prefix counting one instance's flushes in a bucket: the live instances are the distinct ids. */
export const INSTANCE_FIELD = '@instance' + SEP;

/** Start of the bucket holding `ms`, in seconds since the epoch (the suffix of the bucket's keys). */
export function bucketOf(ms: number): number {
  return (Math.floor(ms / BUCKET_MS) * BUCKET_MS) / 1000;
}

/** The hash of every instance's counters for the bucket starting at `start` (seconds). */
export function countersKey(namespace: string, start: number): string {
  return `${namespace}:__fleet:c:${start}`;
}

/** The sorted set of sampled key counts of `kind` for the bucket starting at `start` (seconds). */
export function hotKeysKey(namespace: string, start: number, kind: string): string {
  return `${namespace}:__fleet:h:${start}:${kind}`;
}

/** Bucket starts (seconds) covering the `windowMs` before `now`, oldest first. */
export function bucketsIn(now: number, windowMs: number): number[] {
  const last = bucketOf(now);
  const first = bucketOf(now - windowMs + 1);
  const out: number[] = [];
  for (let b = first; b <= last; b += BUCKET_MS / 1000) out.push(b);
  return out;
}
