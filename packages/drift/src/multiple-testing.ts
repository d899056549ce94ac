/**
 * Family-wise error control across the features tested in one evaluation. Holm's step-down is the
 * default: it controls the same family-wise error rate as Bonferroni under any dependence between
 * features, and never rejects less.
 */
import { invalidInput } from "./errors";

export type Correction = "holm" | "bonferroni";

export function bonferroniAdjust(pValues: ArrayLike<number>): Float64Array {
  const m = pValues.length;
  const out = new Float64Array(m);
  for (let i = 0; i < m; i++) out[i] = Math.min(1, (pValues[i] as number) * m);
  return out;
}

/** Holm-adjusted p-values: reject hypothesis i at level alpha iff adjusted[i] <= alpha. */
export function holmAdjust(pValues: ArrayLike<number>): Float64Array {
  const m = pValues.length;
  const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => (pValues[a] as number) - (pValues[b] as number));
  const out = new Float64Array(m);
  let running = 0;
  for (let rank = 0; rank < m; rank++) {
    const i = order[rank] as number;
    running = Math.max(running, Math.min(1, (m - rank) * (pValues[i] as number)));
    out[i] = running;
  }
  return out;
}

export function adjustPValues(pValues: ArrayLike<number>, correction: Correction): Float64Array {
  for (let i = 0; i < pValues.length; i++) {
    const p = pValues[i] as number;
    if (!(p >= 0 && p <= 1)) throw invalidInput(`pValues[${i}]`, `must be in [0, 1], got ${p}`);
  }
  if (correction === "holm") return holmAdjust(pValues);
  if (correction === "bonferroni") return bonferroniAdjust(pValues);
  throw invalidInput("correction", `must be "holm" or "bonferroni", got ${String(correction)}`);
}
