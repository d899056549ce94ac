/**
 * Per-arm accumulators fed one observation (or one batch of counts) at a time, O(1) memory each.
 * Both expose `Moments` (count, mean, per-unit variance): that is all the tests in this package
 * read, so a plain object restored from a log or from Redis works just as well as a live stat.
 */

/** What a test needs from an arm: n, the sample mean and the per-unit variance of one observation. */
export interface Moments {
  readonly count: number;
  readonly mean: number;
  readonly variance: number;
}

function checkCount(field: string, n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${field} must be a non-negative integer, got ${n}`);
}

/**
 * Successes out of trials: clicks per impression, declines per transaction, errors per request.
 * One Bernoulli trial per unit; a count per unit (clicks per served slate, 0..k) is a MeanStat.
 */
export class ProportionStat implements Moments {
  private s = 0;
  private n = 0;

  constructor(successes = 0, trials = 0) {
    this.addCounts(successes, trials);
  }

  static from(json: { successes: number; trials: number }): ProportionStat {
    return new ProportionStat(json.successes, json.trials);
  }

  observe(success: boolean): void {
    this.n++;
    if (success) this.s++;
  }

  addCounts(successes: number, trials: number): void {
    checkCount("successes", successes);
    checkCount("trials", trials);
    if (successes > trials) throw new RangeError(`successes (${successes}) exceed trials (${trials})`);
    this.s += successes;
    this.n += trials;
  }

  merge(other: ProportionStat): void {
    this.s += other.s;
    this.n += other.n;
  }

  get successes(): number {
    return this.s;
  }

  get trials(): number {
    return this.n;
  }

  get count(): number {
    return this.n;
  }

  /** The observed rate s/n (0 before any trial). */
  get rate(): number {
    return this.n === 0 ? 0 : this.s / this.n;
  }

  get mean(): number {
    return this.rate;
  }

  /**
   * Per-trial variance used for inference: p~(1-p~) with p~ = (s+1)/(n+2), the Agresti-Caffo
   * adjustment. The plain s/n gives variance 0 for an arm with no successes yet (no errors, no
   * clicks), which would make one success look infinitely significant; the +1/+2 vanishes at the
   * sample sizes where decisions are made.
   */
  get variance(): number {
    const p = (this.s + 1) / (this.n + 2);
    return p * (1 - p);
  }

  toJSON(): { successes: number; trials: number } {
    return { successes: this.s, trials: this.n };
  }
}

/**
 * Mean and variance of a per-unit value (expected cost per transaction, NDCG per request,
 * clicks per slate) by Welford's update, which stays accurate when the mean is large against the
 * spread (the textbook sum-of-squares formula cancels catastrophically there).
 */
export class MeanStat implements Moments {
  private n = 0;
  private mu = 0;
  private m2 = 0;

  static from(json: { count: number; mean: number; m2: number }): MeanStat {
    checkCount("count", json.count);
    if (!Number.isFinite(json.mean) || !(json.m2 >= 0)) throw new RangeError(`MeanStat.from needs a finite mean and m2 >= 0, got ${json.mean}, ${json.m2}`);
    const stat = new MeanStat();
    stat.n = json.count;
    stat.mu = json.count === 0 ? 0 : json.mean;
    stat.m2 = json.count === 0 ? 0 : json.m2;
    return stat;
  }

  observe(x: number): void {
    if (!Number.isFinite(x)) throw new RangeError(`MeanStat.observe needs a finite value, got ${x}`);
    this.n++;
    const delta = x - this.mu;
    this.mu += delta / this.n;
    this.m2 += delta * (x - this.mu);
  }

  /** Chan et al.'s pairwise combination: the same moments as observing both streams in one. */
  merge(other: MeanStat): void {
    if (other.n === 0) return;
    const n = this.n + other.n;
    const delta = other.mu - this.mu;
    this.m2 += other.m2 + (delta * delta * this.n * other.n) / n;
    this.mu += (delta * other.n) / n;
    this.n = n;
  }

  get count(): number {
    return this.n;
  }

  get mean(): number {
    return this.mu;
  }

  /** Sample variance (n - 1 in the denominator); 0 with fewer than two observations. */
  get variance(): number {
    return this.n < 2 ? 0 : this.m2 / (this.n - 1);
  }

  toJSON(): { count: number; mean: number; m2: number } {
    return { count: this.n, mean: this.mu, m2: this.m2 };
  }
}

/** Throws a RangeError naming `field` unless `m` is a usable Moments. */
export function checkMoments(field: string, m: Moments): void {
  if (m === null || typeof m !== "object") throw new RangeError(`${field} must be { count, mean, variance }`);
  checkCount(`${field}.count`, m.count);
  if (!Number.isFinite(m.mean)) throw new RangeError(`${field}.mean must be finite, got ${m.mean}`);
  if (!(m.variance >= 0) || !Number.isFinite(m.variance)) throw new RangeError(`${field}.variance must be finite and >= 0, got ${m.variance}`);
}
