import { RANKER_FEATURE_COUNT, RANKER_FEATURE_NAMES, rankerFeatureIndex, type RecsFeatureConfig } from "@mlsd/feature-store";
import { Dataset, train, type GbdtModel } from "@mlsd/gbdt";
import { publishRankerModel } from "@mlsd/model-formats/ranker";
import { ModelRegistry, type RegisteredModel } from "@mlsd/model-registry";

/**
 * A small GBDT over the real ranker features, trained on a deterministic grid of rows where the
 * label follows retrieval score, item popularity and home-category match: enough for the serving
 * tests to check that real features reach a real model, in a fraction of a second.
 */
export function trainTinyRanker(): GbdtModel {
  const rows = 1200;
  const data = new Float64Array(rows * RANKER_FEATURE_COUNT);
  const labels = new Float64Array(rows);
  const clicks = rankerFeatureIndex("item_log_clicks");
  const home = rankerFeatureIndex("user_home_category_match");
  const retrieval = rankerFeatureIndex("retrieval_score");
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < RANKER_FEATURE_COUNT; j++) data[r * RANKER_FEATURE_COUNT + j] = ((r * (2 * j + 3) + 7 * j) % 101) / 25 - 1;
    data[r * RANKER_FEATURE_COUNT + home] = r % 3 === 0 ? 1 : 0;
    const at = (j: number) => data[r * RANKER_FEATURE_COUNT + j] as number;
    labels[r] = at(retrieval) + at(clicks) + 2 * at(home) > 1.5 ? 1 : 0;
  }
  const dataset = Dataset.fromRows({ data, numRows: rows, numColumns: RANKER_FEATURE_COUNT }, { labels, featureNames: [...RANKER_FEATURE_NAMES] });
  return train(dataset, { objective: "binary", numRounds: 15, maxDepth: 3, learningRate: 0.3, seed: 1 }).model;
}

export async function publishTinyRanker(registryDir: string, model: GbdtModel = trainTinyRanker(), featureConfig?: RecsFeatureConfig): Promise<RegisteredModel> {
  return publishRankerModel(new ModelRegistry(registryDir), {
    gbdt: model,
    ...(featureConfig ? { featureConfig } : {}),
    dataWindow: { dataset: "test grid" },
    metrics: {},
    extra: { objective: model.objective, k: 10, retrievalScorer: "test" },
  });
}
