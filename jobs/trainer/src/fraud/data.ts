import { buildFraudFeaturesOffline, type FraudFeatureMatrix, type LabelInput, type TransactionInput } from "@mlsd/feature-store";
import { Progress } from "@mlsd/progress";

/** The point-in-time feature replay with a progress bar (the helpers around it live in feature-store and datasets). */
export function buildFeatures(txs: readonly TransactionInput[], labels: readonly LabelInput[], quiet = false): FraudFeatureMatrix {
  const progress = quiet || txs.length === 0 ? undefined : new Progress({ total: txs.length, label: "features (point-in-time replay)", unit: "tx" });
  const matrix = buildFraudFeaturesOffline(txs, labels, undefined, (done) => progress?.update(done));
  progress?.done();
  return matrix;
}
