/**
 * Guardrails: conditions under which a treatment is rolled back whatever the primary metric says.
 * Each one reports holds / breached / insufficient-data with the numbers it compared, so the
 * decision event can be read without re-running anything.
 *
 * Noise is the enemy of a rollback rule: a canary with 500 requests shows a 5 % CTR drop by chance
 * a large share of the time. So the error-rate and primary-metric guardrails are judged with
 * always-valid confidence bounds (breached only when the bound is past the threshold, which may
 * be checked after every batch at false-alarm rate <= alpha); latency is judged on the quantile
 * itself after a minimum count, with a ratio and an absolute slack to absorb its sampling noise.
 */
import { checkMoments, type Moments } from "./accumulators";
import type { QuantileSource } from "./latency";
import { contrastVariance, mixtureHalfWidth, type SequentialResult } from "./sequential";

export type GuardrailName = "latency" | "error-rate" | "primary-drop";
export type GuardrailStatus = "holds" | "breached" | "insufficient-data";

export interface GuardrailResult {
  name: GuardrailName;
  status: GuardrailStatus;
  /** The quantity compared with the threshold; null when there is too little data. */
  value: number | null;
  threshold: number | null;
  /** One line with the rule and the numbers, for logs, events and the decision's reasons. */
  detail: string;
  numbers: Record<string, number | null>;
}

export interface LatencyGuardrailSpec {
  /** Which quantile (default 0.99). */
  quantile?: number;
  /** Breached when treatment q > maxRatio * control q + slackMs (e.g. 1.2). */
  maxRatio: number;
  /** Absolute slack in the latency unit, so a 2 ms -> 3 ms p99 is not a 50 % regression (e.g. 5). */
  slackMs: number;
  /**
   * Both arms need this many observations (default 1,000): at n = 1,000 only 10 requests lie above
   * p99, so the estimate moves by a few tail requests; fewer than that is not a p99.
   */
  minCount?: number;
}

export interface ErrorRateGuardrailSpec {
  /** Allowed rise of the error rate in absolute terms (e.g. 0.002 = +0.2 percentage points). */
  maxAbsoluteIncrease: number;
  /** Allowed rise relative to the control's rate (e.g. 0.5 = +50 %); the limit is (1 + this) * control + maxAbsoluteIncrease. */
  maxRelativeIncrease: number;
  /**
   * Mixing variance for the always-valid bound, in squared rate units. A guardrail must catch a
   * blatant regression fast, so tune it to a short horizon: tau2ForHorizon with perUnitVariance
   * p (1 - p) at the expected error rate and the counts by which a bad canary must be caught
   * (e.g. 2,000 requests per arm). Tuned to a long horizon it is slow on large regressions.
   */
  tau2: number;
  alpha?: number;
  /** Both arms need this many requests (default 200). */
  minCount?: number;
}

export interface PrimaryDropGuardrailSpec {
  /** Breached when the always-valid bound of the relative change is past this loss (0.05 = 5 % worse). */
  maxRelativeDrop: number;
}

export interface GuardrailSpec {
  latency?: LatencyGuardrailSpec;
  errorRate?: ErrorRateGuardrailSpec;
  primaryDrop?: PrimaryDropGuardrailSpec;
}

/** What one arm contributes to the guardrails. */
export interface ArmHealth {
  latency?: QuantileSource;
  /** Errors per request: a ProportionStat with successes = failed requests. */
  errors?: Moments;
}

export interface EvaluateGuardrailsInput {
  control: ArmHealth;
  treatment: ArmHealth;
  /** The primary metric's sequential result (needed by primaryDrop). */
  primary?: SequentialResult | null;
  spec: GuardrailSpec;
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const num = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(1) : x.toPrecision(4));

function checkFraction(field: string, v: number, allowZero = true): void {
  if (!(allowZero ? v >= 0 : v > 0) || !Number.isFinite(v)) throw new RangeError(`${field} must be a finite number ${allowZero ? ">=" : ">"} 0, got ${v}`);
}

function checkMinCount(field: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${field} must be a positive integer, got ${v}`);
}

function latencyGuardrail(control: QuantileSource | undefined, treatment: QuantileSource | undefined, spec: LatencyGuardrailSpec): GuardrailResult {
  if (!control || !treatment) throw new RangeError("spec.latency needs control.latency and treatment.latency");
  const q = spec.quantile ?? 0.99;
  const minCount = spec.minCount ?? 1000;
  if (!(q > 0 && q < 1)) throw new RangeError(`spec.latency.quantile must be in (0, 1), got ${q}`);
  checkFraction("spec.latency.maxRatio", spec.maxRatio, false);
  checkFraction("spec.latency.slackMs", spec.slackMs);
  checkMinCount("spec.latency.minCount", minCount);
  const label = `p${+(q * 100).toFixed(3)}`;
  const numbers: Record<string, number | null> = { quantile: q, controlCount: control.count, treatmentCount: treatment.count, minCount, maxRatio: spec.maxRatio, slackMs: spec.slackMs };
  if (control.count < minCount || treatment.count < minCount) {
    return {
      name: "latency",
      status: "insufficient-data",
      value: null,
      threshold: null,
      detail: `latency ${label}: ${control.count} control / ${treatment.count} treatment requests, need ${minCount} each`,
      numbers: { ...numbers, control: null, treatment: null },
    };
  }
  const c = control.quantile(q);
  const t = treatment.quantile(q);
  const threshold = spec.maxRatio * c + spec.slackMs;
  const breached = t > threshold;
  return {
    name: "latency",
    status: breached ? "breached" : "holds",
    value: t,
    threshold,
    detail: `latency ${label}: treatment ${num(t)} ms ${breached ? ">" : "<="} ${spec.maxRatio} x control ${num(c)} ms + ${spec.slackMs} ms = ${num(threshold)} ms`,
    numbers: { ...numbers, control: c, treatment: t, ratio: c > 0 ? t / c : null },
  };
}

function errorRateGuardrail(control: Moments | undefined, treatment: Moments | undefined, spec: ErrorRateGuardrailSpec): GuardrailResult {
  if (!control || !treatment) throw new RangeError("spec.errorRate needs control.errors and treatment.errors");
  checkMoments("control.errors", control);
  checkMoments("treatment.errors", treatment);
  const alpha = spec.alpha ?? 0.05;
  const minCount = spec.minCount ?? 200;
  checkFraction("spec.errorRate.maxAbsoluteIncrease", spec.maxAbsoluteIncrease);
  checkFraction("spec.errorRate.maxRelativeIncrease", spec.maxRelativeIncrease);
  checkFraction("spec.errorRate.tau2", spec.tau2, false);
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`spec.errorRate.alpha must be in (0, 1), got ${alpha}`);
  checkMinCount("spec.errorRate.minCount", minCount);
  const k = 1 + spec.maxRelativeIncrease;
  const numbers: Record<string, number | null> = {
    controlCount: control.count,
    treatmentCount: treatment.count,
    minCount,
    controlRate: control.count > 0 ? control.mean : null,
    treatmentRate: treatment.count > 0 ? treatment.mean : null,
    maxAbsoluteIncrease: spec.maxAbsoluteIncrease,
    maxRelativeIncrease: spec.maxRelativeIncrease,
    alpha,
  };
  if (control.count < minCount || treatment.count < minCount) {
    return {
      name: "error-rate",
      status: "insufficient-data",
      value: null,
      threshold: null,
      detail: `error rate: ${control.count} control / ${treatment.count} treatment requests, need ${minCount} each`,
      numbers,
    };
  }
  // Contrast excess = p_t - k p_c; breached when its always-valid lower bound passes the allowed absolute rise.
  const excess = treatment.mean - k * control.mean;
  const variance = contrastVariance(control, treatment, k);
  const h = mixtureHalfWidth(variance, spec.tau2, alpha);
  const lower = excess - h;
  const breached = lower > spec.maxAbsoluteIncrease;
  const limitRate = k * control.mean + spec.maxAbsoluteIncrease;
  return {
    name: "error-rate",
    status: breached ? "breached" : "holds",
    value: lower,
    threshold: spec.maxAbsoluteIncrease,
    detail:
      `error rate: treatment ${pct(treatment.mean)} vs limit ${k} x control ${pct(control.mean)} + ${pct(spec.maxAbsoluteIncrease)} = ${pct(limitRate)}; ` +
      `the excess over ${k} x control is >= ${pct(lower)} with ${pct(1 - alpha)} always-valid confidence, ${breached ? "above" : "not above"} ${pct(spec.maxAbsoluteIncrease)}`,
    numbers: { ...numbers, limitRate, excess, excessLower: lower, excessUpper: excess + h },
  };
}

function primaryDropGuardrail(primary: SequentialResult | null | undefined, spec: PrimaryDropGuardrailSpec): GuardrailResult {
  if (!primary) throw new RangeError("spec.primaryDrop needs the primary metric's sequential result (primary)");
  checkFraction("spec.primaryDrop.maxRelativeDrop", spec.maxRelativeDrop);
  const higher = primary.direction === "higher-is-better";
  // A loss is a fall for higher-is-better metrics (CTR) and a rise for lower-is-better ones (cost).
  const threshold = higher ? -spec.maxRelativeDrop : spec.maxRelativeDrop;
  const numbers: Record<string, number | null> = {
    controlCount: primary.sampleSize.control,
    treatmentCount: primary.sampleSize.treatment,
    relativeEstimate: primary.relativeEstimate,
    relativeCiLower: primary.relativeCi?.[0] ?? null,
    relativeCiUpper: primary.relativeCi?.[1] ?? null,
    maxRelativeDrop: spec.maxRelativeDrop,
    alpha: primary.alpha,
  };
  if (!primary.relativeCi || primary.relativeEstimate === null) {
    return {
      name: "primary-drop",
      status: "insufficient-data",
      value: null,
      threshold,
      detail: `primary metric: no always-valid interval yet (${primary.sampleSize.control} control / ${primary.sampleSize.treatment} treatment units, need ${primary.minCount} each and a positive control mean)`,
      numbers,
    };
  }
  // The bound nearest to "no loss": breached only when even it shows more than the allowed loss.
  const value = higher ? primary.relativeCi[1] : primary.relativeCi[0];
  const breached = higher ? value < threshold : value > threshold;
  const bound = higher ? "upper" : "lower";
  return {
    name: "primary-drop",
    status: breached ? "breached" : "holds",
    value,
    threshold,
    detail:
      `primary metric: relative change ${pct(primary.relativeEstimate)}, always-valid ${pct(1 - primary.alpha)} interval ` +
      `[${pct(primary.relativeCi[0])}, ${pct(primary.relativeCi[1])}]; its ${bound} bound ${pct(value)} is ${breached ? "past" : "not past"} ${pct(threshold)}`,
    numbers,
  };
}

/** Evaluates the guardrails named in `spec` (each one needs its data; a missing input is an error, not a pass). */
export function evaluateGuardrails(input: EvaluateGuardrailsInput): GuardrailResult[] {
  const { control, treatment, spec } = input;
  if (!spec || (!spec.latency && !spec.errorRate && !spec.primaryDrop)) throw new RangeError("spec names no guardrail (latency, errorRate, primaryDrop)");
  const results: GuardrailResult[] = [];
  if (spec.latency) results.push(latencyGuardrail(control.latency, treatment.latency, spec.latency));
  if (spec.errorRate) results.push(errorRateGuardrail(control.errors, treatment.errors, spec.errorRate));
  if (spec.primaryDrop) results.push(primaryDropGuardrail(input.primary, spec.primaryDrop));
  return results;
}
