import { HnswIndex, IvfIndex, type IndexKind } from "@mlsd/ann";
import { ModelRegistry, type RegisteredModel } from "@mlsd/model-registry";
import { Rng } from "@mlsd/random";
import { buildHistories, TwoTowerModel, type TrainingData } from "@mlsd/two-tower";
import { centeredEmbeddings, embeddingCenter, publishRetrievalModel, type UserTable } from "@mlsd/model-formats/retrieval";

/** Users u and items i belong to cluster x % CLUSTERS; users click only their own cluster. */
export const CLUSTERS = 4;
export const USERS = 48;
export const ITEMS = 40;
const PER_USER = 8;
const HISTORY = 5;

/** A world small enough to train in seconds, with structure a model must pick up: clusters, visible in the item category. */
export function tinyTrainingData(seed = 3): TrainingData {
  const rng = new Rng(seed);
  const user: number[] = [];
  const item: number[] = [];
  const time: number[] = [];
  for (let u = 0; u < USERS; u++) {
    const own = Array.from({ length: ITEMS / CLUSTERS }, (_, j) => j * CLUSTERS + (u % CLUSTERS));
    rng.shuffle(own);
    for (let t = 0; t < PER_USER; t++) {
      user.push(u);
      item.push(own[t % own.length] as number);
      time.push(t);
    }
  }
  const log = { user: Int32Array.from(user), item: Int32Array.from(item), time: Float64Array.from(time) };
  return {
    numUsers: USERS,
    numItems: ITEMS,
    userFeatures: {
      numericDim: 1,
      numeric: Float32Array.from({ length: USERS }, (_, u) => Math.log1p(PER_USER + (u % 3))),
      categoricalCardinalities: [CLUSTERS, 3],
      categorical: Int32Array.from({ length: USERS * 2 }, (_, j) => (j % 2 === 0 ? Math.floor(j / 2) % CLUSTERS : Math.floor(j / 2) % 3)),
    },
    itemFeatures: {
      numCategories: CLUSTERS,
      category: Int32Array.from({ length: ITEMS }, (_, i) => i % CLUSTERS),
      numTags: 2,
      tags: new Uint8Array(ITEMS * 2),
      quality: new Float32Array(ITEMS),
      freshness: new Float32Array(ITEMS),
    },
    interactions: log,
    histories: buildHistories(log, HISTORY),
  };
}

export async function trainTinyModel(data = tinyTrainingData()): Promise<TwoTowerModel> {
  const model = await TwoTowerModel.fromData(data, { idDim: 8, categoricalDim: 4, hiddenDims: [16], outputDim: 8, batchSize: 32, epochs: 12, learningRate: 0.03, seed: 5 });
  await model.fit(data);
  return model;
}

export function tinyUserTable(data: TrainingData): UserTable {
  const history = new Int32Array(USERS * HISTORY).fill(-1);
  for (let u = 0; u < USERS; u++) {
    const own = [];
    for (let r = data.interactions.user.length - 1; r >= 0 && own.length < HISTORY; r--) if (data.interactions.user[r] === u) own.push(data.interactions.item[r] as number);
    history.set(own, u * HISTORY);
  }
  const known = new Uint8Array(USERS).fill(1);
  known[USERS - 1] = 0;
  return {
    numeric: data.userFeatures.numeric,
    numericNames: ["log_clicks"],
    categorical: data.userFeatures.categorical,
    categoricalNames: ["cluster_hint", "device"],
    cardinalities: [...data.userFeatures.categoricalCardinalities],
    history,
    historyLength: HISTORY,
    known,
  };
}

/** IVF lists of the tiny catalogue: 10 items each on average, so one probe misses most of a top 20. */
export const TINY_NLIST = 4;

/** Publishes the model with an HNSW (or IVF) index and the user table as `retrieval@version` (external ids "u<n>" / "m<n>"). */
export async function publishTinyRetrieval(registryDir: string, model: TwoTowerModel, data: TrainingData, version: string, kind: IndexKind = "hnsw"): Promise<RegisteredModel> {
  const embeddings = model.exportItemEmbeddings();
  const itemIds = Array.from({ length: ITEMS }, (_, i) => `m${i}`);
  const center = embeddingCenter(embeddings, model.config.outputDim);
  const centred = centeredEmbeddings(embeddings, center);
  const dim = model.config.outputDim;
  const index =
    kind === "hnsw"
      ? HnswIndex.build(centred, itemIds, { dim, modelVersion: version, params: { M: 8, efConstruction: 64, ef: 64 } })
      : IvfIndex.build(centred, itemIds, { dim, modelVersion: version, params: { nlist: TINY_NLIST, nprobe: 1 } });
  return publishRetrievalModel(new ModelRegistry(registryDir), {
    version,
    saveTower: (d) => model.save(d, { version }),
    index,
    center,
    users: tinyUserTable(data),
    itemCategories: Int32Array.from(data.itemFeatures.category),
    userIds: Array.from({ length: USERS }, (_, u) => `u${u}`),
    itemIds,
    dataWindow: { dataset: "tiny clusters" },
    metrics: {},
  });
}
