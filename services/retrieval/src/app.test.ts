import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ModelRegistry } from "@mlsd/model-registry";
import { buildService, type ServiceInstance } from "@mlsd/service-kit";
import type { TrainingData, TwoTowerModel } from "@mlsd/two-tower";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRetrievalArtifact, RETRIEVAL_FILES, RETRIEVAL_INDEX_FILES, RETRIEVAL_MODEL_NAME, retrievalFiles } from "@mlsd/model-formats/retrieval";
import type { RetrievalAppDeps } from "./app";
import type { RetrievalConfig } from "./config";
import { retrievalService } from "./service";
import { CLUSTERS, ITEMS, publishTinyRetrieval, TINY_NLIST, tinyTrainingData, tinyUserTable, trainTinyModel, USERS } from "./test-fixtures";

const ADMIN_TOKEN = "retrieval-admin-token-0123";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "retrieval-test-"));
const registryDir = path.join(tmp, "registry");
let data: TrainingData;
let model: TwoTowerModel;
let runtime: ServiceInstance<RetrievalConfig, RetrievalAppDeps>;
let app: ServiceInstance<RetrievalConfig, RetrievalAppDeps>["app"];

beforeAll(async () => {
  data = tinyTrainingData();
  model = await trainTinyModel(data);
  await publishTinyRetrieval(registryDir, model, data, "v1");
  runtime = await buildService(retrievalService, { PORT: "0", LOG_LEVEL: "silent", MODEL_REGISTRY_DIR: registryDir, ADMIN_TOKEN });
  app = runtime.app;
}, 60_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const candidates = (body: object, query = "", token: string | null = ADMIN_TOKEN) => {
  const req = request(app).post(`/v1/candidates${query}`);
  return (token ? req.set("authorization", `Bearer ${token}`) : req).send(body);
};
const cluster = (itemId: string) => Number(itemId.slice(1)) % CLUSTERS;

describe("retrieval artifact", () => {
  it("stores tower, index and user table flat in one registry folder and loads them back without tfjs", async () => {
    const entry = new ModelRegistry(registryDir).open(RETRIEVAL_MODEL_NAME, "current");
    expect(Object.keys(entry.manifest.files).sort()).toEqual(retrievalFiles("hnsw").sort());
    const artifact = await loadRetrievalArtifact(entry.dir);
    expect(artifact.version).toBe("v1");
    expect(artifact.indexError).toBeNull();
    expect(artifact.index?.size).toBe(ITEMS);
    expect(Array.from(artifact.embeddings)).toEqual(Array.from(model.exportItemEmbeddings()));
    const table = tinyUserTable(data);
    expect(Array.from(artifact.users.history)).toEqual(Array.from(table.history));
    expect(Array.from(artifact.users.categorical)).toEqual(Array.from(table.categorical));
    expect(Array.from(artifact.users.known)).toEqual(Array.from(table.known));
    expect([artifact.userIds.indexOf("u7"), artifact.userIds.indexOf("7"), artifact.itemIds.idOf(12), artifact.itemIds.indexOf("m39")]).toEqual([7, -1, "m12", 39]);
    // The user tower in plain loops matches tfjs on the same query.
    const query = { userId: 5, numeric: [table.numeric[5]!], categorical: [table.categorical[10]!, table.categorical[11]!], history: Array.from(table.history.subarray(25, 30)) };
    const js = artifact.encoder.encode(query);
    const tf = model.embedUsers([query]);
    js.forEach((v, j) => expect(v).toBeCloseTo(tf[j]!, 5));
  });

  it("serves exact search, marked degraded, when the index belongs to another model version", async () => {
    const dir = path.join(tmp, "tampered");
    fs.cpSync(new ModelRegistry(registryDir).open(RETRIEVAL_MODEL_NAME, "current").dir, dir, { recursive: true });
    const indexManifest = path.join(dir, RETRIEVAL_FILES.indexManifest);
    fs.writeFileSync(indexManifest, fs.readFileSync(indexManifest, "utf8").replace('"modelVersion":"v1"', '"modelVersion":"v0"'));
    const artifact = await loadRetrievalArtifact(dir);
    expect(artifact.index).toBeNull();
    expect(artifact.indexError).toContain("built for model v0, expected v1");
  });
});


describe("POST /v1/candidates", () => {
  it("returns a known user's own cluster first, with scores, the model version and stage timings", async () => {
    let own = 0;
    for (let u = 0; u < 8; u++) {
      const res = await candidates({ userId: `u${u}`, k: 5 });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ userId: `u${u}`, modelVersion: "v1", source: "hnsw", degraded: false, degradedReason: null, userKnown: true, historyUsed: 5 });
      expect(res.body.candidates).toHaveLength(5);
      const scores = res.body.candidates.map((c: { score: number }) => c.score);
      for (const c of res.body.candidates) expect(c.category).toBe(cluster(c.itemId));
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      own += res.body.candidates.filter((c: { itemId: string }) => cluster(c.itemId) === u % CLUSTERS).length;
      expect(Object.keys(res.body.timings)).toEqual(expect.arrayContaining(["validate", "encode", "ann", "total"]));
    }
    // 40 slots, 10 items per cluster: chance would put about 10 in the user's own cluster.
    expect(own).toBeGreaterThanOrEqual(32);
  });

  it("leaves out excluded items and still returns k, and exact search agrees with HNSW on a small catalogue", async () => {
    const first = await candidates({ userId: "u2", k: 6 });
    const top = first.body.candidates.map((c: { itemId: string }) => c.itemId);
    const res = await candidates({ userId: "u2", k: 6, excludeItemIds: top.slice(0, 3) });
    const ids = res.body.candidates.map((c: { itemId: string }) => c.itemId);
    expect(ids).toHaveLength(6);
    expect(ids.slice(0, 3)).toEqual(top.slice(3));
    for (const id of top.slice(0, 3)) expect(ids).not.toContain(id);
    const exact = await candidates({ userId: "u2", k: 6 }, "?search=exact");
    expect(exact.body.source).toBe("exact");
    expect(exact.body.candidates.map((c: { itemId: string }) => c.itemId)).toEqual(top);
    // The graph holds centred embeddings; the service adds the query's shift back, so scores agree too.
    exact.body.candidates.forEach((c: { score: number }, j: number) => expect(first.body.candidates[j].score).toBeCloseTo(c.score, 5));
    expect(Object.keys(exact.body.timings)).toContain("exact");
  });

  it("follows the history the request brings, and serves users it does not know through the unknown row", async () => {
    const stranger = await candidates({ userId: "someone-new", k: 5 });
    expect(stranger.body).toMatchObject({ userKnown: false, historyUsed: 0 });
    const history = ["m2", "m6", "m10", "m14", "m18"];
    const res = await candidates({ userId: "someone-new", k: 5, history, features: { cluster_hint: 2 } });
    expect(res.body.historyUsed).toBe(5);
    expect(res.body.candidates.filter((c: { itemId: string }) => cluster(c.itemId) === 2).length).toBeGreaterThanOrEqual(4);
    // The last user is in the table but was not trained on: the unknown row, with the stored history.
    const untrained = await candidates({ userId: `u${USERS - 1}`, k: 3 });
    expect(untrained.body).toMatchObject({ userKnown: false, historyUsed: 5 });
  });

  it("reports feature names the model does not have, and refuses values it cannot take", async () => {
    const ignored = await candidates({ userId: "u1", k: 3, features: { device: 1, favourite_colour: 3 } });
    expect(ignored.status).toBe(200);
    expect(ignored.body.ignoredFeatures).toEqual(["favourite_colour"]);
    const bad = await candidates({ userId: "u1", k: 3, features: { cluster_hint: 9 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual([{ field: "features.cluster_hint", message: "must be an integer in [-1, 4), got 9" }]);
  });

  it.each([
    ["k above 1000", { userId: "u1", k: 1001 }, "k"],
    ["k of 0", { userId: "u1", k: 0 }, "k"],
    ["an unknown field", { userId: "u1", k: 3, ef: 10 }, "ef"],
    ["a history too long", { userId: "u1", history: Array.from({ length: 201 }, (_, i) => `m${i % ITEMS}`) }, "history"],
    ["a feature that is not a number", { userId: "u1", features: { device: "1" } }, "features.device"],
    ["a missing user id", { k: 3 }, "userId"],
  ])("refuses %s with a 400 naming the field", async (_name, body, field) => {
    const res = await candidates(body);
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
  });

  it("refuses an unknown search method in the query string", async () => {
    const res = await candidates({ userId: "u1", k: 3 }, "?search=faiss");
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].field).toBe("search");
  });

  it("lets only an admin force another search method (an exact scan is the expensive one)", async () => {
    const anonymous = await candidates({ userId: "u1", k: 3 }, "?search=exact", null);
    expect(anonymous.status).toBe(401);
    expect((await candidates({ userId: "u1", k: 3 }, "?search=exact", "not-the-admin-token-0000")).status).toBe(401);
    expect((await candidates({ userId: "u1", k: 3 }, "?search=hnsw", null)).status).toBe(200);
  });
});

describe("model in service", () => {
  it("describes the model and switches to a newly published version on reload", async () => {
    const described = await request(app).get("/v1/model");
    expect(described.body).toMatchObject({ name: "retrieval", version: "v1", items: ITEMS, users: USERS, search: "hnsw", index: { kind: "hnsw", size: ITEMS, ef: 64, params: { M: 8 } }, userFeatures: { numeric: ["log_clicks"], categorical: ["cluster_hint", "device"] } });
    await publishTinyRetrieval(registryDir, model, data, "v2");
    expect((await request(app).post("/v1/model/reload")).status).toBe(401);
    const reloaded = await request(app).post("/v1/model/reload").set("authorization", `Bearer ${ADMIN_TOKEN}`);
    expect(reloaded.body).toEqual({ version: "v2", challenger: null });
    expect((await candidates({ userId: "u1", k: 2 })).body.modelVersion).toBe("v2");
  });

  it("stays unready and answers 503 while no model has been published", async () => {
    const { app: emptyApp } = await buildService(retrievalService, { PORT: "0", LOG_LEVEL: "silent", MODEL_REGISTRY_DIR: path.join(tmp, "empty") });
    expect((await request(emptyApp).get("/readyz")).status).toBe(503);
    const res = await request(emptyApp).post("/v1/candidates").send({ userId: "u1" });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("UNAVAILABLE");
  });
});

describe("a tampered or corrupt model", () => {
  it("is refused on reload with the reason, and the model in service keeps serving", async () => {
    const registry = new ModelRegistry(registryDir);
    await publishTinyRetrieval(registryDir, model, data, "v3");
    fs.appendFileSync(registry.open(RETRIEVAL_MODEL_NAME, "v3", { verify: false }).file(RETRIEVAL_INDEX_FILES.hnsw), Buffer.from([1, 2, 3]));
    const before = (await candidates({ userId: "u1", k: 2 })).body.modelVersion;
    const refused = await request(app).post("/v1/model/reload").set("authorization", `Bearer ${ADMIN_TOKEN}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/index\.hnsw does not match its manifest checksum/);
    expect((await candidates({ userId: "u1", k: 2 })).body.modelVersion).toBe(before);
  });

  it("finishes overlapping reloads in order: the last one asked for is what serves", async () => {
    await publishTinyRetrieval(registryDir, model, data, "v4");
    const [a, b] = await Promise.all([runtime.deps.arms!.reload(), runtime.deps.arms!.reload()]);
    expect([a.current?.version, b.current?.version]).toEqual(["v4", "v4"]);
    expect(runtime.deps.retriever().version).toBe("v4");
  });
});

describe("an IVF model", () => {
  const ivfRegistry = path.join(tmp, "registry-ivf");
  const start = (env: Record<string, string>) => buildService(retrievalService, { PORT: "0", LOG_LEVEL: "silent", MODEL_REGISTRY_DIR: ivfRegistry, ADMIN_TOKEN, ...env });
  const ids = (res: request.Response) => res.body.candidates.map((c: { itemId: string }) => c.itemId);
  beforeAll(async () => {
    await publishTinyRetrieval(ivfRegistry, model, data, "i1", "ivf");
  });

  it("is stored with its index.ivf and loaded as IVF", async () => {
    const entry = new ModelRegistry(ivfRegistry).open(RETRIEVAL_MODEL_NAME, "current");
    expect(Object.keys(entry.manifest.files).sort()).toEqual(retrievalFiles("ivf").sort());
    expect(entry.manifest.extra).toMatchObject({ index: { kind: "ivf", params: { nlist: TINY_NLIST, nprobe: 1 } } });
    const artifact = await loadRetrievalArtifact(entry.dir);
    expect(artifact.index?.kind).toBe("ivf");
    expect(artifact.index?.size).toBe(ITEMS);
  });

  it("serves SEARCH=ivf with nprobe from config, reported in /readyz and /v1/model; every list probed equals exact search", async () => {
    const { app: ivfApp } = await start({ SEARCH: "ivf", SEARCH_NPROBE: String(TINY_NLIST) });
    const ready = await request(ivfApp).get("/readyz");
    expect(ready.status).toBe(200);
    expect(JSON.stringify(ready.body)).toContain(`i1: ivf index, nprobe ${TINY_NLIST}`);
    expect((await request(ivfApp).get("/v1/model")).body).toMatchObject({ version: "i1", search: "ivf", index: { kind: "ivf", size: ITEMS, nprobe: TINY_NLIST, params: { nlist: TINY_NLIST } }, indexError: null });
    for (const u of [0, 1, 2, 3, 20]) {
      const ivf = await request(ivfApp).post("/v1/candidates").send({ userId: `u${u}`, k: 20 });
      expect(ivf.body).toMatchObject({ source: "ivf", degraded: false });
      expect(Object.keys(ivf.body.timings)).toContain("ann");
      const exact = await request(ivfApp).post("/v1/candidates?search=exact").set("authorization", `Bearer ${ADMIN_TOKEN}`).send({ userId: `u${u}`, k: 20 });
      expect(ids(ivf)).toEqual(ids(exact));
      // The lists hold centred embeddings; the service adds the query's shift back, so scores agree too.
      exact.body.candidates.forEach((c: { score: number }, j: number) => expect(ivf.body.candidates[j].score).toBeCloseTo(c.score, 5));
    }
  });

  it("scans fewer items with the index's own nprobe (1 of 4 lists), so some of a top 20 is missed", async () => {
    const { app: ivfApp } = await start({ SEARCH: "ivf" });
    expect((await request(ivfApp).get("/v1/model")).body.index).toMatchObject({ kind: "ivf", nprobe: 1 });
    let missed = 0;
    for (let u = 0; u < 8; u++) {
      const ivf = await request(ivfApp).post("/v1/candidates").send({ userId: `u${u}`, k: 20 });
      const exact = await request(ivfApp).post("/v1/candidates?search=exact").set("authorization", `Bearer ${ADMIN_TOKEN}`).send({ userId: `u${u}`, k: 20 });
      expect(ivf.body.source).toBe("ivf");
      const found = new Set(ids(ivf));
      missed += ids(exact).filter((id: string) => !found.has(id)).length;
    }
    expect(missed).toBeGreaterThan(0);
  });

  it("serves exact search, degraded and saying why, when SEARCH names the other kind of index", async () => {
    const { app: hnswApp } = await start({});
    const ready = await request(hnswApp).get("/readyz");
    expect(JSON.stringify(ready.body)).toContain("HNSW index refused");
    const res = await request(hnswApp).post("/v1/candidates").send({ userId: "u1", k: 5 });
    expect(res.body).toMatchObject({ source: "exact", degraded: true });
    expect(res.body.degradedReason).toContain("index in index.json is ivf, expected hnsw");
    expect((await request(hnswApp).get("/metrics")).text).toMatch(/retrieval_index_fallback 1/);
  });

  it("refuses at start-up a search knob of the other index", async () => {
    await expect(start({ SEARCH: "ivf", SEARCH_EF: "100" })).rejects.toThrow(/SEARCH_EF.*HNSW's knob, but SEARCH is ivf/s);
    await expect(start({ SEARCH_NPROBE: "8" })).rejects.toThrow(/SEARCH_NPROBE.*IVF's knob, but SEARCH is hnsw/s);
  });
});
