import { readPids } from "@mlsd/supervisor";
import type { Drill, DrillContext, DrillOptions } from "./drill";
import { sleep, waitUntil } from "./drill";
import { Prober } from "./probe";
import { statsByPhase, timeToDetect, timeToRecover, type DrillReport, type Expectation, type PhaseStats } from "./report";

/** The service killed: the recommender's second stage, whose loss has a stated fallback (retrieval order). */
const VICTIM = "ranker";
/** After the ranker is ready again, the recommender's answers must come from the models within this long. */
const RECOVER_WITHIN_MS = 15_000;

const pct = (x: number | null | undefined) => (x === null || x === undefined ? "no answers" : `${(x * 100).toFixed(1)} %`);
const share = (s: PhaseStats | undefined, outcomes: (o: string) => boolean) => (s && s.requests > 0 ? Object.entries(s.outcomes).reduce((t, [o, n]) => t + (outcomes(o) ? n : 0), 0) / s.requests : null);

async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) })).status === 200;
  } catch {
    return false;
  }
}

/**
 * kill -9 of the ranker under probe traffic: no graceful shutdown, connections cut mid-request.
 * The recommender should keep answering from its fallback (retrieval order) and say so, the
 * supervisor (the demo's, or any process manager reading the same pids file) should restart the
 * ranker, and the answers should come from the models again once it is ready.
 */
export const serviceKilled: Drill = {
  name: "service-killed",
  description: `The ${VICTIM} is killed with SIGKILL (no graceful shutdown) under probe traffic; the supervisor that runs it restarts it. Probe traffic at both designs before, during and after.`,
  expectations: (o) => [
    `the ${VICTIM} runs again (a new process, ready) within ${o.faultSeconds} s of the kill`,
    "the recommender answers >= 99 % of requests while the ranker is down",
    "the recommender answers >= 50 % of requests from a stated fallback while the ranker is down (the rest: cold starts, and answers after it was back but before the drill saw it ready)",
    `answers are normal again (10 in a row neither degraded nor from a fallback, cold starts aside) within ${RECOVER_WITHIN_MS / 1000} s after the ${VICTIM} is ready`,
    "fraud answers >= 99 % of transactions throughout (it does not call the ranker)",
  ],
  unavailable: (ctx) =>
    ctx.pidsFile === null
      ? "set DRILL_PIDS_FILE (the pids file of the supervisor that runs the services, e.g. the demo's) to run service-killed"
      : !ctx.urls.has(VICTIM) || !ctx.urls.has("recommender")
        ? `needs ${VICTIM} and recommender in SERVICE_URLS`
        : null,
  async run(ctx: DrillContext, options: DrillOptions): Promise<DrillReport> {
    const startedAt = new Date().toISOString();
    const pidsFile = ctx.pidsFile as string;
    const victimUrl = ctx.urls.get(VICTIM) as string;
    const before = readPids(pidsFile).services[VICTIM];
    if (!before?.pid) throw new Error(`${pidsFile} has no running ${VICTIM}`);
    const urls: { fraud?: string; recommender?: string } = { recommender: ctx.urls.get("recommender") as string };
    const fraudUrl = ctx.urls.get("fraud");
    if (fraudUrl) urls.fraud = fraudUrl;
    const prober = new Prober({ urls, rate: options.rate, timeoutMs: 5_000, clock: ctx.clock, population: 200 });
    let fault = { startMs: 0, endMs: null as number | null };
    let back: { pid: number; restarts: number } | null = null;
    try {
      prober.start();
      ctx.say(`baseline: ${options.baselineSeconds} s of probe traffic at ${options.rate}/s per design`);
      await sleep(options.baselineSeconds * 1000);
      prober.phase = "down";
      fault = { startMs: prober.elapsed(), endMs: null };
      process.kill(before.pid, "SIGKILL");
      ctx.say(`killed ${VICTIM} (pid ${before.pid}) with SIGKILL; waiting up to ${options.faultSeconds} s for it to run again`);
      back = await waitUntil(
        async () => {
          const now = readPids(pidsFile).services[VICTIM];
          return now?.pid && now.pid !== before.pid && (await ready(victimUrl)) ? { pid: now.pid, restarts: now.restarts } : null;
        },
        options.faultSeconds * 1000,
        100,
      );
      fault.endMs = prober.elapsed();
      ctx.say(back ? `${VICTIM} ready again as pid ${back.pid} after ${((fault.endMs - fault.startMs) / 1000).toFixed(1)} s` : `${VICTIM} did not come back within ${options.faultSeconds} s`);
      prober.phase = "after";
      await sleep(options.afterSeconds * 1000);
    } finally {
      await prober.stop();
    }
    const phases = statsByPhase(prober.results);
    const recsResults = prober.results.filter((r) => r.target === "recommender");
    const detect = timeToDetect(recsResults, fault.startMs);
    const recover = back && fault.endMs !== null ? timeToRecover(recsResults, fault.endMs) : null;
    const down = phases.recommender.down;
    const fromFallback = share(down, (o) => o !== "model" && o !== "error" && o !== "cold-start");
    const fraudAll = prober.results.filter((r) => r.target === "fraud");
    const fraudAvailability = fraudAll.length === 0 ? null : fraudAll.filter((r) => r.ok).length / fraudAll.length;
    const [t0, t1, t2, t3, t4] = this.expectations(options) as [string, string, string, string, string];
    const downMs = fault.endMs === null ? null : fault.endMs - fault.startMs;
    const expectations: Expectation[] = [
      { text: t0, pass: back !== null, observed: back ? `pid ${before.pid} -> ${back.pid} (restart ${back.restarts}), ready ${((downMs as number) / 1000).toFixed(1)} s after the kill` : "not back in time" },
      { text: t1, pass: down?.availability === null || down === undefined ? null : (down.availability as number) >= 0.99, observed: pct(down?.availability) },
      { text: t2, pass: fromFallback === null ? null : fromFallback >= 0.5, observed: `${pct(fromFallback)} from a fallback; outcomes ${JSON.stringify(down?.outcomes ?? {})}` },
      { text: t3, pass: recover !== null && recover <= RECOVER_WITHIN_MS, observed: recover === null ? "not within the after phase" : `${recover} ms` },
      ...(fraudUrl ? [{ text: t4, pass: fraudAvailability === null ? null : fraudAvailability >= 0.99, observed: pct(fraudAvailability) }] : []),
    ];
    return {
      drill: this.name,
      description: this.description,
      startedAt,
      finishedAt: new Date().toISOString(),
      settings: { "wait for restart s": options.faultSeconds, "baseline s": options.baselineSeconds, "after s": options.afterSeconds, "probe rate /s per design": options.rate, killed: VICTIM },
      fault,
      timeToDetectMs: detect,
      timeToRecoverMs: recover,
      phases,
      expectations,
      pass: expectations.every((e) => e.pass === true),
      notes: [
        `The outage phase ("down") runs from the kill until the restarted ${VICTIM} answered /readyz; its length is the restart time (supervisor backoff, process start, model load).`,
        "A request in flight to the ranker at the kill sees its connection reset; the recommender answers it from its fallback.",
      ],
    };
  },
};
