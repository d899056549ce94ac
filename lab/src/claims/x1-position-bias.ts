import { barChart } from "@mlsd/plot";
import { clickedSlates } from "@mlsd/trainer/src/recs/ranker";
import { defineClaim } from "../harness/experiment";
import { openParts } from "../harness/phrases";
import { meanInterval, type Interval } from "../harness/stats";
import { cell, fmtInterval } from "../harness/table";
import { atLeast } from "../harness/verdict";
import { clickAboveSkipShare, featureNdcg, loggedOrderNdcg, fitObjective, OBJECTIVE_NAMES, RANKER_OBJECTIVES, rankerWorld, type FittedObjective, type RankerObjective, type RankerWorldSize } from "../recs-loop/ranker-world";

type Params = RankerWorldSize;

type Fit = Omit<FittedObjective, "predictor">;
type Condition = "clicks" | "ipw" | "unbiased";

interface Detail {
  /** Trained on the position-biased clicks, then the same with inverse propensity weights, then on clicks without position bias. */
  fits: Record<Condition, Fit[]>;
  /** Share of the training (clicked, skipped) pairs whose clicked item was shown above the skipped one. */
  aboveShare: { biased: number; unbiased: number };
  trainClickRate: { biased: number; unbiased: number };
  loggedNdcg: number;
  popularityNdcg: number;
}

const CONDITIONS: Record<Condition, string> = {
  clicks: "position-biased clicks",
  ipw: "position-biased clicks, inverse propensity weights",
  unbiased: "clicks without position bias (reference)",
};

const strip = ({ predictor: _p, ...rest }: FittedObjective): Fit => rest;
const ndcgOf = (fits: readonly Fit[], o: RankerObjective) => (fits.find((f) => f.objective === o) as Fit).ndcgTrue;

/** "ahead of", "behind" or "level with", from the interval of a difference. */
function side(iv: Interval): string {
  return iv.lo > 0 ? "ahead of" : iv.hi < 0 ? "behind" : "level with";
}

export default defineClaim<Params, Detail>({
  id: "X1",
  aliases: [],
  slug: "position-bias",
  title: "Clicks on top positions are not relevance; inverse propensity weighting corrects it",
  claim:
    "Users click what is on top because they look there, so clicks over-state the relevance of whatever the old ranking put first. A ranker trained on raw clicks learns the old ranking; weighting each click by the inverse of the probability that its position was looked at (inverse propensity weighting, IPW) removes that and ranks closer to true relevance.",
  question: "Your ranker trains on clicks. What does position bias do to it and how do you correct it? (seeds 002, 004)",
  setup: [
    "One synthetic recs world per seed, logged as the system logs it: the popularity policy orders each slate most popular first and users examine position p with probability 1 / (1 + p), clicking what they examine with its true relevance. The ranker's rows, features, time split and GBDT recipe are the trainer's (`rankerData`, `fitRanker`); retrieval is the trainer's stand-in score (true affinity plus noise).",
    "",
    "Each of the three losses (pointwise log-loss, pairwise RankNet, listwise LambdaRank, as in claim 9) is trained three ways:",
    "",
    "- on the **position-biased clicks** (what the system does today);",
    "- on the same clicks with **inverse propensity weights**: a clicked row weighs 1 / P(its position was examined), the click model's known propensity (a real system estimates it from randomised slates); for the pair losses a pair weighs what its clicked row weighs (`@mlsd/gbdt` row weights);",
    "- on clicks from the same world and policy **without position bias** (every slot examined): the reference IPW tries to reach.",
    "",
    "Quality is NDCG@10 on the test window against the world's true relevance. To find out why LambdaRank does not beat pointwise on biased clicks, the run also counts, over the training slates with a click, the share of (clicked, skipped) pairs whose clicked item was shown above the skipped one: 0.5 would mean position did not matter, and these pairs are all a pair loss learns from.",
  ].join("\n"),
  sizes: {
    default: { numUsers: 2000, numItems: 5000, sessionsPerUser: 8, slateSize: 10, retrievalNoise: 1 },
    quick: { numUsers: 300, numItems: 1000, sessionsPerUser: 6, slateSize: 10, retrievalNoise: 1 },
  },
  seeds: { default: 5, quick: 2 },
  checks: [
    { id: "ipw-lambdarank", metric: "lambdarankIpwGain", description: "NDCG@10 (true relevance) of LambdaRank with IPW minus without", rule: atLeast(0.01), digits: 4 },
    { id: "ipw-pointwise", metric: "pointwiseIpwGain", description: "NDCG@10 (true relevance) of the pointwise ranker with IPW minus without", rule: atLeast(0.01), digits: 4 },
  ],
  run(p, ctx) {
    const biased = rankerWorld(ctx.seed, p);
    const unbiased = rankerWorld(ctx.seed, p, { kind: "position-based", eta: 0 });
    const fits: Record<Condition, Fit[]> = {
      clicks: RANKER_OBJECTIVES.map((o) => strip(fitObjective(biased, o))),
      ipw: RANKER_OBJECTIVES.map((o) => strip(fitObjective(biased, o, { ipw: true }))),
      unbiased: RANKER_OBJECTIVES.map((o) => strip(fitObjective(unbiased, o))),
    };
    for (const c of Object.keys(fits) as Condition[]) ctx.log(`${c}: ${fits[c].map((f) => `${f.objective} ${f.ndcgTrue.toFixed(4)}`).join(", ")}`);
    const clickRate = (rw: typeof biased) => rw.data.train.labels.reduce((a, b) => a + b, 0) / rw.data.train.labels.length;
    const aboveShare = { biased: clickAboveSkipShare(clickedSlates(biased.data.train), biased.log), unbiased: clickAboveSkipShare(clickedSlates(unbiased.data.train), unbiased.log) };
    return {
      metrics: {
        lambdarankIpwGain: ndcgOf(fits.ipw, "lambdarank") - ndcgOf(fits.clicks, "lambdarank"),
        pointwiseIpwGain: ndcgOf(fits.ipw, "pointwise") - ndcgOf(fits.clicks, "pointwise"),
        pairwiseIpwGain: ndcgOf(fits.ipw, "pairwise") - ndcgOf(fits.clicks, "pairwise"),
        lambdarankVsPointwise: ndcgOf(fits.clicks, "lambdarank") - ndcgOf(fits.clicks, "pointwise"),
        lambdarankVsPointwiseIpw: ndcgOf(fits.ipw, "lambdarank") - ndcgOf(fits.ipw, "pointwise"),
        lambdarankVsPointwiseUnbiased: ndcgOf(fits.unbiased, "lambdarank") - ndcgOf(fits.unbiased, "pointwise"),
        lambdarankIpwGapToUnbiased: ndcgOf(fits.unbiased, "lambdarank") - ndcgOf(fits.ipw, "lambdarank"),
        aboveShareBiased: aboveShare.biased,
      },
      detail: { fits, aboveShare, trainClickRate: { biased: clickRate(biased), unbiased: clickRate(unbiased) }, loggedNdcg: loggedOrderNdcg(biased), popularityNdcg: featureNdcg(biased, "item_log_clicks") },
    };
  },
  report({ runs }) {
    const iv = (metric: string, digits = 4) => fmtInterval(meanInterval(runs.map((r) => r.metrics[metric] as number)), digits);
    const ivOf = (metric: string) => meanInterval(runs.map((r) => r.metrics[metric] as number));
    const conds = Object.keys(CONDITIONS) as Condition[];
    const fitCell = (c: Condition, o: RankerObjective, f: (x: Fit) => number, digits = 4) => cell(runs.map((r) => f(r.detail.fits[c].find((x) => x.objective === o) as Fit)), digits);
    const mean = (c: Condition, o: RankerObjective) => meanInterval(runs.map((r) => ndcgOf(r.detail.fits[c], o))).mean;
    return {
      tables: [
        {
          title: "NDCG@10 against true relevance on the test window, by loss and by what it was trained on",
          columns: ["loss", ...conds.map((c) => CONDITIONS[c]), "trees (biased / IPW / unbiased)"],
          rows: [
            ...RANKER_OBJECTIVES.map((o) => [OBJECTIVE_NAMES[o], ...conds.map((c) => fitCell(c, o, (x) => x.ndcgTrue)), conds.map((c) => fitCell(c, o, (x) => x.trees, 0)).join(" / ")]),
            ["the logging policy's order (popularity)", cell(runs.map((r) => r.detail.loggedNdcg), 4), "", "", ""],
            ["observed popularity alone (item clicks so far)", cell(runs.map((r) => r.detail.popularityNdcg), 4), "", "", ""],
          ],
          note: "Mean ± half-width of the 95 % interval over seeds. True relevance is the world's P(click | examined) as a linear gain over every test slate. Trees: the rounds early stopping kept (validation NDCG@10 on clicks for the pair losses, log-loss for pointwise).",
        },
        {
          title: "Why LambdaRank does not beat pointwise on position-biased clicks",
          columns: ["measure", "position-biased clicks", "with IPW", "without position bias"],
          rows: [
            ["LambdaRank minus pointwise, NDCG@10 vs true relevance", iv("lambdarankVsPointwise"), iv("lambdarankVsPointwiseIpw"), iv("lambdarankVsPointwiseUnbiased")],
            [
              "share of training (clicked, skipped) pairs with the clicked item shown above",
              cell(runs.map((r) => r.detail.aboveShare.biased), 3),
              "same pairs, the lower clicks weigh more",
              cell(runs.map((r) => r.detail.aboveShare.unbiased), 3),
            ],
            ["training click rate", cell(runs.map((r) => r.detail.trainClickRate.biased), 4), "", cell(runs.map((r) => r.detail.trainClickRate.unbiased), 4)],
          ],
          note: "A pair loss learns only from (clicked, skipped) pairs inside one slate. Under the logging policy the clicked item of such a pair was usually shown above the skipped one, because the skipped one was often never looked at: the within-slate contrast a pair loss learns is largely the position contrast. A pointwise loss compares each impression with all impressions of similar items across slates and positions, so the position effect partly averages out.",
        },
      ],
      figures: [
        {
          name: "ndcg-by-training",
          title: "NDCG@10 against true relevance by loss and training labels",
          svg: barChart({
            title: "Position bias and inverse propensity weighting",
            xLabel: "loss",
            yLabel: "NDCG@10 vs true relevance (mean over seeds)",
            categories: RANKER_OBJECTIVES.map((o) => OBJECTIVE_NAMES[o]),
            series: conds.map((c) => ({ name: CONDITIONS[c], values: RANKER_OBJECTIVES.map((o) => mean(c, o)) })),
            yDomain: [0.8, 0.95],
          }),
        },
      ],
      facts: {
        lambdarankIpwGain: iv("lambdarankIpwGain"),
        pointwiseIpwGain: iv("pointwiseIpwGain"),
        pairwiseIpwGain: iv("pairwiseIpwGain"),
        lambdarankVsPointwise: iv("lambdarankVsPointwise"),
        lambdarankVsPointwiseIpw: iv("lambdarankVsPointwiseIpw"),
        lambdarankVsPointwiseUnbiased: iv("lambdarankVsPointwiseUnbiased"),
        gapToUnbiased: iv("lambdarankIpwGapToUnbiased"),
        aboveShare: fmtInterval(ivOf("aboveShareBiased"), 3),
        biasedSide: side(ivOf("lambdarankVsPointwise")),
        ipwSide: side(ivOf("lambdarankVsPointwiseIpw")),
        unbiasedSide: side(ivOf("lambdarankVsPointwiseUnbiased")),
      },
    };
  },
  interview: {
    holds: ({ facts }) =>
      `"Clicks are relevance times the chance the slot was looked at, so a ranker trained on raw clicks learns the old ranking. Weighting each click by 1 / P(examined) fixed it here: LambdaRank gained ${facts.lambdarankIpwGain} NDCG@10 against true relevance, pointwise ${facts.pointwiseIpwGain}. It also explains why LambdaRank was ${facts.biasedSide} pointwise on raw clicks (${facts.lambdarankVsPointwise}): a pair loss learns from (clicked, skipped) pairs inside a slate, and in ${facts.aboveShare} of them the clicked item sat above the skipped one (0.5 if position did not matter), so the pairs teach position as much as relevance. With IPW LambdaRank is ${facts.ipwSide} pointwise (${facts.lambdarankVsPointwiseIpw}); without position bias it is ${facts.unbiasedSide} it (${facts.lambdarankVsPointwiseUnbiased}). In production I would estimate the propensities from a little randomisation of the top slots."`,
    "does not hold": ({ facts }) =>
      `"Inverse propensity weighting did not pay off here: LambdaRank changed by ${facts.lambdarankIpwGain} NDCG@10 and pointwise by ${facts.pointwiseIpwGain} against true relevance. On raw clicks LambdaRank was ${facts.biasedSide} pointwise (${facts.lambdarankVsPointwise}); ${facts.aboveShare} of its training pairs had the clicked item shown above the skipped one, so the pairs carry the logged order. IPW trades that bias for variance (a click at position 10 weighs 10x); where it does not help, randomising a few slots or a position feature set to a constant at serving are the alternatives."`,
    inconclusive: ({ checks, facts }) =>
      `"Not settled here: ${openParts(checks)}. LambdaRank with IPW changed by ${facts.lambdarankIpwGain}, pointwise by ${facts.pointwiseIpwGain}; on raw clicks LambdaRank was ${facts.biasedSide} pointwise (${facts.lambdarankVsPointwise}), its pairs having the clicked item on top in ${facts.aboveShare} of cases."`,
  },
});
