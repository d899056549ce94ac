/**
 * Exact binomial and multinomial draws whose cost does not grow with n, so the null distribution of
 * a statistic for a window of 50,000 events costs what it does for 500.
 */
import type { Rng } from "@mlsd/random";

/** Gamma(shape, 1) for shape >= 1 (Marsaglia and Tsang, 2000). */
export function sampleGamma(rng: Rng, shape: number): number {
  if (!(shape >= 1)) throw new RangeError(`sampleGamma needs shape >= 1, got ${shape}`);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.next();
    const x2 = x * x;
    if (u < 1 - 0.0331 * x2 * x2) return d * v;
    if (Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(a, b) for a, b >= 1 as a ratio of gammas. */
export function sampleBeta(rng: Rng, a: number, b: number): number {
  const x = sampleGamma(rng, a);
  const y = sampleGamma(rng, b);
  return x / (x + y);
}

// Below this many trials the inversion loop (expected n*p <= 32 steps) is cheaper than recursing.
const INVERSION_LIMIT = 64;

/** Inversion from the pmf recurrence P(k+1) = P(k) * (n-k)/(k+1) * p/q; needs p <= 0.5. */
function binomialByInversion(rng: Rng, n: number, p: number): number {
  const q = 1 - p;
  const ratio = p / q;
  let pk = Math.pow(q, n);
  let u = rng.next();
  let k = 0;
  while (u > pk && k < n) {
    u -= pk;
    pk *= (ratio * (n - k)) / (k + 1);
    k++;
  }
  return k;
}

/**
 * Binomial(n, p), exact. Large n uses the order-statistic recursion (Devroye, Non-Uniform Random
 * Variate Generation, X.4): the j-th smallest of n uniforms is Beta(j, n-j+1); whichever side of p
 * it falls on, the count on that side is again binomial with half the trials. O(log n) beta draws.
 */
export function sampleBinomial(rng: Rng, n: number, p: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`sampleBinomial needs an integer n >= 0, got ${n}`);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`sampleBinomial needs 0 <= p <= 1, got ${p}`);
  if (p > 0.5) return n - sampleBinomial(rng, n, 1 - p);
  let trials = n;
  let prob = p;
  let successes = 0;
  while (trials > INVERSION_LIMIT) {
    if (prob <= 0) return successes;
    const j = (trials >> 1) + 1;
    const u = sampleBeta(rng, j, trials - j + 1);
    if (u >= prob) {
      trials = j - 1;
      prob = prob / u;
    } else {
      successes += j;
      trials -= j;
      prob = (prob - u) / (1 - u);
    }
  }
  if (trials === 0 || prob <= 0) return successes;
  if (prob >= 1) return successes + trials;
  return successes + (prob > 0.5 ? trials - binomialByInversion(rng, trials, 1 - prob) : binomialByInversion(rng, trials, prob));
}

/**
 * Multinomial(n, proportions) by conditional binomials:
 * k_i ~ Binomial(n - k_0 - ... - k_{i-1}, p_i / (p_i + ... + p_last)). The conditional
 * probabilities are computed once from suffix sums, so repeated draws share them.
 */
export class MultinomialSampler {
  private readonly conditional: Float64Array;
  private readonly lastPositive: number;

  constructor(weights: ArrayLike<number>) {
    const bins = weights.length;
    this.conditional = new Float64Array(bins);
    let suffix = 0;
    let lastPositive = -1;
    for (let i = bins - 1; i >= 0; i--) {
      const w = weights[i] as number;
      if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`weight ${i} is ${w}`);
      suffix += w;
      if (w > 0 && lastPositive < 0) lastPositive = i;
      this.conditional[i] = suffix > 0 ? Math.min(1, w / suffix) : 0;
    }
    if (lastPositive < 0) throw new RangeError("multinomial weights sum to zero");
    this.lastPositive = lastPositive;
  }

  get bins(): number {
    return this.conditional.length;
  }

  /** Writes one draw of n trials into `out` (length >= bins). */
  sample(rng: Rng, n: number, out: Float64Array): Float64Array {
    const bins = this.conditional.length;
    let remaining = n;
    for (let i = 0; i < bins; i++) {
      let k = 0;
      if (i === this.lastPositive) k = remaining;
      else if (i < this.lastPositive && remaining > 0) {
        const c = this.conditional[i] as number;
        if (c > 0) k = sampleBinomial(rng, remaining, c);
      }
      out[i] = k;
      remaining -= k;
    }
    return out;
  }
}
