/**
 * The targets of issues #5 and #13, checked against one run's results. A ratio is the median over the measured
 * rounds of the ratio of the two contenders' batches in that round (interleaved, so drift hits both alike); its range
 * over the rounds is printed with it.
 */
import { pairedRatio, type Summary } from './measure.js';
import type { Contender } from './contenders.js';

/** Phases of the micro benchmark. */
export type MicroPhase = 'hit' | 'miss' | 'inflight' | 'stampede';

/** One contender's numbers in one phase. For the stampede, `median`/`p99` are wall times and `computes` the most runs. */
export interface ResultRow extends Summary {
  name: string;
  role: Contender['role'];
  tier: Contender['tier'];
  /** For a floor: its codec. */
  codec?: Contender['codec'];
  /** For infercache: options written inline (a new object each call). */
  inline?: boolean;
  /** Times the cached function ran during the phase (0 expected on hit phases). */
  computes: number;
}

/** All contenders' numbers in one phase. */
export interface PhaseResult {
  phase: MicroPhase;
  rows: ResultRow[];
}

/** A target and whether this run met it. */
export interface TargetCheck {
  name: string;
  met: boolean;
  detail: string;
}

const x = (n: number) => `${n.toFixed(2)}×`;
const us = (n: number) => `${n.toFixed(2)} µs`;

/** `a`'s median latency (or, with `ops`, its rate) to `b`'s, paired round by round: `1.05× (0.98–1.12)`. */
function paired(a: ResultRow, b: ResultRow, ops = false): { ratio: number; text: string } {
  const pick = (r: ResultRow) => (ops ? r.perRound?.opsPerSec : r.perRound?.median) ?? [];
  const r = pairedRatio(pick(a), pick(b));
  if (!Number.isFinite(r.median)) {
    const ratio = ops ? a.opsPerSec / b.opsPerSec : a.median / b.median; // older results: pooled
    return { ratio, text: x(ratio) };
  }
  return { ratio: r.median, text: `${x(r.median)} (${x(r.min)}–${x(r.max)} over rounds)` };
}

/** Checks the micro-benchmark targets, and infercache against every peer of the same tier in every phase. */
export function evaluateMicro(results: PhaseResult[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const phase = (p: MicroPhase) => results.find((r) => r.phase === p);
  const row = (p: MicroPhase, pred: (r: ResultRow) => boolean) => phase(p)?.rows.find(pred);
  const floorsOf = (p: MicroPhase) => phase(p)?.rows.filter((r) => r.role === 'floor') ?? [];
  const ic = (p: MicroPhase, tier: ResultRow['tier'], inline = false) =>
    row(p, (r) => r.role === 'infercache' && r.tier === tier && (r.inline ?? false) === inline);
  const floorName = (f: ResultRow) => `${f.codec ?? 'msgpackr'} floor`;
  /** One check against every floor: met when it holds against each. */
  const againstFloors = (
    name: string,
    p: MicroPhase,
    ours: ResultRow | undefined,
    ops: boolean,
    holds: (ratio: number) => boolean,
  ) => {
    const floors = floorsOf(p);
    if (!ours || floors.length === 0) return;
    const parts = floors.map((f) => ({ f, ...paired(ours, f, ops) }));
    checks.push({
      name,
      met: parts.every((part) => holds(part.ratio)),
      detail: parts
        .map(
          ({ f, text }) =>
            `${text} the ${floorName(f)} (${ops ? `${Math.round(ours.opsPerSec)} vs ${Math.round(f.opsPerSec)} ops/s` : `${us(ours.median)} vs ${us(f.median)}`})`,
        )
        .join('; '),
    });
  };

  againstFloors('Redis-tier hit ≤ 1.10× both floors', 'hit', ic('hit', 'redis'), false, (r) => r <= 1.1);
  againstFloors('Miss ≤ 1.15× each floor’s GET + SET', 'miss', ic('miss', 'redis'), false, (r) => r <= 1.15);
  againstFloors(
    '64 in flight on the Redis tier ≥ 1.0× the floors’ ops/s',
    'inflight',
    ic('inflight', 'redis'),
    true,
    (r) => r >= 1,
  );
  const hitMemory = ic('hit', 'memory+redis');
  if (hitMemory) {
    checks.push({ name: 'Memory-tier hit ≤ 1 µs', met: hitMemory.median <= 1, detail: us(hitMemory.median) });
  }
  const hitInline = ic('hit', 'memory+redis', true);
  if (hitInline) {
    const vs = hitMemory ? `; ${paired(hitInline, hitMemory).text} the same options reused` : '';
    checks.push({
      name: 'Memory-tier hit with inline options ≤ 1 µs',
      met: hitInline.median <= 1,
      detail: us(hitInline.median) + vs,
    });
  }
  for (const tier of ['redis', 'memory+redis'] as const) {
    const s = ic('stampede', tier);
    if (s) {
      checks.push({
        name: `Stampede (${tier}): 1 run per 100 callers`,
        met: s.computes === 1,
        detail: `${s.computes} run(s)`,
      });
    }
  }
  // Against the peers, tier for tier: lower median latency (higher ops/s at 64 in flight, fewer runs in a stampede).
  const losses: string[] = [];
  let compared = 0;
  for (const r of results) {
    for (const peer of r.rows.filter((p) => p.role === 'peer')) {
      const ours = r.rows.find((p) => p.role === 'infercache' && p.tier === peer.tier && !p.inline);
      if (!ours) continue;
      compared++;
      const lost =
        r.phase === 'inflight'
          ? ours.opsPerSec < peer.opsPerSec
          : r.phase === 'stampede'
            ? ours.computes > peer.computes
            : ours.median > peer.median;
      if (lost) losses.push(`${r.phase}: ${peer.name}`);
    }
  }
  if (compared > 0) {
    checks.push({
      name: 'Beat every peer on each phase (same tier)',
      met: losses.length === 0,
      detail: losses.length === 0 ? `${compared} comparisons won` : `lost ${losses.join(', ')}`,
    });
  }
  return checks;
}
