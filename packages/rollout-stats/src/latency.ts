/**
 * Latency quantiles from a log-bucketed histogram (the DDSketch layout, Masson et al. 2019).
 *
 * Bucket i holds values in (g^(i-1), g^i] with g = (1 + e) / (1 - e), and reports 2 g^i / (g + 1).
 * Every value in the bucket is within a factor [1 - e, 1 + e] of that representative, so the
 * quantile returned is within relative error e of the exact nearest-rank quantile of everything
 * observed (the k-th smallest value, k = ceil(q n)), for values inside [minValue, maxValue].
 * Values below minValue share the lowest bucket (absolute error < minValue); values above maxValue
 * are clamped to it and counted in `overflow`. Answers are also clamped to the exact min and max.
 *
 * Memory is fixed by the range, not the traffic: e = 1 % over 1 us .. 1,000 s is 1,037 buckets
 * (8 KiB), whether the arm served a hundred requests or a billion.
 */

export interface LatencyStatOptions {
  /** Relative error bound e of every quantile, 0 < e < 1 (default 0.01). */
  relativeError?: number;
  /** Smallest value resolved with relative error (default 0.001, i.e. 1 us when values are ms). */
  minValue?: number;
  /** Largest value resolved; larger ones are clamped to it (default 1e6, i.e. 1,000 s in ms). */
  maxValue?: number;
}

/** Anything a guardrail can read a latency quantile from. */
export interface QuantileSource {
  readonly count: number;
  quantile(q: number): number;
}

export interface LatencySummary {
  count: number;
  mean: number;
  min: number;
  max: number;
  p50: number;
  p95: number;
  p99: number;
}

export interface LatencyStatJson {
  relativeError: number;
  minValue: number;
  maxValue: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  overflow: number;
  /** Non-empty buckets as [bucket offset, count] pairs. */
  buckets: Array<[number, number]>;
}

export class LatencyStat implements QuantileSource {
  readonly relativeError: number;
  readonly minValue: number;
  readonly maxValue: number;
  private readonly logGamma: number;
  private readonly offset: number;
  private readonly counts: Float64Array;
  private n = 0;
  private total = 0;
  private lo = Infinity;
  private hi = -Infinity;
  private over = 0;

  constructor(options: LatencyStatOptions = {}) {
    const e = options.relativeError ?? 0.01;
    const minValue = options.minValue ?? 1e-3;
    const maxValue = options.maxValue ?? 1e6;
    if (!(e > 0 && e < 1)) throw new RangeError(`relativeError must be in (0, 1), got ${e}`);
    if (!(minValue > 0) || !Number.isFinite(minValue)) throw new RangeError(`minValue must be > 0, got ${minValue}`);
    if (!(maxValue > minValue) || !Number.isFinite(maxValue)) throw new RangeError(`maxValue must be finite and > minValue, got ${maxValue}`);
    this.relativeError = e;
    this.minValue = minValue;
    this.maxValue = maxValue;
    this.logGamma = Math.log((1 + e) / (1 - e));
    this.offset = this.rawIndex(minValue);
    const size = this.rawIndex(maxValue) - this.offset + 1;
    if (size > 1_000_000) throw new RangeError(`relativeError ${e} over [${minValue}, ${maxValue}] needs ${size} buckets; widen the error or narrow the range`);
    this.counts = new Float64Array(size);
  }

  static from(json: LatencyStatJson): LatencyStat {
    const stat = new LatencyStat({ relativeError: json.relativeError, minValue: json.minValue, maxValue: json.maxValue });
    for (const [i, c] of json.buckets) {
      if (!Number.isInteger(i) || i < 0 || i >= stat.counts.length || !(c >= 0)) throw new RangeError(`LatencyStat.from: bad bucket [${i}, ${c}]`);
      stat.counts[i] = c;
      stat.n += c;
    }
    if (stat.n !== json.count) throw new RangeError(`LatencyStat.from: buckets hold ${stat.n} values, count says ${json.count}`);
    stat.total = json.sum;
    stat.lo = json.count === 0 ? Infinity : json.min;
    stat.hi = json.count === 0 ? -Infinity : json.max;
    stat.over = json.overflow;
    return stat;
  }

  private rawIndex(x: number): number {
    return Math.ceil(Math.log(x) / this.logGamma);
  }

  /** Records one latency (any unit, as long as it matches minValue/maxValue; ms by default). */
  observe(value: number): void {
    if (!(value >= 0) || !Number.isFinite(value)) throw new RangeError(`LatencyStat.observe needs a finite value >= 0, got ${value}`);
    let i: number;
    if (value <= this.minValue) i = 0;
    else if (value > this.maxValue) {
      i = this.counts.length - 1;
      this.over++;
    } else i = Math.min(this.counts.length - 1, this.rawIndex(value) - this.offset);
    this.counts[i] = (this.counts[i] as number) + 1;
    this.n++;
    this.total += value;
    if (value < this.lo) this.lo = value;
    if (value > this.hi) this.hi = value;
  }

  merge(other: LatencyStat): void {
    if (other.relativeError !== this.relativeError || other.minValue !== this.minValue || other.maxValue !== this.maxValue) {
      throw new RangeError("LatencyStat.merge needs the same relativeError, minValue and maxValue");
    }
    for (let i = 0; i < this.counts.length; i++) this.counts[i] = (this.counts[i] as number) + (other.counts[i] as number);
    this.n += other.n;
    this.total += other.total;
    this.over += other.over;
    this.lo = Math.min(this.lo, other.lo);
    this.hi = Math.max(this.hi, other.hi);
  }

  get count(): number {
    return this.n;
  }

  get mean(): number {
    return this.n === 0 ? 0 : this.total / this.n;
  }

  get min(): number {
    return this.n === 0 ? 0 : this.lo;
  }

  get max(): number {
    return this.n === 0 ? 0 : this.hi;
  }

  /** Values above maxValue (reported as maxValue or the exact max, whichever is smaller). */
  get overflow(): number {
    return this.over;
  }

  get buckets(): number {
    return this.counts.length;
  }

  /** The nearest-rank q-quantile within the stated relative error; NaN when empty. */
  quantile(q: number): number {
    if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile needs 0 <= q <= 1, got ${q}`);
    if (this.n === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    let i = 0;
    for (; i < this.counts.length; i++) {
      seen += this.counts[i] as number;
      if (seen >= rank) break;
    }
    const gamma = Math.exp(this.logGamma);
    const representative = (2 * Math.exp((i + this.offset) * this.logGamma)) / (gamma + 1);
    return Math.min(this.hi, Math.max(this.lo, representative));
  }

  summary(): LatencySummary {
    return { count: this.n, mean: this.mean, min: this.min, max: this.max, p50: this.quantile(0.5), p95: this.quantile(0.95), p99: this.quantile(0.99) };
  }

  toJSON(): LatencyStatJson {
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i < this.counts.length; i++) if ((this.counts[i] as number) > 0) buckets.push([i, this.counts[i] as number]);
    return {
      relativeError: this.relativeError,
      minValue: this.minValue,
      maxValue: this.maxValue,
      count: this.n,
      sum: this.total,
      min: this.min,
      max: this.max,
      overflow: this.over,
      buckets,
    };
  }
}
