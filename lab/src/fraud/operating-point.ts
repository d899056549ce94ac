/**
 * The threshold that flags `fpr` of the legitimate rows of a validation window: an operating point
 * fixed by a false-positive budget (how many good customers may be bothered), chosen before the test.
 */
export function thresholdAtFpr(labels: ArrayLike<number>, scores: ArrayLike<number>, fpr: number): number {
  if (!(fpr > 0 && fpr < 1)) throw new RangeError(`fpr must be in (0, 1), got ${fpr}`);
  const legit: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] === 0) legit.push(scores[i] as number);
  if (legit.length === 0) throw new RangeError("no legitimate rows to set a false-positive rate on");
  legit.sort((a, b) => b - a);
  // Flag scores strictly above the legitimate score at the budget's rank.
  return (legit[Math.min(legit.length - 1, Math.floor(legit.length * fpr))] as number) + 1e-12;
}

/** Share of the selected rows (mask 1) that score at or above the threshold. */
export function recallWhere(scores: ArrayLike<number>, mask: ArrayLike<number>, threshold: number): number {
  let hit = 0;
  let n = 0;
  for (let i = 0; i < scores.length; i++) {
    if (mask[i] !== 1) continue;
    n++;
    if ((scores[i] as number) >= threshold) hit++;
  }
  return n ? hit / n : Number.NaN;
}
