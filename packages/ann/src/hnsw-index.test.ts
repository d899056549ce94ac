import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_HNSW_PARAMS, HnswIndex } from "./hnsw-index";
import { INDEX_FILE, MANIFEST_FILE, sha256File } from "./manifest";
import { recallOfIds } from "./recall";
import { rejection, tempFolders } from "./testing/folders";
import { naiveTopK } from "./testing/reference";
import { clusteredWorld } from "./testing/synthetic-catalogue";

const DIM = 16;
const N = 2000;
const world = clusteredWorld({ items: N, queries: 30, dim: DIM, seed: 11, clusters: 20 });
const queries = Array.from({ length: 30 }, (_, q) => world.queries.subarray(q * DIM, (q + 1) * DIM));
const ids = world.ids.map((i) => `sku-${i}`);
const folders = tempFolders("ann-hnsw-");
const tempDir = folders.make;
afterAll(folders.cleanup);

describe("HnswIndex persistence", () => {
  const index = HnswIndex.build(world.items, ids, { dim: DIM, modelVersion: "two-tower@3" });
  index.markDeleted(["sku-5", "sku-17"]);

  it("round-trips through save/load with identical answers and a truthful manifest", async () => {
    const dir = await tempDir();
    const manifest = await index.save(dir);
    expect(manifest).toMatchObject({
      modelVersion: "two-tower@3",
      dim: DIM,
      space: "ip",
      params: DEFAULT_HNSW_PARAMS,
      count: N - 2,
      deletedLabels: [5, 17],
      indexFile: INDEX_FILE,
    });
    expect(manifest.labels).toEqual(ids);
    expect(manifest.checksum.value).toBe(await sha256File(join(dir, INDEX_FILE)));
    expect(JSON.parse(await readFile(join(dir, MANIFEST_FILE), "utf8"))).toEqual(manifest);

    const loaded = await HnswIndex.load<string>(dir, { modelVersion: "two-tower@3", dim: DIM });
    expect(loaded.size).toBe(N - 2);
    expect(loaded.params).toEqual(index.params);
    expect(loaded.has("sku-5")).toBe(false);
    for (const q of queries) expect(loaded.search(q, 50)).toEqual(index.search(q, 50));

    // The loaded index keeps growing where the saved one stopped.
    loaded.addItems(Float32Array.from(queries[0] as Float32Array, (x) => x * 50), ["sku-5"]);
    expect(loaded.search(queries[0] as Float32Array, 1).ids).toEqual(["sku-5"]);
  });

  it("refuses an index built for another model version or dimension", async () => {
    const dir = await tempDir();
    await index.save(dir);
    const version = await rejection(HnswIndex.load(dir, { modelVersion: "two-tower@4", dim: DIM }));
    expect(version).toMatchObject({ code: "model_version_mismatch", field: "modelVersion" });
    const dim = await rejection(HnswIndex.load(dir, { modelVersion: "two-tower@3", dim: 32 }));
    expect(dim).toMatchObject({ code: "dimension_mismatch", field: "dim" });
  });

  it("detects a graph file that does not match the manifest checksum", async () => {
    const dir = await tempDir();
    await index.save(dir);
    const bytes = await readFile(join(dir, INDEX_FILE));
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] as number) ^ 0xff;
    await writeFile(join(dir, INDEX_FILE), bytes);
    const error = await rejection(HnswIndex.load(dir, { modelVersion: "two-tower@3", dim: DIM }));
    expect(error).toMatchObject({ code: "corrupt_index", field: "checksum" });
  });

  it("names the manifest field that is wrong, and reports a missing folder", async () => {
    const dir = await tempDir();
    await index.save(dir);
    const manifest = JSON.parse(await readFile(join(dir, MANIFEST_FILE), "utf8")) as Record<string, unknown>;
    await writeFile(join(dir, MANIFEST_FILE), JSON.stringify({ ...manifest, count: 7 }));
    const count = await rejection(HnswIndex.load(dir, { modelVersion: "two-tower@3", dim: DIM }));
    expect(count).toMatchObject({ code: "corrupt_index", field: "manifest.count" });
    await writeFile(join(dir, MANIFEST_FILE), JSON.stringify({ ...manifest, params: { M: 16 } }));
    const params = await rejection(HnswIndex.load(dir, { modelVersion: "two-tower@3", dim: DIM }));
    expect(params).toMatchObject({ code: "corrupt_index", field: "manifest.params.efConstruction" });
    const missing = await rejection(HnswIndex.load(join(dir, "nope"), { modelVersion: "two-tower@3", dim: DIM }));
    expect(missing).toMatchObject({ code: "corrupt_index", field: MANIFEST_FILE });
  });

  it("refuses to change while a save is writing the graph", async () => {
    const dir = await tempDir();
    const saving = index.save(dir);
    expect(() => index.addItems(new Float32Array(DIM), ["late"])).toThrow(expect.objectContaining({ code: "busy" }));
    expect(() => index.markDeleted(["sku-1"])).toThrow(expect.objectContaining({ code: "busy" }));
    await saving;
    expect(index.has("late")).toBe(false);
  });
});

describe("HnswIndex search and growth", () => {
  it("treats ef below k as ef = k", () => {
    const index = HnswIndex.build(world.items, ids, { dim: DIM, modelVersion: "m", params: { ef: 10 } });
    for (const q of queries.slice(0, 5)) {
      const small = index.search(q, 80, 5);
      expect(small.ids).toHaveLength(80);
      expect(small).toEqual(index.search(q, 80, 80));
    }
  });

  it("finds more of the true top-100 as ef grows, reaching all of it at high ef", () => {
    const index = HnswIndex.build(world.items, ids, { dim: DIM, modelVersion: "m" });
    const recallAt = (ef: number): number =>
      queries.reduce((sum, q) => {
        const reference = naiveTopK(world.items, DIM, q, 100).rows.map((r) => `sku-${r}`);
        return sum + recallOfIds(index.search(q, 100, ef).ids, reference);
      }, 0) / queries.length;
    const low = recallAt(100);
    const high = recallAt(800);
    expect(low).toBeLessThan(1);
    expect(high).toBe(1);
  });

  it("resizes the graph when added items outgrow its capacity", () => {
    const index = HnswIndex.create<string>({ dim: DIM, modelVersion: "m", initialCapacity: 10 });
    for (let start = 0; start < 100; start += 25) {
      index.addItems(world.items.subarray(start * DIM, (start + 25) * DIM), ids.slice(start, start + 25));
    }
    expect(index.size).toBe(100);
    expect(index.capacity).toBeGreaterThanOrEqual(100);
    const reference = naiveTopK(world.items.subarray(0, 100 * DIM), DIM, queries[0] as Float32Array, 10).rows.map((r) => `sku-${r}`);
    expect(index.search(queries[0] as Float32Array, 10, 100).ids).toEqual(reference);
  });

  it("scores exactly whether the graph is plain (liftFraction 0) or fully lifted (1)", () => {
    const plain = HnswIndex.build(world.items, ids, { dim: DIM, modelVersion: "m", params: { liftFraction: 0, ef: 800 } });
    const full = HnswIndex.build(world.items, ids, { dim: DIM, modelVersion: "m", params: { liftFraction: 1, ef: 800 } });
    const q = queries[2] as Float32Array;
    const reference = naiveTopK(world.items, DIM, q, 10);
    for (const index of [plain, full]) {
      const { ids: found, scores } = index.search(q, 10);
      expect(found).toEqual(reference.rows.map((r) => `sku-${r}`));
      scores.forEach((s, r) => expect(s).toBeCloseTo(reference.scores[r] as number, 5));
    }
  });

  it("gives items longer than maxNorm no lift but still scores them exactly", () => {
    const index = HnswIndex.create<string>({ dim: DIM, modelVersion: "m", maxNorm: 0.5, params: { ef: 800 } });
    index.addItems(world.items, ids);
    const q = queries[4] as Float32Array;
    const reference = naiveTopK(world.items, DIM, q, 10);
    expect(index.search(q, 10).ids).toEqual(reference.rows.map((r) => `sku-${r}`));
  });

  it("rejects unusable parameters naming the field", () => {
    const make = (params: object, extra: object = {}) => () =>
      HnswIndex.create({ dim: DIM, modelVersion: "m", params, ...extra });
    expect(make({ M: 1 })).toThrow(expect.objectContaining({ code: "invalid_input", field: "params.M" }));
    expect(make({ efConstruction: 0 })).toThrow(expect.objectContaining({ field: "params.efConstruction" }));
    expect(make({ liftFraction: 1.5 })).toThrow(expect.objectContaining({ field: "params.liftFraction" }));
    expect(make({}, { dim: 0 })).toThrow(expect.objectContaining({ field: "dim" }));
    expect(make({}, { modelVersion: "" })).toThrow(expect.objectContaining({ field: "modelVersion" }));
    expect(make({}, { maxNorm: -1 })).toThrow(expect.objectContaining({ field: "maxNorm" }));
    const index = HnswIndex.build(world.items.subarray(0, 10 * DIM), ids.slice(0, 10), { dim: DIM, modelVersion: "m" });
    expect(() => index.search(queries[0] as Float32Array, 5, 0)).toThrow(expect.objectContaining({ field: "ef" }));
  });
});
