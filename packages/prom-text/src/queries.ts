import { familyCandidates, type Family, type Sample } from "./exposition";

/** Label values a sample must have (exact match); absent keys match anything. */
export type LabelMatch = Readonly<Record<string, string>>;

/** The samples named `name`: a family's own, or a histogram's `_bucket` / `_sum` / `_count` series. */
function samplesNamed(families: ReadonlyMap<string, Family>, name: string): Sample[] {
  for (const { family } of familyCandidates(name)) {
    const found = families.get(family);
    if (found) return found.samples.filter((s) => s.name === name);
  }
  return [];
}

function matches(sample: Sample, match: LabelMatch): boolean {
  for (const [key, value] of Object.entries(match)) if (sample.labels[key] !== value) return false;
  return true;
}

/** The sum of a counter's or gauge's samples matching `match` (0 when the family is absent). */
export function sumOf(families: ReadonlyMap<string, Family>, name: string, match: LabelMatch = {}): number {
  let total = 0;
  for (const s of samplesNamed(families, name)) if (matches(s, match)) total += s.value;
  return total;
}

/** A counter's (or a histogram's `_count`) samples matching `match`, summed by the values of one label. */
export function sumBy(families: ReadonlyMap<string, Family>, name: string, label: string, match: LabelMatch = {}): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samplesNamed(families, name)) {
    if (!matches(s, match)) continue;
    const key = s.labels[label] ?? "";
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

/** The distinct values a label takes in a family's samples matching `match`. */
export function labelValues(families: ReadonlyMap<string, Family>, name: string, label: string, match: LabelMatch = {}): string[] {
  const out = new Set<string>();
  for (const s of families.get(name)?.samples ?? []) {
    const value = s.labels[label];
    if (value !== undefined && matches(s, match)) out.add(value);
  }
  return [...out].sort();
}

/** A histogram summed over the series matching `match`: cumulative counts by upper bound, and the totals. */
export interface HistogramData {
  /** Upper bounds ascending, `Infinity` last; `counts[i]` observations <= `bounds[i]` (cumulative). */
  bounds: number[];
  counts: number[];
  count: number;
  sum: number;
}

export function histogramOf(families: ReadonlyMap<string, Family>, name: string, match: LabelMatch = {}): HistogramData {
  const byBound = new Map<number, number>();
  let count = 0;
  let sum = 0;
  for (const s of families.get(name)?.samples ?? []) {
    if (!matches(s, match)) continue;
    if (s.name === `${name}_bucket`) {
      const le = s.labels.le;
      if (le === undefined) throw new Error(`${s.name} sample without an le label`);
      const bound = le === "+Inf" ? Infinity : Number(le);
      byBound.set(bound, (byBound.get(bound) ?? 0) + s.value);
    } else if (s.name === `${name}_count`) count += s.value;
    else if (s.name === `${name}_sum`) sum += s.value;
  }
  const bounds = [...byBound.keys()].sort((a, b) => a - b);
  return { bounds, counts: bounds.map((b) => byBound.get(b) as number), count, sum };
}

/** `later - earlier` of the same histogram (two scrapes of one process): what was observed in between. */
export function histogramDelta(later: HistogramData, earlier: HistogramData): HistogramData {
  const before = new Map(earlier.bounds.map((b, i) => [b, earlier.counts[i] as number]));
  // A restarted process counts from zero again: its later scrape is the whole delta.
  const restarted = later.count < earlier.count;
  return {
    bounds: later.bounds,
    counts: later.counts.map((c, i) => (restarted ? c : c - (before.get(later.bounds[i] as number) ?? 0))),
    count: restarted ? later.count : later.count - earlier.count,
    sum: restarted ? later.sum : later.sum - earlier.sum,
  };
}

/**
 * The q-quantile of a bucketed histogram as Prometheus' `histogram_quantile` computes it: find the
 * bucket holding rank q * count and interpolate linearly inside it (the lowest bucket from 0). A
 * rank in the +Inf bucket answers the highest finite bound. Null without observations.
 */
export function histogramQuantile(q: number, h: HistogramData): number | null {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be in [0, 1], got ${q}`);
  const total = h.counts.at(-1) ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let i = h.counts.findIndex((c) => c >= rank);
  if (i < 0) i = h.counts.length - 1;
  const upper = h.bounds[i] as number;
  if (upper === Infinity) return h.bounds.length > 1 ? (h.bounds[h.bounds.length - 2] as number) : null;
  const lower = i === 0 ? 0 : (h.bounds[i - 1] as number);
  const below = i === 0 ? 0 : (h.counts[i - 1] as number);
  const inBucket = (h.counts[i] as number) - below;
  if (inBucket <= 0) return upper;
  return lower + (upper - lower) * ((rank - below) / inBucket);
}
