import type { Rng } from "@mlsd/random";

/**
 * Positions of a random subset of `labels` with the target share of positives, as large as
 * possible: to lower the prevalence positives are dropped, to raise it negatives are.
 */
export function resampleToPrevalence(labels: ArrayLike<number>, target: number, rng: Rng): number[] {
  if (!(target > 0 && target < 1)) throw new RangeError(`target prevalence must be in (0, 1), got ${target}`);
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < labels.length; i++) (labels[i] === 1 ? pos : neg).push(i);
  const current = pos.length / Math.max(1, labels.length);
  let keepPos = pos.length;
  let keepNeg = neg.length;
  if (target < current) keepPos = Math.max(1, Math.round((target / (1 - target)) * neg.length));
  else keepNeg = Math.max(1, Math.round(((1 - target) / target) * pos.length));
  const picked = [...rng.shuffle(pos).slice(0, keepPos), ...rng.shuffle(neg).slice(0, keepNeg)];
  return picked.sort((a, b) => a - b);
}

/** Positions of all positives and a random `negativeShare` of the negatives (undersampling). */
export function undersampleNegatives(labels: ArrayLike<number>, negativeShare: number, rng: Rng): number[] {
  const out: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] === 1 || rng.next() < negativeShare) out.push(i);
  return out;
}
