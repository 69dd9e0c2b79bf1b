/** The targets of issue #5, checked against one run's results (ratios of medians, as the issue states them). */
import type { Summary } from './measure.js';
import type { Contender } from './contenders.js';

/** Phases of the micro benchmark. */
export type MicroPhase = 'hit' | 'miss' | 'inflight' | 'stampede';

/** One contender's numbers in one phase. For the stampede, `median`/`p99` are wall times and `computes` the most runs. */
export interface ResultRow extends Summary {
  name: string;
  role: Contender['role'];
  tier: Contender['tier'];
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

/** Checks the micro-benchmark targets, and infercache against every peer of the same tier in every phase. */
export function evaluateMicro(results: PhaseResult[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const phase = (p: MicroPhase) => results.find((r) => r.phase === p);
  const row = (p: MicroPhase, pred: (r: ResultRow) => boolean) => phase(p)?.rows.find(pred);
  const floorOf = (p: MicroPhase) => row(p, (r) => r.role === 'floor');
  const ic = (p: MicroPhase, tier: ResultRow['tier']) => row(p, (r) => r.role === 'infercache' && r.tier === tier);

  const hitFloor = floorOf('hit');
  const hitRedis = ic('hit', 'redis');
  if (hitFloor && hitRedis) {
    const r = hitRedis.median / hitFloor.median;
    checks.push({
      name: 'Redis-tier hit ≤ 1.10× the floor',
      met: r <= 1.1,
      detail: `${x(r)} (${us(hitRedis.median)} vs ${us(hitFloor.median)})`,
    });
  }
  const hitMemory = ic('hit', 'memory+redis');
  if (hitMemory) {
    checks.push({ name: 'Memory-tier hit ≤ 1 µs', met: hitMemory.median <= 1, detail: us(hitMemory.median) });
  }
  const missFloor = floorOf('miss');
  const missRedis = ic('miss', 'redis');
  if (missFloor && missRedis) {
    const r = missRedis.median / missFloor.median;
    const ops = missRedis.opsPerSec / missFloor.opsPerSec;
    checks.push({
      name: 'Miss ≤ 1.15× raw GET + SET',
      met: r <= 1.15,
      detail: `${x(r)} median (${us(missRedis.median)} vs ${us(missFloor.median)}); ${x(ops)} the floor's ops/s`,
    });
  }
  const inFloor = floorOf('inflight');
  const inRedis = ic('inflight', 'redis');
  if (inFloor && inRedis) {
    const r = inRedis.opsPerSec / inFloor.opsPerSec;
    checks.push({
      name: '64 in flight on the Redis tier ≥ the floor’s ops/s',
      met: r >= 1,
      detail: `${x(r)} (${Math.round(inRedis.opsPerSec)} vs ${Math.round(inFloor.opsPerSec)} ops/s)`,
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
      const ours = r.rows.find((p) => p.role === 'infercache' && p.tier === peer.tier);
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
