/**
 * Per-arm accumulators fed one observation (or one batch of counts, or one unit's totals) at a
 * time, O(1) memory each.
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
 * One independent Bernoulli trial per unit: right when the split is per request; when it is per
 * user and users have several trials, use RatioStat. A count per unit (clicks per served slate,
 * 0..k) is a MeanStat.
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

/**
 * A ratio of sums over randomisation units: clicks / impressions when the split is by user.
 *
 * Why not ProportionStat over impressions: a canary assigns users, not impressions, and one
 * user's impressions are correlated (some users click a lot). Treating them as independent
 * understates the variance by the design effect 1 + (m - 1) rho (m impressions per user, rho the
 * intra-user correlation), and every test built on it fires too often. The unit of analysis must
 * be the unit of randomisation: each user contributes one pair (x = clicks, y = impressions) and
 * the ratio R = sum x / sum y gets its variance by the delta method (Deng et al., "Applying the
 * Delta Method in Metric Analytics", KDD 2018):
 *
 *   Var(R) ~ (s_x^2 - 2 R s_xy + R^2 s_y^2) / (n mean(y)^2),
 *
 * exposed as a per-unit `variance` with count = n users, so the tests read it like any Moments.
 * Keeps plain sums (exact for counts, which is what it is for). A user seen again is updated with
 * remove(old pair) then observe(new pair); the caller keeps the per-user totals.
 */
export class RatioStat implements Moments {
  private n = 0;
  private sx = 0;
  private sy = 0;
  private sxx = 0;
  private syy = 0;
  private sxy = 0;

  static from(json: { count: number; sx: number; sy: number; sxx: number; syy: number; sxy: number }): RatioStat {
    checkCount("count", json.count);
    const stat = new RatioStat();
    stat.n = json.count;
    stat.sx = json.sx;
    stat.sy = json.sy;
    stat.sxx = json.sxx;
    stat.syy = json.syy;
    stat.sxy = json.sxy;
    return stat;
  }

  /** One randomisation unit's totals (numerator >= 0 is not required; denominator must be >= 0). */
  observe(numerator: number, denominator: number): void {
    this.apply(numerator, denominator, 1);
  }

  /** Takes back a unit's earlier totals (before observing its updated ones). */
  remove(numerator: number, denominator: number): void {
    if (this.n === 0) throw new RangeError("RatioStat.remove on an empty stat");
    this.apply(numerator, denominator, -1);
  }

  private apply(x: number, y: number, sign: 1 | -1): void {
    if (!Number.isFinite(x) || !Number.isFinite(y) || y < 0) throw new RangeError(`RatioStat needs a finite numerator and a denominator >= 0, got ${x}, ${y}`);
    this.n += sign;
    this.sx += sign * x;
    this.sy += sign * y;
    this.sxx += sign * x * x;
    this.syy += sign * y * y;
    this.sxy += sign * x * y;
  }

  merge(other: RatioStat): void {
    this.n += other.n;
    this.sx += other.sx;
    this.sy += other.sy;
    this.sxx += other.sxx;
    this.syy += other.syy;
    this.sxy += other.sxy;
  }

  /** Randomisation units (users), not impressions. */
  get count(): number {
    return this.n;
  }

  get numerator(): number {
    return this.sx;
  }

  get denominator(): number {
    return this.sy;
  }

  /** sum x / sum y (0 before any denominator). */
  get mean(): number {
    return this.sy === 0 ? 0 : this.sx / this.sy;
  }

  /** Per-unit delta-method variance: Var(ratio) * count. 0 with fewer than two units. */
  get variance(): number {
    if (this.n < 2 || this.sy === 0) return 0;
    const mx = this.sx / this.n;
    const my = this.sy / this.n;
    const vx = (this.sxx - this.n * mx * mx) / (this.n - 1);
    const vy = (this.syy - this.n * my * my) / (this.n - 1);
    const cxy = (this.sxy - this.n * mx * my) / (this.n - 1);
    const r = mx / my;
    // Rounding can leave a tiny negative for a degenerate sample (every unit on the same ratio).
    return Math.max(0, (vx - 2 * r * cxy + r * r * vy) / (my * my));
  }

  toJSON(): { count: number; sx: number; sy: number; sxx: number; syy: number; sxy: number } {
    return { count: this.n, sx: this.sx, sy: this.sy, sxx: this.sxx, syy: this.syy, sxy: this.sxy };
  }
}

/** Throws a RangeError naming `field` unless `m` is a usable Moments. */
export function checkMoments(field: string, m: Moments): void {
  if (m === null || typeof m !== "object") throw new RangeError(`${field} must be { count, mean, variance }`);
  checkCount(`${field}.count`, m.count);
  if (!Number.isFinite(m.mean)) throw new RangeError(`${field}.mean must be finite, got ${m.mean}`);
  if (!(m.variance >= 0) || !Number.isFinite(m.variance)) throw new RangeError(`${field}.variance must be finite and >= 0, got ${m.variance}`);
}
