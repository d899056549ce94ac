import { buildFraudFeaturesOffline, type FraudFeatureMatrix, type LabelInput, type TransactionInput } from "@mlsd/feature-store";
import { Progress } from "@mlsd/progress";
import type { TransactionTable } from "@mlsd/datasets";

/** Row i of the table as the feature store sees a transaction. */
export function transactionInputs(table: TransactionTable): TransactionInput[] {
  const out = new Array<TransactionInput>(table.length);
  for (let i = 0; i < table.length; i++) {
    out[i] = {
      transactionId: String(table.transactionId[i]),
      customerId: String(table.customerId[i]),
      terminalId: String(table.terminalId[i]),
      timeMs: ((table.originEpochSeconds + (table.timeSeconds[i] as number)) * 1000),
      amount: table.amount[i] as number,
    };
  }
  return out;
}

/** Every fraud label, available from the moment the chargeback makes it known. */
export function fraudLabels(table: TransactionTable, txs: readonly TransactionInput[]): LabelInput[] {
  const labels: LabelInput[] = [];
  for (let i = 0; i < table.length; i++) {
    if (table.fraud[i] !== 1) continue;
    const tx = txs[i] as TransactionInput;
    labels.push({
      transactionId: tx.transactionId,
      terminalId: tx.terminalId,
      transactionTimeMs: tx.timeMs,
      knownAtMs: (table.originEpochSeconds + (table.labelKnownAt[i] as number)) * 1000,
    });
  }
  return labels;
}

export function buildFeatures(txs: readonly TransactionInput[], labels: readonly LabelInput[], quiet = false): FraudFeatureMatrix {
  const progress = quiet || txs.length === 0 ? undefined : new Progress({ total: txs.length, label: "features (point-in-time replay)", unit: "tx" });
  const matrix = buildFraudFeaturesOffline(txs, labels, undefined, (done) => progress?.update(done));
  progress?.done();
  return matrix;
}
