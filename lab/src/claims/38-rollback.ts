import { Rng } from "@mlsd/random";
import { defineClaim } from "../harness/experiment";
import { openParts, pct } from "../harness/phrases";
import { meanInterval } from "../harness/stats";
import { cell, cellPct, fmt } from "../harness/table";
import { atLeast } from "../harness/verdict";
import { publishCandidateRanker, runRollout, withRolloutStack, type RolloutClaimParams, type RolloutRun } from "../live/rollout";

type Params = RolloutClaimParams;

interface Detail {
  run: RolloutRun;
  users: number;
}

export default defineClaim<Params, Detail>({
  id: "38",
  aliases: ["55"],
  slug: "rollback",
  title: "Roll back on a sustained metric regression",
  live: true,
  claim:
    "When a model fails in production, roll back to the last good version first and investigate after; the trigger is a sustained regression of the metric the model exists for, measured online, not a single bad minute.",
  question: "What do you do when a model fails in production? Model rollback trigger? (grill Q38, Q55)",
  setup: [
    "The live recommendation path (recommender, retrieval, ranker) with the rollout controller (services/rollout-controller) on @mlsd/testkit's Redis and Kafka, the trainer's models for a synthetic world. A deliberately worse ranker is published as the candidate: the model in service with its scores negated, so it orders each request's candidates in reverse.",
    "",
    "World users visit concurrently: each gets a recommendation from the live recommender and clicks what the world's click model draws from the items' true relevance (position-based examination), reported through the recommender's click endpoint. The candidate goes straight to canary; the controller reads the served answers and clicks off Kafka, compares CTR per user between the arms with its sequential test and guardrails, and rolls back or promotes on its own. Measured: the decision, what triggered it, real seconds from the start to the decision, and what the candidate answered before it (requests, distinct users).",
    "",
    "Checks: the worse candidate is rolled back (1 per seed when it was, 0 otherwise), and the rollback came from the online metric (the CTR test or its relative-drop guardrail) rather than from a latency or error guardrail or an exhausted budget. The stage budget is set to hold, so running out of samples is not a rollback.",
  ].join("\n"),
  sizes: {
    default: { world: { numUsers: 300, numItems: 1000, sessionsPerUser: 10 }, workers: 4, before: 200, maxVisits: 20_000, k: 10, canaryShare: 0.5, abShare: 0.5, minSamples: 50, maxSamples: 2_000, onBudget: "hold" },
    quick: { world: { numUsers: 200, numItems: 600, sessionsPerUser: 10 }, workers: 4, before: 50, maxVisits: 6_000, k: 10, canaryShare: 0.5, abShare: 0.5, minSamples: 30, maxSamples: 1_000, onBudget: "hold" },
  },
  seeds: { default: 3, quick: 1 },
  checks: [
    { id: "rolled-back", metric: "rolledBack", description: "the worse candidate was rolled back by the controller (1) or not (0)", rule: atLeast(0.5) },
    { id: "on-the-metric", metric: "onMetric", description: "the rollback was triggered by the online metric (CTR test or its 5 % guardrail), not by latency, errors or a budget (1) or not (0)", rule: atLeast(0.5) },
  ],
  async run(p, ctx) {
    return withRolloutStack(ctx.seed, p, ctx.log, async (stack, client, users) => {
      const candidate = await publishCandidateRanker(stack.registryDir, "reversed");
      ctx.log(`candidate ranker-gbdt@${candidate}`);
      const run = await runRollout(client, stack, { stages: ["canary"], users, k: p.k, workers: p.workers, before: p.before, maxVisits: p.maxVisits, rng: new Rng(ctx.seed), log: ctx.log });
      return {
        metrics: {
          rolledBack: run.status === "rolled-back" ? 1 : 0,
          onMetric: run.status === "rolled-back" && run.breached.every((g) => g === "primary-drop") ? 1 : 0,
          exposedShare: run.visits > 0 ? run.exposedRequests / run.visits : Number.NaN,
          seconds: run.seconds,
        },
        detail: { run, users: users.length },
      };
    });
  },
  report({ runs, params }) {
    const v = (f: (r: RolloutRun) => number) => runs.map((r) => f(r.detail.run));
    const rows = runs.map((r) => [
      String(r.seed),
      `${r.detail.run.status} (${r.detail.run.stage}, ${r.detail.run.action})`,
      r.detail.run.breached.join(", ") || "none",
      fmt(r.detail.run.seconds, 1),
      String(r.detail.run.visits),
      `${r.detail.run.exposedRequests} / ${r.detail.run.exposedUsers}`,
      fmt(r.detail.run.ctrCurrent, 4),
      fmt(r.detail.run.ctrChallenger, 4),
    ]);
    const iv = (m: string) => meanInterval(runs.map((r) => r.metrics[m] as number));
    return {
      tables: [
        {
          title: "A reversed ranker in canary: the controller's decision, per seed",
          columns: ["seed", "ended", "guardrails breached", "seconds to decision", "visits", "candidate answered (requests / users)", "CTR current", "CTR candidate"],
          rows,
          note: `Canary share ${params.canaryShare}, ${params.minSamples} users an arm before a stage may end, ${params.workers} concurrent visitors. CTR: the lab's own visits by the arm that answered.`,
        },
        {
          title: "Over seeds",
          columns: ["measure", "value"],
          rows: [
            ["rolled back", cellPct(v((r) => (r.status === "rolled-back" ? 1 : 0)), 0)],
            ["seconds to the decision", cell(v((r) => r.seconds), 1)],
            ["requests the candidate answered", cell(v((r) => r.exposedRequests), 0)],
            ["users the candidate answered", cell(v((r) => r.exposedUsers), 0)],
            ["share of visits answered by the candidate", cellPct(v((r) => (r.visits > 0 ? r.exposedRequests / r.visits : Number.NaN)), 1)],
            ["CTR current / candidate", `${cell(v((r) => r.ctrCurrent), 4)} / ${cell(v((r) => r.ctrChallenger), 4)}`],
          ],
        },
      ],
      figures: [],
      facts: {
        rolledBack: pct(iv("rolledBack").mean),
        seconds: fmt(iv("seconds").mean, 0),
        requests: fmt(meanInterval(v((r) => r.exposedRequests)).mean, 0),
        users: fmt(meanInterval(v((r) => r.exposedUsers)).mean, 0),
        share: pct(iv("exposedShare").mean),
        trigger: [...new Set(runs.flatMap((r) => r.detail.run.breached))].join(", ") || "the sequential test",
        ctrCurrent: fmt(meanInterval(v((r) => r.ctrCurrent)).mean, 3),
        ctrCandidate: fmt(meanInterval(v((r) => r.ctrChallenger)).mean, 3),
      },
    };
  },
  interview: {
    holds: ({ facts }) =>
      `"Roll back first, automatically, on the metric the model is for. Our rollout controller put a deliberately reversed ranker on canary and rolled it back in ${facts.rolledBack} of runs, ${facts.seconds} s after the start, triggered by ${facts.trigger} (CTR ${facts.ctrCandidate} against ${facts.ctrCurrent}); by then it had answered ${facts.requests} requests from ${facts.users} users, ${facts.share} of the traffic. The canary share and the sample size the test needs are the dials: they set how many users pay before the decision. Then investigate: data, features, code, infra."`,
    "does not hold": ({ facts }) =>
      `"Not here: the controller rolled the reversed ranker back in only ${facts.rolledBack} of runs (CTR ${facts.ctrCandidate} against ${facts.ctrCurrent}), and it answered ${facts.share} of the traffic while being judged. An automatic rollback is only as good as its trigger: check that the metric reaches the controller and the test has the samples to decide."`,
    inconclusive: ({ checks, facts }) =>
      `"The reversed ranker was rolled back in ${facts.rolledBack} of runs after ${facts.seconds} s, answering ${facts.requests} requests from ${facts.users} users first; not settled (${openParts(checks)})."`,
  },
});
