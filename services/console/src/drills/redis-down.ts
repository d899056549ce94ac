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

/**
 * Redis stops answering for N seconds: `CLIENT PAUSE <ms> ALL` holds every client's commands (a
 * hung primary, not a refused connection), and Redis lifts the pause by itself even if the
 * console dies mid-drill. The services should answer within their deadlines, say which fallback
 * answered and why, and come back on their own.
 */
export const redisDown: Drill = {
  name: "redis-down",
  description: "Redis stops answering for N seconds (CLIENT PAUSE ... ALL: every command waits, as with a hung primary). Probe traffic at both designs before, during and after.",
  expectations: (o) => [
    "fraud answers >= 99 % of transactions during the outage",
    "fraud answers >= 50 % of transactions degraded or by the fallback model during the outage (the feature store is late, the answer says so)",
    "the recommender answers >= 99 % of requests during the outage",
    "the recommender answers >= 50 % of requests from a fallback other than cold start during the outage",
    `p99 of both designs during the outage <= ${OUTAGE_P99_MS} ms (deadlines bound the answers, not Redis)`,
    `answers are normal again (10 in a row neither degraded nor from a fallback, cold starts aside, at each design) within ${RECOVER_WITHIN_MS / 1000} s after Redis answers (outage ${o.faultSeconds} s)`,
  ],
  unavailable: (ctx) => (ctx.redisUrl === null ? "set DRILL_REDIS_URL (the services' Redis) to run redis-down" : !ctx.urls.has("fraud") && !ctx.urls.has("recommender") ? "needs fraud or recommender in SERVICE_URLS" : null),
  async run(ctx: DrillContext, options: DrillOptions): Promise<DrillReport> {
    const startedAt = new Date().toISOString();
    const urls: { fraud?: string; recommender?: string } = {};
    const fraudUrl = ctx.urls.get("fraud");
    const recsUrl = ctx.urls.get("recommender");
    if (fraudUrl) urls.fraud = fraudUrl;
    if (recsUrl) urls.recommender = recsUrl;
    const prober = new Prober({ urls, rate: options.rate, timeoutMs: 5_000, clock: ctx.clock, population: 200 });
    const redis = new Redis(ctx.redisUrl as string, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
    await redis.connect();
    let fault = { startMs: 0, endMs: 0 };
    try {
      prober.start();
      ctx.say(`baseline: ${options.baselineSeconds} s of probe traffic at ${options.rate}/s per design`);
      await sleep(options.baselineSeconds * 1000);
      prober.phase = "outage";
      const startMs = prober.elapsed();
      await redis.call("CLIENT", "PAUSE", String(options.faultSeconds * 1000), "ALL");
      ctx.say(`outage: Redis paused for ${options.faultSeconds} s`);
      await sleep(options.faultSeconds * 1000);
      fault = { startMs, endMs: prober.elapsed() };
      prober.phase = "after";
      ctx.say(`after: Redis answers again; ${options.afterSeconds} s of probe traffic`);
      await sleep(options.afterSeconds * 1000);
    } finally {
      await prober.stop();
      redis.disconnect();
    }
    const phases = statsByPhase(prober.results);
    const detect = timeToDetect(prober.results, fault.startMs);
    const recover = timeToRecover(prober.results, fault.endMs);
    const expectations: Expectation[] = [];
    const judge = (text: string, value: number | null, pass: (v: number) => boolean, observed: string) => expectations.push({ text, pass: value === null ? null : pass(value), observed });
    const [t0, t1, t2, t3, t4, t5] = this.expectations(options) as [string, string, string, string, string, string];
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
      drill: this.name,
      description: this.description,
      startedAt,
      finishedAt: new Date().toISOString(),
      settings: { "outage s": options.faultSeconds, "baseline s": options.baselineSeconds, "after s": options.afterSeconds, "probe rate /s per design": options.rate },
      fault,
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
