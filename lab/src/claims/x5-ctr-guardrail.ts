import { barChart } from "@mlsd/plot";
import { Rng } from "@mlsd/random";
import { defineClaim } from "../harness/experiment";
import { openParts, pct } from "../harness/phrases";
import { meanInterval } from "../harness/stats";
import { cell, cellPct, fmt } from "../harness/table";
import { atLeast, atMost } from "../harness/verdict";
import { publishCandidateRanker, runRollout, withRolloutStack, type RolloutClaimParams, type RolloutRun } from "../live/rollout";

type Params = RolloutClaimParams;

interface Detail {
  /** A candidate whose CTR is far worse, and one exactly as good (a copy of the model in service). */
  worse: RolloutRun;
  same: RolloutRun;
}

const CANDIDATES = [
  { key: "worse" as const, label: "reversed ranker (worse)" },
  { key: "same" as const, label: "copy of current (A/A)" },
];

export default defineClaim<Params, Detail>({
  id: "X5",
  aliases: [],
  slug: "ctr-guardrail",
  title: "Roll back automatically when online CTR drops more than 5 % relative",
  live: true,
  claim:
    "A canary with an automatic guardrail on the primary metric (roll back once CTR is surely more than 5 % below the model in service) stops a bad model without a human, and leaves a model that is as good alone: the guardrail needs an always-valid interval, not a peek at a noisy number.",
  question: "How do you guard a canary? (seeds 003, 004: guardrails)",
  setup: [
    "The live recommendation path with the rollout controller (services/rollout-controller), on @mlsd/testkit's Redis and Kafka, the trainer's models for a synthetic world; world users visit concurrently, click by the world's click model on the items' true relevance, and report their clicks through the recommender.",
    "",
    "Two canaries per seed, one after the other on the same stack: a deliberately worse ranker (the model in service with its scores negated) and a copy of the model in service under a new version (an A/A: any rollback is a false alarm). The controller's primary-drop guardrail is its default, 5 % relative CTR drop, judged on an always-valid interval; a stage that runs out of samples holds (no rollback). Measured: each decision, the guardrail that fired, seconds to the decision, what the candidate answered before it.",
    "",
    "Checks: the guardrail rolls the worse ranker back (1 per seed when the rollback names the primary-drop guardrail), and the A/A candidate is not rolled back (1 per seed when it was: a false alarm).",
  ].join("\n"),
  sizes: {
    default: { world: { numUsers: 300, numItems: 1000, sessionsPerUser: 10 }, workers: 4, before: 200, maxVisits: 8_000, k: 10, canaryShare: 0.5, abShare: 0.5, minSamples: 50, maxSamples: 80, onBudget: "hold" },
    quick: { world: { numUsers: 200, numItems: 600, sessionsPerUser: 10 }, workers: 4, before: 50, maxVisits: 2_500, k: 10, canaryShare: 0.5, abShare: 0.5, minSamples: 20, maxSamples: 40, onBudget: "hold" },
  },
  seeds: { default: 3, quick: 1 },
  checks: [
    { id: "catches-worse", metric: "guardrailFired", description: "the primary-drop guardrail rolled the worse ranker back (1) or not (0)", rule: atLeast(0.5) },
    { id: "no-false-alarm", metric: "falseRollback", description: "the A/A candidate was rolled back (1) or not (0)", rule: atMost(0.5) },
  ],
  async run(p, ctx) {
    return withRolloutStack(ctx.seed, p, ctx.log, async (stack, client, users) => {
      const rng = new Rng(ctx.seed);
      const drive = (label: string) => {
        ctx.log(label);
        return runRollout(client, stack, { stages: ["canary"], users, k: p.k, workers: p.workers, before: p.before, maxVisits: p.maxVisits, rng, log: ctx.log });
      };
      await publishCandidateRanker(stack.registryDir, "reversed");
      const worse = await drive("canary of the reversed ranker");
      await publishCandidateRanker(stack.registryDir, "copy");
      const same = await drive("canary of a copy of the model in service");
      return {
        metrics: {
          guardrailFired: worse.status === "rolled-back" && worse.breached.includes("primary-drop") ? 1 : 0,
          falseRollback: same.status === "rolled-back" ? 1 : 0,
          worseSeconds: worse.seconds,
        },
        detail: { worse, same },
      };
    });
  },
  report({ runs, params }) {
    const v = (key: keyof Detail, f: (r: RolloutRun) => number) => runs.map((r) => f(r.detail[key]));
    const rows = CANDIDATES.map(({ key, label }) => [
      label,
      [...new Set(runs.map((r) => `${r.detail[key].status} (${r.detail[key].stage}, ${r.detail[key].action})`))].join("; "),
      [...new Set(runs.flatMap((r) => r.detail[key].breached))].join(", ") || "none",
      cell(v(key, (r) => r.seconds), 1),
      cell(v(key, (r) => r.exposedRequests), 0),
      cell(v(key, (r) => r.exposedUsers), 0),
      cell(v(key, (r) => r.ctrCurrent), 4),
      cell(v(key, (r) => r.ctrChallenger), 4),
      cellPct(v(key, (r) => r.ctrChallenger / r.ctrCurrent - 1), 1),
    ]);
    const mean = (xs: number[]) => meanInterval(xs).mean;
    return {
      tables: [
        {
          title: "Two canaries under the 5 % CTR guardrail",
          columns: ["candidate", "ended (stage, action)", "guardrails breached", "seconds to decision", "requests it answered", "users it answered", "CTR current", "CTR candidate", "relative CTR change"],
          rows,
          note: `Mean ± half-width of the 95 % interval over seeds. Canary share ${params.canaryShare}; ${params.minSamples} users an arm before a decision, a stage holds at ${params.maxSamples}. CTR: the lab's own visits by the arm that answered.`,
        },
      ],
      figures: [
        {
          name: "ctr",
          title: "CTR of each arm during the two canaries",
          svg: barChart({
            title: "CTR by arm during each canary",
            categories: CANDIDATES.map((c) => c.label),
            xLabel: "candidate",
            yLabel: "CTR (mean over seeds)",
            series: [
              { name: "current", values: CANDIDATES.map((c) => mean(v(c.key, (r) => r.ctrCurrent))) },
              { name: "candidate", values: CANDIDATES.map((c) => mean(v(c.key, (r) => r.ctrChallenger))) },
            ],
          }),
        },
      ],
      facts: {
        fired: pct(mean(runs.map((r) => r.metrics.guardrailFired as number))),
        falseRate: pct(mean(runs.map((r) => r.metrics.falseRollback as number))),
        seconds: fmt(mean(v("worse", (r) => r.seconds)), 0),
        requests: fmt(mean(v("worse", (r) => r.exposedRequests)), 0),
        drop: pct(-mean(v("worse", (r) => r.ctrChallenger / r.ctrCurrent - 1))),
        sameEnd: [...new Set(runs.map((r) => r.detail.same.status))].join(" / "),
      },
    };
  },
  interview: {
    holds: ({ facts }) =>
      `"Yes, with a guardrail that cannot be fooled by peeking. On our live stack the controller's 5 % CTR guardrail rolled a reversed ranker back in ${facts.fired} of canaries, ${facts.seconds} s in, after it had answered ${facts.requests} requests (its CTR was ${facts.drop} lower), and a copy of the model in service was rolled back in ${facts.falseRate} (it ended ${facts.sameEnd}). The interval is always-valid, so checking it every few seconds does not inflate false alarms."`,
    "does not hold": ({ facts }) =>
      `"Not as configured here: the 5 % CTR guardrail fired on the reversed ranker in ${facts.fired} of canaries, and rolled back an identical copy in ${facts.falseRate}. A guardrail needs enough users per arm and an interval valid under repeated looks; check both before trusting it to act alone."`,
    inconclusive: ({ checks, facts }) =>
      `"The guardrail fired on the reversed ranker in ${facts.fired} of canaries after ${facts.seconds} s and on the A/A copy in ${facts.falseRate}; not settled (${openParts(checks)})."`,
  },
});
