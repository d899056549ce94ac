/**
 * Hard negatives for one batch, shared by its rows: the pool items with the highest score for
 * any row of the batch, a row's own positive not counting for that row. `scores` is
 * rows x pool, row-major; returns up to `count` pool items, hardest first (ties to the lower
 * pool position). An item that is the positive of every row scores nowhere and comes last.
 */
export function hardestForBatch(scores: ArrayLike<number>, pool: ArrayLike<number>, positives: ArrayLike<number>, count: number): Int32Array {
  const p = pool.length;
  const n = positives.length;
  if (scores.length !== n * p) throw new RangeError(`scores has ${scores.length} entries, expected ${n} rows x ${p} pool items`);
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
  const hardness = new Float64Array(p).fill(-Infinity);
  for (let i = 0; i < n; i++) {
    const own = positives[i] as number;
    for (let j = 0; j < p; j++) {
      if (pool[j] === own) continue;
      const s = scores[i * p + j] as number;
      if (s > (hardness[j] as number)) hardness[j] = s;
    }
  }
  const order = Array.from({ length: p }, (_, j) => j).sort((a, b) => (hardness[b] as number) - (hardness[a] as number) || a - b);
  return Int32Array.from(order.slice(0, Math.min(count, p)), (j) => pool[j] as number);
}
