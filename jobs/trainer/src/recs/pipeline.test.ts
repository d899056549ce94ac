import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ModelRegistry } from "@mlsd/model-registry";
import { loadPopularity } from "@mlsd/model-formats/popularity";
import { loadRetrievalArtifact, retrievalFiles } from "@mlsd/model-formats/retrieval";
import { loadRankerModel } from "@mlsd/model-formats/ranker";
import { linearUserVector } from "@mlsd/two-tower";
import { TWO_STAGE_FEATURE_SET, TWO_STAGE_FEATURES } from "./two-stage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeTinyMovieLens } from "./movielens-fixture";
import { trainRecs, type TrainRecsResult } from "./pipeline";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recs-pipeline-"));
const registryDir = path.join(tmp, "registry");
const reportDir = path.join(tmp, "reports");
const ivfRegistryDir = path.join(tmp, "registry-ivf");
const ivfReportDir = path.join(tmp, "reports-ivf");
let world: TrainRecsResult;
let ivfWorld: TrainRecsResult;
let movielens: TrainRecsResult;
const smallWorld = { kind: "synthetic", preset: "small", world: { numUsers: 200, numItems: 500 }, sessionsPerUser: 6, seed: 2 } as const;

beforeAll(async () => {
  world = await trainRecs({ source: smallWorld, twoTower: { epochs: 2 }, registryDir, reportDir, quiet: true, log: () => undefined });
  ivfWorld = await trainRecs({
    source: smallWorld,
    twoTower: { epochs: 2 },
    index: { kind: "ivf", params: { nlist: 16, nprobe: 4 } },
    registryDir: ivfRegistryDir,
    reportDir: ivfReportDir,
    quiet: true,
    log: () => undefined,
  });
  writeTinyMovieLens(path.join(tmp, "ml"));
  movielens = await trainRecs({
    source: { kind: "movielens", dir: path.join(tmp, "ml"), epochs: 8 },
    twoTower: { batchSize: 32, learningRate: 0.02 },
    registryDir,
    reportDir,
    quiet: true,
    log: () => undefined,
  });
}, 120_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("recs training on a synthetic world", () => {
  it("publishes retrieval and popularity under one version, and the ranker, as `current`", async () => {
    const registry = new ModelRegistry(registryDir);
    expect(registry.resolve("retrieval")).toBe(world.version);
    expect(registry.resolve("recs-popularity")).toBe(world.version);
    expect(registry.resolve("ranker-gbdt")).toBe(world.published.ranker!.manifest.version);
    const entry = registry.open("retrieval");
    expect(Object.keys(entry.manifest.files).sort()).toEqual(retrievalFiles("hnsw").sort());
    const artifact = await loadRetrievalArtifact(entry.dir);
    expect(artifact.index?.kind).toBe("hnsw");
    expect(artifact.index?.modelVersion).toBe(world.version);
    expect(artifact.itemIds.size).toBe(500);
    expect(artifact.itemIds.idOf(42)).toBe("42");
    const popularity = loadPopularity(registry, "current");
    const scores = popularity.lists.overall.map((i) => i.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    for (const [category, items] of Object.entries(popularity.lists.byCategory)) for (const i of items) expect(i.category).toBe(Number(category));
  });

  it("measures the index against exact search and the methods against each other", () => {
    const at200 = world.indexSweep.find((s) => s.k === 100 && s.effort === 200)!;
    expect(at200.recall).toBeGreaterThanOrEqual(0.95);
    expect(world.indexSweep.every((s) => s.effort >= s.k)).toBe(true);
    const e = world.world!.evaluation;
    const by = Object.fromEntries(e.methods.map((m) => [m.method, m]));
    expect(Object.keys(by)).toEqual(["popularity", "retrieval-exact", "retrieval-index", "two-stage"]);
    expect(Math.abs(by["retrieval-index"]!.ndcgTrue - by["retrieval-exact"]!.ndcgTrue)).toBeLessThan(0.02);
    // The ranker, which sees popularity, the user's categories and the retrieval score, beats both inputs on true relevance.
    expect(by["two-stage"]!.ndcgTrue).toBeGreaterThan(by["popularity"]!.ndcgTrue);
    expect(by["two-stage"]!.ndcgTrue).toBeGreaterThan(by["retrieval-index"]!.ndcgTrue);
    for (const m of e.methods) {
      for (const v of [m.ndcgTrue, m.ndcgClicks, m.recallClicks]) expect(v >= 0 && v <= 1).toBe(true);
    }
    expect(e.candidates.index).toBeGreaterThan(0);
  });

  it("writes the report and its charts", () => {
    const report = fs.readFileSync(path.join(reportDir, "recs-report.md"), "utf8");
    expect(report).toContain(`Model version ${world.version}`);
    expect(report).toContain("| two-stage: HNSW top-200 -> GBDT ranker |");
    expect(report).toContain("## Ranker");
    for (const chart of ["recs-ndcg.svg", "recs-index-recall.svg"]) expect(fs.readFileSync(path.join(reportDir, chart), "utf8")).toMatch(/^<svg/);
  });
});

describe("recs training with an IVF index (--index ivf)", () => {
  it("publishes the IVF index in the retrieval artifact, with its default nprobe in the metrics", async () => {
    const entry = new ModelRegistry(ivfRegistryDir).open("retrieval");
    expect(Object.keys(entry.manifest.files).sort()).toEqual(retrievalFiles("ivf").sort());
    expect(entry.manifest.extra).toMatchObject({ index: { kind: "ivf", params: { nlist: 16, nprobe: 4 } } });
    expect(entry.manifest.metrics).toMatchObject({ index: { kind: "ivf", nprobe: 4 } });
    const artifact = await loadRetrievalArtifact(entry.dir, { indexKind: "ivf" });
    expect(artifact.indexError).toBeNull();
    expect(artifact.index?.kind).toBe("ivf");
    expect(artifact.index?.size).toBe(500);
  });

  it("sweeps nprobe up to nlist: recall grows with it and is exact with every list scanned", () => {
    expect([...new Set(ivfWorld.indexSweep.map((s) => s.effort))]).toEqual([1, 2, 4, 8, 16]);
    for (const k of [10, 100]) {
      const recalls = ivfWorld.indexSweep.filter((s) => s.k === k).map((s) => s.recall);
      expect(recalls).toEqual([...recalls].sort((a, b) => a - b));
      expect(recalls[0]).toBeLessThan(0.9);
      expect(recalls.at(-1)).toBeCloseTo(1, 3);
    }
    const by = Object.fromEntries(ivfWorld.world!.evaluation.methods.map((m) => [m.method, m]));
    expect(by["retrieval-index"]!.description).toBe("two-tower, IVF");
    const report = fs.readFileSync(path.join(ivfReportDir, "recs-report.md"), "utf8");
    expect(report).toContain("| k | nprobe | recall@k vs exact | IVF median us | exact median us |");
    expect(report).toContain("IVF (k-means lists, exact scan of the probed lists): nlist=16, default nprobe=4");
    expect(report).toContain("| two-stage: IVF top-200 -> GBDT ranker |");
  });
});

describe("recs training on MovieLens (a miniature folder in the 100K format)", () => {
  it("compares the two-stage pipeline, its retrieval stage and the two-tower model with rec-eval's baselines under one split", () => {
    const run = movielens.movielens!.runs[0]!;
    const rows = run.results;
    expect(rows.map((r) => r.recommender)).toEqual(["MostPop", "ItemKNN(cosine, k=100)", "EASE(lambda=500)", "iALS(d=64, alpha=20, lambda=100)", "two-tower (exact)", "low-rank EASE retrieval (exact)", "two-stage: retrieval top-50 -> GBDT ranker"]);
    const ndcg = Object.fromEntries(rows.map((r) => [r.recommender, r.ndcg]));
    // Users keep to their genre; models that learned it beat the genre-blind popularity list.
    expect(ndcg["two-tower (exact)"]).toBeGreaterThan(ndcg["MostPop"]! + 0.05);
    expect(ndcg["two-stage: retrieval top-50 -> GBDT ranker"]).toBeGreaterThan(ndcg["MostPop"]! + 0.05);
    // 45 movies: every model's top 200 holds the whole catalogue.
    for (const r of run.recallAt200) expect(r.recall).toBe(1);
    expect(run.ranker.groups).toBeGreaterThan(0);
    const summary = movielens.movielens!.summary.find((s) => s.model === "MostPop" && s.metric === "NDCG@10")!;
    expect(summary.values).toEqual([ndcg["MostPop"]]);
  });

  it("publishes retrieval, ranker and popularity under the movielens alias with the dataset's own ids", async () => {
    const registry = new ModelRegistry(registryDir);
    expect(registry.aliases("retrieval").movielens).toBe(movielens.version);
    expect(registry.aliases("retrieval").current).toBe(world.version);
    expect(world.published.ranker?.manifest.extra.requires).toEqual({ retrieval: [world.version] });
    expect(registry.aliases("ranker-gbdt").movielens).toBe(movielens.version);
    const ranker = loadRankerModel(registry, "movielens", undefined, TWO_STAGE_FEATURE_SET);
    expect(ranker.gbdt.featureNames).toEqual([...TWO_STAGE_FEATURES]);
    // Its first feature is the MovieLens retrieval score: it serves only beside that retrieval.
    expect(ranker.extra.requires).toEqual({ retrieval: [movielens.version] });
    const artifact = await loadRetrievalArtifact(registry.open("retrieval", "movielens").dir);
    expect([artifact.itemIds.idOf(0), artifact.userIds.idOf(29), artifact.itemIds.indexOf("45")]).toEqual(["1", "30", 44]);
    // The served user tower points where the user's full training history does.
    const run = movielens.movielens!.runs[0]!;
    const u = 3;
    const served = artifact.encoder.encode({ userId: u, numeric: artifact.users.numeric.subarray(u, u + 1), categorical: artifact.users.categorical.subarray(3 * u, 3 * u + 3), history: artifact.users.history.subarray(20 * u, 20 * u + 20) });
    const full = linearUserVector(run.signals.towers, run.split.train.itemsOf(u));
    let dot = 0;
    let norm = 0;
    for (let r = 0; r < full.length; r++) {
      dot += served[r]! * full[r]!;
      norm += full[r]! ** 2;
    }
    expect(dot / Math.sqrt(norm)).toBeCloseTo(1, 4);
    const report = fs.readFileSync(path.join(reportDir, "recs-movielens-report.md"), "utf8");
    expect(report).toContain(`| two-stage: retrieval top-50 -> GBDT ranker | ${ndcgOf(run, "two-stage: retrieval top-50 -> GBDT ranker")} |`);
    // The two-tower model trained on sampled histories (MOVIELENS_TWO_TOWER) and the report says so.
    expect(run.twoTowerHistories).toEqual({ kind: "sampled", length: 50 });
    expect(run.twoTower!.model.schema.historyLength).toBe(50);
    expect(report).toContain("Each training rating's user-tower history: up to 50 of the user's other training ratings, drawn at random");
  });
});

function ndcgOf(run: { results: { recommender: string; ndcg: number }[] }, name: string): string {
  return run.results.find((r) => r.recommender === name)!.ndcg.toFixed(4);
}
