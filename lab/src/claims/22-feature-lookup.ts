import type { CandidatesResponse } from "@mlsd/contracts";
import { CachedRecsFeatureStore, RedisRecsFeatureStore } from "@mlsd/feature-store";
import { barChart } from "@mlsd/plot";
import { Redis } from "ioredis";
import { defineClaim } from "../harness/experiment";
import { openParts, pct, phraseRatio } from "../harness/phrases";
import { meanInterval } from "../harness/stats";
import { cell, cellPct, fmt } from "../harness/table";
import { atLeast, atMost } from "../harness/verdict";
import { quantile, TimedJsonClient } from "../live/http";
import { recommend, warmUsers } from "../live/recs-traffic";
import { withLiveStack, type LiveStack, type LiveWorld } from "../live/stack";

interface Params {
  world: LiveWorld;
  /** Recommendation requests per ranker setting, one at a time. */
  requests: number;
  /** Users the requests cycle over (the first ones the models answer). */
  users: number;
  /** Users whose candidate lists are read each way on Redis. */
  readUsers: number;
  /** Candidates per request (the recommender's default). */
  candidates: number;
  k: number;
  /** The ranker's item cache when it is on. */
  cacheTtlMs: number;
}

/** p50 and p99 of each stage, ms. */
type Stages = Record<string, { p50: number; p99: number }>;

interface Detail {
  /** The live path with the ranker's pipelined reads, and with its local item cache on. */
  live: { pipelined: Stages; cached: Stages };
  /** The same candidate lists read from the same Redis three ways. */
  reads: { perKey: { p50: number; p99: number }; pipelined: { p50: number; p99: number }; cached: { p50: number; p99: number } };
}

/** The stages of one answer the table shows, in path order; the recommender's own and its dependencies' (prefixed). */
const STAGES = [
  { key: "user", label: "recommender: user state + history (Redis)" },
  { key: "retrieval", label: "recommender: retrieval call (HTTP)" },
  { key: "rank", label: "recommender: ranker call (HTTP)" },
  { key: "ranker.features", label: "  ranker: candidate features (Redis)" },
  { key: "ranker.assemble", label: "  ranker: assemble rows" },
  { key: "ranker.model", label: "  ranker: GBDT" },
  { key: "publish", label: "recommender: publish events" },
  { key: "total", label: "recommender: total (its own clock)" },
  { key: "client", label: "end to end (client)" },
] as const;

const CLIENT = "client";

function stagesOf(samples: Map<string, number[]>): Stages {
  const out: Stages = {};
  for (const [key, values] of samples) out[key] = { p50: quantile(values, 0.5), p99: quantile(values, 0.99) };
  return out;
}

async function livePass(client: TimedJsonClient, stack: LiveStack, users: readonly string[], p: Params): Promise<Stages> {
  const samples = new Map<string, number[]>();
  const add = (key: string, ms: number) => (samples.get(key) ?? samples.set(key, []).get(key))?.push(ms);
  let fallbacks = 0;
  for (let r = 0; r < p.requests; r++) {
    const a = await recommend(client, stack, users[r % users.length] as string, p.k);
    if (a.status !== 200 || !a.body) throw new Error(`claim 22: the recommender answered ${a.status} ${a.error ?? ""}`);
    if (a.body.fallback !== null) {
      fallbacks++;
      continue;
    }
    add(CLIENT, a.ms);
    for (const [key, ms] of Object.entries(a.body.timings)) add(key, ms);
  }
  // A path that fell back would time a different path; a few on a loaded machine are tolerated, not measured.
  if (fallbacks > p.requests * 0.05) throw new Error(`claim 22: ${fallbacks} of ${p.requests} answers were fallbacks; the stage breakdown would not be of the model path`);
  return stagesOf(samples);
}

const summary = (values: number[]) => ({ p50: quantile(values, 0.5), p99: quantile(values, 0.99) });

export default defineClaim<Params, Detail>({
  id: "22",
  aliases: [],
  slug: "feature-lookup",
  title: "Feature lookup dominates serving latency unless it is batched or cached",
  live: true,
  claim:
    "Where does the time of an online recommendation go? Network, feature lookup, inference, post-processing; and feature lookup dominates when each feature is a separate read. Batching the reads into one round trip, or caching item features in the process, takes it off the top.",
  question: "Where does latency go in online serving? (grill Q22)",
  setup: [
    "The live recommendation path: the recommender, retrieval and ranker services as their own processes on @mlsd/testkit's Redis and Kafka, with the trainer's models and features for a synthetic world. Requests go one at a time to `POST /v1/recommendations` for users the models answer (no fallback); each answer carries its stage timings (the recommender's own and its dependencies'), and the client times it end to end.",
    "",
    "Two ranker settings, on the same stack: its one pipelined Redis read per request (the user and every candidate's item bucket in one round trip), then restarted with its local item-feature cache on. Separately, the same candidate lists (from the live retrieval service) are read from the same Redis three ways with the feature store's own code: **per key** (one round trip per candidate, awaited in turn, the naive loop), **pipelined** (one round trip) and through the **local cache** (warmed by one pass).",
    "",
    "Checks: with per-key reads, the lookup's share of a request (per-key p50 over per-key p50 plus the rest of the live path's p50); with the pipelined read, the candidate features' share of the live end-to-end p50; and the cache's speed-up of the live feature stage.",
  ].join("\n"),
  sizes: {
    default: { world: { numUsers: 300, numItems: 1000, sessionsPerUser: 10 }, requests: 1500, users: 100, readUsers: 100, candidates: 200, k: 10, cacheTtlMs: 60_000 },
    quick: { world: { numUsers: 200, numItems: 600, sessionsPerUser: 10 }, requests: 100, users: 20, readUsers: 10, candidates: 200, k: 10, cacheTtlMs: 60_000 },
  },
  seeds: { default: 3, quick: 1 },
  checks: [
    { id: "per-key-dominates", metric: "perKeyShare", description: "share of a request's p50 spent on per-key feature reads", rule: atLeast(0.5) },
    { id: "batched-does-not", metric: "pipelinedShare", description: "share of the live end-to-end p50 spent on the ranker's pipelined feature read", rule: atMost(0.5) },
    { id: "cache-helps", metric: "cacheSpeedup", description: "live ranker feature stage p50 without the item cache over with it", rule: atLeast(1.2), digits: 2 },
  ],
  async run(p, ctx) {
    return withLiveStack({ seed: ctx.seed, world: p.world, services: ["retrieval", "ranker", "recommender"], env: { recommender: { CANDIDATES: String(p.candidates), REQUEST_BUDGET_MS: "2000", REDIS_DEADLINE_MS: "1000", RETRIEVAL_DEADLINE_MS: "1000", RANKER_DEADLINE_MS: "1000" }, ranker: { FEATURE_DEADLINE_MS: "1000" } }, log: ctx.log }, async (stack) => {
      const client = new TimedJsonClient();
      const redis = new Redis(stack.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        const users = await warmUsers(client, stack, p.k, Math.max(p.readUsers, p.users));
        ctx.log(`${users.length} users answered by the models`);
        const pipelined = await livePass(client, stack, users, p);

        // The same candidate lists, read three ways from the same Redis with the feature store's code.
        await redis.connect();
        const store = new RedisRecsFeatureStore(redis);
        const cache = new CachedRecsFeatureStore(store, { maxItems: 50_000, ttlMs: p.cacheTtlMs });
        const lists: { userId: string; itemIds: string[] }[] = [];
        for (const userId of users.slice(0, p.readUsers)) {
          const a = await client.post<CandidatesResponse>(`${stack.url("retrieval")}/v1/candidates`, { userId, k: p.candidates });
          if (a.status !== 200 || !a.body) throw new Error(`claim 22: retrieval answered ${a.status}`);
          lists.push({ userId, itemIds: a.body.candidates.map((c) => c.itemId) });
        }
        const timeEach = async (read: (l: (typeof lists)[number]) => Promise<unknown>) => {
          const ms: number[] = [];
          for (const l of lists) {
            const t0 = performance.now();
            await read(l);
            ms.push(performance.now() - t0);
          }
          return summary(ms);
        };
        const perKeyRead = async (l: (typeof lists)[number]) => {
          await store.fetch(l.userId, []);
          for (const id of l.itemIds) await store.fetch(l.userId, [id]);
        };
        await timeEach((l) => store.fetch(l.userId, l.itemIds));
        const reads = {
          perKey: await timeEach(perKeyRead),
          pipelined: await timeEach((l) => store.fetch(l.userId, l.itemIds)),
          cached: await (async () => {
            await timeEach((l) => cache.fetch(l.userId, l.itemIds));
            return timeEach((l) => cache.fetch(l.userId, l.itemIds));
          })(),
        };
        ctx.log(`reads of ${p.candidates} candidates: per key p50 ${fmt(reads.perKey.p50, 2)} ms, pipelined ${fmt(reads.pipelined.p50, 2)} ms, cached ${fmt(reads.cached.p50, 2)} ms`);

        await stack.killService("ranker");
        await stack.restartService("ranker", { ITEM_CACHE_TTL_MS: String(p.cacheTtlMs) });
        for (const userId of users) await recommend(client, stack, userId, p.k);
        const cached = await livePass(client, stack, users, p);

        const at = (s: Stages, key: string) => s[key]?.p50 ?? Number.NaN;
        const rest = at(pipelined, CLIENT) - at(pipelined, "ranker.features");
        return {
          metrics: {
            perKeyShare: reads.perKey.p50 / (reads.perKey.p50 + rest),
            pipelinedShare: at(pipelined, "ranker.features") / at(pipelined, CLIENT),
            cacheSpeedup: at(pipelined, "ranker.features") / at(cached, "ranker.features"),
            perKeyOverPipelined: reads.perKey.p50 / reads.pipelined.p50,
          },
          detail: { live: { pipelined, cached }, reads },
        };
      } finally {
        client.close();
        redis.disconnect();
      }
    });
  },
  report({ runs, params }) {
    const live = (which: "pipelined" | "cached", key: string, q: "p50" | "p99") => runs.map((r) => r.detail.live[which][key]?.[q] ?? Number.NaN);
    const stageRows = STAGES.map((s) => [s.label, cell(live("pipelined", s.key, "p50"), 2), cell(live("pipelined", s.key, "p99"), 2), cell(live("cached", s.key, "p50"), 2), cell(live("cached", s.key, "p99"), 2)]);
    const read = (way: keyof Detail["reads"], q: "p50" | "p99") => runs.map((r) => r.detail.reads[way][q]);
    const ways = [
      { way: "perKey" as const, label: `per key (${params.candidates} + 1 round trips)` },
      { way: "pipelined" as const, label: "pipelined (1 round trip)" },
      { way: "cached" as const, label: "local item cache (user read only, warm)" },
    ];
    const mean = (xs: number[]) => meanInterval(xs).mean;
    const iv = (m: string) => meanInterval(runs.map((r) => r.metrics[m] as number));
    return {
      tables: [
        {
          title: "Where a live recommendation's time goes (ms)",
          columns: ["stage", "p50, pipelined read", "p99, pipelined read", "p50, item cache on", "p99, item cache on"],
          rows: stageRows,
          note: `Mean ± half-width of the 95 % interval over seeds; ${params.requests} requests per ranker setting, one at a time, ${params.candidates} candidates each. The dependencies' stages (indented) are inside the recommender's calls to them.`,
        },
        {
          title: `Reading ${params.candidates} candidates' features from the same Redis three ways (ms)`,
          columns: ["read", "p50", "p99"],
          rows: ways.map((w) => [w.label, cell(read(w.way, "p50"), 2), cell(read(w.way, "p99"), 2)]),
          note: `${params.readUsers} users' candidate lists from the live retrieval service, read with the feature store's RedisRecsFeatureStore (per key: one fetch per candidate, awaited in turn) and CachedRecsFeatureStore.`,
        },
        {
          title: "The checks' numbers",
          columns: ["measure", "value"],
          rows: [
            ["per-key reads' share of a request (p50)", cellPct(runs.map((r) => r.metrics.perKeyShare as number))],
            ["pipelined read's share of the live request (p50)", cellPct(runs.map((r) => r.metrics.pipelinedShare as number))],
            ["live feature stage, cache off over on (p50)", cell(runs.map((r) => r.metrics.cacheSpeedup as number), 2)],
            ["per-key over pipelined read (p50)", cell(runs.map((r) => r.metrics.perKeyOverPipelined as number), 1)],
          ],
        },
      ],
      figures: [
        {
          name: "reads",
          title: "Feature reads of one request's candidates, three ways",
          svg: barChart({
            title: `Reading ${params.candidates} candidates' features (p50 and p99, ms, log)`,
            categories: ways.map((w) => w.label),
            xLabel: "read",
            yLabel: "ms",
            yScale: "log",
            series: [
              { name: "p50", values: ways.map((w) => mean(read(w.way, "p50"))) },
              { name: "p99", values: ways.map((w) => mean(read(w.way, "p99"))) },
            ],
          }),
        },
      ],
      facts: {
        perKeyShare: pct(iv("perKeyShare").mean),
        pipelinedShare: pct(iv("pipelinedShare").mean),
        cacheSpeedup: phraseRatio(iv("cacheSpeedup").mean),
        perKeyOverPipelined: phraseRatio(iv("perKeyOverPipelined").mean),
        perKeyP50: fmt(mean(read("perKey", "p50")), 1),
        pipelinedP50: fmt(mean(read("pipelined", "p50")), 2),
        totalP50: fmt(mean(live("pipelined", CLIENT, "p50")), 1),
        candidates: String(params.candidates),
      },
    };
  },
  interview: {
    holds: ({ facts }) =>
      `"Read naively, features are the request: ${facts.candidates} candidates read one key at a time took ${facts.perKeyP50} ms at p50, ${facts.perKeyShare} of the request. One pipelined round trip cut that ${facts.perKeyOverPipelined} to ${facts.pipelinedP50} ms, ${facts.pipelinedShare} of a ${facts.totalP50} ms request, and a local item cache cut the live feature stage another ${facts.cacheSpeedup}. So I batch every lookup of a request into one round trip first, then cache the slow-changing item features in process."`,
    "does not hold": ({ checks, facts }) =>
      `"Not all of it here: per-key reads of ${facts.candidates} candidates took ${facts.perKeyShare} of a request, pipelining cut them ${facts.perKeyOverPipelined} (${facts.pipelinedShare} of the live request), and the item cache changed the live feature stage by ${facts.cacheSpeedup}. Where it failed: ${Object.values(checks)
        .filter((c) => c.verdict === "does not hold")
        .map((c) => `${c.check.description} was ${c.interval.mean.toFixed(c.check.digits ?? 3)} against ${c.ruleText}`)
        .join("; ")}. Measure the stage breakdown before picking the fix."`,
    inconclusive: ({ checks, facts }) =>
      `"Per-key reads of ${facts.candidates} candidates took ${facts.perKeyShare} of a request and pipelining cut them ${facts.perKeyOverPipelined}; the pipelined read was ${facts.pipelinedShare} of the live request and the cache changed it ${facts.cacheSpeedup}; not settled (${openParts(checks)})."`,
  },
});
