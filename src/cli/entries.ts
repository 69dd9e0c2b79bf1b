/** `infercache keys KIND` and `infercache inspect KIND KEY`: what is stored, read with the cache's own codec. */
import { inspect as show } from 'node:util';
import { createCodec } from '../codec.js';
import { fromWire } from '../record.js';
import { internalsOf, type Cache } from '../cache.js';
import { bytes, seconds, table } from './format.js';

/** Longest value preview, in characters. */
const PREVIEW_CHARS = 600;

/** A usage or lookup problem: printed as it is, with exit code 2 (usage) or 1 (not found). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

function redis(cache: Cache) {
  const tier = internalsOf(cache).redis;
  if (!tier) throw new CliError('no Redis configured', 2);
  return tier;
}

/** Keys of `kind` (any version) with their TTL left: at most `limit`, from a SCAN. */
export async function listKeys(
  cache: Cache,
  kind: string,
  limit: number,
): Promise<Array<{ key: string; ttl: number }>> {
  const r = redis(cache);
  const found: string[] = [];
  let cursor = '0';
  const match = `${cache.settings.namespace}:${kind}:*`;
  do {
    const reply = (await r.sendOrThrow(undefined, true, ['SCAN', cursor, 'MATCH', match, 'COUNT', '1000'])) as [
      unknown,
      unknown[],
    ];
    cursor = String(reply[0]);
    for (const key of reply[1]) if (found.length < limit) found.push(String(key));
  } while (cursor !== '0' && found.length < limit);
  found.sort();
  const ttls = await Promise.all(found.map((key) => r.sendOrThrow(key, true, ['PTTL', key])));
  return found.map((key, i) => ({ key, ttl: Number(ttls[i]) }));
}

/** The `keys` table. */
export function keysText(keys: Array<{ key: string; ttl: number }>): string {
  if (keys.length === 0) return 'no entries';
  return table([['key', 'ttl left'], ...keys.map((k) => [k.key, k.ttl < 0 ? 'none' : seconds(k.ttl / 1000)])]);
}

/** What `inspect` reports of one entry. */
export interface Inspection {
  key: string;
  sizeBytes: number;
  ttlLeftSeconds: number | null;
  ageSeconds: number;
  freshForSeconds: number;
  computeMs: number;
  tags: readonly string[];
  kind: 'value' | 'cached error' | 'custom serialized bytes';
  preview: string;
}

/** Reads and decodes one entry; `key` is the discriminator (`CHG_001`) or the whole Redis key. */
export async function inspectEntry(cache: Cache, kind: string, key: string): Promise<Inspection> {
  const r = redis(cache);
  const s = cache.settings;
  const full = key.startsWith(`${s.namespace}:${kind}:`) ? key : `${s.namespace}:${kind}:${s.version}:${key}`;
  const [raw, ttl] = await Promise.all([
    r.sendOrThrow(full, true, ['GET', full]) as Promise<Buffer | null>,
    r.sendOrThrow(full, true, ['PTTL', full]),
  ]);
  if (raw == null) throw new CliError(`no entry at ${full}`, 1);
  const codec = createCodec({
    compressThreshold: s.compressThreshold,
    encryptionKey: internalsOf(cache).settings.encryptionKey,
  });
  let record;
  try {
    record = fromWire(codec.decode(Buffer.from(raw), full));
  } catch (error) {
    throw new CliError(`the entry at ${full} cannot be decoded: ${(error as Error).message}`, 1);
  }
  if (!record) throw new CliError(`the entry at ${full} is not an infercache entry`, 1);
  const now = Date.now();
  const text = show(record.value, { depth: 4, breakLength: 100, maxArrayLength: 20, maxStringLength: 200 });
  return {
    key: full,
    sizeBytes: raw.length,
    ttlLeftSeconds: Number(ttl) < 0 ? null : Number(ttl) / 1000,
    ageSeconds: Math.max(0, (now - record.createdAt) / 1000),
    freshForSeconds: Math.max(0, (record.freshUntil - now) / 1000),
    computeMs: record.computeMs,
    tags: record.tags ?? [],
    kind: record.state === 'error' ? 'cached error' : record.state === 'bytes' ? 'custom serialized bytes' : 'value',
    preview: text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text,
  };
}

/** The `inspect` report. */
export function inspectionText(i: Inspection): string {
  return [
    `key        ${i.key}`,
    `size       ${bytes(i.sizeBytes)}`,
    `age        ${seconds(i.ageSeconds)}`,
    `ttl left   ${i.ttlLeftSeconds === null ? 'none' : seconds(i.ttlLeftSeconds)}`,
    `fresh for  ${seconds(i.freshForSeconds)}`,
    `computed   ${Math.round(i.computeMs)}ms`,
    `tags       ${i.tags.length ? i.tags.join(', ') : 'none'}`,
    `holds      ${i.kind}`,
    'value:',
    i.preview,
  ].join('\n');
}
