import { barChart } from "@mlsd/plot";
import type { TwoTowerConfig } from "@mlsd/two-tower";
import { defineClaim } from "../harness/experiment";
import { openParts } from "../harness/phrases";
import { meanInterval } from "../harness/stats";
import { cell, fmtInterval } from "../harness/table";
import { atLeast } from "../harness/verdict";
import { listQuality, popularityLists, trainAndJudge, twoTowerWorld, type ListQuality, type TwoTowerWorldSize } from "../recs/two-tower-world";

interface Params extends TwoTowerWorldSize {
  ks: number[];
  /** Extra negatives per step for both the random and the hard arm. */
  extraNegatives: number;
  negativePool: number;
  twoTower: Partial<TwoTowerConfig>;
}

interface Detail {
  models: ListQuality[];
  trainRows: number;
  heldOutRows: number;
}

const ARMS: readonly { name: string; config: Partial<TwoTowerConfig> }[] = [
  { name: "in-batch negatives only", config: { extraNegatives: 0 } },
  { name: "in-batch + random negatives", config: { negativeMining: "random" } },
  { name: "in-batch + hard negatives", config: { negativeMining: "hard" } },
];

export default defineClaim<Params, Detail>({
  id: "X3",
  aliases: [],
  slug: "hard-negatives",
  title: "Hard negatives beat random negatives for retrieval training",
  claim:
    "Random negatives are too easy to teach a retrieval model much once it is past the first epochs; negatives the current model confuses with positives (hard negatives) carry more signal and give better recall.",
  question: "Which negatives do you train a two-tower model with? (seed 004, negatives)",
  setup: [
    "One recs world per seed (@mlsd/synth), its logged sessions, and the trainer's two-tower data (`worldTrainingData` from jobs/trainer: clicks before the cut-off day); held out: every click after the cut-off, with the history at that moment; items a user clicked in training are excluded from their list.",
    "",
    "Three @mlsd/two-tower models per seed, identical (same seed, architecture, log-Q correction, epochs) except the negatives:",
    "",
    "- **in-batch only**: the batch's other positives (the library default).",
    "- **+ random**: each step adds the same number of extra negatives drawn uniformly from the catalogue, shared by the batch's rows.",
    "- **+ hard**: each step draws a uniform pool of items, scores it with the current towers and adds the pool items scored highest for some row of the batch (that row's own positive excluded), the same count as the random arm.",
    "",
    "Recall@K is the share of held-out clicks whose item the model ranks in the user's top K (exact scoring over every item). Most-popular is the reference.",
  ].join("\n"),
  sizes: {
    default: { users: 3000, items: 3000, sessionsPerUser: 10, ks: [10, 50, 100], extraNegatives: 64, negativePool: 1024, twoTower: { epochs: 4 } },
    quick: { users: 300, items: 400, sessionsPerUser: 6, ks: [10, 50], extraNegatives: 16, negativePool: 128, twoTower: { epochs: 1, batchSize: 128, hiddenDims: [32], idDim: 16, outputDim: 16 } },
  },
  seeds: { default: 3, quick: 2 },
  checks: [{ id: "hard-beats-random", metric: "hardGain", description: "recall@50 with hard extra negatives minus with the same number of random ones", rule: atLeast(0.01), digits: 4 }],
  async run(p, ctx) {
    const w = twoTowerWorld(ctx.seed, p);
    const kMax = Math.max(...p.ks);
    ctx.log(`world: ${w.data.numUsers} users, ${w.data.numItems} items, ${w.trainRows} training clicks, ${w.heldOut.interactions.item.length} held out`);
    const models: ListQuality[] = [];
    for (const arm of ARMS) {
      ctx.log(`training: ${arm.name}`);
      models.push(await trainAndJudge(w, arm.name, { extraNegatives: p.extraNegatives, negativePool: p.negativePool, ...p.twoTower, ...arm.config, seed: ctx.seed }, kMax, p.ks, p.ks[0] as number));
    }
    models.push(listQuality(w, "most popular (unseen)", popularityLists(w, kMax), kMax, p.ks, p.ks[0] as number, 0));
    const judged = p.ks.indexOf(50) >= 0 ? p.ks.indexOf(50) : p.ks.length - 1;
    const at = (m: number) => (models[m] as ListQuality).recall[judged] as number;
    return {
      metrics: { hardGain: at(2) - at(1), randomGain: at(1) - at(0), hardOverInBatch: at(2) - at(0) },
      detail: { models, trainRows: w.trainRows, heldOutRows: w.heldOut.interactions.item.length },
    };
  },
  report({ runs, params }) {
    const first = runs[0]?.detail as Detail;
    const pick = (m: number, f: (x: ListQuality) => number) => runs.map((r) => f(r.detail.models[m] as ListQuality));
    const rows = first.models.map((m, j) => [m.name, ...params.ks.map((_, kk) => cell(pick(j, (x) => x.recall[kk] as number), 4)), cell(pick(j, (x) => x.popRank), 1), j < ARMS.length ? cell(pick(j, (x) => x.trainSeconds), 1) : ""]);
    const metric = (name: string) => fmtInterval(meanInterval(runs.map((r) => r.metrics[name] as number)), 4);
    return {
      tables: [
        {
          title: "Recall@K by the negatives the two-tower model was trained with",
          columns: ["training negatives", ...params.ks.map((k) => `recall@${k}`), `mean popularity rank of top-${params.ks[0]}`, "train s"],
          rows,
          note: `Mean ± half-width of the 95 % interval over seeds; ${params.extraNegatives} extra negatives per step from a pool of ${params.negativePool}; ${cell(runs.map((r) => r.detail.trainRows), 0)} training and ${cell(runs.map((r) => r.detail.heldOutRows), 0)} held-out clicks per seed.`,
        },
      ],
      figures: [
        {
          name: "recall",
          title: "Recall@K by training negatives",
          svg: barChart({
            title: "Two-tower recall@K by training negatives (mean over seeds)",
            xLabel: "K",
            yLabel: "recall@K on held-out clicks",
            categories: params.ks.map(String),
            series: first.models.map((m, j) => ({ name: m.name, values: params.ks.map((_, kk) => meanInterval(pick(j, (x) => x.recall[kk] as number)).mean) })),
          }),
        },
      ],
      facts: { hardGain: metric("hardGain"), randomGain: metric("randomGain"), hardOverInBatch: metric("hardOverInBatch") },
    };
  },
  interview: {
    holds: ({ facts }) =>
      `"Hard negatives, mixed with in-batch ones: with the same number of extra negatives per step, mined ones (the items the current model ranks highest that are not the positive) raised recall@50 by ${facts.hardGain} over random ones, and by ${facts.hardOverInBatch} over in-batch negatives alone; random extras moved it by ${facts.randomGain}. I mine from the current model, keep the in-batch negatives, and watch for false negatives (items the user would have liked)."`,
    "does not hold": ({ facts }) =>
      `"Not here: with the same number of extra negatives per step, mined hard negatives changed recall@50 by ${facts.hardGain} against random ones (and by ${facts.hardOverInBatch} against in-batch negatives alone; random extras: ${facts.randomGain}). Hard negatives mined from the model include items the user would like but did not click (false negatives), and in-batch negatives are already popularity-weighted and fairly hard; I would try hard negatives, but measure them against random and in-batch negatives rather than assume."`,
    inconclusive: ({ checks, facts }) =>
      `"Hard negatives changed recall@50 by ${facts.hardGain} against random ones and by ${facts.hardOverInBatch} against in-batch only; not settled (${openParts(checks)})."`,
  },
});
