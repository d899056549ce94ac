import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ModelRegistry } from "@mlsd/model-registry";
import { loadPopularity } from "@mlsd/model-formats/popularity";
import { loadRetrievalArtifact, RETRIEVAL_FILES } from "@mlsd/model-formats/retrieval";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeTinyMovieLens } from "./movielens-fixture";
import { trainRecs, type TrainRecsResult } from "./pipeline";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recs-pipeline-"));
const registryDir = path.join(tmp, "registry");
const reportDir = path.join(tmp, "reports");
let world: TrainRecsResult;
let movielens: TrainRecsResult;

beforeAll(async () => {
  world = await trainRecs({
    source: { kind: "synthetic", preset: "small", world: { numUsers: 200, numItems: 500 }, sessionsPerUser: 6, seed: 2 },
    twoTower: { epochs: 2 },
    registryDir,
    reportDir,
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
    expect(Object.keys(entry.manifest.files).sort()).toEqual(Object.values(RETRIEVAL_FILES).sort());
    const artifact = await loadRetrievalArtifact(entry.dir);
    expect(artifact.index?.modelVersion).toBe(world.version);
    expect(artifact.itemIds.size).toBe(500);
    expect(artifact.itemIds.idOf(42)).toBe("42");
    const popularity = loadPopularity(registry, "current");
    const scores = popularity.lists.overall.map((i) => i.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    for (const [category, items] of Object.entries(popularity.lists.byCategory)) for (const i of items) expect(i.category).toBe(Number(category));
  });

  it("measures the index against exact search and the methods against each other", () => {
    const at200 = world.indexSweep.find((s) => s.k === 100 && s.ef === 200)!;
    expect(at200.recall).toBeGreaterThanOrEqual(0.95);
    expect(world.indexSweep.every((s) => s.ef >= s.k)).toBe(true);
    const e = world.world!.evaluation;
    const by = Object.fromEntries(e.methods.map((m) => [m.method, m]));
    expect(Object.keys(by)).toEqual(["popularity", "retrieval-exact", "retrieval-hnsw", "two-stage"]);
    expect(Math.abs(by["retrieval-hnsw"]!.ndcgTrue - by["retrieval-exact"]!.ndcgTrue)).toBeLessThan(0.02);
    // The ranker, which sees popularity, the user's categories and the retrieval score, beats both inputs on true relevance.
    expect(by["two-stage"]!.ndcgTrue).toBeGreaterThan(by["popularity"]!.ndcgTrue);
    expect(by["two-stage"]!.ndcgTrue).toBeGreaterThan(by["retrieval-hnsw"]!.ndcgTrue);
    for (const m of e.methods) {
      for (const v of [m.ndcgTrue, m.ndcgClicks, m.recallClicks]) expect(v >= 0 && v <= 1).toBe(true);
    }
    expect(e.candidates.hnsw).toBeGreaterThan(0);
  });

  it("writes the report and its charts", () => {
    const report = fs.readFileSync(path.join(reportDir, "recs-report.md"), "utf8");
    expect(report).toContain(`Model version ${world.version}`);
    expect(report).toContain("| two-stage: HNSW top-200 -> GBDT ranker |");
    expect(report).toContain("## Ranker");
    for (const chart of ["recs-ndcg.svg", "recs-index-recall.svg"]) expect(fs.readFileSync(path.join(reportDir, chart), "utf8")).toMatch(/^<svg/);
  });
});

describe("recs training on MovieLens (a miniature folder in the 100K format)", () => {
  it("compares the two-tower variants with rec-eval's baselines under its split", () => {
    const rows = movielens.movielens!.results;
    expect(rows.map((r) => r.recommender)).toEqual(["MostPop", "EASE(lambda=500)", "two-tower, exact", "two-tower, HNSW", "two-stage: HNSW top-200 -> EASE"]);
    const ndcg = Object.fromEntries(rows.map((r) => [r.recommender, r.ndcg]));
    // Users keep to their genre; a model that learned it beats the genre-blind popularity list.
    expect(ndcg["two-tower, exact"]).toBeGreaterThan(ndcg["MostPop"]! + 0.05);
    expect(ndcg["two-tower, HNSW"]).toBeCloseTo(ndcg["two-tower, exact"]!, 6);
    // 45 movies: the top 200 hold the whole catalogue, so re-ranking them with EASE is EASE.
    expect(ndcg["two-stage: HNSW top-200 -> EASE"]).toBeCloseTo(ndcg["EASE(lambda=500)"]!, 6);
  });

  it("publishes under the movielens alias with the dataset's own ids, and no ranker", async () => {
    const registry = new ModelRegistry(registryDir);
    expect(registry.aliases("retrieval").movielens).toBe(movielens.version);
    expect(registry.aliases("retrieval").current).toBe(world.version);
    expect(movielens.published.ranker).toBeNull();
    const artifact = await loadRetrievalArtifact(registry.open("retrieval", "movielens").dir);
    expect([artifact.itemIds.idOf(0), artifact.userIds.idOf(29), artifact.itemIds.indexOf("45")]).toEqual(["1", "30", 44]);
    expect(fs.readFileSync(path.join(reportDir, "recs-movielens-report.md"), "utf8")).toContain("MostPop");
  });
});
