/**
 * Training-serving skew, measured: the vectors a model was served, compared feature by feature with
 * what the training path computes for the same transactions. Any mismatch is a feature the model saw
 * differently from training: a degraded answer, a label used before it was known, a clock, or a bug
 * in one of the two paths. Used by the drift monitor on logged decisions and by the claims lab.
 */
import { unitHash } from "@mlsd/random";

export interface FeatureSkew {
  feature: string;
  compared: number;
  mismatches: number;
  mismatchRate: number;
  /** Served as missing (null) while the offline replay has a value: usually a degraded answer. */
  servedMissing: number;
  offlineMissing: number;
  /** Mean |served - offline| over the pairs where both are numbers. */
  meanAbsDiff: number;
  examples: { transactionId: string; served: number | null; offline: number | null }[];
}

export interface ServedDecision {
  transactionId: string;
  /** The vector the model scored, by feature name; null for a value the service did not have. */
  features: Readonly<Record<string, number | null>>;
}

export interface SkewComparison {
  compared: number;
  /** Served decisions with no offline row to compare with. */
  missingTransactions: number;
  /** Compared decisions with at least one mismatching feature. */
  decisionsWithMismatch: number;
  features: FeatureSkew[];
}

/**
 * Compares served vectors with offline rows (`offline(transactionId)` gives the recomputed row or
 * undefined). Pure: the store-reading part is in measureSkew.
 */
export function compareServedWithOffline(
  served: readonly ServedDecision[],
  names: readonly string[],
  offline: (transactionId: string) => ArrayLike<number> | undefined,
  tolerance = 1e-9,
): SkewComparison {
  const stats = names.map(() => ({ compared: 0, mismatches: 0, servedMissing: 0, offlineMissing: 0, absDiff: 0, numeric: 0, examples: [] as FeatureSkew["examples"] }));
  let compared = 0;
  let missingTransactions = 0;
  let decisionsWithMismatch = 0;
  for (const decision of served) {
    const row = offline(decision.transactionId);
    if (row === undefined) {
      missingTransactions++;
      continue;
    }
    compared++;
    let any = false;
    names.forEach((name, f) => {
      const s = stats[f] as (typeof stats)[number];
      if (!(name in decision.features)) return;
      const servedValue = decision.features[name] ?? null;
      const raw = row[f] as number;
      const offlineValue = Number.isNaN(raw) ? null : raw;
      s.compared++;
      if (servedValue === null && offlineValue !== null) s.servedMissing++;
      if (offlineValue === null && servedValue !== null) s.offlineMissing++;
      if (servedValue !== null && offlineValue !== null) {
        s.absDiff += Math.abs(servedValue - offlineValue);
        s.numeric++;
      }
      const mismatch = !sameValue(servedValue, offlineValue, tolerance);
      if (mismatch) {
        any = true;
        s.mismatches++;
        if (s.examples.length < 3) s.examples.push({ transactionId: decision.transactionId, served: servedValue, offline: offlineValue });
      }
    });
    if (any) decisionsWithMismatch++;
  }
  return {
    compared,
    missingTransactions,
    decisionsWithMismatch,
    features: names.map((feature, f) => {
      const s = stats[f] as (typeof stats)[number];
      return {
        feature,
        compared: s.compared,
        mismatches: s.mismatches,
        mismatchRate: s.compared > 0 ? s.mismatches / s.compared : 0,
        servedMissing: s.servedMissing,
        offlineMissing: s.offlineMissing,
        meanAbsDiff: s.numeric > 0 ? s.absDiff / s.numeric : 0,
        examples: s.examples,
      };
    }),
  };
}


/** Null only equals null; two numbers are equal within a relative tolerance (absolute below 1). */
export function sameValue(served: number | null, offline: number | null, tolerance = 1e-9): boolean {
  if (served === null || offline === null) return served === offline;
  return Math.abs(served - offline) <= tolerance * Math.max(1, Math.abs(served), Math.abs(offline));
}

/** The same id is in or out of a skew sample on every run (@mlsd/random's unitHash). */
export function sampleKey(id: string): number {
  return unitHash(id);
}
