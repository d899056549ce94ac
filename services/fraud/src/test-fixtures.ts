import { fraudFeatureNames, fraudFeatureSchemaHash } from "@mlsd/feature-store";
import { Dataset, train, type GbdtModel } from "@mlsd/gbdt";
import { Rng } from "@mlsd/random";
import { GbdtFraudModel } from "./model";

/**
 * A small real GBDT for tests: fraud is likely when the amount is high or the terminal's 7-day
 * risk is high, so decisions move with inputs the tests control.
 */
export function trainTestGbdt(seed = 1): GbdtModel {
  const names = fraudFeatureNames();
  const amount = names.indexOf("TX_AMOUNT");
  const risk = names.indexOf("TERMINAL_ID_RISK_7DAY_WINDOW");
  const rng = new Rng(seed);
  const rows: Float64Array[] = [];
  const labels: number[] = [];
  for (let i = 0; i < 4000; i++) {
    const row = new Float64Array(names.length);
    for (let f = 0; f < names.length; f++) row[f] = rng.uniform(0, 10);
    row[amount] = rng.uniform(0, 300);
    row[risk] = rng.bernoulli(0.1) ? rng.uniform(0.3, 1) : 0;
    rows.push(row);
    const p = (row[amount] as number) > 220 ? 0.95 : (row[risk] as number) > 0.25 ? 0.8 : 0.02;
    labels.push(rng.bernoulli(p) ? 1 : 0);
  }
  const data = Dataset.fromRows(rows, { labels, featureNames: names, seed });
  return train(data, { objective: "binary", numRounds: 40, maxDepth: 4, learningRate: 0.3, seed }).model;
}

export const TEST_THRESHOLDS = { review: 0.3, decline: 0.7 };

export function trainTestModel(seed = 1): GbdtFraudModel {
  return new GbdtFraudModel(trainTestGbdt(seed), "test-model-1", TEST_THRESHOLDS, fraudFeatureSchemaHash());
}
