import type { Arm } from "@mlsd/contracts";
import type { MeanStat} from "@mlsd/rollout-stats";
import { LatencyStat, ProportionStat, RatioStat, type Direction, type Moments } from "@mlsd/rollout-stats";

/**
 * One arm's evidence. `primary` is what the sequential test reads; `latency` and `errors` feed the
 * guardrails; `summary` holds the numbers a person reads (CTR, NDCG, cost per transaction, AP).
 */
export interface ArmView {
  primary: Moments;
  latency: LatencyStat;
  errors: ProportionStat;
  requests: number;
  /** Randomisation units (users, cards) that saw this arm. */
  units: number;
  summary: Record<string, number | null>;
}

export interface EvalView {
  /** `split`: the two arms answered different users (canary, A/B); `shadow`: both predicted on the same requests. */
  mode: "split" | "shadow";
  primaryMetric: string;
  direction: Direction;
  current: ArmView;
  challenger: ArmView;
}

/**
 * A primary metric averaged over randomisation units: each unit's running totals are replaced as
 * they grow (a user's clicks and impressions), so the test sees one independent unit per user,
 * not correlated impressions (per-impression CTR under a per-user split inflates false alarms).
 */
export class PerUnitRatio {
  readonly stat = new RatioStat();
  private readonly totals = new Map<string, { x: number; y: number }>();

  add(unit: string, dx: number, dy: number): void {
    const old = this.totals.get(unit);
    if (old) this.stat.remove(old.x, old.y);
    const next = { x: (old?.x ?? 0) + dx, y: (old?.y ?? 0) + dy };
    this.totals.set(unit, next);
    this.stat.observe(next.x, next.y);
  }

  get units(): number {
    return this.totals.size;
  }
}

/** Accumulators of one arm shared by both designs. */
export class ArmAccumulators {
  readonly latency = new LatencyStat();
  readonly errors = new ProportionStat();
  readonly units = new Set<string>();
  requests = 0;

  answered(unit: string, latencyMs: number | null, failed: boolean): void {
    this.requests++;
    this.units.add(unit);
    if (latencyMs !== null && latencyMs > 0) this.latency.observe(latencyMs);
    this.errors.observe(failed);
  }
}

export function emptyArms<T>(make: () => T): Record<Arm, T> {
  return { current: make(), challenger: make() };
}

export const ratio = (n: number, d: number): number | null => (d > 0 ? n / d : null);

export function meanOrNull(stat: MeanStat): number | null {
  return stat.count > 0 ? stat.mean : null;
}

/**
 * The health side of a shadow: both models' compute time on the same requests, the challenger's
 * failures (the model in service answered, so it has none), and the entities it saw.
 */
export class ShadowHealth {
  private readonly latency = emptyArms(() => new LatencyStat());
  private readonly errors = new ProportionStat();
  private readonly units = new Set<string>();

  observe(p: { entityId: string; servingMs: number; shadowMs: number; error: string | null }): void {
    this.units.add(p.entityId);
    this.latency.current.observe(Math.max(p.servingMs, 1e-3));
    this.latency.challenger.observe(Math.max(p.shadowMs, 1e-3));
    this.errors.observe(p.error !== null);
  }

  /** One arm's view in shadow, with its primary metric and summary. */
  view(a: Arm, primary: Moments, summary: Record<string, number | null>): ArmView {
    return {
      primary,
      latency: this.latency[a],
      errors: a === "challenger" ? this.errors : new ProportionStat(0, this.errors.trials),
      requests: this.errors.trials,
      units: this.units.size,
      summary,
    };
  }
}
