import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ExactIndex } from "./exact-index";
import { HnswIndex } from "./hnsw-index";
import { IvfIndex } from "./ivf-index";
import { IVF_INDEX_FILE, MANIFEST_FILE } from "./manifest";
import { defaultEffort, indexKind, openIndex, SEARCH_EFFORT } from "./open-index";
import { recallAtK } from "./recall";
import { rejection, tempFolders } from "./testing/folders";
import { clusteredWorld } from "./testing/synthetic-catalogue";

const DIM = 16;
const N = 3000;
const world = clusteredWorld({ items: N, queries: 40, dim: DIM, seed: 21, clusters: 30 });
const ids = world.ids.map((i) => `sku-${i}`);
const folders = tempFolders("ann-ivf-");
const tempDir = folders.make;
afterAll(folders.cleanup);

describe("IvfIndex", () => {
  const index = IvfIndex.build(world.items, ids, { dim: DIM, modelVersion: "tt@1", params: { nlist: 32, nprobe: 4 } });
  const exact = ExactIndex.build(world.items, ids, { dim: DIM });

  it("trades recall for lists scanned: more probes, more recall, all lists exact", () => {
    const r1 = recallAtK(index, exact, world.queries, 50, 1);
    const r4 = recallAtK(index, exact, world.queries, 50, 4);
    const r12 = recallAtK(index, exact, world.queries, 50, 12);
    expect(r1).toBeLessThan(r4);
    expect(r4).toBeLessThan(r12);
    expect(r12).toBeGreaterThan(0.9);
    expect(recallAtK(index, exact, world.queries, 50, 32)).toBe(1);
    expect(index.numLists).toBe(32);
  });

  it("trains no more lists than the first batch has rows", () => {
    const small = IvfIndex.create<string>({ dim: DIM, modelVersion: "tt@1", params: { nlist: 64 } });
    small.addItems(world.items.subarray(0, 5 * DIM), ["a", "b", "c", "d", "e"]);
    expect(small.numLists).toBe(5);
    expect(small.search(world.queries.subarray(0, DIM), 10, 5).ids).toHaveLength(5);
  });

  it("round-trips through save/load and openIndex, answering identically", async () => {
    const dir = await tempDir();
    const manifest = await index.save(dir);
    expect(manifest).toMatchObject({ format: "mlsd-ann-ivf/1", modelVersion: "tt@1", dim: DIM, nlist: 32, count: N, indexFile: IVF_INDEX_FILE });
    expect(manifest.listSizes.reduce((a, b) => a + b, 0)).toBe(N);
    expect(await indexKind(dir)).toBe("ivf");
    const loaded = await IvfIndex.load<string>(dir, { modelVersion: "tt@1", dim: DIM });
    const opened = await openIndex<string>(dir, { modelVersion: "tt@1", dim: DIM, kind: "ivf" });
    expect(opened).toBeInstanceOf(IvfIndex);
    expect(opened.kind).toBe("ivf");
    expect(SEARCH_EFFORT[opened.kind]).toBe("nprobe");
    expect(defaultEffort(opened)).toBe(index.params.nprobe);
    for (let q = 0; q < 10; q++) {
      const query = world.queries.subarray(q * DIM, (q + 1) * DIM);
      expect(loaded.search(query, 30)).toEqual(index.search(query, 30));
      expect(opened.search(query, 30, 8)).toEqual(index.search(query, 30, 8));
    }
    loaded.markDeleted(["sku-3"]);
    loaded.addItems(Float32Array.from(world.queries.subarray(0, DIM), (x) => x * 50), ["fresh"]);
    expect(loaded.search(world.queries.subarray(0, DIM), 1, 32).ids).toEqual(["fresh"]);
  });

  it("refuses another model version, dimension or kind, and a corrupted file", async () => {
    const dir = await tempDir();
    await index.save(dir);
    expect(await rejection(IvfIndex.load(dir, { modelVersion: "tt@2", dim: DIM }))).toMatchObject({ code: "model_version_mismatch" });
    expect(await rejection(openIndex(dir, { modelVersion: "tt@1", dim: 8 }))).toMatchObject({ code: "dimension_mismatch" });
    expect(await rejection(openIndex(dir, { modelVersion: "tt@1", dim: DIM, kind: "hnsw" }))).toMatchObject({ field: "manifest.format" });
    const manifest = JSON.parse(await readFile(join(dir, MANIFEST_FILE), "utf8")) as Record<string, unknown>;
    await writeFile(join(dir, MANIFEST_FILE), JSON.stringify({ ...manifest, count: N + 1 }));
    expect(await rejection(IvfIndex.load(dir, { modelVersion: "tt@1", dim: DIM }))).toMatchObject({ field: "manifest.listSizes" });
    await writeFile(join(dir, MANIFEST_FILE), JSON.stringify(manifest));
    const bytes = await readFile(join(dir, IVF_INDEX_FILE));
    bytes[100] = (bytes[100] as number) ^ 0xff;
    await writeFile(join(dir, IVF_INDEX_FILE), bytes);
    expect(await rejection(IvfIndex.load(dir, { modelVersion: "tt@1", dim: DIM }))).toMatchObject({ code: "corrupt_index", field: "checksum" });
  });

  it("opens an HNSW folder through the same loader", async () => {
    const dir = await tempDir();
    const hnsw = HnswIndex.build(world.items.subarray(0, 500 * DIM), ids.slice(0, 500), { dim: DIM, modelVersion: "tt@1" });
    await hnsw.save(dir);
    expect(await indexKind(dir)).toBe("hnsw");
    const opened = await openIndex<string>(dir, { modelVersion: "tt@1", dim: DIM });
    expect(opened).toBeInstanceOf(HnswIndex);
    expect(opened.kind).toBe("hnsw");
    expect(SEARCH_EFFORT[opened.kind]).toBe("ef");
    expect(defaultEffort(opened)).toBe(hnsw.params.ef);
    expect(opened.search(world.queries.subarray(0, DIM), 10)).toEqual(hnsw.search(world.queries.subarray(0, DIM), 10));
  });
});
