import { ExactIndex, Int8ExactIndex, queryRows, recallOfIds, type Vector } from "@mlsd/ann";
import { barChart } from "@mlsd/plot";
import { defineClaim } from "../harness/experiment";
import { openParts, phraseRatio } from "../harness/phrases";
import { meanInterval } from "../harness/stats";
import { microsPerCall } from "../harness/timing";
import { cell, fmtInterval } from "../harness/table";
import { atLeast, atMost } from "../harness/verdict";
import { exactAnswers, searchMicros } from "../recs/ann-sweep";
import { worldEmbeddings, type EmbeddingWorldSize } from "../recs/embeddings";

interface Params extends EmbeddingWorldSize {
  ks: number[];
  /** int8 candidates per answer slot that the float32 rows rescore (the "recover" step). */
  rescoreFactor: number;
}

interface KPoint {
  k: number;
  floatMicros: number;
  int8Micros: number;
  rescoredMicros: number;
  int8Recall: number;
  rescoredRecall: number;
}

interface Detail {
  floatBytes: number;
  int8Bytes: number;
  perK: KPoint[];
}

/** int8 top-(k x factor), rescored with the float32 rows, cut to k: the usual way to win back quantisation error. */
function rescoredSearch(int8: Int8ExactIndex<number>, rows: Float32Array, dim: number, q: Vector, k: number, factor: number): number[] {
  const candidates = int8.search(q, k * factor).ids;
  const scored = candidates.map((id) => {
    let s = 0;
    for (let j = 0; j < dim; j++) s += (q[j] as number) * (rows[id * dim + j] as number);
    return [s, id] as const;
  });
  scored.sort((a, b) => b[0] - a[0]);
  return scored.slice(0, k).map(([, id]) => id);
}

/** What the measured speed ratio says, in words (the "does not hold" answer must not assume which check failed). */
function speedSentence(speedup: number): string {
  if (speedup >= 2) return `the int8 scan was ${phraseRatio(speedup)} faster than the float32 one, as claimed.`;
  if (speedup >= 1) return `the int8 scan was only ${phraseRatio(speedup)} as fast as the float32 one, short of the 2x claimed.`;
  return `the int8 scan was ${phraseRatio(1 / speedup)} slower than the float32 one: here the float32 scan is a WebAssembly SIMD kernel and the int8 scan a scalar JavaScript loop.`;
}

export default defineClaim<Params, Detail>({
  id: "24",
  aliases: [],
  slug: "int8-embeddings",
  title: "Int8 embeddings: 2-4x faster and smaller, with a small recoverable recall loss",
  claim:
    "Quantising retrieval embeddings from float32 to int8 makes the index four times smaller and search 2-4x faster, and loses only a little recall, which rescoring a few extra candidates with the full-precision vectors wins back.",
  question: "Does int8 quantisation pay off for embeddings? (grill Q24)",
  setup: [
    "One recs world per seed (@mlsd/synth); the embeddings are the world's latent taste vectors of its items and users (what a perfect two-tower model outputs). Both indexes are @mlsd/ann exact scans over the same rows, so quantisation is the only difference:",
    "",
    "- **float32**: `ExactIndex`, the blocked WebAssembly SIMD scan the retrieval service uses (float32 scores, float64 rescoring near the top-k threshold).",
    "- **int8**: `Int8ExactIndex`, per-dimension symmetric scales fitted on the catalogue (largest magnitude to 127), the query kept in float and the scales folded into it.",
    "- **int8 + rescoring**: the int8 top-(k x factor) rescored with the float32 rows, cut to k.",
    "",
    "Recall@k is against the float32 scan's exact top-k, over the users' vectors. Memory is the bytes of stored vectors (int8 adds its per-dimension scales). Latency is the median microseconds of one query, the float32 and int8 scans timed one after the other in the same process, single thread.",
  ].join("\n"),
  sizes: {
    default: { items: 100_000, queries: 300, dim: 32, ks: [10, 100], rescoreFactor: 2 },
    quick: { items: 3_000, queries: 40, dim: 16, ks: [10, 100], rescoreFactor: 2 },
  },
  seeds: { default: 3, quick: 2 },
  checks: [
    { id: "smaller", metric: "memoryRatio", description: "float32 vector bytes divided by int8's", rule: atLeast(3.5), digits: 2 },
    { id: "faster", metric: "speedup", description: "float32 median us per query divided by int8's, at k = 100", rule: atLeast(2), digits: 2 },
    { id: "small-loss", metric: "recallLoss", description: "1 minus the int8 scan's recall@10", rule: atMost(0.03), digits: 4 },
    { id: "recoverable", metric: "rescoredRecall", description: "recall@100 of int8 with float32 rescoring of twice as many candidates", rule: atLeast(0.995), digits: 4 },
  ],
  run(p, ctx) {
    ctx.log(`world: ${p.items} items, ${p.queries} users, dim ${p.dim}`);
    const w = worldEmbeddings(ctx.seed, p);
    const queries = queryRows(w.queries, w.dim);
    const float = ExactIndex.build(w.items, w.ids, { dim: w.dim });
    const int8 = Int8ExactIndex.build(w.items, w.ids, { dim: w.dim });
    const perK = p.ks.map((k) => {
      ctx.log(`k ${k}`);
      const truth = exactAnswers(float, queries, k);
      const recall = (search: (q: Vector) => number[]) => queries.reduce((s, q, i) => s + recallOfIds(search(q), truth[i] as number[]), 0) / queries.length;
      const floatMicros = searchMicros(float, queries, k);
      const int8Micros = searchMicros(int8, queries, k);
      const rescoredMicros = microsPerCall((i) => rescoredSearch(int8, w.items, w.dim, queries[i % queries.length] as Vector, k, p.rescoreFactor).length, queries.length, 5);
      return {
        k,
        floatMicros,
        int8Micros,
        rescoredMicros,
        int8Recall: recall((q) => int8.search(q, k).ids),
        rescoredRecall: recall((q) => rescoredSearch(int8, w.items, w.dim, q, k, p.rescoreFactor)),
      };
    });
    const at = (k: number) => perK.find((x) => x.k === k) as KPoint;
    return {
      metrics: { memoryRatio: float.vectorBytes / int8.vectorBytes, speedup: at(100).floatMicros / at(100).int8Micros, recallLoss: 1 - at(10).int8Recall, rescoredRecall: at(100).rescoredRecall },
      detail: { floatBytes: float.vectorBytes, int8Bytes: int8.vectorBytes, perK },
    };
  },
  report({ runs, params }) {
    const pick = (j: number, f: (x: KPoint) => number) => runs.map((r) => f(r.detail.perK[j] as KPoint));
    const mb = (f: (d: Detail) => number) => cell(runs.map((r) => f(r.detail) / 1e6), 2);
    const rows = params.ks.flatMap((k, j) => [
      [String(k), "float32 (WebAssembly SIMD)", mb((d) => d.floatBytes), "1.0000", cell(pick(j, (x) => x.floatMicros), 0), "1.00"],
      [String(k), "int8", mb((d) => d.int8Bytes), cell(pick(j, (x) => x.int8Recall), 4), cell(pick(j, (x) => x.int8Micros), 0), cell(pick(j, (x) => x.floatMicros / x.int8Micros), 2)],
      [String(k), `int8, float32 rescoring of ${params.rescoreFactor}k`, mb((d) => d.int8Bytes + d.floatBytes), cell(pick(j, (x) => x.rescoredRecall), 4), cell(pick(j, (x) => x.rescoredMicros), 0), cell(pick(j, (x) => x.floatMicros / x.rescoredMicros), 2)],
    ]);
    const mean = (j: number, f: (x: KPoint) => number) => meanInterval(pick(j, f)).mean;
    const metric = (name: string, digits = 3) => fmtInterval(meanInterval(runs.map((r) => r.metrics[name] as number)), digits);
    return {
      tables: [
        {
          title: "float32 against int8 exact scans over the same embeddings",
          columns: ["k", "index", "vector MB", "recall@k vs float32", "us per query", "speedup vs float32"],
          rows,
          note: `Mean ± half-width of the 95 % interval over seeds; ${params.items.toLocaleString("en-US")} items of dim ${params.dim}. The rescoring row needs the float32 rows as well (kept on disk or in a second tier in practice), hence its memory.`,
        },
      ],
      figures: [
        {
          name: "latency",
          title: "Median microseconds per query by k",
          svg: barChart({
            title: `Exact scan latency, float32 vs int8 (${params.items.toLocaleString("en-US")} items, mean over seeds)`,
            xLabel: "answer size k",
            yLabel: "us per query",
            categories: params.ks.map(String),
            series: [
              { name: "float32 (WebAssembly SIMD)", values: params.ks.map((_, j) => mean(j, (x) => x.floatMicros)) },
              { name: "int8", values: params.ks.map((_, j) => mean(j, (x) => x.int8Micros)) },
              { name: "int8 + float32 rescoring", values: params.ks.map((_, j) => mean(j, (x) => x.rescoredMicros)) },
            ],
          }),
        },
      ],
      facts: {
        memoryRatio: metric("memoryRatio", 2),
        speedup: metric("speedup", 2),
        speedSentence: speedSentence(meanInterval(runs.map((r) => r.metrics.speedup as number)).mean),
        recallLoss: metric("recallLoss", 4),
        rescored: metric("rescoredRecall", 4),
      },
    };
  },
  interview: {
    holds: ({ facts }) =>
      `"Yes: int8 made the index ${facts.memoryRatio}x smaller and the scan ${facts.speedup}x faster; recall@10 dropped by ${facts.recallLoss}, and rescoring twice the candidates with the float vectors brought recall@100 back to ${facts.rescored}."`,
    "does not hold": ({ facts }) =>
      `"Half of it. Int8 made the vectors ${facts.memoryRatio}x smaller and cost little recall (recall@10 down by ${facts.recallLoss}; rescoring twice the candidates with float32 brought recall@100 to ${facts.rescored}). Speed: ${facts.speedSentence} The speed-up people quote for int8 comes from integer SIMD kernels (VNNI, dot-product instructions) and from memory bandwidth once the catalogue no longer fits in cache; without such a kernel quantisation buys memory, not latency. I would quantise for memory and measure the kernel before promising speed."`,
    inconclusive: ({ checks, facts }) =>
      `"Int8 made the vectors ${facts.memoryRatio}x smaller, ran at ${facts.speedup}x the float32 scan's speed, lost ${facts.recallLoss} of recall@10, and rescoring recovered recall@100 to ${facts.rescored}; not settled (${openParts(checks)})."`,
  },
});
