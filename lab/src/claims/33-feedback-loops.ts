import { defineClaim } from "../harness/experiment";
import { openParts, pct } from "../harness/phrases";
import { meanInterval } from "../harness/stats";
import { fmtInterval } from "../harness/table";
import { atLeast } from "../harness/verdict";
import { LOOP_SIZES, runLoop, type LoopSize } from "../recs-loop/loop";
import { lastRound, loopFigures, roundsMean, roundsTable, type LoopDetail } from "../recs-loop/loop-report";

interface Params extends LoopSize {
  /** Share of slots the exploring policy fills with a uniformly random released item. */
  epsilon: number;
}

export default defineClaim<Params, LoopDetail>({
  id: "33",
  aliases: [],
  slug: "feedback-loops",
  title: "Recommendation feedback loops narrow exposure; exploration counters it",
  claim:
    "A recommender trained on the clicks it caused shows more of what it already showed: popular items collect clicks, the retrained model ranks them higher, and the rest of the catalogue disappears from view. Exploration (showing some items the model would not pick) keeps exposure wide and gives the model data about the rest.",
  question: "How do feedback loops affect a recommender, and what do you do about them? (grill Q33; seeds 002, 004)",
  setup: [
    "The running system's loop in process, on a synthetic recs world per seed:",
    "",
    "- **users**: the live world's `RecsUsers` (jobs/world) arrive as a Poisson process at the training traffic's rate, examine slots with P = 1 / (1 + position) and click with the item's true relevance, as in the demo;",
    "- **training**: the trainer's ranker code (`rankerData`, `fitRanker`, the production LambdaRank recipe) on everything logged so far, retrained every round; the first ranker learns from days of the popularity logging policy (which shows 10 % random items), as the trainer's first training data;",
    "- **serving**: retrieval candidates per user (the trainer's stand-in score, true affinity plus noise, top `candidates` of the catalogue, released items only), ranked by the GBDT on the feature store's ranker features, updated after every session as the feature streamer does;",
    "- **policies**: the ranker's top-k, and the same with each slot replaced, with probability `epsilon`, by a uniformly random released item.",
    "",
    "Each round logs `roundDays` of sessions; both policies see the same world, bootstrap log and seeds. Exposure is the Gini of impressions over the released catalogue and the share of it shown at least once in a round; engagement is clicks per session.",
  ].join("\n"),
  sizes: {
    default: { ...LOOP_SIZES.default, epsilon: 0.1 },
    quick: { ...LOOP_SIZES.quick, epsilon: 0.1 },
  },
  seeds: { default: 3, quick: 2 },
  checks: [
    { id: "loop-narrows", metric: "giniRise", description: "exposure Gini of the ranker-only loop in its last round minus its first", rule: atLeast(0.02) },
    { id: "exploration-widens", metric: "coverageGain", description: "catalogue coverage in the last round, exploring loop minus ranker-only loop", rule: atLeast(0.05) },
  ],
  run(p, ctx) {
    const plain = runLoop(ctx.seed, p, { kind: "ranker" }, ctx.log);
    const explore = runLoop(ctx.seed, p, { kind: "explore", epsilon: p.epsilon }, ctx.log);
    const first = plain.rounds[1];
    if (!first) throw new RangeError("rounds must be at least 1");
    const late = Math.ceil(p.rounds / 2);
    return {
      metrics: {
        giniRise: lastRound(plain).exposureGini - first.exposureGini,
        coverageDrop: first.coverage - lastRound(plain).coverage,
        coverageGain: lastRound(explore).coverage - lastRound(plain).coverage,
        giniGap: lastRound(plain).exposureGini - lastRound(explore).exposureGini,
        engagementChange: roundsMean(explore, "clicksPerSession", late, p.rounds) / roundsMean(plain, "clicksPerSession", late, p.rounds) - 1,
        plainCoverageLast: lastRound(plain).coverage,
        bootstrapCoverage: (plain.rounds[0] as { coverage: number }).coverage,
      },
      detail: { loops: [plain, explore] },
    };
  },
  report({ runs, params }) {
    const iv = (metric: string) => meanInterval(runs.map((r) => r.metrics[metric] as number));
    const pctIv = (metric: string) => `${fmtInterval(meanInterval(runs.map((r) => 100 * (r.metrics[metric] as number))), 1)} points`;
    return {
      tables: [roundsTable(runs, "Exposure and engagement round by round, ranker-only against exploring")],
      figures: loopFigures(runs, "Feedback loop"),
      facts: {
        giniRise: fmtInterval(iv("giniRise")),
        coverageDrop: pctIv("coverageDrop"),
        coverageGain: pctIv("coverageGain"),
        giniGap: fmtInterval(iv("giniGap")),
        engagementChange: pct(iv("engagementChange").mean, 1),
        plainCoverageLast: pct(iv("plainCoverageLast").mean, 1),
        bootstrapCoverage: pct(iv("bootstrapCoverage").mean, 1),
        epsilon: pct(params.epsilon),
        rounds: String(params.rounds),
      },
    };
  },
  interview: {
    holds: ({ facts }) =>
      `"Yes. In the closed loop (serve, click, retrain every round, ${facts.rounds} rounds) the ranker-only system's exposure Gini rose by ${facts.giniRise} and its coverage fell by ${facts.coverageDrop}, to ${facts.plainCoverageLast} of the catalogue per round, against ${facts.bootstrapCoverage} under the popularity logging it started from. Replacing ${facts.epsilon} of slots with random items kept ${facts.coverageGain} more of the catalogue in view (Gini ${facts.giniGap} lower) for a ${facts.engagementChange} change in clicks per session over the later rounds. I would explore on purpose, log the propensities, and use that traffic to evaluate and de-bias the next model."`,
    "does not hold": ({ facts }) =>
      `"Not in this loop as measured: exposure Gini of the ranker-only loop changed by ${facts.giniRise} over ${facts.rounds} rounds (its coverage fell by ${facts.coverageDrop}), and exploring ${facts.epsilon} of slots changed coverage by ${facts.coverageGain}. Coverage per round was ${facts.plainCoverageLast} against ${facts.bootstrapCoverage} under the popularity logging it started from, so most of the narrowing, if any, happens at the first switch from a logging policy to a model."`,
    inconclusive: ({ checks, facts }) =>
      `"Partly: ${openParts(checks)}. Over the loop's ${facts.rounds} rounds the ranker-only system's Gini changed by ${facts.giniRise} and its coverage fell by ${facts.coverageDrop}, to ${facts.plainCoverageLast} of the catalogue per round against ${facts.bootstrapCoverage} under the popularity logging it started from, so the first switch from the logging policy to a model is where exposure narrows (the table shows it round by round). Exploring ${facts.epsilon} of slots widened coverage by ${facts.coverageGain} at a ${facts.engagementChange} change in clicks per session."`,
  },
});
