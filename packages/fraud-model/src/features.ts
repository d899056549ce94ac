import type { FeatureVector } from "@mlsd/contracts";
import { assembleFraudFeatures, type TransactionInput } from "@mlsd/feature-store";

/** The features a transaction carries by itself (the degraded answer's row); everything the store would add is missing. */
export function requestOnlyFeatures(tx: TransactionInput, width: number): Float64Array {
  const empty = { customerCount: [], customerCents: [], customerVelocity: [], terminalCount: [], terminalFrauds: [], terminalVelocity: [] };
  const out = new Float64Array(width).fill(Number.NaN);
  assembleFraudFeatures(tx, empty, out.subarray(0, 3));
  return out;
}

/** The decision event's feature map: names to values, missing (NaN) as null. */
export function toFeatureVector(names: readonly string[], values: Float64Array): FeatureVector {
  const vector: FeatureVector = {};
  names.forEach((name, i) => {
    const v = values[i] as number;
    vector[name] = Number.isNaN(v) ? null : v;
  });
  return vector;
}
