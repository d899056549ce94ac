import { barChart } from "@mlsd/plot";
import { Rng } from "@mlsd/random";
import { defineClaim } from "../harness/experiment";
import { openParts, pct, phraseRatio } from "../harness/phrases";
import { meanInterval } from "../harness/stats";
import { cell, cellPct, fmt } from "../harness/table";
import { atLeast, atMost } from "../harness/verdict";
import type { TimedJsonClient } from "../live/http";
import { publishCandidateRanker, runRollout, userVisit, withRolloutStack, type RolloutClaimParams, type RolloutRun } from "../live/rollout";
import type { LiveStack } from "../live/stack";

type Params = RolloutClaimParams;

const MODES = ["shadow", "canary", "ab"] as const;
type Mode = (typeof MODES)[number];

interface ModeRun extends RolloutRun {
  /** Ranker CPU per visit during the rollout over the same just before it, minus 1. */
  extraRankerCpu: number;
}

type Detail = Record<Mode, ModeRun>;

export default defineClaim<Params, Detail>({
  id: "31",
  aliases: [],
  slug: "rollout-modes",
  title: "Shadow, canary and A/B rollouts trade exposure against detection time",
  live: true,
  claim:
    "Shadow runs the candidate on live traffic and discards its answers (no user sees it, the serving cost doubles); a canary shows it to a small share; an A/B test to a large one. The smaller the share, the fewer users a bad model reaches, and the longer it takes to collect the evidence to stop it.",
  question: "Shadow vs canary deployment? (grill Q31; seed 002: shadow, canary)",
  setup: [
    "The live recommendation path with the rollout controller on @mlsd/testkit's Redis and Kafka, the trainer's models for a synthetic world; world users visit concurrently and click by the world's click model on the items' true relevance. The candidate is a deliberately worse ranker (the model in service with its scores negated).",
    "",
    "Three rollouts of the same candidate per seed, one after the other on the same stack, each a single stage: shadow (the ranker scores the candidate beside the model in service and logs it; the controller judges its NDCG on the clicked items of the answers served), canary (the candidate answers the canary share of users) and A/B (the A/B share). Measured for each: the decision and seconds to it, the users and requests the candidate answered (its exposure), and the extra load: the ranker process's CPU per visit during the rollout over the same measured just before it.",
    "",
    "Checks: shadow exposes no user; a canary exposes fewer users than an A/B test before the decision; and takes longer to reach it.",
  ].join("\n"),
  sizes: {
    default: { world: { numUsers: 300, numItems: 1000, sessionsPerUser: 10 }, users: 300, workers: 4, before: 300, maxVisits: 8_000, k: 10, canaryShare: 0.2, abShare: 0.5, minSamples: 30, maxSamples: 150, onBudget: "hold" },
    quick: { world: { numUsers: 200, numItems: 600, sessionsPerUser: 10 }, users: 150, workers: 4, before: 60, maxVisits: 2_500, k: 10, canaryShare: 0.2, abShare: 0.5, minSamples: 15, maxSamples: 40, onBudget: "hold" },
  },
  seeds: { default: 3, quick: 1 },
  checks: [
    { id: "shadow-exposes-none", metric: "shadowUsers", description: "users the candidate answered in shadow", rule: atMost(0.5), digits: 1 },
    { id: "canary-exposes-fewer", metric: "exposureRatio", description: "users the candidate answered in canary over in A/B, before the decision", rule: atMost(0.8), digits: 2 },
    { id: "canary-detects-later", metric: "detectionRatio", description: "seconds to the decision in canary over in A/B", rule: atLeast(1.25), digits: 2 },
  ],
  async run(p, ctx) {
    return withRolloutStack(ctx.seed, p, ctx.log, async (stack, client, users) => {
      const rng = new Rng(ctx.seed);
      await publishCandidateRanker(stack.registryDir, "reversed");
      const runs = {} as Detail;
      for (const mode of MODES) {
        // The ranker's CPU per visit just before the rollout: the baseline its extra load is measured against.
        const cpu0 = stack.cpuSeconds("ranker");
        const before = await runBaseline(client, stack, users, p, rng);
        const baseline = (stack.cpuSeconds("ranker") - cpu0) / before;
        const run = await runRollout(client, stack, { stages: [mode], users, k: p.k, workers: p.workers, before: 0, maxVisits: p.maxVisits, rng, log: ctx.log });
        runs[mode] = { ...run, extraRankerCpu: run.rankerCpuMsPerVisit / 1000 / baseline - 1 };
      }
      return {
        metrics: {
          shadowUsers: runs.shadow.exposedUsers,
          exposureRatio: runs.canary.exposedUsers / Math.max(1, runs.ab.exposedUsers),
          detectionRatio: runs.canary.seconds / runs.ab.seconds,
        },
        detail: runs,
      };
    });
  },
  report({ runs, params }) {
    const v = (mode: Mode, f: (r: ModeRun) => number) => runs.map((r) => f(r.detail[mode]));
    const share: Record<Mode, string> = { shadow: "0 (answers discarded)", canary: pct(params.canaryShare), ab: pct(params.abShare) };
    const rows = MODES.map((mode) => [
      mode,
      share[mode],
      [...new Set(runs.map((r) => `${r.detail[mode].status} (${r.detail[mode].action})`))].join("; "),
      cell(v(mode, (r) => r.seconds), 1),
      cell(v(mode, (r) => r.exposedUsers), 0),
      cell(v(mode, (r) => r.exposedRequests), 0),
      cell(v(mode, (r) => r.visits), 0),
      cellPct(v(mode, (r) => r.extraRankerCpu), 0),
    ]);
    const mean = (xs: number[]) => meanInterval(xs).mean;
    const iv = (m: string) => meanInterval(runs.map((r) => r.metrics[m] as number));
    return {
      tables: [
        {
          title: "The same worse ranker through shadow, canary and A/B",
          columns: ["mode", "users who see it", "ended", "seconds to decision", "users it answered", "requests it answered", "visits during the rollout", "extra ranker CPU per visit"],
          rows,
          note: `Mean ± half-width of the 95 % interval over seeds. ${params.minSamples} units an arm before a decision (users in canary and A/B, judged answers in shadow); a stage holds at ${params.maxSamples}. Extra CPU: the ranker process's CPU per visit during the rollout over the ${params.before} visits just before it.`,
        },
      ],
      figures: [
        {
          name: "exposure",
          title: "Exposure and time to the decision by rollout mode",
          svg: barChart({
            title: "Users the worse ranker answered, and seconds to the decision",
            categories: [...MODES],
            xLabel: "rollout mode",
            yLabel: "mean over seeds",
            series: [
              { name: "users it answered", values: MODES.map((m) => mean(v(m, (r) => r.exposedUsers))) },
              { name: "seconds to decision", values: MODES.map((m) => mean(v(m, (r) => r.seconds))) },
            ],
          }),
        },
      ],
      facts: {
        shadowSeconds: fmt(mean(v("shadow", (r) => r.seconds)), 0),
        shadowCpu: pct(mean(v("shadow", (r) => r.extraRankerCpu))),
        canaryUsers: fmt(mean(v("canary", (r) => r.exposedUsers)), 0),
        abUsers: fmt(mean(v("ab", (r) => r.exposedUsers)), 0),
        canarySeconds: fmt(mean(v("canary", (r) => r.seconds)), 0),
        abSeconds: fmt(mean(v("ab", (r) => r.seconds)), 0),
        detectionRatio: phraseRatio(iv("detectionRatio").mean),
        canaryShare: pct(params.canaryShare),
        abShare: pct(params.abShare),
      },
    };
  },
  interview: {
    holds: ({ facts }) =>
      `"They trade exposure for time and cost. With the same worse ranker on our live stack: shadow reached no user and decided in ${facts.shadowSeconds} s, at ${facts.shadowCpu} more ranker CPU per request; a ${facts.canaryShare} canary exposed ${facts.canaryUsers} users and took ${facts.canarySeconds} s; a ${facts.abShare} A/B exposed ${facts.abUsers} users but decided in ${facts.abSeconds} s (${facts.detectionRatio} faster than the canary). So: shadow first when the metric can be judged offline from logged answers, then a small canary, A/B only to measure a real effect."`,
    "does not hold": ({ checks, facts }) =>
      `"Not cleanly here: shadow decided in ${facts.shadowSeconds} s; the ${facts.canaryShare} canary exposed ${facts.canaryUsers} users in ${facts.canarySeconds} s against ${facts.abUsers} users in ${facts.abSeconds} s for the ${facts.abShare} A/B. ${Object.values(checks)
        .filter((c) => c.verdict === "does not hold")
        .map((c) => `${c.check.description}: ${c.interval.mean.toFixed(c.check.digits ?? 3)} against ${c.ruleText}`)
        .join("; ")}. A sequential test needs a number of users per arm whatever the split, so a small canary mostly buys time, not fewer exposed users, once the candidate is clearly bad."`,
    inconclusive: ({ checks, facts }) =>
      `"Shadow decided in ${facts.shadowSeconds} s with no user exposed; canary ${facts.canaryUsers} users in ${facts.canarySeconds} s, A/B ${facts.abUsers} users in ${facts.abSeconds} s; not settled (${openParts(checks)})."`,
  },
});

/** `before` visits with no rollout running: the ranker's baseline CPU per visit. Returns the visits made. */
async function runBaseline(client: TimedJsonClient, stack: LiveStack, users: readonly string[], p: Params, rng: Rng): Promise<number> {
  let made = 0;
  const worker = async () => {
    while (made < p.before) {
      made++;
      await userVisit(client, stack, users[rng.int(users.length)] as string, p.k, rng);
    }
  };
  await Promise.all(Array.from({ length: p.workers }, worker));
  return made;
}
