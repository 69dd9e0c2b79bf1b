import { createClient, RESP_TYPES } from 'redis';
import { createCodec } from '../src/codec.js';
import { fromWire, toWire, newRecord } from '../src/record.js';
import { makeValue } from './lib/value.js';

const mode = process.argv[2]!;
const url = process.env.URL ?? 'redis://127.0.0.1:6390';
const client: any = createClient({ url, commandOptions: { timeout: 0 } } as never);
await client.connect();
const binary = client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
const codec = createCodec({ compressThreshold: Infinity });
const now = Date.now();
const rec = newRecord(makeValue(), now, now + 3e8, now + 3e8, 12.5, [1733456789012345, 1733456789012346, 0], 'value');
const KEYS = 256;
for (let i = 0; i < KEYS; i++) {
  await binary.sendCommand(['SET', `mp:${i}`, codec.encode(toWire(rec), `mp:${i}`)]);
  const j = JSON.stringify(toWire(rec));
  const b = Buffer.alloc(1 + Buffer.byteLength(j)); b[0] = 0x10 | 0x4; b.write(j, 1);
  await binary.sendCommand(['SET', `js:${i}`, b]);
  await binary.sendCommand(['SET', `fl:${i}`, JSON.stringify(makeValue())]);
}
let get: (i: number) => Promise<unknown>;
if (mode === 'floor') get = async (i) => JSON.parse(await client.get(`fl:${i}`));
else if (mode === 'mp') get = async (i) => { const k = `mp:${i}`; const raw = await binary.sendCommand(['GET', k]); return fromWire(codec.decode(raw, k)); };
else if (mode === 'jsbuf') get = async (i) => { const raw: Buffer = await binary.sendCommand(['GET', `js:${i}`]); return fromWire(JSON.parse(raw.toString('utf8', 1))); };
else if (mode === 'mpraw') get = async (i) => { const raw: Buffer = await binary.sendCommand(['GET', `mp:${i}`]); return raw; };
else if (mode === 'mget') get = async (i) => { const k = `mp:${i}`; const [raw, g1, g2] = await binary.sendCommand(['MGET', k, 'g:a', 'g:b']); return fromWire(codec.decode(raw, k)); };
else if (mode.startsWith('spin')) { const n = Number(mode.slice(4)); let acc = 0; get = async (i) => { const k = `mp:${i}`; const [raw] = await binary.sendCommand(['MGET', k, 'g:a', 'g:b']); const t = process.hrtime.bigint(); while (Number(process.hrtime.bigint() - t) < n) acc++; return fromWire(codec.decode(raw, k)); }; }
else if (mode.startsWith('hops')) { const n = Number(mode.slice(4)); const hop = async (v: unknown) => v; get = async (i) => { const k = `mp:${i}`; const [raw] = await binary.sendCommand(['MGET', k, 'g:a', 'g:b']); let v: unknown = fromWire(codec.decode(raw, k)); for (let h = 0; h < n; h++) v = await hop(v); return v; }; }
else if (mode === 'ic') { const { createCache } = await import(process.env.DIST ?? '../dist/esm/src/index.js'); const cache = createCache({ redis: { url }, namespace: 'zz', setDefault: false, logger: false }); await cache.connect(); const o = { ttl: 300 }; const v = makeValue(); for (let i = 0; i < KEYS; i++) await cache.wrap('bench', String(i), async () => v, o); get = (i) => cache.wrap('bench', String(i), async () => v, o); }
else throw new Error(mode);
const seq = async (n: number) => { const t = process.hrtime.bigint(); for (let i = 0; i < n; i++) await get(i % KEYS); return Number(process.hrtime.bigint() - t) / n / 1000; };
const inflight = async (n: number) => { const t = process.hrtime.bigint(); let next = 0; const worker = async () => { while (next < n) { const i = next++; await get((i * 37) % KEYS); } }; await Promise.all(Array.from({ length: 64 }, worker)); return n / (Number(process.hrtime.bigint() - t) / 1e9); };
await seq(5000); await inflight(20000);
if (process.env.INFONLY) { await inflight(400000); console.log('infonly'); process.exit(0); }
if (process.env.SEQONLY) { await seq(160000); console.log('seqonly'); await client.close(); process.exit(0); }
import('node:fs');
const { threadCpuMicros } = await import('./lib/cpu.js');
const rpid = Number(process.env.RPID);
const s: number[] = [], f: number[] = [];
const c0 = process.cpuUsage(); const r0 = threadCpuMicros(rpid); let calls = 0;
for (let r = 0; r < 5; r++) { s.push(await seq(4000)); f.push(await inflight(30000)); calls += 30000 + 4000; }
const c1 = process.cpuUsage(c0); const r1 = threadCpuMicros(rpid);
console.log('node cpu/call', ((c1.user + c1.system) / calls).toFixed(2), 'user', (c1.user/calls).toFixed(2), 'redis cpu/call', ((r1 - r0) / calls).toFixed(2));
const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1]!;
console.log(JSON.stringify({ mode, seqUs: +med(s).toFixed(2), inflightOps: Math.round(med(f)) }));
await client.close(); process.exit(0);
