/**
 * `tuneThreshold(pairs, { embed })`: picks the semantic tier's threshold from prompt pairs you labelled (same meaning
 * or not): the one with the best hit rate whose false-hit rate stays within your bound, with the curve it chose from.
 */
import { ConfigError } from '../../errors.js';
import { guardRefusing } from './guards.js';
import { unitVector } from './vector-index.js';
import { resolveGuards, type EmbeddingVector, type SemanticGuards } from './options.js';

/** Two prompts and whether an answer to one is a right answer to the other. */
export interface LabelledPair {
  a: string;
  b: string;
  /** True when the prompts mean the same (a paraphrase), false when an answer to one is wrong for the other. */
  same: boolean;
}

/** Options of {@link tuneThreshold}. */
export interface TuneThresholdOptions {
  /** The embedder the semantic tier will use. */
  embed: (text: string) => EmbeddingVector | PromiseLike<EmbeddingVector>;
  /** Largest share of different-meaning pairs that may be served (0 to 1). @default 0.01 */
  maxFalseHitRate?: number;
  /** The built-in guards the tier will run, counted as they will refuse matches. @default all on */
  guards?: SemanticGuards | false;
}

/** One candidate threshold: the shares of same-meaning pairs it serves (hit rate) and of the others (false hits). */
export interface ThresholdPoint {
  threshold: number;
  hitRate: number;
  falseHitRate: number;
}

/** What {@link tuneThreshold} returns: the chosen point and the curve (thresholds from high to low). */
export interface TunedThreshold extends ThresholdPoint {
  curve: ThresholdPoint[];
}

/**
 * Embeds both prompts of each labelled pair and returns the lowest threshold (so the best hit rate) whose false-hit
 * rate (different-meaning pairs that would be served: similarity at or above it and no guard refusing) is at most
 * `maxFalseHitRate`. Pairs a guard refuses never hit, whatever the threshold. Needs one pair of each label. When even
 * a threshold of 1 serves too many different-meaning pairs, returns 1 with its false-hit rate (above the bound): the
 * embedder and guards cannot tell those pairs apart, and the semantic tier should not be used with them.
 */
export async function tuneThreshold(
  pairs: readonly LabelledPair[],
  options: TuneThresholdOptions,
): Promise<TunedThreshold> {
  if (!Array.isArray(pairs)) throw new ConfigError('tuneThreshold.pairs', 'expected an array of { a, b, same }');
  const o = options ?? ({} as TuneThresholdOptions);
  if (typeof o.embed !== 'function') throw new ConfigError('tuneThreshold.embed', 'required: a function text → vector');
  const bound = o.maxFalseHitRate ?? 0.01;
  if (typeof bound !== 'number' || !(bound >= 0 && bound <= 1)) {
    throw new ConfigError('tuneThreshold.maxFalseHitRate', 'expected a number from 0 to 1');
  }
  const guards = resolveGuards(o.guards, 'tuneThreshold.guards');
  pairs.forEach((p, i) => {
    if (typeof p?.a !== 'string' || typeof p.b !== 'string' || typeof p.same !== 'boolean') {
      throw new ConfigError(`tuneThreshold.pairs[${i}]`, 'expected { a: string, b: string, same: boolean }');
    }
  });
  const same = pairs.filter((p) => p.same).length;
  const different = pairs.length - same;
  if (same === 0 || different === 0) {
    throw new ConfigError('tuneThreshold.pairs', 'needs pairs of both labels (same: true and same: false)');
  }
  const vectors = new Map<string, Float64Array>();
  const vectorOf = async (text: string) => {
    let v = vectors.get(text);
    if (!v) {
      try {
        v = unitVector(await o.embed(text), undefined);
      } catch (error) {
        throw new ConfigError('tuneThreshold.embed', `returned no usable vector: ${(error as Error).message}`);
      }
      vectors.set(text, v);
    }
    return v;
  };
  // a pair a guard refuses never hits: its similarity counts as -Infinity
  const scored: Array<{ similarity: number; same: boolean }> = [];
  for (const p of pairs) {
    const [x, y] = [await vectorOf(p.a), await vectorOf(p.b)];
    if (x.length !== y.length) throw new ConfigError('tuneThreshold.embed', 'returned vectors of different lengths');
    let dot = 0;
    for (let i = 0; i < x.length; i++) dot += x[i]! * y[i]!;
    const refused = guardRefusing(p.a, p.b, guards) !== undefined;
    // rounded to 1e-6, like the tier's comparison: float32 rounding must not split equal vectors from a threshold of 1
    scored.push({ similarity: refused ? -Infinity : Math.min(1, Math.round(dot * 1e6) / 1e6), same: p.same });
  }
  const thresholds = [...new Set(scored.map((s) => s.similarity).filter(Number.isFinite))].sort((a, b) => b - a);
  const curve: ThresholdPoint[] = [{ threshold: 1, ...rates(scored, 1, same, different) }];
  for (const t of thresholds) if (t > 0 && t < 1) curve.push({ threshold: t, ...rates(scored, t, same, different) });
  let best = curve[0]!;
  for (const point of curve) {
    if (point.falseHitRate <= bound && (best.falseHitRate > bound || point.hitRate >= best.hitRate)) best = point;
  }
  return { ...best, curve };
}

function rates(scored: Array<{ similarity: number; same: boolean }>, t: number, same: number, different: number) {
  let hits = 0;
  let falseHits = 0;
  for (const s of scored) {
    if (s.similarity < t) continue;
    if (s.same) hits++;
    else falseHits++;
  }
  return { hitRate: hits / same, falseHitRate: falseHits / different };
}
