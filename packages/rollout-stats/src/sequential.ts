/**
 * The mixture sequential probability ratio test (mSPRT) for the difference of two arms, with
 * always-valid p-values and confidence sequences (Johari, Koomen, Pekelis, Walsh, "Always Valid
 * Inference: Continuous Monitoring of A/B Tests", Operations Research 2022; Robbins 1970).
 *
 * The estimate d = mean(treatment) - mean(control) is treated as normal with variance V (see
 * contrastVariance; per-unit variances plugged in, the CLT does the rest). Against
 * H0: theta = theta0, mixing the alternative over theta ~ N(theta0, tau^2) gives the likelihood ratio
 *
 *   Lambda = sqrt(V / (V + tau^2)) * exp( tau^2 (d - theta0)^2 / (2 V (V + tau^2)) ),
 *
 * a nonnegative martingale under H0 in information time 1/V. Ville's inequality bounds the chance
 * it EVER exceeds 1/alpha by alpha, so p = min over looks of 1/Lambda may be checked after every
 * batch, as often as one likes, and the false positive rate stays at most alpha. Inverting the test
 * over theta0 gives the confidence sequence d +- h with
 *
 *   h^2 = V (V + tau^2) / tau^2 * (2 ln(1/alpha) + ln((V + tau^2) / V)),
 *
 * which covers the true difference at every look simultaneously with probability >= 1 - alpha.
 */
import { checkMoments, type Moments } from "./accumulators";

export type Direction = "higher-is-better" | "lower-is-better";
export type Verdict = "treatment-better" | "treatment-worse";

/** ln Lambda for an observed deviation `delta` = d - theta0 with estimator variance V. */
export function mixtureLogLikelihoodRatio(delta: number, variance: number, tau2: number): number {
  checkPositive("variance", variance);
  checkPositive("tau2", tau2);
  return 0.5 * Math.log(variance / (variance + tau2)) + (tau2 * delta * delta) / (2 * variance * (variance + tau2));
}

/** Half-width h of the always-valid confidence interval d +- h at one look. */
export function mixtureHalfWidth(variance: number, tau2: number, alpha: number): number {
  checkPositive("variance", variance);
  checkPositive("tau2", tau2);
  checkAlpha(alpha);
  return Math.sqrt(((variance * (variance + tau2)) / tau2) * (2 * Math.log(1 / alpha) + Math.log((variance + tau2) / variance)));
}

/**
 * The x = tau^2 / V* that makes the boundary tightest at a planned variance V*: minimising the
 * z-boundary (1 + 1/x)(2 ln(1/alpha) + ln(1 + x)) over x gives x = 2 ln(1/alpha) + ln(1 + x),
 * solved here by fixed-point iteration (a contraction, since d/dx ln(1+x) < 1). alpha = 0.05 gives
 * x = 8.21 and a boundary of |z| = 3.04 at the horizon, against 1.96 for a single fixed-horizon look.
 */
export function horizonTau2Factor(alpha: number): number {
  checkAlpha(alpha);
  const l2 = 2 * Math.log(1 / alpha);
  let x = l2;
  for (let i = 0; i < 200; i++) {
    const next = l2 + Math.log(1 + x);
    if (Math.abs(next - x) < 1e-12) return next;
    x = next;
  }
  return x;
}

/** The |z| an estimate needs to be declared at a look whose variance is V, given tau^2 (z = d / sqrt(V)). */
export function sequentialZBoundary(variance: number, tau2: number, alpha: number): number {
  return mixtureHalfWidth(variance, tau2, alpha) / Math.sqrt(variance);
}

export interface Tau2ForHorizonInput {
  alpha?: number;
  /** Per-unit variance expected in each arm: p (1 - p) at the baseline rate, or sd^2 for a mean. */
  perUnitVariance: number;
  /** Planned sample size of each arm at the end of the stage (the budget). */
  controlCount: number;
  treatmentCount: number;
}

/**
 * A mixing variance tau^2 tuned so the test is most powerful at the end of the budget (see
 * horizonTau2Factor): tau^2 = x * V*, V* = sigma^2 (1 / n_c + 1 / n_t). Larger tau^2 favours early
 * stopping on big effects; smaller favours small effects late. Decide it before the data arrive.
 */
export function tau2ForHorizon(input: Tau2ForHorizonInput): number {
  const alpha = input.alpha ?? 0.05;
  checkPositive("perUnitVariance", input.perUnitVariance);
  checkPositive("controlCount", input.controlCount);
  checkPositive("treatmentCount", input.treatmentCount);
  return horizonTau2Factor(alpha) * input.perUnitVariance * (1 / input.controlCount + 1 / input.treatmentCount);
}

/** Per-unit variance of both arms taken as one sample: each arm's variance if the arms are alike (H0). */
function combinedVariance(control: Moments, treatment: Moments): number {
  const n = control.count + treatment.count;
  const d = treatment.mean - control.mean;
  return ((control.count - 1) * control.variance + (treatment.count - 1) * treatment.variance + ((control.count * treatment.count) / n) * d * d) / (n - 1);
}

/**
 * Variance of mean(treatment) - k * mean(control): the larger of the per-arm (Welch) form
 * s_t^2 / n_t + k^2 s_c^2 / n_c and the same with both arms' combined variance.
 *
 * Why not Welch alone: with skewed data an arm's mean and its own variance estimate move together.
 * A 5 % canary at a 3 % click rate that by chance saw few clicks looks both lower AND less
 * variable, so Welch's V shrinks exactly when the estimate is low, and false "treatment-worse"
 * calls pile up (even on a truly better canary; the README's simulation table shows it). The
 * combined variance does not depend on which arm got the clicks; taking the larger keeps Welch's
 * when the arms really differ in spread.
 */
export function contrastVariance(control: Moments, treatment: Moments, k = 1): number {
  const welch = treatment.variance / treatment.count + (k * k * control.variance) / control.count;
  const pooled = combinedVariance(control, treatment) * (1 / treatment.count + (k * k) / control.count);
  return Math.max(welch, pooled);
}

export interface SequentialTestInput {
  control: Moments;
  treatment: Moments;
  /** Mixing variance of the effect, in the squared units of the difference (see tau2ForHorizon). */
  tau2: number;
  /** Bound on the false positive rate over all looks (default 0.05). */
  alpha?: number;
  direction?: Direction;
  /** Both arms need this many units before the test looks at all (default 100): the plug-in variance is noise below it. */
  minCount?: number;
  /** The result of the previous look on the same, cumulatively growing arms: carries the running p and CI. */
  previous?: SequentialResult | null;
}

export interface SequentialResult {
  alpha: number;
  tau2: number;
  direction: Direction;
  minCount: number;
  sampleSize: { control: number; treatment: number };
  controlMean: number | null;
  treatmentMean: number | null;
  /** treatment - control at this look; null before either arm has data. */
  estimate: number | null;
  /** estimate / controlMean; null unless the control mean is positive. */
  relativeEstimate: number | null;
  /** Variance of the estimate at this look (null below minCount or with no spread). */
  variance: number | null;
  /** ln Lambda against theta = 0 at this look (0 when the test did not look). */
  logLikelihoodRatio: number;
  /** Always-valid p-value: the minimum of 1 / Lambda over all looks so far, so it never increases. */
  pValue: number;
  /** Always-valid confidence sequence for treatment - control: the running intersection over looks. */
  ci: [number, number] | null;
  /** The same for the relative change (delta method, tau^2 scaled by the control mean squared). */
  relativeCi: [number, number] | null;
  decided: Verdict | null;
  /** Looks at which the test had enough data to evaluate. */
  looks: number;
}

function checkPositive(field: string, v: number): void {
  if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`${field} must be a finite number > 0, got ${v}`);
}

function checkAlpha(alpha: number): void {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
}

function intersect(current: [number, number], previous: [number, number] | null): [number, number] {
  if (!previous) return current;
  const lo = Math.max(current[0], previous[0]);
  const hi = Math.min(current[1], previous[1]);
  // Disjoint intervals happen with probability <= alpha under the model (a miscovered look); the
  // latest look is the better-informed one, so it wins rather than returning an empty set.
  return lo <= hi ? [lo, hi] : current;
}

function verdictOf(ci: [number, number] | null, direction: Direction): Verdict | null {
  if (!ci) return null;
  const higher = ci[0] > 0;
  const lower = ci[1] < 0;
  if (!higher && !lower) return null;
  return higher === (direction === "higher-is-better") ? "treatment-better" : "treatment-worse";
}

function checkPrevious(previous: SequentialResult, input: Required<Omit<SequentialTestInput, "previous" | "control" | "treatment">>, control: Moments, treatment: Moments): void {
  const same = previous.alpha === input.alpha && previous.tau2 === input.tau2 && previous.direction === input.direction && previous.minCount === input.minCount;
  if (!same) throw new RangeError("previous was computed with a different alpha, tau2, direction or minCount; start a new test instead");
  if (control.count < previous.sampleSize.control || treatment.count < previous.sampleSize.treatment) {
    throw new RangeError(
      `previous saw more units (${previous.sampleSize.control}/${previous.sampleSize.treatment}) than now (${control.count}/${treatment.count}): the arms must be cumulative; start a new test after a reset`,
    );
  }
}

/**
 * One look of the mSPRT on the difference of means (a proportion is the mean of 0/1 outcomes).
 * Feed the previous result back in to keep the p-value monotone and the CI shrinking; without it
 * each look is still valid on its own, only less tight.
 */
export function sequentialTest(input: SequentialTestInput): SequentialResult {
  const { control, treatment } = input;
  checkMoments("control", control);
  checkMoments("treatment", treatment);
  const alpha = input.alpha ?? 0.05;
  const direction = input.direction ?? "higher-is-better";
  const minCount = input.minCount ?? 100;
  checkAlpha(alpha);
  checkPositive("tau2", input.tau2);
  if (!Number.isInteger(minCount) || minCount < 2) throw new RangeError(`minCount must be an integer >= 2, got ${minCount}`);
  if (direction !== "higher-is-better" && direction !== "lower-is-better") throw new RangeError(`direction must be higher-is-better or lower-is-better, got ${String(direction)}`);
  const previous = input.previous ?? null;
  if (previous) checkPrevious(previous, { alpha, tau2: input.tau2, direction, minCount }, control, treatment);

  const haveData = control.count > 0 && treatment.count > 0;
  const estimate = haveData ? treatment.mean - control.mean : null;
  const relativeEstimate = haveData && control.mean > 0 ? treatment.mean / control.mean - 1 : null;
  const variance = control.count >= minCount && treatment.count >= minCount ? contrastVariance(control, treatment) : 0;

  let pValue = previous?.pValue ?? 1;
  let ci = previous?.ci ?? null;
  let relativeCi = previous?.relativeCi ?? null;
  let logLikelihoodRatio = 0;
  let looks = previous?.looks ?? 0;
  if (estimate !== null && variance > 0) {
    looks++;
    logLikelihoodRatio = mixtureLogLikelihoodRatio(estimate, variance, input.tau2);
    pValue = Math.min(pValue, Math.exp(-logLikelihoodRatio), 1);
    const h = mixtureHalfWidth(variance, input.tau2, alpha);
    ci = intersect([estimate - h, estimate + h], ci);
    if (relativeEstimate !== null) {
      // Delta method for r = m_t / m_c - 1: Var ~ Var(m_t - (m_t / m_c) m_c) / m_c^2; tau^2 in the same relative units.
      const c2 = control.mean * control.mean;
      const relVariance = contrastVariance(control, treatment, treatment.mean / control.mean) / c2;
      const hr = mixtureHalfWidth(relVariance, input.tau2 / c2, alpha);
      relativeCi = intersect([relativeEstimate - hr, relativeEstimate + hr], relativeCi);
    }
  }

  return {
    alpha,
    tau2: input.tau2,
    direction,
    minCount,
    sampleSize: { control: control.count, treatment: treatment.count },
    controlMean: control.count > 0 ? control.mean : null,
    treatmentMean: treatment.count > 0 ? treatment.mean : null,
    estimate,
    relativeEstimate,
    variance: variance > 0 ? variance : null,
    logLikelihoodRatio,
    pValue,
    ci,
    relativeCi,
    decided: pValue <= alpha ? verdictOf(ci, direction) : null,
    looks,
  };
}
