/**
 * The sampling distribution of PSI when nothing has drifted. On a window of n events PSI is never 0:
 * roughly n * PSI ~ chi-square(bins - 1) for large n, so a window of 100 events over 10 decile bins
 * shows PSI >= 0.1 about 40% of the time by chance alone. A p-value from this distribution is
 * what lets an alert require evidence as well as effect size.
 *
 * Each replicate draws a reference sample (the reference's own size) and a window (n events) from
 * the reference proportions and computes PSI between them, so the noise of a finite training sample
 * counts too (a parametric bootstrap of the two-sample null). Distributions are cached per
 * (reference bin counts, n bucket): features with identical reference histograms share one, and a
 * sliding window's n maps to a handful of buckets.
 */
import { Rng } from "@mlsd/random";
import { invalidInput } from "./errors";
import { MultinomialSampler } from "./sampling";
import { DEFAULT_PSI_EPSILON, psiUnchecked } from "./statistics";

export class PsiNullDistribution {
  constructor(
    /** Window size the replicates were drawn at (the bucket floor). */
    readonly windowSize: number,
    /** PSI of each replicate, ascending. */
    readonly sorted: Float64Array,
  ) {}

  get replicates(): number {
    return this.sorted.length;
  }

  /**
   * (1 + replicates >= observed) / (replicates + 1): never 0, and never below its nominal level under
   * the null. Ties count as exceedances, so where PSI takes few distinct values (100 events over
   * equal-mass bins) the test is conservative: 3.8% of p-values fell below 0.05 in that simulation.
   */
  pValue(observed: number): number {
    const threshold = observed * (1 - 1e-12);
    const s = this.sorted;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((s[mid] as number) < threshold) lo = mid + 1;
      else hi = mid;
    }
    return (1 + s.length - lo) / (s.length + 1);
  }

  /** The q-quantile of the null PSI (e.g. 0.95 for the value chance alone exceeds 5% of the time). */
  quantile(q: number): number {
    const idx = Math.min(this.sorted.length - 1, Math.max(0, Math.ceil(q * this.sorted.length) - 1));
    return this.sorted[idx] as number;
  }
}

export interface PsiNullCacheOptions {
  /** Replicates per distribution; the smallest p-value is 1 / (replicates + 1). Default 2000. */
  replicates?: number;
  /** PSI smoothing, must match the observed statistic's. Default 1e-4. */
  epsilon?: number;
  seed?: number;
  /** Buckets per doubling of n (default 8, i.e. about 9% apart). */
  bucketsPerDoubling?: number;
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class PsiNullCache {
  readonly replicates: number;
  readonly epsilon: number;
  readonly seed: number;
  readonly bucketsPerDoubling: number;
  private readonly distributions = new Map<string, PsiNullDistribution>();
  private readonly signatures = new WeakMap<object, string>();

  constructor(options: PsiNullCacheOptions = {}) {
    this.replicates = options.replicates ?? 2000;
    this.epsilon = options.epsilon ?? DEFAULT_PSI_EPSILON;
    this.seed = options.seed ?? 1;
    this.bucketsPerDoubling = options.bucketsPerDoubling ?? 8;
    if (!Number.isInteger(this.replicates) || this.replicates < 19) throw invalidInput("replicates", `must be an integer >= 19, got ${this.replicates}`);
    if (!(this.epsilon > 0)) throw invalidInput("epsilon", `must be > 0, got ${this.epsilon}`);
    if (!Number.isInteger(this.bucketsPerDoubling) || this.bucketsPerDoubling < 1) {
      throw invalidInput("bucketsPerDoubling", `must be a positive integer, got ${this.bucketsPerDoubling}`);
    }
  }

  /** Distributions computed so far. */
  get size(): number {
    return this.distributions.size;
  }

  /**
   * The largest bucket size <= n. Rounding down is conservative: a smaller window has a wider null,
   * so the p-value can only be overstated.
   */
  bucketOf(n: number): number {
    if (!Number.isInteger(n) || n < 1) throw invalidInput("windowSize", `must be a positive integer, got ${n}`);
    if (n <= 16) return n;
    const k = this.bucketsPerDoubling;
    const bucket = Math.floor(2 ** (Math.floor(Math.log2(n) * k + 1e-9) / k));
    return Math.min(n, bucket);
  }

  /** The null distribution of PSI for a window of `windowSize` events against these reference counts. */
  get(referenceCounts: ArrayLike<number> & object, windowSize: number): PsiNullDistribution {
    let signature = this.signatures.get(referenceCounts);
    if (signature === undefined) {
      signature = Array.prototype.join.call(referenceCounts, ",");
      this.signatures.set(referenceCounts, signature);
    }
    const bucket = this.bucketOf(windowSize);
    const key = `${bucket}|${signature}`;
    let distribution = this.distributions.get(key);
    if (distribution === undefined) {
      distribution = this.simulate(referenceCounts, bucket, key);
      this.distributions.set(key, distribution);
    }
    return distribution;
  }

  pValue(referenceCounts: ArrayLike<number> & object, observedPsi: number, windowSize: number): number {
    return this.get(referenceCounts, windowSize).pValue(observedPsi);
  }

  private simulate(referenceCounts: ArrayLike<number>, windowSize: number, key: string): PsiNullDistribution {
    let referenceTotal = 0;
    for (let i = 0; i < referenceCounts.length; i++) referenceTotal += referenceCounts[i] as number;
    if (!Number.isInteger(referenceTotal) || referenceTotal < 1) throw invalidInput("referenceCounts", "must be integer counts with a positive total");
    const sampler = new MultinomialSampler(referenceCounts);
    // Seeded by content, so a distribution is the same whichever feature or evaluation asks first.
    const rng = new Rng((this.seed ^ fnv1a(key)) >>> 0);
    const bins = referenceCounts.length;
    const reference = new Float64Array(bins);
    const window = new Float64Array(bins);
    const values = new Float64Array(this.replicates);
    for (let r = 0; r < this.replicates; r++) {
      sampler.sample(rng, referenceTotal, reference);
      sampler.sample(rng, windowSize, window);
      values[r] = psiUnchecked(reference, window, referenceTotal, windowSize, this.epsilon);
    }
    values.sort();
    return new PsiNullDistribution(windowSize, values);
  }
}
