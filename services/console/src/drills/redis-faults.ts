import { Redis } from "ioredis";
import type { Drill, DrillContext, DrillOptions } from "./drill";
import { sleep } from "./drill";
import { Prober } from "./probe";
import { statsByPhase, timeToDetect, timeToRecover, type DrillReport, type Expectation, type PhaseStats } from "./report";

/** The p99 bound during the outage: the services' deadlines, not Redis, should bound every answer. */
const OUTAGE_P99_MS = 250;
/** After Redis answers again, the answers must be normal within this long (breakers half-open, caches refill). */
const RECOVER_WITHIN_MS = 15_000;

const share = (s: PhaseStats | undefined, outcomes: (o: string) => boolean) => (s && s.requests > 0 ? Object.entries(s.outcomes).reduce((t, [o, n]) => t + (outcomes(o) ? n : 0), 0) / s.requests : null);
const pct = (x: number | null) => (x === null ? "no answers" : `${(x * 100).toFixed(1)} %`);

/** How a Redis fault is made and undone: the drills differ only there. */
interface RedisFault {
  name: string;
  description: string;
  /** What the fault does to the answers during the outage, in the words of the expectations. */
  outage: string;
  unavailable(ctx: Omit<DrillContext, "say" | "adminToken">): string | null;
  /** Starts the fault for `seconds`; returns what undoes it early (the fault must also lift itself). */
  begin(ctx: DrillContext, seconds: number): Promise<() => Promise<void>>;
}

function redisFaultDrill(fault: RedisFault): Drill {
  const drill: Drill = {
    name: fault.name,
    description: fault.description,
    expectations: (o) => [
      `fraud answers >= 99 % of transactions during the outage (${fault.outage})`,
      "fraud answers >= 50 % of transactions degraded or by the fallback model during the outage (the feature store is late, the answer says so)",
      "the recommender answers >= 99 % of requests during the outage",
      "the recommender answers >= 50 % of requests from a fallback other than cold start during the outage",
      `p99 of both designs during the outage <= ${OUTAGE_P99_MS} ms (deadlines bound the answers, not Redis)`,
      `answers are normal again (10 in a row neither degraded nor from a fallback, cold starts aside, at each design) within ${RECOVER_WITHIN_MS / 1000} s after Redis answers (outage ${o.faultSeconds} s)`,
    ],
    unavailable: (ctx) =>
      ctx.cluster !== null
        ? "the services use a Redis Cluster here: cluster clients follow redirects to the nodes' own addresses, so no single Redis or fault proxy sits in their path (redis-primary-killed is the cluster's Redis drill)"
        : (fault.unavailable(ctx) ?? (!ctx.urls.has("fraud") && !ctx.urls.has("recommender") ? "needs fraud or recommender in SERVICE_URLS" : null)),
    async run(ctx: DrillContext, options: DrillOptions): Promise<DrillReport> {
      const startedAt = new Date().toISOString();
      const urls: { fraud?: string; recommender?: string } = {};
      const fraudUrl = ctx.urls.get("fraud");
      const recsUrl = ctx.urls.get("recommender");
      if (fraudUrl) urls.fraud = fraudUrl;
      if (recsUrl) urls.recommender = recsUrl;
      const prober = new Prober({ urls, rate: options.rate, timeoutMs: 5_000, clock: ctx.clock, population: 200 });
      let span = { startMs: 0, endMs: 0 };
      let undo: (() => Promise<void>) | null = null;
      try {
        prober.start();
        ctx.say(`baseline: ${options.baselineSeconds} s of probe traffic at ${options.rate}/s per design`);
        await sleep(options.baselineSeconds * 1000);
        prober.phase = "outage";
        const startMs = prober.elapsed();
        undo = await fault.begin(ctx, options.faultSeconds);
        await sleep(options.faultSeconds * 1000);
        await undo();
        undo = null;
        span = { startMs, endMs: prober.elapsed() };
        prober.phase = "after";
        ctx.say(`after: Redis answers again; ${options.afterSeconds} s of probe traffic`);
        await sleep(options.afterSeconds * 1000);
      } finally {
        await undo?.();
        await prober.stop();
      }
      const phases = statsByPhase(prober.results);
      const detect = timeToDetect(prober.results, span.startMs);
      const recover = timeToRecover(prober.results, span.endMs);
      const expectations: Expectation[] = [];
      const judge = (text: string, value: number | null, pass: (v: number) => boolean, observed: string) => expectations.push({ text, pass: value === null ? null : pass(value), observed });
      const [t0, t1, t2, t3, t4, t5] = drill.expectations(options) as [string, string, string, string, string, string];
      const fo = phases.fraud.outage;
      const ro = phases.recommender.outage;
      judge(t0, fo?.availability ?? null, (v) => v >= 0.99, pct(fo?.availability ?? null));
      const fDegraded = share(fo, (o) => o === "degraded" || o === "fallback");
      judge(t1, fDegraded, (v) => v >= 0.5, pct(fDegraded));
      judge(t2, ro?.availability ?? null, (v) => v >= 0.99, pct(ro?.availability ?? null));
      const rFallback = share(ro, (o) => o !== "model" && o !== "error" && o !== "cold-start");
      judge(t3, rFallback, (v) => v >= 0.5, pct(rFallback));
      const worstP99 = [fo?.p99Ms, ro?.p99Ms].filter((x): x is number => typeof x === "number");
      judge(t4, worstP99.length > 0 ? Math.max(...worstP99) : null, (v) => v <= OUTAGE_P99_MS, `fraud ${fo?.p99Ms ?? "n/a"} ms, recommender ${ro?.p99Ms ?? "n/a"} ms`);
      expectations.push({ text: t5, pass: recover !== null && recover <= RECOVER_WITHIN_MS, observed: recover === null ? "not within the after phase" : `${recover} ms` });
      const judged = expectations.filter((e) => e.pass !== null);
      return {
        drill: fault.name,
        description: fault.description,
        startedAt,
        finishedAt: new Date().toISOString(),
        settings: { "outage s": options.faultSeconds, "baseline s": options.baselineSeconds, "after s": options.afterSeconds, "probe rate /s per design": options.rate },
        fault: span,
        timeToDetectMs: detect,
        timeToRecoverMs: recover,
        phases,
        expectations,
        pass: judged.length === expectations.length && judged.every((e) => e.pass === true),
        notes: [
          "Probe ids are numbered 0..199 (the demo world's users and card holders); availability counts 200 answers, latency is measured at the console (client side).",
          ...(expectations.some((e) => e.pass === null) ? ["An expectation without answers to judge it is not judged, and the drill does not pass."] : []),
        ],
      };
    },
  };
  return drill;
}

/**
 * Redis stops answering for N seconds: `CLIENT PAUSE <ms> ALL` holds every client's commands (a
 * hung primary, not a refused connection), and Redis lifts the pause by itself even if the
 * console dies mid-drill. The services should answer within their deadlines, say which fallback
 * answered and why, and come back on their own.
 */
export const redisDown = redisFaultDrill({
  name: "redis-down",
  description: "Redis stops answering for N seconds (CLIENT PAUSE ... ALL: every command waits, as with a hung primary). Probe traffic at both designs before, during and after.",
  outage: "Redis paused",
  unavailable: (ctx) => (ctx.redisUrl === null ? "set DRILL_REDIS_URL (the services' Redis) to run redis-down" : null),
  async begin(ctx, seconds) {
    const redis = new Redis(ctx.redisUrl as string, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
    await redis.connect();
    try {
      await redis.call("CLIENT", "PAUSE", String(seconds * 1000), "ALL");
    } finally {
      redis.disconnect();
    }
    ctx.say(`outage: Redis paused for ${seconds} s`);
    // The pause ends by itself at its time; nothing to undo.
    return async () => {};
  },
});

/** Added latency per round trip to Redis: above every service's feature deadline. */
export const REDIS_SLOW_DELAY_MS = 100;

/**
 * Redis answers, slowly: the fault proxy the services reach Redis through adds REDIS_SLOW_DELAY_MS
 * to every chunk each way (a congested network or an overloaded primary), so every read misses
 * its deadline by a little instead of never returning. The proxy lifts the fault by itself.
 */
export const redisSlow = redisFaultDrill({
  name: "redis-slow",
  description: `Every round trip to Redis takes ${2 * REDIS_SLOW_DELAY_MS} ms longer for N seconds (the fault proxy in front of Redis delays each chunk ${REDIS_SLOW_DELAY_MS} ms each way). Probe traffic at both designs before, during and after.`,
  outage: `Redis ${2 * REDIS_SLOW_DELAY_MS} ms slower per round trip`,
  unavailable: (ctx) => (ctx.redisProxyUrl === null ? "set DRILL_REDIS_PROXY_URL (the admin URL of the fault proxy the services reach Redis through) to run redis-slow" : null),
  async begin(ctx, seconds) {
    const url = `${ctx.redisProxyUrl as string}/v1/fault`;
    const headers = { authorization: `Bearer ${ctx.adminToken}`, "content-type": "application/json" };
    // A little longer than the drill waits: the drill lifts it, and the proxy does if the drill dies.
    const res = await fetch(url, { method: "PUT", headers, body: JSON.stringify({ mode: "delay", delayMs: REDIS_SLOW_DELAY_MS, seconds: seconds + 5 }), signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`the fault proxy refused the fault: ${res.status} ${await res.text()}`);
    ctx.say(`outage: Redis ${2 * REDIS_SLOW_DELAY_MS} ms slower per round trip for ${seconds} s`);
    return async () => {
      await fetch(url, { method: "DELETE", headers, signal: AbortSignal.timeout(5_000) }).catch(() => null);
    };
  },
});
