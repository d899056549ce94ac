/**
 * Recall and speed of HNSW against exact maximum-inner-product search on a seeded, clustered
 * catalogue. `npm run bench -- --items 200000 --dim 32 --queries 1000` (defaults), or
 * `--items 1000000` for the 1M-item budget row. Prints a markdown table; `--json PATH` also
 * writes the raw rows.
 */
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_HNSW_PARAMS, DEFAULT_IVF_PARAMS, ExactIndex, HnswIndex, INDEX_FILE, Int8ExactIndex, IvfIndex, recallOfIds } from "../src/index";
import type { HnswParams } from "../src/index";
import { BruteforceSearch } from "../src/hnswlib";
import { clusteredWorld } from "../src/testing/synthetic-catalogue";

const { values: args } = parseArgs({
  options: {
    items: { type: "string", default: "200000" },
    dim: { type: "string", default: "32" },
    queries: { type: "string", default: "1000" },
    m: { type: "string" },
    ef: { type: "string", default: "10,20,50,100,200,400,800" },
    nlist: { type: "string", default: String(DEFAULT_IVF_PARAMS.nlist) },
    nprobe: { type: "string", default: "4,8,16,32,64,128" },
    "ef-construction": { type: "string", default: String(DEFAULT_HNSW_PARAMS.efConstruction) },
    lifts: { type: "string" },
    "lift-m": { type: "string", default: String(DEFAULT_HNSW_PARAMS.M) },
    seed: { type: "string", default: "42" },
    json: { type: "string" },
  },
});

const items = Number(args.items);
const dim = Number(args.dim);
const queryCount = Number(args.queries);
const large = items > 200_000;
const list = (s: string): number[] => (s === "" ? [] : s.split(",").map(Number));
// At 1M one build takes minutes on two shared cores: sweep ef on the default graph only.
const mValues = list(args.m ?? (large ? String(DEFAULT_HNSW_PARAMS.M) : "8,16,32"));
const efValues = list(args.ef);
const nprobeValues = list(args.nprobe);
const efConstruction = Number(args["ef-construction"]);
const extraLifts = list(args.lifts ?? (large ? "" : "0,1")).filter((l) => l !== DEFAULT_HNSW_PARAMS.liftFraction);
const K_SMALL = 10;
const K_LARGE = 100;

interface Row {
  method: string;
  M?: number;
  /** HNSW's ef, or IVF's nprobe. */
  ef?: number;
  lift?: number;
  recall10: number;
  recall100: number;
  median10Us: number;
  p99_10Us: number;
  median100Us: number;
  p99_100Us: number;
  buildSeconds: number;
  diskMB?: number;
  memoryMB: number;
}

const percentile = (sorted: number[], q: number): number => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] as number;
const mb = (bytes: number): number => bytes / 2 ** 20;

console.error(`generating ${items} items x ${dim} dims, ${queryCount} queries (seed ${args.seed})`);
const world = clusteredWorld({ items, queries: queryCount, dim, seed: Number(args.seed) });
const queries = Array.from({ length: queryCount }, (_, q) => world.queries.subarray(q * dim, (q + 1) * dim));

/** Times every query (after a warm-up pass) and returns the answers with the latency spread. */
function timeQueries(search: (q: Float32Array) => number[]): { answers: number[][]; medianUs: number; p99Us: number } {
  for (const q of queries.slice(0, Math.min(50, queries.length))) search(q);
  const answers: number[][] = [];
  const micros: number[] = [];
  for (const q of queries) {
    const start = process.hrtime.bigint();
    answers.push(search(q));
    micros.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  micros.sort((a, b) => a - b);
  return { answers, medianUs: percentile(micros, 0.5), p99Us: percentile(micros, 0.99) };
}

function meanRecall(answers: number[][], truth: number[][], k: number): number {
  let total = 0;
  answers.forEach((a, q) => (total += recallOfIds(a.slice(0, k), (truth[q] as number[]).slice(0, k))));
  return total / answers.length;
}

function measure(
  method: string,
  search: (q: Float32Array, k: number) => number[],
  extra: Pick<Row, "buildSeconds" | "memoryMB"> & Partial<Row>,
  bigRun?: ReturnType<typeof timeQueries>,
): Row {
  const small = timeQueries((q) => search(q, K_SMALL));
  const big = bigRun ?? timeQueries((q) => search(q, K_LARGE));
  const row: Row = {
    method,
    recall10: meanRecall(small.answers, truth, K_SMALL),
    recall100: meanRecall(big.answers, truth, K_LARGE),
    median10Us: small.medianUs,
    p99_10Us: small.p99Us,
    median100Us: big.medianUs,
    p99_100Us: big.p99Us,
    ...extra,
  };
  console.error(
    `${method} M=${row.M ?? "-"} ef/nprobe=${row.ef ?? "-"} lift=${row.lift ?? "-"}: recall@10 ${row.recall10.toFixed(4)} recall@100 ${row.recall100.toFixed(4)} median@100 ${row.median100Us.toFixed(0)}us`,
  );
  return row;
}

// Exact float32 scan: the reference answers and the baseline latency.
let t0 = performance.now();
const exact = ExactIndex.build(world.items, world.ids, { dim });
const exactBuild = (performance.now() - t0) / 1000;
const truthRun = timeQueries((q) => exact.search(q, K_LARGE).ids);
const truth = truthRun.answers;
const rows: Row[] = [];
rows.push(
  measure("exact, float32 (TypeScript)", (q, k) => exact.search(q, k).ids, { buildSeconds: exactBuild, memoryMB: mb(exact.vectorBytes) }, truthRun),
);

t0 = performance.now();
const int8 = Int8ExactIndex.build(world.items, world.ids, { dim });
rows.push(
  measure("exact, int8 (TypeScript)", (q, k) => int8.search(q, k).ids, {
    buildSeconds: (performance.now() - t0) / 1000,
    memoryMB: mb(int8.vectorBytes),
  }),
);

t0 = performance.now();
const brute = new BruteforceSearch("ip", dim);
brute.initIndex(items);
for (let i = 0; i < items; i++) brute.addPoint(Array.from(world.items.subarray(i * dim, (i + 1) * dim)), i);
const bruteBuild = (performance.now() - t0) / 1000;
// hnswlib's brute force keeps each vector with its 8-byte label.
const bruteMemory = mb(items * (dim * 4 + 8));
rows.push(measure("exact, hnswlib brute force (C++)", (q, k) => brute.searchKnn(Array.from(q), k).neighbors, { buildSeconds: bruteBuild, memoryMB: bruteMemory }));

const dir = await mkdtemp(join(tmpdir(), "ann-bench-"));
async function sweep(params: Partial<HnswParams>): Promise<void> {
  t0 = performance.now();
  const index = HnswIndex.build(world.items, world.ids, {
    dim,
    modelVersion: "bench",
    params: { efConstruction, ...params },
  });
  const buildSeconds = (performance.now() - t0) / 1000;
  await index.save(dir);
  const diskMB = mb((await stat(join(dir, INDEX_FILE))).size);
  console.error(`built M=${index.params.M} lift=${index.params.liftFraction} in ${buildSeconds.toFixed(1)} s, ${diskMB.toFixed(0)} MB on disk`);
  for (const ef of efValues) {
    rows.push(
      measure("hnsw", (q, k) => index.search(q, k, ef).ids, {
        M: index.params.M,
        ef,
        lift: index.params.liftFraction,
        buildSeconds,
        // hnswlib's in-memory layout is what it writes (vectors + links), less the label hash map.
        memoryMB: diskMB,
        diskMB,
      }),
    );
  }
}

try {
  for (const M of mValues) await sweep({ M });
  for (const liftFraction of extraLifts) await sweep({ M: Number(args["lift-m"]), liftFraction });
} finally {
  await rm(dir, { recursive: true, force: true });
}

// IVF beside HNSW, on the same catalogue and queries: the ANN claim compares both with the exact scan.
if (nprobeValues.length > 0) {
  t0 = performance.now();
  const ivf = IvfIndex.build(world.items, world.ids, { dim, modelVersion: "bench", params: { nlist: Number(args.nlist) } });
  const buildSeconds = (performance.now() - t0) / 1000;
  console.error(`built IVF nlist=${ivf.numLists} in ${buildSeconds.toFixed(1)} s`);
  for (const nprobe of nprobeValues) {
    rows.push(measure(`ivf, nlist ${ivf.numLists}`, (q, k) => ivf.search(q, k, nprobe).ids, { ef: nprobe, buildSeconds, memoryMB: mb(ivf.vectorBytes) }));
  }
}

const exactMedian100 = rows[0]?.median100Us as number;
const exactMedian10 = rows[0]?.median10Us as number;
const nativeMedian100 = rows[2]?.median100Us as number;
const fmt = (x: number | undefined, digits = 0): string => (x === undefined ? "" : x.toFixed(digits));
const lines = [
  `items ${items}, dim ${dim}, queries ${queryCount}, efConstruction ${efConstruction}, seed ${args.seed}; latency is one query through the package API, single thread, load average at the end ${loadavg()[0]?.toFixed(1)} on ${cpus().length} cores`,
  "index MB: the vectors (exact scans, ivf with its centroids and list slack) or the graph with its vectors (hnsw), without id maps; ef / nprobe: HNSW's candidate list or IVF's lists scanned",
  "",
  "| method | M | lift | ef / nprobe | recall@10 | recall@100 | k=10 median us | k=10 p99 us | k=100 median us | k=100 p99 us | speedup@100 vs exact scan (WASM) | vs C++ scan | build s | disk MB | index MB |",
  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ...rows.map((r) =>
    [
      r.method,
      fmt(r.M),
      r.lift === undefined ? "" : String(r.lift),
      fmt(r.ef),
      r.recall10.toFixed(4),
      r.recall100.toFixed(4),
      fmt(r.median10Us),
      fmt(r.p99_10Us),
      fmt(r.median100Us),
      fmt(r.p99_100Us),
      `${(exactMedian100 / r.median100Us).toFixed(1)}x (k=10: ${(exactMedian10 / r.median10Us).toFixed(1)}x)`,
      `${(nativeMedian100 / r.median100Us).toFixed(1)}x`,
      fmt(r.buildSeconds, 1),
      fmt(r.diskMB, 1),
      fmt(r.memoryMB, 1),
    ].join(" | ").replace(/^/, "| ").replace(/$/, " |"),
  ),
];
const fastest = (method: (r: Row) => boolean) => rows.filter((r) => method(r) && r.recall100 >= 0.95).sort((a, b) => a.median100Us - b.median100Us)[0];
const best = fastest((r) => r.method === "hnsw");
const bestIvf = fastest((r) => r.method.startsWith("ivf"));
const speedup = (r: Row) => `${(exactMedian100 / r.median100Us).toFixed(1)}x the exact scan's median at k = 100`;
lines.push(
  "",
  best
    ? `fastest HNSW setting with recall@100 >= 0.95: M=${best.M} lift=${best.lift} ef=${best.ef} (recall@100 ${best.recall100.toFixed(4)}, median ${best.median100Us.toFixed(0)} us, p99 ${best.p99_100Us.toFixed(0)} us, ${speedup(best)})`
    : "no HNSW setting reached recall@100 >= 0.95",
);
if (nprobeValues.length > 0) {
  lines.push(
    bestIvf
      ? `fastest IVF setting with recall@100 >= 0.95: ${bestIvf.method} nprobe=${bestIvf.ef} (recall@100 ${bestIvf.recall100.toFixed(4)}, median ${bestIvf.median100Us.toFixed(0)} us, p99 ${bestIvf.p99_100Us.toFixed(0)} us, ${speedup(bestIvf)})`
      : "no IVF setting reached recall@100 >= 0.95",
  );
}
console.log(lines.join("\n"));
if (args.json) await writeFile(args.json, JSON.stringify({ items, dim, queries: queryCount, efConstruction, rows }, null, 2));
