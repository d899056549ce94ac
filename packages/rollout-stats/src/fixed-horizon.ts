/**
 * The classic fixed-horizon design: pick the sample size before the test, look once at the end.
 * Used to state what an experiment can detect (minimum detectable effect, sample size) and as the
 * textbook comparison for the sequential test. Checking it after every batch inflates the false
 * positive rate several times over; that is what sequential.ts is for. The same formulas, with the
 * mSPRT's boundary at the horizon in place of z(1 - alpha/2), plan a sequential test's budget.
 */
import { normalCdf, normalQuantile, normalSurvival } from "./normal";
import { horizonTau2Factor, sequentialZBoundary } from "./sequential";

export type Alternative = "two-sided" | "greater" | "less";

export interface Counts {
  readonly successes: number;
  readonly trials: number;
}

export interface ZTestResult {
  /** p_t - p_c. */
  estimate: number;
  /** Estimate over the pooled standard error (the standard error under H0: p_t = p_c). */
  z: number;
  pValue: number;
  /** Wald interval with the unpooled standard error, at level 1 - alpha, matching `alternative`. */
  ci: [number, number];
  significant: boolean;
}

function checkAlpha(field: string, v: number): void {
  if (!(v > 0 && v < 1)) throw new RangeError(`${field} must be in (0, 1), got ${v}`);
}

function checkCounts(field: string, c: Counts): void {
  if (!Number.isInteger(c.trials) || c.trials < 1) throw new RangeError(`${field}.trials must be a positive integer, got ${c.trials}`);
  if (!Number.isInteger(c.successes) || c.successes < 0 || c.successes > c.trials) {
    throw new RangeError(`${field}.successes must be an integer in [0, trials], got ${c.successes}`);
  }
}

function zAlpha(alpha: number, alternative: Alternative | "one-sided"): number {
  return normalQuantile(1 - (alternative === "two-sided" ? alpha / 2 : alpha));
}

/** Two-proportion z-test: pooled standard error for the statistic, unpooled for the interval. */
export function twoProportionZTest(input: { control: Counts; treatment: Counts; alpha?: number; alternative?: Alternative }): ZTestResult {
  const alpha = input.alpha ?? 0.05;
  const alternative = input.alternative ?? "two-sided";
  checkAlpha("alpha", alpha);
  checkCounts("control", input.control);
  checkCounts("treatment", input.treatment);
  const { control: c, treatment: t } = input;
  const pc = c.successes / c.trials;
  const pt = t.successes / t.trials;
  const estimate = pt - pc;
  const pooled = (c.successes + t.successes) / (c.trials + t.trials);
  const se0 = Math.sqrt(pooled * (1 - pooled) * (1 / c.trials + 1 / t.trials));
  const se1 = Math.sqrt((pc * (1 - pc)) / c.trials + (pt * (1 - pt)) / t.trials);
  // All successes or all failures in both arms: no evidence either way.
  const z = se0 > 0 ? estimate / se0 : 0;
  const pValue = alternative === "two-sided" ? Math.min(1, 2 * normalSurvival(Math.abs(z))) : alternative === "greater" ? normalSurvival(z) : normalCdf(z);
  const za = zAlpha(alpha, alternative);
  const ci: [number, number] =
    alternative === "two-sided" ? [estimate - za * se1, estimate + za * se1] : alternative === "greater" ? [estimate - za * se1, Infinity] : [-Infinity, estimate + za * se1];
  return { estimate, z, pValue, ci, significant: pValue < alpha };
}

export interface SampleSizeInput {
  /** Baseline (control) rate, 0 < p < 1. */
  baseline: number;
  /** Smallest effect worth detecting: positive for an increase over the baseline, negative for a decrease. */
  mde: number;
  /** "relative": p_t = baseline * (1 + mde); "absolute": p_t = baseline + mde. */
  mdeKind: "relative" | "absolute";
  alpha?: number;
  power?: number;
  alternative?: "two-sided" | "one-sided";
  /** Treatment units per control unit (a 5 % canary against 95 % is 5 / 95); default 1. */
  ratio?: number;
  /**
   * "fixed-horizon" (default): one look at the end. "sequential": the budget (horizon) for the
   * mSPRT with tau2ForHorizon at that horizon, so that it decides by then with at least this power.
   */
  test?: PlannedTest;
}

export type PlannedTest = "fixed-horizon" | "sequential";

export interface SampleSizeResult {
  /** Units in the control arm (rounded up). */
  control: number;
  /** Units in the treatment arm (rounded up). */
  treatment: number;
  total: number;
  baseline: number;
  /** p_t at the minimum detectable effect. */
  target: number;
  absoluteMde: number;
  relativeMde: number;
  alpha: number;
  power: number;
  /** The |z| the estimate must reach at the horizon: 1.96 for a two-sided fixed test at 0.05, 3.04 sequential. */
  criticalZ: number;
}

interface Design {
  p1: number;
  p2: number;
  power: number;
  ratio: number;
  criticalZ: number;
}

/**
 * The |z| needed at the horizon. For the mSPRT with tau^2 tuned to the horizon it is the boundary
 * there; requiring the horizon look alone to reach it ignores earlier crossings, so the planned
 * power is a lower bound (the simulation in the README shows how much higher it comes out).
 */
function criticalZ(alpha: number, alternative: "two-sided" | "one-sided", test: PlannedTest): number {
  if (test === "fixed-horizon") return zAlpha(alpha, alternative);
  if (alternative !== "two-sided") throw new RangeError("the sequential test is two-sided; plan it with alternative two-sided");
  return sequentialZBoundary(1, horizonTau2Factor(alpha), alpha);
}

/** Control units needed, unrounded: the normal-approximation formula (Fleiss, Statistical Methods for Rates and Proportions, 3rd ed., 4.14 without continuity correction). */
function controlUnitsNeeded(d: Design): number {
  const { p1, p2, ratio: k } = d;
  const pbar = (p1 + k * p2) / (1 + k);
  const zb = normalQuantile(d.power);
  const root = d.criticalZ * Math.sqrt(pbar * (1 - pbar) * (1 + 1 / k)) + zb * Math.sqrt(p1 * (1 - p1) + (p2 * (1 - p2)) / k);
  return (root * root) / ((p2 - p1) * (p2 - p1));
}

function design(input: Omit<SampleSizeInput, "mde" | "mdeKind">): Omit<Design, "p2"> & { alpha: number } {
  const alpha = input.alpha ?? 0.05;
  const power = input.power ?? 0.8;
  const ratio = input.ratio ?? 1;
  const alternative = input.alternative ?? "two-sided";
  const test = input.test ?? "fixed-horizon";
  if (!(input.baseline > 0 && input.baseline < 1)) throw new RangeError(`baseline must be in (0, 1), got ${input.baseline}`);
  checkAlpha("alpha", alpha);
  checkAlpha("power", power);
  if (!(ratio > 0) || !Number.isFinite(ratio)) throw new RangeError(`ratio must be > 0, got ${ratio}`);
  if (alternative !== "two-sided" && alternative !== "one-sided") throw new RangeError(`alternative must be two-sided or one-sided, got ${String(alternative)}`);
  if (test !== "fixed-horizon" && test !== "sequential") throw new RangeError(`test must be fixed-horizon or sequential, got ${String(test)}`);
  return { p1: input.baseline, alpha, power, ratio, criticalZ: criticalZ(alpha, alternative, test) };
}

/**
 * Units per arm for a two-proportion z-test to detect `mde` with the given power: the n at which
 * P(reject) = power when the true rates are baseline and target (the far tail of a two-sided test
 * is ignored, as in every textbook table).
 */
export function sampleSizeForMde(input: SampleSizeInput): SampleSizeResult {
  const base = design(input);
  if (input.mdeKind !== "relative" && input.mdeKind !== "absolute") throw new RangeError(`mdeKind must be relative or absolute, got ${String(input.mdeKind)}`);
  if (!(input.mde !== 0 && Number.isFinite(input.mde))) throw new RangeError(`mde must be a non-zero number, got ${input.mde}`);
  const p2 = input.mdeKind === "relative" ? base.p1 * (1 + input.mde) : base.p1 + input.mde;
  if (!(p2 > 0 && p2 < 1)) throw new RangeError(`baseline ${base.p1} with mde ${input.mde} (${input.mdeKind}) gives a target rate ${p2} outside (0, 1)`);
  const control = Math.ceil(controlUnitsNeeded({ ...base, p2 }) - 1e-9);
  const treatment = Math.ceil(control * base.ratio - 1e-9);
  return {
    control,
    treatment,
    total: control + treatment,
    baseline: base.p1,
    target: p2,
    absoluteMde: p2 - base.p1,
    relativeMde: (p2 - base.p1) / base.p1,
    alpha: base.alpha,
    power: base.power,
    criticalZ: base.criticalZ,
  };
}

/**
 * Power of the two-proportion z-test with `control` units and ratio * control treatment units;
 * with test "sequential", a lower bound on the mSPRT's power by a horizon of that many units.
 */
export function twoProportionPower(input: {
  baseline: number;
  target: number;
  control: number;
  alpha?: number;
  ratio?: number;
  alternative?: "two-sided" | "one-sided";
  test?: PlannedTest;
}): number {
  const base = design({ ...input, power: 0.5 });
  if (!(input.target > 0 && input.target < 1)) throw new RangeError(`target must be in (0, 1), got ${input.target}`);
  if (!(input.control > 0)) throw new RangeError(`control must be > 0, got ${input.control}`);
  const { p1, ratio: k } = base;
  const p2 = input.target;
  const n1 = input.control;
  const n2 = k * n1;
  const pbar = (p1 * n1 + p2 * n2) / (n1 + n2);
  const se0 = Math.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n2));
  const se1 = Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2);
  return normalCdf((Math.abs(p2 - p1) - base.criticalZ * se0) / se1);
}

/**
 * The smallest increase over the baseline that `control` units per arm (and ratio * control
 * treatment units) detect with the given power: the inverse of sampleSizeForMde, by bisection.
 */
export function mdeForSampleSize(input: Omit<SampleSizeInput, "mde" | "mdeKind"> & { control: number }): { absoluteMde: number; relativeMde: number; target: number } {
  const base = design(input);
  if (!(input.control > 0)) throw new RangeError(`control must be > 0, got ${input.control}`);
  let lo = 0;
  let hi = 1 - base.p1;
  if (controlUnitsNeeded({ ...base, p2: base.p1 + hi * (1 - 1e-9) }) > input.control) {
    throw new RangeError(`${input.control} units cannot reach power ${base.power} for any increase over ${base.p1}`);
  }
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (controlUnitsNeeded({ ...base, p2: base.p1 + mid }) > input.control) lo = mid;
    else hi = mid;
  }
  return { absoluteMde: hi, relativeMde: hi / base.p1, target: base.p1 + hi };
}

/** Units per arm to detect a difference `mde` in means with per-unit standard deviation `sd`. */
export function sampleSizeForMeanMde(input: {
  sd: number;
  mde: number;
  alpha?: number;
  power?: number;
  alternative?: "two-sided" | "one-sided";
  ratio?: number;
  test?: PlannedTest;
}): {
  control: number;
  treatment: number;
  total: number;
} {
  const alpha = input.alpha ?? 0.05;
  const power = input.power ?? 0.8;
  const ratio = input.ratio ?? 1;
  checkAlpha("alpha", alpha);
  checkAlpha("power", power);
  if (!(input.sd > 0) || !Number.isFinite(input.sd)) throw new RangeError(`sd must be > 0, got ${input.sd}`);
  if (!(input.mde !== 0 && Number.isFinite(input.mde))) throw new RangeError(`mde must be a non-zero number, got ${input.mde}`);
  if (!(ratio > 0) || !Number.isFinite(ratio)) throw new RangeError(`ratio must be > 0, got ${ratio}`);
  const z = criticalZ(alpha, input.alternative ?? "two-sided", input.test ?? "fixed-horizon") + normalQuantile(power);
  const control = Math.ceil((z * z * input.sd * input.sd * (1 + 1 / ratio)) / (input.mde * input.mde) - 1e-9);
  const treatment = Math.ceil(control * ratio - 1e-9);
  return { control, treatment, total: control + treatment };
}
