/**
 * Drift statistics over histograms (count vectors over the same bins) plus the exact two-sample KS
 * on raw samples for offline use.
 */
import { invalidInput } from "./errors";
import { chiSquareSurvival, kolmogorovSurvival } from "./special-functions";

/**
 * Added to every proportion (then renormalised) before PSI takes logarithms, so an empty bin on
 * either side gives a large but finite term: one event of 100 in a bin the reference never saw
 * adds about 0.01 * ln(0.01 / 1e-4) = 0.046.
 */
export const DEFAULT_PSI_EPSILON = 1e-4;

function total(counts: ArrayLike<number>, field: string): number {
  let s = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] as number;
    if (!(c >= 0) || !Number.isFinite(c)) throw invalidInput(`${field}[${i}]`, `must be a finite count >= 0, got ${c}`);
    s += c;
  }
  if (s <= 0) throw invalidInput(field, "holds no observations");
  return s;
}

function checkSameLength(reference: ArrayLike<number>, window: ArrayLike<number>): void {
  if (reference.length !== window.length) {
    throw invalidInput("window", `has ${window.length} bins, the reference has ${reference.length}`);
  }
}

/**
 * Population stability index sum_i (q_i - p_i) ln(q_i / p_i) between the reference proportions p
 * and the window's q, each smoothed as (share + epsilon) / (1 + bins * epsilon).
 */
export function populationStabilityIndex(reference: ArrayLike<number>, window: ArrayLike<number>, epsilon = DEFAULT_PSI_EPSILON): number {
  checkSameLength(reference, window);
  if (!(epsilon > 0)) throw invalidInput("epsilon", `must be > 0, got ${epsilon}`);
  return psiUnchecked(reference, window, total(reference, "reference"), total(window, "window"), epsilon);
}

/** PSI without validation, for the hot loops that build null distributions. */
export function psiUnchecked(reference: ArrayLike<number>, window: ArrayLike<number>, referenceTotal: number, windowTotal: number, epsilon: number): number {
  const bins = reference.length;
  const norm = 1 + bins * epsilon;
  let psi = 0;
  for (let i = 0; i < bins; i++) {
    const p = ((reference[i] as number) / referenceTotal + epsilon) / norm;
    const q = ((window[i] as number) / windowTotal + epsilon) / norm;
    psi += (q - p) * Math.log(q / p);
  }
  return psi;
}

export type PsiBand = "stable" | "moderate" | "significant";

export interface PsiBands {
  /** PSI at or above this is a moderate shift (0.1, the industry rule of thumb). */
  moderate: number;
  /** PSI at or above this is a significant shift (0.25). */
  significant: number;
}

export const DEFAULT_PSI_BANDS: PsiBands = Object.freeze({ moderate: 0.1, significant: 0.25 });

export function psiBand(psi: number, bands: PsiBands = DEFAULT_PSI_BANDS): PsiBand {
  if (psi >= bands.significant) return "significant";
  if (psi >= bands.moderate) return "moderate";
  return "stable";
}

/** Jensen-Shannon divergence in bits (0 = identical, 1 = disjoint supports). */
export function jensenShannonDivergence(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkSameLength(a, b);
  const ta = total(a, "reference");
  const tb = total(b, "window");
  let js = 0;
  for (let i = 0; i < a.length; i++) {
    const p = (a[i] as number) / ta;
    const q = (b[i] as number) / tb;
    const m = (p + q) / 2;
    if (p > 0) js += 0.5 * p * Math.log2(p / m);
    if (q > 0) js += 0.5 * q * Math.log2(q / m);
  }
  return Math.max(0, js);
}

export interface ChiSquareResult {
  statistic: number;
  df: number;
  pValue: number;
}

/**
 * Pearson's chi-square test of homogeneity on the 2 x k table (reference counts, window counts):
 * both are samples, and a category the reference never saw still contributes instead of dividing
 * by a zero expectation. Categories empty in both are dropped from the table and from df.
 */
export function chiSquareHomogeneity(reference: ArrayLike<number>, window: ArrayLike<number>): ChiSquareResult {
  checkSameLength(reference, window);
  const tr = total(reference, "reference");
  const tw = total(window, "window");
  const grand = tr + tw;
  let statistic = 0;
  let used = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i] as number;
    const w = window[i] as number;
    const column = r + w;
    if (column === 0) continue;
    used++;
    const er = (tr * column) / grand;
    const ew = (tw * column) / grand;
    statistic += ((r - er) * (r - er)) / er + ((w - ew) * (w - ew)) / ew;
  }
  const df = used - 1;
  if (df < 1) return { statistic: 0, df: 0, pValue: 1 };
  return { statistic, df, pValue: chiSquareSurvival(statistic, df) };
}

/** Exact two-sample Kolmogorov-Smirnov statistic sup_x |F_a(x) - F_b(x)| on raw samples. */
export function ksStatistic(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length === 0) throw invalidInput("a", "is empty");
  if (b.length === 0) throw invalidInput("b", "is empty");
  const sa = Float64Array.from(a).sort();
  const sb = Float64Array.from(b).sort();
  if (Number.isNaN(sa[sa.length - 1])) throw invalidInput("a", "contains NaN");
  if (Number.isNaN(sb[sb.length - 1])) throw invalidInput("b", "contains NaN");
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < sa.length && j < sb.length) {
    const x = Math.min(sa[i] as number, sb[j] as number);
    while (i < sa.length && sa[i] === x) i++;
    while (j < sb.length && sb[j] === x) j++;
    d = Math.max(d, Math.abs(i / sa.length - j / sb.length));
  }
  return d;
}

/**
 * KS statistic between two histograms on the same ordered grid of right-open cells: the largest
 * gap between the cumulative shares at the cell boundaries. It is a lower bound of the exact KS of
 * the underlying samples, and exceeds it by at most the largest reference share of one cell.
 * `cells` limits the comparison to the first `cells` entries (to leave the missing cell out).
 */
export function ksFromHistograms(reference: ArrayLike<number>, window: ArrayLike<number>, cells = reference.length): number {
  let tr = 0;
  let tw = 0;
  for (let j = 0; j < cells; j++) {
    tr += reference[j] as number;
    tw += window[j] as number;
  }
  if (tr === 0 || tw === 0) return 0;
  let cr = 0;
  let cw = 0;
  let d = 0;
  for (let j = 0; j < cells; j++) {
    cr += reference[j] as number;
    cw += window[j] as number;
    const gap = Math.abs(cr / tr - cw / tw);
    if (gap > d) d = gap;
  }
  return d;
}

/**
 * Asymptotic two-sample KS p-value with Stephens' small-sample correction,
 * Q_KS((sqrt(ne) + 0.12 + 0.11 / sqrt(ne)) * d), ne = n m / (n + m). Conservative for discrete
 * data and for the gridded statistic, which can only underestimate d.
 */
export function ksPValue(d: number, n: number, m: number): number {
  if (n <= 0 || m <= 0) return 1;
  const ne = (n * m) / (n + m);
  const root = Math.sqrt(ne);
  return kolmogorovSurvival((root + 0.12 + 0.11 / root) * d);
}
