import { lineChart } from "@mlsd/plot";
import { Rng } from "@mlsd/random";
import { clickSlate, DEFAULT_CLICK_MODEL, slateOutcome } from "@mlsd/synth";
import { defineClaim } from "../harness/experiment";
import { openParts, pct, phraseRatio } from "../harness/phrases";
import { meanInterval } from "../harness/stats";
import { cell, cellPct, fmt } from "../harness/table";
import { atLeast, atMost } from "../harness/verdict";
import { quantile, TimedJsonClient } from "../live/http";
import { recommend, warmUsers } from "../live/recs-traffic";
import { LIVE_TOKENS, withLiveStack, type LiveWorld } from "../live/stack";

interface Params {
  world: LiveWorld;
  /** Result-cache TTLs compared, ms (0: no cache). The first must be 0: the baseline. */
  ttls: number[];
  /** The TTL the checks read. */
  judgedTtl: number;
  users: number;
  /** Each user asks again this long after its previous answer (and its clicks). */
  thinkMs: number;
  /** Real ms of traffic per TTL. */
  durationMs: number;
  k: number;
}

interface TtlResult {
  ttlMs: number;
  requests: number;
  hitRate: number;
  p50: number;
  p99: number;
  /** Share of the items shown that the user had already clicked before asking: what a stale answer re-shows. */
  reshown: number;
  /** Mean true relevance of the items shown that the user had not clicked yet (the world's click probability). */
  freshRelevance: number;
  clicksPerRequest: number;
  errors: number;
}

interface Detail {
  ttls: TtlResult[];
}

/** A cached answer skipped Redis, retrieval and the ranker: its timings have the cache stage and no user read. */
const isHit = (timings: Record<string, number> | undefined) => timings !== undefined && "cache" in timings && !("user" in timings);

export default defineClaim<Params, Detail>({
  id: "23",
  aliases: [],
  slug: "result-cache",
  title: "Caching predictions trades staleness for latency",
  live: true,
  claim:
    "Caching each user's last recommendation for a while saves the whole two-stage path on every repeat request, so latency falls; but an answer computed before the user's latest clicks does not know them: it shows again what the user has just clicked and misses what the click should have changed. The longer the TTL, the more hits and the staler the answers.",
  question: "How do you cache predictions? What do you lose? (grill Q23)",
  setup: [
    "The live recommender (its own process, with retrieval and the ranker, the trainer's models for a synthetic world, real Redis and Kafka from @mlsd/testkit) with its per-user result cache (`RESULT_CACHE_TTL_MS`: the last model answer for the same user and request replayed while younger than the TTL; fallbacks are never cached).",
    "",
    "World users the models know visit over and over: each asks for k items, clicks what the world's click model draws from the items' true relevance (position-biased), reports the clicks to the recommender (which adds them to the user's history in Redis, so the next computed answer leaves them out), and asks again after a think time. Per TTL, with the recommender restarted on it: the share of answers replayed from the cache, the client-side p50/p99, the share of items shown that the user had already clicked before asking (stale answers re-show them), and the mean true relevance of the items not yet clicked.",
    "",
    "The checks read the judged TTL against no cache: p50 latency ratio (the cache's saving) and the re-shown share's increase (its staleness). Latencies are compared side by side within one run: the machine is shared.",
  ].join("\n"),
  sizes: {
    default: { world: { numUsers: 300, numItems: 1000, sessionsPerUser: 4 }, ttls: [0, 1000, 5000, 20000], judgedTtl: 5000, users: 40, thinkMs: 250, durationMs: 30_000, k: 10 },
    quick: { world: { numUsers: 200, numItems: 600, sessionsPerUser: 4 }, ttls: [0, 5000], judgedTtl: 5000, users: 12, thinkMs: 200, durationMs: 8_000, k: 10 },
  },
  seeds: { default: 3, quick: 1 },
  checks: [
    { id: "faster", metric: "p50Ratio", description: "client p50 with the cache at the judged TTL over p50 without it", rule: atMost(0.5), digits: 2 },
    { id: "staler", metric: "reshownIncrease", description: "share of shown items the user had already clicked: judged TTL minus no cache", rule: atLeast(0.02), digits: 3 },
  ],
  async run(p, ctx) {
    if (p.ttls[0] !== 0 || !p.ttls.includes(p.judgedTtl)) throw new RangeError(`ttls ${p.ttls.join(", ")} must start with 0 and include judgedTtl ${p.judgedTtl}`);
    const deadlines = { REQUEST_BUDGET_MS: "2000", REDIS_DEADLINE_MS: "1000", RETRIEVAL_DEADLINE_MS: "1000", RANKER_DEADLINE_MS: "1000" };
    return withLiveStack({ seed: ctx.seed, world: p.world, services: ["retrieval", "ranker", "recommender"], env: { recommender: deadlines, ranker: { FEATURE_DEADLINE_MS: "1000" } }, log: ctx.log }, async (stack) => {
      const client = new TimedJsonClient();
      try {
        const ttls: TtlResult[] = [];
        for (const ttlMs of p.ttls) {
          await stack.killService("recommender");
          await stack.restartService("recommender", { RESULT_CACHE_TTL_MS: String(ttlMs) });
          const users = (await warmUsers(client, stack, p.k, p.users)).slice(0, p.users);
          const rng = new Rng(ctx.seed * 1000 + ttlMs);
          const clicked = new Map<string, Set<string>>(users.map((u) => [u, new Set<string>()]));
          const latencies: number[] = [];
          let requests = 0;
          let hits = 0;
          let shown = 0;
          let reshown = 0;
          let freshRelevance = 0;
          let fresh = 0;
          let clicks = 0;
          let errors = 0;
          const end = performance.now() + p.durationMs;
          const visitor = async (userId: string) => {
            const seen = clicked.get(userId) as Set<string>;
            while (performance.now() < end) {
              const a = await recommend(client, stack, userId, p.k);
              requests++;
              if (a.status !== 200 || !a.body) {
                errors++;
                continue;
              }
              latencies.push(a.ms);
              if (isHit(a.body.timings)) hits++;
              const items = a.body.items;
              const out = slateOutcome(items.length);
              items.forEach((item, i) => {
                const relevance = stack.world.trueRelevance(Number(userId), Number(item.itemId));
                out.relevance[i] = relevance;
                shown++;
                if (seen.has(item.itemId)) reshown++;
                else {
                  fresh++;
                  freshRelevance += relevance;
                }
              });
              clickSlate(DEFAULT_CLICK_MODEL, rng, out);
              for (let i = 0; i < items.length; i++) {
                if (!out.clicked[i]) continue;
                const item = items[i] as { itemId: string; position: number };
                const c = await client.post(`${stack.url("recommender")}/v1/events/click`, { requestId: a.body.requestId, userId, itemId: item.itemId, position: item.position }, { authorization: `Bearer ${LIVE_TOKENS.clicks}` });
                if (c.status < 300) {
                  seen.add(item.itemId);
                  clicks++;
                }
              }
              await new Promise((r) => setTimeout(r, p.thinkMs));
            }
          };
          await Promise.all(users.map(visitor));
          const r: TtlResult = {
            ttlMs,
            requests,
            hitRate: requests > 0 ? hits / requests : 0,
            p50: quantile(latencies, 0.5),
            p99: quantile(latencies, 0.99),
            reshown: shown > 0 ? reshown / shown : 0,
            freshRelevance: fresh > 0 ? freshRelevance / fresh : 0,
            clicksPerRequest: requests > 0 ? clicks / requests : 0,
            errors,
          };
          ctx.log(`TTL ${ttlMs} ms: ${requests} requests, hits ${pct(r.hitRate, 1)}, p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms, re-shown ${pct(r.reshown, 2)}`);
          ttls.push(r);
        }
        const errors = ttls.reduce((s, t) => s + t.errors, 0);
        if (errors > 0) throw new Error(`claim 23: ${errors} requests failed; the latencies would not be of answers`);
        const base = ttls[0] as TtlResult;
        const judged = ttls.find((t) => t.ttlMs === p.judgedTtl) as TtlResult;
        return {
          metrics: {
            p50Ratio: judged.p50 / base.p50,
            p99Ratio: judged.p99 / base.p99,
            reshownIncrease: judged.reshown - base.reshown,
            hitRate: judged.hitRate,
            freshRelevanceRatio: base.freshRelevance > 0 ? judged.freshRelevance / base.freshRelevance : Number.NaN,
          },
          detail: { ttls },
        };
      } finally {
        client.close();
      }
    });
  },
  report({ runs, params }) {
    const first = runs[0]?.detail as Detail;
    const col = (j: number, f: (t: TtlResult) => number) => runs.map((r) => f(r.detail.ttls[j] as TtlResult));
    const mean = (j: number, f: (t: TtlResult) => number) => meanInterval(col(j, f)).mean;
    const iv = (m: string) => meanInterval(runs.map((r) => r.metrics[m] as number));
    const judgedIndex = first.ttls.findIndex((t) => t.ttlMs === params.judgedTtl);
    const series = (name: string, f: (t: TtlResult) => number) => ({ name, points: first.ttls.map((t, j) => [t.ttlMs / 1000, mean(j, f)] as [number, number]) });
    return {
      tables: [
        {
          title: `Per-user result cache by TTL: ${params.users} world users asking every ${params.thinkMs} ms after their clicks, k = ${params.k}`,
          columns: ["TTL", "requests", "cache hits", "p50 ms", "p99 ms", "already-clicked items re-shown", "true relevance of the rest", "clicks per request"],
          rows: first.ttls.map((t, j) => [
            t.ttlMs === 0 ? "no cache" : `${t.ttlMs / 1000} s`,
            cell(col(j, (x) => x.requests), 0),
            cellPct(col(j, (x) => x.hitRate), 1),
            cell(col(j, (x) => x.p50), 2),
            cell(col(j, (x) => x.p99), 2),
            cellPct(col(j, (x) => x.reshown), 2),
            cell(col(j, (x) => x.freshRelevance), 4),
            cell(col(j, (x) => x.clicksPerRequest), 3),
          ]),
          note: `Mean ± half-width of the 95 % interval over seeds; ${params.durationMs / 1000} s of traffic per TTL, the recommender restarted on each. Latency at the client; a hit is an answer whose timings show the cache stage and no Redis read.`,
        },
      ],
      figures: [
        {
          name: "ttl",
          title: "Latency and staleness by TTL",
          svg: lineChart({
            title: "Result cache: what a TTL buys and costs",
            xLabel: "TTL, s",
            yLabel: "share (mean over seeds)",
            series: [series("cache hits", (t) => t.hitRate), series("already-clicked items re-shown", (t) => t.reshown)],
          }),
        },
      ],
      facts: {
        ttl: `${params.judgedTtl / 1000} s`,
        hits: pct(mean(judgedIndex, (t) => t.hitRate), 0),
        p50: fmt(mean(judgedIndex, (t) => t.p50), 2),
        p50Base: fmt(mean(0, (t) => t.p50), 2),
        p50Ratio: phraseRatio(iv("p50Ratio").mean),
        p99: fmt(mean(judgedIndex, (t) => t.p99), 2),
        p99Base: fmt(mean(0, (t) => t.p99), 2),
        reshown: pct(mean(judgedIndex, (t) => t.reshown), 1),
        reshownBase: pct(mean(0, (t) => t.reshown), 1),
      },
    };
  },
  interview: {
    holds: ({ facts }) =>
      `"Cache, and pick the TTL knowing what it costs. On our recommender a ${facts.ttl} per-user cache answered ${facts.hits} of requests from memory: p50 ${facts.p50} ms against ${facts.p50Base} ms (${facts.p50Ratio}), p99 ${facts.p99} against ${facts.p99Base} ms. The price is staleness: ${facts.reshown} of the items shown were ones the user had just clicked, against ${facts.reshownBase} without the cache. So I invalidate a user's entry on their click, or cache the candidates rather than the final list and re-filter per request."`,
    "does not hold": ({ facts }) =>
      `"Not here: with a ${facts.ttl} TTL, ${facts.hits} of answers came from the cache, p50 ${facts.p50} ms against ${facts.p50Base} ms without it (${facts.p50Ratio}), and ${facts.reshown} of the items shown had been clicked already, against ${facts.reshownBase}. Measure both sides before adding a cache."`,
    inconclusive: ({ checks, facts }) =>
      `"With a ${facts.ttl} TTL, ${facts.hits} of answers came from the cache: p50 ${facts.p50} ms against ${facts.p50Base} ms (${facts.p50Ratio}), ${facts.reshown} of items already clicked against ${facts.reshownBase}; not settled (${openParts(checks)})."`,
  },
});
