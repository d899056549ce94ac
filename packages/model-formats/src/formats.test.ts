import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { HnswIndex, IvfIndex } from "@mlsd/ann";
import { buildReference, createDriftReference } from "@mlsd/drift";
import { DEFAULT_RECS_FEATURE_CONFIG, fraudFeatureNames, RANKER_FEATURE_NAMES } from "@mlsd/feature-store";
import { Dataset, train, type GbdtModel } from "@mlsd/gbdt";
import { ModelRegistry, RegistryError } from "@mlsd/model-registry";
import { Rng } from "@mlsd/random";
import { loadItemEmbeddings, TwoTowerModel } from "@mlsd/two-tower";
import { makeClusteredWorld } from "@mlsd/two-tower/testing";
import { afterAll, describe, expect, it } from "vitest";
import { checkCompatibility, openModelRegistry } from "./compatibility";
import { DRIFT_REFERENCE_FILE, loadDriftReference } from "./drift-reference";
import { FRAUD_MODEL_NAME, loadFraudModel, publishFraudModel } from "./fraud";
import { GBDT_MODEL_FILE } from "./gbdt-file";
import { buildPopularityLists, loadPopularity, POPULARITY_MODEL_NAME, publishPopularity } from "./popularity";
import { loadRankerModel, publishRankerModel, RANKER_MODEL_NAME } from "./ranker";
import { centeredEmbeddings, embeddingCenter, loadRetrievalModel, publishRetrievalModel, RETRIEVAL_FEATURE_SCHEMA, RETRIEVAL_INDEX_FILES, RETRIEVAL_MODEL_NAME, retrievalFiles } from "./retrieval";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "model-formats-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const registry = (name: string) => new ModelRegistry(path.join(tmp, name));

/** A small GBDT over the given feature names: y depends on the first feature. */
function tinyGbdt(names: readonly string[], objective: "binary" | "lambdarank" = "binary"): GbdtModel {
  const rng = new Rng(3);
  const rows = 400;
  const x = new Float64Array(rows * names.length).map(() => rng.normal());
  const y = Float64Array.from({ length: rows }, (_, r) => ((x[r * names.length] as number) > 0 ? 1 : 0));
  const groups = objective === "lambdarank" ? Array.from({ length: rows / 20 }, () => 20) : undefined;
  const data = Dataset.fromRows({ data: x, numRows: rows, numColumns: names.length }, { labels: y, featureNames: names, ...(groups ? { groups } : {}) });
  return train(data, { objective, numRounds: 5, maxDepth: 3, minChildWeight: 0.01 }).model;
}

function reference() {
  return createDriftReference({ features: [buildReference("amount", [1, 2, 3, 4, 5, 6, 7, 8], { kind: "numeric", bins: 4 })], score: null });
}

describe("fraud format", () => {
  it("round-trips model, thresholds and drift reference, and refuses a tampered or foreign artifact", async () => {
    const reg = registry("fraud");
    const gbdt = tinyGbdt(fraudFeatureNames());
    const published = await publishFraudModel(reg, { gbdt, thresholds: { review: 0.2, decline: 0.7 }, driftReference: reference(), dataWindow: { world: "test" }, metrics: { auc: 0.5 }, extra: { params: { numRounds: 5 } } });
    expect(Object.keys(published.manifest.files).sort()).toEqual([DRIFT_REFERENCE_FILE, GBDT_MODEL_FILE].sort());
    const loaded = loadFraudModel(reg, "current");
    expect(loaded.version).toBe(published.manifest.version);
    expect(loaded.thresholds).toEqual({ review: 0.2, decline: 0.7 });
    expect(loaded.gbdt.toJSON()).toEqual(gbdt.toJSON());
    expect(loadDriftReference(reg, FRAUD_MODEL_NAME, "current").reference.features[0]?.name).toBe("amount");

    // Another feature schema: the manifest says so, and the format refuses it.
    const manifestFile = path.join(published.dir, "manifest.json");
    const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8"));
    fs.writeFileSync(manifestFile, JSON.stringify({ ...manifest, featureSchemaHash: "fraud-features/other" }));
    expect(() => loadFraudModel(reg, "current")).toThrow(/feature schema/);
    fs.writeFileSync(manifestFile, JSON.stringify(manifest));

    fs.appendFileSync(published.file(GBDT_MODEL_FILE), " ");
    expect(() => loadFraudModel(reg, "current")).toThrow(/checksum/);
  });

  it("round-trips a fallback model over request features, and refuses one over features the model lacks", async () => {
    const reg = registry("fraud-fallback");
    const names = fraudFeatureNames();
    const fallback = { gbdt: tinyGbdt(names.slice(0, 3)), thresholds: { review: 0.1, decline: 0.5 } };
    await publishFraudModel(reg, { gbdt: tinyGbdt(names), thresholds: { review: 0.2, decline: 0.7 }, fallback, driftReference: reference(), dataWindow: {}, metrics: {} });
    const loaded = loadFraudModel(reg, "current");
    expect(loaded.fallback?.thresholds).toEqual({ review: 0.1, decline: 0.5 });
    expect(loaded.fallback?.gbdt.toJSON()).toEqual(fallback.gbdt.toJSON());
    await expect(
      publishFraudModel(reg, { gbdt: tinyGbdt(names), thresholds: { review: 0.2, decline: 0.7 }, fallback: { gbdt: tinyGbdt(["SOMETHING_ELSE"]), thresholds: { review: 0.1, decline: 0.5 } }, driftReference: reference(), dataWindow: {}, metrics: {} }),
    ).rejects.toThrow(/SOMETHING_ELSE/);
  });

  it("refuses thresholds out of order before anything is written", async () => {
    const reg = registry("fraud-bad");
    await expect(publishFraudModel(reg, { gbdt: tinyGbdt(fraudFeatureNames()), thresholds: { review: 0.8, decline: 0.3 }, driftReference: reference(), dataWindow: {}, metrics: {} })).rejects.toThrow(/review/);
    expect(reg.versions(FRAUD_MODEL_NAME)).toEqual([]);
  });
});

describe("ranker format", () => {
  it("round-trips with its extra, and refuses another feature layout", async () => {
    const reg = registry("ranker");
    const gbdt = tinyGbdt(RANKER_FEATURE_NAMES, "lambdarank");
    await publishRankerModel(reg, { gbdt, dataWindow: {}, metrics: {}, extra: { objective: "lambdarank", k: 10, retrievalScorer: "retrieval@v1" }, attachments: { "report.md": "# report\n" } });
    const loaded = loadRankerModel(reg, "current");
    expect(loaded.extra).toMatchObject({ objective: "lambdarank", k: 10, retrievalScorer: "retrieval@v1", features: [...RANKER_FEATURE_NAMES] });
    expect(loaded.gbdt.toJSON()).toEqual(gbdt.toJSON());
    expect(reg.open(RANKER_MODEL_NAME).manifest.files["report.md"]).toMatch(/^[0-9a-f]{64}$/);
    expect(() => loadRankerModel(reg, "current", { ...DEFAULT_RECS_FEATURE_CONFIG, recentClicks: 5 })).toThrow(/feature schema/);
    await expect(publishRankerModel(reg, { gbdt: tinyGbdt(["a", "b"]), dataWindow: {}, metrics: {}, extra: { objective: "binary", k: 10, retrievalScorer: "x" } })).rejects.toThrow(/features/);
  });

  it("publishes a ranker over another feature set, which only a loader asking for that set opens", async () => {
    const reg = registry("ranker-set");
    const featureSet = { name: "ratings/1", names: ["a", "b"], schemaHash: "ratings-hash" };
    const gbdt = tinyGbdt(["a", "b"], "lambdarank");
    await publishRankerModel(reg, { gbdt, featureSet, dataWindow: {}, metrics: {}, extra: { objective: "lambdarank", k: 10, retrievalScorer: "retrieval@v2" }, alias: "movielens" });
    const loaded = loadRankerModel(reg, "movielens", undefined, featureSet);
    expect(loaded.extra).toMatchObject({ features: ["a", "b"], featureSet: "ratings/1" });
    expect(loaded.featureSchemaHash).toBe("ratings-hash");
    expect(() => loadRankerModel(reg, "movielens")).toThrow(/feature schema/);
    await expect(publishRankerModel(reg, { gbdt: tinyGbdt(["b", "a"]), featureSet, dataWindow: {}, metrics: {}, extra: { objective: "lambdarank", k: 10, retrievalScorer: "x" } })).rejects.toThrow(/features/);
  });
});

describe("popularity format", () => {
  it("round-trips the lists, best first, and refuses another feature schema", async () => {
    const reg = registry("popularity");
    const lists = buildPopularityLists({ scores: [3, 0, 5, 1], categories: [0, 1, 0, -1], itemId: (i) => `i${i}`, description: "test" });
    expect(lists.overall.map((i) => i.itemId)).toEqual(["i2", "i0", "i3"]);
    await publishPopularity(reg, lists, { version: "p1", dataWindow: {} });
    expect(loadPopularity(reg, "current")).toEqual({ version: "p1", lists });
    const manifestFile = path.join(reg.open(POPULARITY_MODEL_NAME).dir, "manifest.json");
    fs.writeFileSync(manifestFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(manifestFile, "utf8")), featureSchemaHash: "popularity-lists/0" }));
    expect(() => loadPopularity(reg, "current")).toThrow(/feature schema/);
  });
});

describe("retrieval format", () => {
  it.each(["hnsw", "ivf"] as const)("round-trips tower, %s index, user table and catalogue under one version; a truncated index is refused", async (kind) => {
    const reg = registry(`retrieval-${kind}`);
    const world = makeClusteredWorld({ numUsers: 40, numItems: 30, interactionsPerUser: 6 });
    const model = await TwoTowerModel.fromData(world.train, { idDim: 8, categoricalDim: 4, hiddenDims: [16], outputDim: 8 });
    const version = "r1";
    const towerDir = path.join(tmp, "tower");
    await model.save(towerDir, { version });
    const { embeddings, numItems, dim } = await loadItemEmbeddings(towerDir);
    const center = embeddingCenter(embeddings, dim);
    const ids = Array.from({ length: numItems }, (_, i) => String(i));
    const centred = centeredEmbeddings(embeddings, center);
    const index = kind === "hnsw" ? HnswIndex.build<string>(centred, ids, { dim, modelVersion: version }) : IvfIndex.build<string>(centred, ids, { dim, modelVersion: version, params: { nlist: 4, nprobe: 2 } });
    const users = {
      numeric: new Float32Array(0),
      numericNames: [],
      categorical: new Int32Array(0),
      categoricalNames: [],
      cardinalities: [],
      history: new Int32Array(40 * 8).fill(-1),
      historyLength: 8,
      known: new Uint8Array(40).fill(1),
    };
    await publishRetrievalModel(reg, {
      version,
      saveTower: (dir) => model.save(dir, { version }),
      index,
      center,
      users,
      itemCategories: Int32Array.from({ length: numItems }, (_, i) => i % 3),
      dataWindow: {},
      metrics: {},
    });
    const entry = reg.open(RETRIEVAL_MODEL_NAME);
    expect(Object.keys(entry.manifest.files).sort()).toEqual(retrievalFiles(kind).sort());
    expect(entry.manifest.extra).toMatchObject({ index: { kind, params: index.params } });
    const loaded = await loadRetrievalModel(reg, "current");
    expect(loaded.version).toBe(version);
    expect(loaded.index?.kind).toBe(kind);
    expect(loaded.index?.modelVersion).toBe(version);
    expect(loaded.indexError).toBeNull();
    const query = centred.subarray(3 * dim, 4 * dim);
    expect(loaded.index?.search(query, 5, ids.length)).toEqual(index.search(query, 5, ids.length));
    // Asked for the other kind, the index is refused and says what the folder holds.
    const other = kind === "hnsw" ? "ivf" : "hnsw";
    const refused = await loadRetrievalModel(reg, "current", { indexKind: other });
    expect(refused.index).toBeNull();
    expect(refused.indexError).toBe(`manifest.format: index in index.json is ${kind}, expected ${other}`);
    expect(Array.from(loaded.embeddings)).toEqual(Array.from(embeddings));
    expect(loaded.itemCategories[4]).toBe(1);
    expect(loaded.itemIds.idOf(7)).toBe("7");

    fs.truncateSync(entry.file(RETRIEVAL_INDEX_FILES[kind]), 100);
    await expect(loadRetrievalModel(reg, "current")).rejects.toThrow(`${RETRIEVAL_INDEX_FILES[kind]} does not match its manifest checksum`);
  });
});

describe("compatibility", () => {
  const ops = { by: "admin:test", reason: "a test promotion" };
  /** A retrieval version as the registry sees it (the check reads manifests only). */
  const retrieval = (reg: ModelRegistry, version: string, alias?: string) =>
    reg.publish({ model: RETRIEVAL_MODEL_NAME, version, dataWindow: {}, featureSchemaHash: RETRIEVAL_FEATURE_SCHEMA, metrics: {}, extra: {} }, () => undefined, alias ? { alias, ...ops } : {});
  const ranker = (reg: ModelRegistry, version: string, extra: { retrievalVersions?: string[]; fallback?: string } = {}) =>
    publishRankerModel(reg, {
      gbdt: tinyGbdt(RANKER_FEATURE_NAMES, "lambdarank"),
      dataWindow: {},
      metrics: {},
      extra: { objective: "lambdarank", k: 10, retrievalScorer: "two-tower", ...(extra.fallback ? { fallback: extra.fallback } : {}) },
      ...(extra.retrievalVersions ? { retrievalVersions: extra.retrievalVersions } : {}),
      version,
      alias: "candidate",
    });

  it("pairs a ranker only with the retrieval model it was trained with, in both directions", async () => {
    const reg = openModelRegistry(path.join(tmp, "compat-pairs"));
    await retrieval(reg, "r1", "current");
    await retrieval(reg, "r2");
    const trained = await ranker(reg, "k1", { retrievalVersions: ["r1"] });
    expect(trained.manifest.extra.requires).toEqual({ [RETRIEVAL_MODEL_NAME]: ["r1"] });
    expect(checkCompatibility(reg, RANKER_MODEL_NAME, "k1")).toEqual({ ok: true, reasons: [], notes: [] });
    reg.promote(RANKER_MODEL_NAME, ops);

    // Moving retrieval under the ranker is checked too: r2 is not what k1 was trained on.
    const retrievalCheck = checkCompatibility(reg, RETRIEVAL_MODEL_NAME, "r2");
    expect(retrievalCheck.ok).toBe(false);
    expect(retrievalCheck.reasons).toEqual([`${RANKER_MODEL_NAME}@k1 was trained on the scores of ${RETRIEVAL_MODEL_NAME} r1, not r2 (under "current")`]);
    let refused: unknown;
    try {
      reg.promote(RETRIEVAL_MODEL_NAME, { ...ops, from: "r2" });
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(RegistryError);
    expect(refused).toMatchObject({ code: "INCOMPATIBLE", details: { reasons: retrievalCheck.reasons } });
    expect(reg.aliases(RETRIEVAL_MODEL_NAME).current).toBe("r1");

    // A ranker trained on r2, with nothing recorded, or stating a fallback.
    await ranker(reg, "k2", { retrievalVersions: ["r2"] });
    expect(() => reg.promote(RANKER_MODEL_NAME, { ...ops, from: "k2" })).toThrow(/trained on the scores of retrieval r2, not r1/);
    await ranker(reg, "k3");
    expect(checkCompatibility(reg, RANKER_MODEL_NAME, "k3").reasons).toEqual([`${RANKER_MODEL_NAME}@k3 records no ${RETRIEVAL_MODEL_NAME} version it was trained with (scorer: two-tower)`]);
    await ranker(reg, "k4", { retrievalVersions: ["r2"], fallback: "any retrieval: the retrieval score feature is dropped" });
    const withFallback = checkCompatibility(reg, RANKER_MODEL_NAME, "k4");
    expect(withFallback.ok).toBe(true);
    expect(withFallback.notes[0]).toMatch(/its stated fallback: any retrieval: the retrieval score feature is dropped$/);
    expect(reg.promote(RANKER_MODEL_NAME, { ...ops, from: "k4" }).compatibility?.notes).toEqual(withFallback.notes);
  });

  it("refuses a model built for another feature schema, and says what it cannot check", async () => {
    const reg = openModelRegistry(path.join(tmp, "compat-schema"));
    await reg.publish({ model: FRAUD_MODEL_NAME, version: "f1", dataWindow: {}, featureSchemaHash: "some-other-schema", metrics: {}, extra: {} }, () => undefined, {});
    const report = checkCompatibility(reg, FRAUD_MODEL_NAME, "f1");
    expect(report.ok).toBe(false);
    expect(report.reasons[0]).toMatch(/^fraud-gbdt@f1 was trained on feature schema some-other-schema; serving computes [0-9a-f]+$/);
    expect(checkCompatibility(reg, FRAUD_MODEL_NAME, "f1", { featureSchemaHash: "some-other-schema" }).ok).toBe(true);
    expect(checkCompatibility(reg, FRAUD_MODEL_NAME, "f9")).toMatchObject({ ok: false, reasons: [expect.stringMatching(/f9 does not exist/)] });
    await reg.publish({ model: "experiment", version: "e1", dataWindow: {}, featureSchemaHash: "x", metrics: {}, extra: {} }, () => undefined, {});
    expect(checkCompatibility(reg, "experiment", "e1")).toEqual({ ok: true, reasons: [], notes: ["no format owns experiment: only its files are checked"] });
    const ranked = await ranker(reg, "k1", { retrievalVersions: ["r1"] });
    expect(checkCompatibility(reg, RANKER_MODEL_NAME, ranked.manifest.version).notes).toEqual([`no ${RETRIEVAL_MODEL_NAME} under "current" to check the ranker against`]);
  });
});
