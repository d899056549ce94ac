import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "@mlsd/random";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UserQuery } from "./data";
import { itemCounts } from "./data";
import { ModelArtifactError, TwoTowerInputError } from "./errors";
import { hitRate, meanPopularityRank, mostPopularLists, popularityRanks, recallAtK, recommendForEvalSet } from "./evaluate";
import { TwoTowerModel, type FitReport } from "./model";
import type { TwoTowerConfig } from "./model-config";
import { loadItemEmbeddings, loadUserEncoder, UserEncoder } from "./serving";
import { makeClusteredWorld } from "./testing/clustered-world";

// Small sizes keep the two trainings below a few seconds each on the cpu backend.
const CONFIG: Partial<TwoTowerConfig> = {
  idDim: 16,
  categoricalDim: 4,
  hiddenDims: [32],
  outputDim: 16,
  batchSize: 128,
  learningRate: 0.02,
  epochs: 4,
  seed: 3,
};
const K = 10;
const world = makeClusteredWorld({ numUsers: 240, numItems: 180, interactionsPerUser: 12 });
const ranks = popularityRanks(itemCounts(world.train.interactions, world.train.numItems));

let model: TwoTowerModel;
let report: FitReport;
let uncorrected: TwoTowerModel;
let dir: string;

beforeAll(async () => {
  model = await TwoTowerModel.fromData(world.train, CONFIG);
  report = await model.fit(world.train);
  uncorrected = await TwoTowerModel.fromData(world.train, { ...CONFIG, logQCorrection: false });
  await uncorrected.fit(world.train);
  dir = await mkdtemp(join(tmpdir(), "two-tower-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function popularityBaseline(): Int32Array {
  return mostPopularLists(ranks, world.heldOut.interactions.user, world.seen, K);
}

const cosine = (a: Float32Array, ai: number, b: Float32Array, bi: number, d: number) => {
  let s = 0;
  for (let j = 0; j < d; j++) s += (a[ai * d + j] as number) * (b[bi * d + j] as number);
  return s;
};

describe("training", () => {
  it("lowers the in-batch softmax loss epoch after epoch", () => {
    const loss = report.epochLoss;
    expect(loss).toHaveLength(4);
    for (let e = 1; e < loss.length; e++) expect(loss[e]).toBeLessThan(loss[e - 1] as number);
    expect(loss[3]).toBeLessThan((loss[0] as number) - 0.5);
    expect(report.examples).toBe(4 * world.train.interactions.user.length);
    expect(report.examplesPerSecond).toBeGreaterThan(0);
  });

  it("recalls held-out items far better than random and popularity baselines", () => {
    const recall = recallAtK(model, world.heldOut, K, { exclude: world.seen });
    const random = K / world.train.numItems;
    const popularity = hitRate(popularityBaseline(), K, world.heldOut.interactions.item);
    expect(popularity).toBeLessThan(0.15);
    expect(recall).toBeGreaterThan(3 * random);
    expect(recall).toBeGreaterThan(popularity + 0.25);
  });

  it("log-Q correction removes the in-batch sampler's bias against popular items", () => {
    // Uncorrected in-batch softmax learns p(item|user)/p(item) and so under-ranks popular items;
    // subtracting log q restores p(item|user). The truth is the held-out items themselves.
    const corrected = meanPopularityRank(recommendForEvalSet(model, world.heldOut, K, { exclude: world.seen }), ranks);
    const plain = meanPopularityRank(recommendForEvalSet(uncorrected, world.heldOut, K, { exclude: world.seen }), ranks);
    const truth = meanPopularityRank(world.heldOut.interactions.item, ranks);
    expect(plain).toBeGreaterThan(corrected + 15);
    expect(Math.abs(corrected - truth)).toBeLessThan(Math.abs(plain - truth));
    expect(recallAtK(model, world.heldOut, K, { exclude: world.seen })).toBeGreaterThan(recallAtK(uncorrected, world.heldOut, K, { exclude: world.seen }));
  });

  it("is deterministic for a seed", async () => {
    const tiny = makeClusteredWorld({ numUsers: 30, numItems: 20, interactionsPerUser: 5, seed: 9 });
    const run = async () => {
      const m = await TwoTowerModel.fromData(tiny.train, { ...CONFIG, epochs: 1, batchSize: 16 });
      await m.fit(tiny.train);
      return m.exportItemEmbeddings();
    };
    expect(Array.from(await run())).toEqual(Array.from(await run()));
  });

  it("trains with extra negatives: hard ones are harder than random ones, and a seed still reproduces the run", async () => {
    const fitWith = async (extra: Partial<TwoTowerConfig>) => {
      const m = await TwoTowerModel.fromData(world.train, { ...CONFIG, epochs: 1, ...extra });
      const r = await m.fit(world.train);
      return { loss: r.epochLoss, items: m.exportItemEmbeddings() };
    };
    const random = await fitWith({ extraNegatives: 32, negativeMining: "random", negativePool: 64 });
    const hard = await fitWith({ extraNegatives: 32, negativeMining: "hard", negativePool: 64 });
    const again = await fitWith({ extraNegatives: 32, negativeMining: "hard", negativePool: 64 });
    // Mined negatives score higher under the current towers, so the softmax over them costs more.
    expect(hard.loss[0] as number).toBeGreaterThan(random.loss[0] as number);
    expect(Array.from(again.items)).toEqual(Array.from(hard.items));
    // The extra columns change what is learnt: the embeddings differ from in-batch-only training.
    expect(Array.from(hard.items)).not.toEqual(Array.from(model.exportItemEmbeddings()));
    expect(hard.loss.every(Number.isFinite)).toBe(true);
  });

  it("refuses bad extra-negative settings naming the field", async () => {
    await expect(TwoTowerModel.fromData(world.train, { ...CONFIG, extraNegatives: -1 })).rejects.toThrow(/config.extraNegatives/);
    await expect(TwoTowerModel.fromData(world.train, { ...CONFIG, extraNegatives: 10, negativePool: 5 })).rejects.toThrow(/exceeds negativePool/);
    await expect(TwoTowerModel.fromData(world.train, { ...CONFIG, negativeMining: "semi" as never })).rejects.toThrow(/config.negativeMining/);
  });

  it("refuses data of another shape", async () => {
    const other = makeClusteredWorld({ numUsers: 30, numItems: 21, interactionsPerUser: 5 });
    await expect(model.fit(other.train)).rejects.toThrow(TwoTowerInputError);
  });
});

describe("item embeddings and cold start", () => {
  it("exports one unit vector per catalogue item", () => {
    const e = model.exportItemEmbeddings();
    expect(e.length).toBe(world.train.numItems * 16);
    for (const i of [0, 57, 179]) expect(cosine(e, i, e, i, 16)).toBeCloseTo(1, 5);
  });

  it("places a brand-new item near the items of its cluster from content alone", () => {
    const items = model.exportItemEmbeddings();
    const d = 16;
    const clusters = world.options.numClusters;
    const rng = new Rng(21);
    let nearest = 0;
    let trials = 0;
    for (let c = 0; c < clusters; c++) {
      for (let t = 0; t < 5; t++) {
        const v = model.embedNewItem(world.newItemContent(c, rng));
        const meanSim = new Float64Array(clusters);
        const size = new Float64Array(clusters);
        for (let i = 0; i < world.train.numItems; i++) {
          const ic = world.itemCluster[i] as number;
          meanSim[ic]! += cosine(v, 0, items, i, d);
          size[ic]! += 1;
        }
        let best = 0;
        for (let k = 1; k < clusters; k++) if (meanSim[k]! / size[k]! > meanSim[best]! / size[best]!) best = k;
        if (best === c) nearest++;
        trials++;
      }
    }
    // Content carries the cluster only noisily (10% of categories and 20% of tags are off).
    expect(nearest / trials).toBeGreaterThan(0.8);
  });

  it("rejects bad content naming the field", () => {
    expect(() => model.embedNewItem({ category: 99, tags: [], quality: 0, freshness: 0 })).toThrow(/category/);
    expect(() => model.embedNewItem({ category: 0, tags: [1, 500], quality: 0, freshness: 0 })).toThrow(/tags\[1\]/);
    expect(() => model.embedNewItem({ category: 0, tags: [], quality: NaN, freshness: 0 })).toThrow(/quality/);
  });
});

describe("pure-JS user tower", () => {
  const queries: UserQuery[] = [
    { userId: 3, numeric: [1.5, 38], categorical: [2, 1], history: [5, 17, 40] },
    { userId: 239, numeric: [0, 0], categorical: [0, 5], history: [] },
    // Unknown user, unknown categorical, history longer than historyLength with invalid ids.
    { userId: 5000, numeric: [-3, 80], categorical: [-1, 2], history: [1, -1, 179, 180, 2, 3, 4, 5, 6, 7, 8, 9] },
  ];

  it("matches the tfjs user tower to 1e-5", () => {
    const tfjs = model.embedUsers(queries);
    const encoder = new UserEncoder(model.exportUserTower());
    queries.forEach((q, r) => {
      const js = encoder.encode(q);
      for (let j = 0; j < encoder.dim; j++) expect(Math.abs((js[j] as number) - (tfjs[r * 16 + j] as number))).toBeLessThan(1e-5);
    });
  });

  it("names the field of a malformed query", () => {
    const encoder = new UserEncoder(model.exportUserTower());
    expect(() => encoder.encode({ userId: 1, numeric: [1], categorical: [0, 0], history: [] })).toThrow(/numeric/);
    expect(() => encoder.encode({ userId: 1, numeric: [1, Infinity], categorical: [0, 0], history: [] })).toThrow(/numeric\[1\]/);
    expect(() => model.embedUsers([{ userId: 1, numeric: [1, 2], categorical: [0], history: [] }])).toThrow(/queries\[0\]\.categorical/);
  });
});

describe("save and load", () => {
  it("round-trips the weights, the version and the outputs", async () => {
    const manifest = await model.save(dir);
    expect(manifest.modelVersion).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(model.version).toBe(manifest.modelVersion);
    const loaded = await TwoTowerModel.load(dir);
    expect(loaded.version).toBe(manifest.modelVersion);
    expect(loaded.config).toEqual(model.config);
    expect(Array.from(loaded.exportItemEmbeddings())).toEqual(Array.from(model.exportItemEmbeddings()));
    const q: UserQuery = { userId: 7, numeric: [2, 45], categorical: [1, 3], history: [9, 8, 7] };
    expect(Array.from(loaded.embedUsers([q]))).toEqual(Array.from(model.embedUsers([q])));
    const v = { category: 2, tags: [4, 5], quality: 0.7, freshness: 3 };
    expect(Array.from(loaded.embedNewItem(v))).toEqual(Array.from(model.embedNewItem(v)));

    const { encoder, version } = await loadUserEncoder(dir);
    expect(version).toBe(manifest.modelVersion);
    const tfjs = model.embedUsers([q]);
    encoder.encode(q).forEach((x, j) => expect(Math.abs(x - (tfjs[j] as number))).toBeLessThan(1e-5));
    const items = await loadItemEmbeddings(dir);
    expect(items.dim).toBe(16);
    expect(Array.from(items.embeddings)).toEqual(Array.from(model.exportItemEmbeddings()));
  });

  it("keeps a caller's version", async () => {
    const sub = join(dir, "named");
    expect((await model.save(sub, { version: "2024-06-01.3" })).modelVersion).toBe("2024-06-01.3");
    expect((await TwoTowerModel.load(sub)).version).toBe("2024-06-01.3");
  });

  it("refuses a corrupted or missing artifact", async () => {
    const sub = join(dir, "corrupt");
    await model.save(sub);
    const weights = await readFile(join(sub, "weights.bin"));
    weights[100] = (weights[100] as number) ^ 0xff;
    await writeFile(join(sub, "weights.bin"), weights);
    await expect(TwoTowerModel.load(sub)).rejects.toThrow(ModelArtifactError);
    await expect(TwoTowerModel.load(join(dir, "absent"))).rejects.toThrow(/manifest/);
  });
});
