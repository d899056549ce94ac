import { defineClaim } from "../harness/experiment";
import { openParts } from "../harness/phrases";
import { meanInterval } from "../harness/stats";
import { fmtInterval } from "../harness/table";
import { atLeast } from "../harness/verdict";
import { LOOP_SIZES, runLoop, type LoopSize } from "../recs-loop/loop";
import { lastRound, loopFigures, roundsMean, roundsTable, type LoopDetail } from "../recs-loop/loop-report";

interface Params extends LoopSize {
  /** The diversity constraint: at most this many items of one category in a slate. */
  maxPerCategory: number;
}

export default defineClaim<Params, LoopDetail>({
  id: "X4",
  aliases: [],
  slug: "diversity-loop",
  title: "Diversity re-ranking protects long-term engagement",
  claim:
    "Re-ranking for diversity (not filling a slate with one kind of item) costs a little relevance now but protects engagement over time: users see more of the catalogue, the model learns about more of it, and the feedback loop narrows less.",
  question: "Would you add a diversity constraint to the ranked list, and what does it do over time? (seed 004)",
  setup: [
    "The closed loop of claim 33 (the live world's users, the trainer's LambdaRank retrained every round on everything logged, retrieval candidates ranked on the feature store's features), run twice per seed on the same world, bootstrap log and user arrivals:",
    "",
    "- **ranker top-k**: the slate is the ranker's best `slateSize` candidates;",
    "- **diversity re-ranking**: greedy in the ranker's order, at most `maxPerCategory` items of one category per slate (the world has 20 categories; a user's taste clusters around one).",
    "",
    "Long-term engagement is clicks per session averaged over the later half of the rounds; exposure is the share of the released catalogue shown at least once in the last round. The world's users have fixed tastes and no fatigue: an item does not get less attractive for having been seen.",
  ].join("\n"),
  sizes: {
    default: { ...LOOP_SIZES.default, maxPerCategory: 2 },
    quick: { ...LOOP_SIZES.quick, maxPerCategory: 2 },
  },
  seeds: { default: 3, quick: 2 },
  checks: [
    { id: "engagement-kept", metric: "lateEngagementChange", description: "clicks per session over the later rounds, diverse loop relative to ranker-only (-0.02 = 2 % fewer)", rule: atLeast(-0.02) },
    { id: "coverage-wider", metric: "coverageGain", description: "catalogue coverage in the last round, diverse loop minus ranker-only", rule: atLeast(0.02) },
  ],
  run(p, ctx) {
    const plain = runLoop(ctx.seed, p, { kind: "ranker" }, ctx.log);
    const diverse = runLoop(ctx.seed, p, { kind: "diverse", maxPerCategory: p.maxPerCategory }, ctx.log);
    const late = Math.ceil(p.rounds / 2);
    const change = (from: number, to: number) => roundsMean(diverse, "clicksPerSession", from, to) / roundsMean(plain, "clicksPerSession", from, to) - 1;
    return {
      metrics: {
        lateEngagementChange: change(late, p.rounds),
        firstEngagementChange: change(1, 1),
        coverageGain: lastRound(diverse).coverage - lastRound(plain).coverage,
        giniChange: lastRound(diverse).exposureGini - lastRound(plain).exposureGini,
        categoriesGain: lastRound(diverse).categoriesPerSlate - lastRound(plain).categoriesPerSlate,
        ndcgChange: roundsMean(diverse, "servedNdcg", late, p.rounds) - roundsMean(plain, "servedNdcg", late, p.rounds),
      },
      detail: { loops: [plain, diverse] },
    };
  },
  report({ runs, params }) {
    const iv = (metric: string) => meanInterval(runs.map((r) => r.metrics[metric] as number));
    const pctIv = (metric: string) => `${fmtInterval(meanInterval(runs.map((r) => 100 * (r.metrics[metric] as number))), 1)} %`;
    return {
      tables: [roundsTable(runs, "Engagement and exposure round by round, ranker-only against diversity re-ranking")],
      figures: loopFigures(runs, "Diversity in the loop"),
      facts: {
        lateEngagementChange: pctIv("lateEngagementChange"),
        firstEngagementChange: pctIv("firstEngagementChange"),
        coverageGain: `${fmtInterval(meanInterval(runs.map((r) => 100 * (r.metrics.coverageGain as number))), 1)} points`,
        giniChange: fmtInterval(iv("giniChange")),
        categoriesGain: fmtInterval(iv("categoriesGain"), 2),
        ndcgChange: fmtInterval(iv("ndcgChange")),
        maxPerCategory: String(params.maxPerCategory),
        rounds: String(params.rounds),
        coverageSays: (() => {
          const c = iv("coverageGain");
          return c.hi < 0 ? "the catalogue in view got narrower, not wider: diversity within a slate is not diversity across the catalogue" : c.lo > 0 ? "the catalogue in view got wider" : "the catalogue in view stayed about as wide";
        })(),
      },
    };
  },
  interview: {
    holds: ({ facts }) =>
      `"Yes, measured in the closed loop: capping a slate at ${facts.maxPerCategory} items per category changed clicks per session by ${facts.firstEngagementChange} in the first round and by ${facts.lateEngagementChange} over the later rounds, while coverage of the catalogue rose by ${facts.coverageGain}. The short-term cost shrinks as the model learns from the wider exposure."`,
    "does not hold": ({ facts }) =>
      `"Not as a free lunch. In the closed loop (${facts.rounds} rounds of serve, click, retrain) capping a slate at ${facts.maxPerCategory} items per category added ${facts.categoriesGain} categories per slate but changed clicks per session by ${facts.firstEngagementChange} in the first round and ${facts.lateEngagementChange} over the later rounds (served NDCG ${facts.ndcgChange}), and catalogue coverage changed by ${facts.coverageGain} (Gini ${facts.giniChange}): ${facts.coverageSays}. With users whose tastes do not tire, as in this world, the constraint has nothing to protect. I would add it where there is evidence of fatigue or of tastes to discover, and measure it as a long-running A/B test, not argue for it from first principles."`,
    inconclusive: ({ checks, facts }) =>
      `"Unsettled: ${openParts(checks)}. Capping a slate at ${facts.maxPerCategory} per category changed later-round clicks per session by ${facts.lateEngagementChange} and coverage by ${facts.coverageGain}; I would test it as a long-running A/B test."`,
  },
});
