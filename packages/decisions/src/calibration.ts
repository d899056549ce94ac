/**
 * Turning scores into probabilities that can be used as such (a decision that multiplies a
 * probability by money needs it to mean what it says). Both calibrators are fitted on held-out
 * scores (a validation window), never on the rows the model was trained on.
 */

export interface Calibrator {
  readonly kind: "platt" | "isotonic";
  apply(score: number): number;
  applyAll(scores: ArrayLike<number>): Float64Array;
}

export class CalibrationInputError extends RangeError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "CalibrationInputError";
  }
}

function checkInput(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  if (labels.length !== scores.length) throw new CalibrationInputError("scores", `length ${scores.length} differs from labels length ${labels.length}`);
  if (labels.length === 0) throw new CalibrationInputError("labels", "no examples");
  let positives = 0;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y !== 0 && y !== 1) throw new CalibrationInputError(`labels[${i}]`, `must be 0 or 1, got ${y}`);
    if (!Number.isFinite(scores[i] as number)) throw new CalibrationInputError(`scores[${i}]`, `must be finite, got ${scores[i]}`);
    positives += y;
  }
  if (positives === 0 || positives === labels.length) throw new CalibrationInputError("labels", "needs both classes to calibrate");
  return positives;
}

function withApplyAll(kind: Calibrator["kind"], apply: (s: number) => number): Calibrator {
  return { kind, apply, applyAll: (scores) => Float64Array.from({ length: scores.length }, (_, i) => apply(scores[i] as number)) };
}

const logit = (p: number): number => {
  const q = Math.min(1 - 1e-12, Math.max(1e-12, p));
  return Math.log(q / (1 - q));
};

/**
 * Platt scaling: p = sigmoid(a * logit(score) + b), fitted by Newton's method on Platt's smoothed
 * targets ((positives + 1) / (positives + 2) and 1 / (negatives + 2)), which keeps a and b finite
 * when the classes separate. Scores must be probabilities (the logit is taken).
 */
export function fitPlatt(labels: ArrayLike<number>, scores: ArrayLike<number>): Calibrator & { a: number; b: number } {
  const positives = checkInput(labels, scores);
  const n = labels.length;
  const hi = (positives + 1) / (positives + 2);
  const lo = 1 / (n - positives + 2);
  const x = Float64Array.from({ length: n }, (_, i) => logit(scores[i] as number));
  let a = 1;
  let b = 0;
  for (let iteration = 0; iteration < 100; iteration++) {
    let g0 = 0;
    let g1 = 0;
    let h00 = 1e-12;
    let h01 = 0;
    let h11 = 1e-12;
    for (let i = 0; i < n; i++) {
      const xi = x[i] as number;
      const p = 1 / (1 + Math.exp(-(a * xi + b)));
      const t = labels[i] === 1 ? hi : lo;
      const d = p - t;
      const w = p * (1 - p);
      g0 += d * xi;
      g1 += d;
      h00 += w * xi * xi;
      h01 += w * xi;
      h11 += w;
    }
    const det = h00 * h11 - h01 * h01;
    const da = (h11 * g0 - h01 * g1) / det;
    const db = (h00 * g1 - h01 * g0) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) < 1e-10 && Math.abs(db) < 1e-10) break;
  }
  const calibrator = withApplyAll("platt", (s) => 1 / (1 + Math.exp(-(a * logit(s) + b))));
  return { ...calibrator, a, b };
}

/**
 * Isotonic regression (pool adjacent violators): the non-decreasing step function of the score
 * closest to the labels in squared error. Between fitted steps the probability is interpolated
 * linearly; outside the fitted range it is the end value. Any real scores work.
 */
export function fitIsotonic(labels: ArrayLike<number>, scores: ArrayLike<number>): Calibrator & { steps: { score: number; probability: number }[] } {
  checkInput(labels, scores);
  const order = Array.from({ length: labels.length }, (_, i) => i).sort((i, j) => (scores[i] as number) - (scores[j] as number));
  // Blocks of tied scores first, then pooled while a block's mean falls below its predecessor's.
  const blocks: { sum: number; weight: number; lo: number; hi: number }[] = [];
  for (let k = 0; k < order.length; ) {
    const s = scores[order[k] as number] as number;
    let sum = 0;
    let weight = 0;
    while (k < order.length && scores[order[k] as number] === s) {
      sum += labels[order[k] as number] as number;
      weight++;
      k++;
    }
    blocks.push({ sum, weight, lo: s, hi: s });
    while (blocks.length > 1) {
      const last = blocks[blocks.length - 1] as (typeof blocks)[number];
      const prev = blocks[blocks.length - 2] as (typeof blocks)[number];
      if (prev.sum / prev.weight <= last.sum / last.weight) break;
      blocks.pop();
      prev.sum += last.sum;
      prev.weight += last.weight;
      prev.hi = last.hi;
    }
  }
  // Each block is one step, placed at the middle of its score range.
  const steps = blocks.map((b) => ({ score: (b.lo + b.hi) / 2, probability: b.sum / b.weight }));
  const apply = (s: number): number => {
    const first = steps[0] as (typeof steps)[number];
    const last = steps[steps.length - 1] as (typeof steps)[number];
    if (s <= first.score) return first.probability;
    if (s >= last.score) return last.probability;
    let lo = 0;
    let hi = steps.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if ((steps[mid] as (typeof steps)[number]).score <= s) lo = mid;
      else hi = mid;
    }
    const a = steps[lo] as (typeof steps)[number];
    const b = steps[hi] as (typeof steps)[number];
    return a.probability + ((b.probability - a.probability) * (s - a.score)) / (b.score - a.score);
  };
  return { ...withApplyAll("isotonic", apply), steps };
}
