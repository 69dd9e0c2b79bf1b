/** The value every contender caches: a ~1 KB prediction result, JSON-safe so that JSON-based peers round-trip it. */
import { Packr } from 'msgpackr';

/** A typical LLM classification result: ids, scores and per-token log-probabilities. */
export function makeValue(): Record<string, unknown> {
  return {
    id: 'chatcmpl-9a8b7c6d5e',
    model: 'price-model-v2.1',
    created: 1_712_345_678,
    label: 'approved',
    score: 0.931_25,
    scores: [0.012, 0.931_25, 0.031, 0.025_75],
    tokens: Array.from({ length: 20 }, (_, i) => ({ id: 1000 + i * 17, text: `tok${i}`, logprob: -0.5 - i / 8 })),
    usage: { promptTokens: 412, completionTokens: 18, totalTokens: 430 },
    meta: { region: 'eu-west-1', cached: false, latencyMs: 182.5, version: '2.1.0' },
  };
}

/** Ids the HTTP hit routes cycle through. */
export const HTTP_IDS = 256;

/** The Packr the floor uses: msgpackr with the options infercache's codec uses for plain values. */
export const floorPackr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: true });

/** Encoded sizes of the value, for the report. */
export function valueSizes(value: unknown): { msgpack: number; json: number } {
  return { msgpack: floorPackr.pack(value).length, json: Buffer.byteLength(JSON.stringify(value)) };
}
