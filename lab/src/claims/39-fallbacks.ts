import { barChart } from "@mlsd/plot";
import { Rng } from "@mlsd/random";
import { defineClaim } from "../harness/experiment";
import { openParts, pct } from "../harness/phrases";
import { meanInterval } from "../harness/stats";
import { cell, cellPct, fmt } from "../harness/table";
import { atLeast, atMost } from "../harness/verdict";
import { quantile, TimedJsonClient } from "../live/http";
import { recommend, slateRelevance, warmUsers } from "../live/recs-traffic";
import { withLiveStack, type LiveStack, type LiveWorld } from "../live/stack";

interface Params {
  world: LiveWorld;
  /** Seconds of traffic per phase. */
  phaseSeconds: number;
  /** Concurrent clients, each sending its next request when the last is answered. */
  workers: number;
  users: number;
  k: number;
  /** The recommender's whole-request budget, ms (each stage gets the smaller of its deadline and what is left). */
  budgetMs: number;
  /** A request not answered within this long counts as unavailable. */
  clientTimeoutMs: number;
}

type PhaseName = "healthy" | "retrieval down" | "retrieval back" | "ranker down" | "ranker back" | "redis down";
const PHASES: readonly PhaseName[] = ["healthy", "retrieval down", "retrieval back", "ranker down", "ranker back", "redis down"];
const OUTAGES: readonly PhaseName[] = ["retrieval down", "ranker down", "redis down"];

interface Phase {
  name: PhaseName;
  requests: number;
  /** Share answered 200 within the client timeout. */
  availability: number;
  p50: number;
  p99: number;
  /** Mean true click probability of the served slates (the world's relevance). */
  relevance: number;
  /** Share of answers by each fallback ("model" when none). */
  answeredBy: Record<string, number>;
}

interface Detail {
  phases: Phase[];
}

async function drive(client: TimedJsonClient, stack: LiveStack, users: readonly string[], p: Params, rng: Rng, name: PhaseName): Promise<Phase> {
  const end = performance.now() + p.phaseSeconds * 1000;
  const latencies: number[] = [];
  let ok = 0;
  let relevance = 0;
  const by: Record<string, number> = {};
  const worker = async () => {
    while (performance.now() < end) {
      const userId = users[rng.int(users.length)] as string;
      const a = await recommend(client, stack, userId, p.k);
      latencies.push(a.ms);
      if (a.status === 200 && a.body && a.ms <= p.clientTimeoutMs) {
        ok++;
        relevance += slateRelevance(stack, userId, a.body.items);
        const kind = a.body.fallback ?? "model";
        by[kind] = (by[kind] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: p.workers }, worker));
  const n = latencies.length;
  return {
    name,
    requests: n,
    availability: n > 0 ? ok / n : 0,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    relevance: ok > 0 ? relevance / ok : Number.NaN,
    answeredBy: Object.fromEntries(Object.entries(by).map(([k, v]) => [k, v / Math.max(1, ok)])),
  };
}

export default defineClaim<Params, Detail>({
  id: "39",
  aliases: [],
  slug: "fallbacks",
  title: "Fallbacks keep serving through an outage",
  live: true,
  claim:
    "A serving path with a fallback at every dependency (popularity when the feature store or retrieval is down, retrieval order when the ranker is) keeps answering through an outage, within its latency budget, at a measurable loss of quality; no dependency's failure becomes the product's failure.",
  question: "Fallback for serving outage? (grill Q39)",
  setup: [
    "The live recommendation path (recommender, retrieval and ranker services as their own processes, @mlsd/testkit's Redis and Kafka, the trainer's models and features for a synthetic world) under steady closed-loop load from several clients, users the models answer.",
    "",
    "Phases of equal length, one after another: healthy; the retrieval service killed (SIGKILL); retrieval restarted; the ranker killed; the ranker restarted; Redis stopped. Per phase: availability (answered 200 within the client's timeout), latency p50/p99, which path answered (the model, or which fallback), and the quality of what was served, as the mean true click probability of the slate's items by the world's own relevance (the ground truth no model sees).",
    "",
    "Checks: the lowest availability over the three outages, and the highest outage p99 against the recommender's request budget. The quality lost to each fallback is reported, not judged: the claim is that the product keeps answering, and the price is the table's last column.",
  ].join("\n"),
  sizes: {
    default: { world: { numUsers: 300, numItems: 1000, sessionsPerUser: 10 }, phaseSeconds: 8, workers: 4, users: 100, k: 10, budgetMs: 250, clientTimeoutMs: 1000 },
    quick: { world: { numUsers: 200, numItems: 600, sessionsPerUser: 10 }, phaseSeconds: 2, workers: 4, users: 30, k: 10, budgetMs: 250, clientTimeoutMs: 1000 },
  },
  seeds: { default: 3, quick: 1 },
  checks: [
    { id: "available", metric: "minAvailability", description: "lowest availability over the outages (answered 200 within the client timeout)", rule: atLeast(0.99) },
    { id: "within-budget", metric: "worstP99OverBudget", description: "highest outage p99 over the recommender's request budget", rule: atMost(1), digits: 2 },
  ],
  async run(p, ctx) {
    const deadlines = { REQUEST_BUDGET_MS: String(p.budgetMs), REDIS_DEADLINE_MS: String(Math.round(p.budgetMs * 0.4)), RETRIEVAL_DEADLINE_MS: String(Math.round(p.budgetMs * 0.4)), RANKER_DEADLINE_MS: String(Math.round(p.budgetMs * 0.4)) };
    return withLiveStack({ seed: ctx.seed, world: p.world, services: ["retrieval", "ranker", "recommender"], env: { recommender: deadlines, ranker: { FEATURE_DEADLINE_MS: String(Math.round(p.budgetMs * 0.2)) } }, log: ctx.log }, async (stack) => {
      const client = new TimedJsonClient(p.clientTimeoutMs * 5);
      const rng = new Rng(ctx.seed);
      try {
        const users = await warmUsers(client, stack, p.k, p.users);
        const phases: Phase[] = [];
        const phase = async (name: PhaseName) => {
          const ph = await drive(client, stack, users, p, rng, name);
          phases.push(ph);
          ctx.log(`${name}: ${ph.requests} requests, ${pct(ph.availability, 1)} answered, p99 ${fmt(ph.p99, 1)} ms, relevance ${fmt(ph.relevance)}, by ${Object.entries(ph.answeredBy).map(([k, v]) => `${k} ${pct(v)}`).join(", ")}`);
        };
        await phase("healthy");
        await stack.killService("retrieval");
        await phase("retrieval down");
        await stack.restartService("retrieval");
        await phase("retrieval back");
        await stack.killService("ranker");
        await phase("ranker down");
        await stack.restartService("ranker");
        await phase("ranker back");
        await stack.redis.stop();
        await phase("redis down");
        const outages = phases.filter((ph) => OUTAGES.includes(ph.name));
        const healthy = phases[0] as Phase;
        return {
          metrics: {
            minAvailability: Math.min(...outages.map((o) => o.availability)),
            worstP99OverBudget: Math.max(...outages.map((o) => o.p99)) / p.budgetMs,
            healthyAvailability: healthy.availability,
          },
          detail: { phases },
        };
      } finally {
        client.close();
      }
    });
  },
  report({ runs, params }) {
    const col = (j: number, f: (ph: Phase) => number) => runs.map((r) => f(r.detail.phases[j] as Phase));
    const healthyRel = runs.map((r) => (r.detail.phases[0] as Phase).relevance);
    const kinds = [...new Set(runs.flatMap((r) => r.detail.phases.flatMap((ph) => Object.keys(ph.answeredBy))))].sort();
    const rows = PHASES.map((name, j) => [
      name,
      cell(col(j, (ph) => ph.requests), 0),
      cellPct(col(j, (ph) => ph.availability), 2),
      cell(col(j, (ph) => ph.p50), 1),
      cell(col(j, (ph) => ph.p99), 1),
      kinds
        .map((k) => [k, meanInterval(col(j, (ph) => ph.answeredBy[k] ?? 0)).mean] as const)
        .filter(([, v]) => v > 0.005)
        .map(([k, v]) => `${k} ${pct(v)}`)
        .join(", "),
      cell(col(j, (ph) => ph.relevance), 4),
      cellPct(runs.map((r, i) => (r.detail.phases[j] as Phase).relevance / (healthyRel[i] as number)), 1),
    ]);
    const mean = (j: number, f: (ph: Phase) => number) => meanInterval(col(j, f)).mean;
    const iv = (m: string) => meanInterval(runs.map((r) => r.metrics[m] as number));
    const rel = (name: PhaseName) => pct(mean(PHASES.indexOf(name), (ph) => ph.relevance) / meanInterval(healthyRel).mean);
    return {
      tables: [
        {
          title: "Each phase: availability, latency, who answered, quality of what was served",
          columns: ["phase", "requests", "answered", "p50 ms", "p99 ms", "answered by", "true relevance", "relevance vs healthy"],
          rows,
          note: `Mean ± half-width of the 95 % interval over seeds; ${params.phaseSeconds} s per phase, ${params.workers} concurrent clients, request budget ${params.budgetMs} ms. 'True relevance': mean click probability of the served items under the world's own model of the user.`,
        },
      ],
      figures: [
        {
          name: "phases",
          title: "Availability and quality by phase",
          svg: barChart({
            title: "Serving through outages: availability and relevance vs healthy",
            categories: [...PHASES],
            xLabel: "phase",
            yLabel: "share",
            series: [
              { name: "answered", values: PHASES.map((_, j) => mean(j, (ph) => ph.availability)) },
              { name: "relevance vs healthy", values: PHASES.map((_, j) => mean(j, (ph) => ph.relevance) / meanInterval(healthyRel).mean) },
            ],
          }),
        },
      ],
      facts: {
        minAvailability: pct(iv("minAvailability").mean, 2),
        worstP99: fmt(iv("worstP99OverBudget").mean * params.budgetMs, 0),
        budget: String(params.budgetMs),
        relRetrieval: rel("retrieval down"),
        relRanker: rel("ranker down"),
        relRedis: rel("redis down"),
      },
    };
  },
  interview: {
    holds: ({ facts }) =>
      `"Every dependency gets a deadline, a breaker and a fallback. On our live stack, killing retrieval, then the ranker, then stopping Redis, the recommender still answered at least ${facts.minAvailability} of requests with the worst outage p99 at ${facts.worstP99} ms against a ${facts.budget} ms budget. The price is quality: the slates kept ${facts.relRetrieval} of their true relevance on popularity when retrieval was down, ${facts.relRanker} on retrieval order without the ranker, ${facts.relRedis} on popularity without Redis. So I degrade to the next-best answer and alert, rather than fail the page."`,
    "does not hold": ({ checks, facts }) =>
      `"Not fully here: the lowest availability through an outage was ${facts.minAvailability} and the worst outage p99 ${facts.worstP99} ms against a ${facts.budget} ms budget (${Object.values(checks)
        .filter((c) => c.verdict === "does not hold")
        .map((c) => `${c.check.description}: ${c.interval.mean.toFixed(c.check.digits ?? 3)} against ${c.ruleText}`)
        .join("; ")}). Fallbacks exist on every path, but the moments around a failure (connections refused, breakers not yet open) still cost answers; that is what to fix next."`,
    inconclusive: ({ checks, facts }) =>
      `"The lowest availability through an outage was ${facts.minAvailability}, the worst outage p99 ${facts.worstP99} ms against ${facts.budget} ms; relevance kept ${facts.relRetrieval} / ${facts.relRanker} / ${facts.relRedis} without retrieval / ranker / Redis; not settled (${openParts(checks)})."`,
  },
});
