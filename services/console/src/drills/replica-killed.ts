import { readPids } from "@mlsd/supervisor";
import { balancerServerStatus, killHard, loadAverage, pct, seconds } from "./cluster-nodes";
import type { Drill, DrillContext, DrillOptions } from "./drill";
import { sleep, waitUntil } from "./drill";
import { Prober, type ProbeResult } from "./probe";
import { statsByPhase, type DrillReport, type Expectation } from "./report";

/** The replica killed (its supervisor name) and how the load balancer names it: the demo runs `<design>-<i>` as server `r<i>` of backend `<design>`. */
const DESIGN = "fraud";
const VICTIM = `${DESIGN}-1`;
const SERVER = "r1";
/** Two failed checks at 250 ms, each waiting up to 500 ms: marked down within about 1.5 s. */
export const MARKED_DOWN_WITHIN_MS = 3_000;
/** How long the drill waits for the replica to be in service before it starts. */
const READY_BEFORE_MS = 30_000;

export interface ReplicaKilledMeasures {
  results: readonly ProbeResult[];
  /** From the kill, in ms; null when not seen. */
  markedDownMs: number | null;
  restartedMs: number | null;
  markedUpMs: number | null;
}

export function judgeReplicaKilled(texts: readonly string[], waitSeconds: number, m: ReplicaKilledMeasures): Expectation[] {
  const [t0, t1, t2] = texts as [string, string, string];
  const fraud = m.results.filter((r) => r.target === DESIGN);
  const lost = fraud.filter((r) => !r.ok);
  const statuses = [...new Set(lost.map((r) => (r.status === 0 ? "timeout/reset" : String(r.status))))];
  const down = fraud.filter((r) => r.phase === "replica down");
  return [
    {
      text: t0,
      pass: fraud.length === 0 ? null : lost.length === 0,
      observed: `${lost.length} of ${fraud.length} answers lost (${down.length} sent while the replica was out${lost.length > 0 ? `; ${statuses.join(", ")}` : ""}); availability ${pct(fraud.length ? (fraud.length - lost.length) / fraud.length : null)}`,
    },
    { text: t1, pass: m.markedDownMs !== null && m.markedDownMs <= MARKED_DOWN_WITHIN_MS, observed: m.markedDownMs === null ? "never marked down (a restart faster than the checks?)" : `${seconds(m.markedDownMs)} after the kill` },
    {
      text: t2,
      pass: m.markedUpMs !== null && m.markedUpMs <= waitSeconds * 1000,
      observed: `restarted (new pid) ${seconds(m.restartedMs)} after the kill; marked up ${seconds(m.markedUpMs)} after the kill`,
    },
  ];
}

/**
 * One of the two fraud replicas dies (SIGKILL) under the world's traffic and the drill's probes
 * through HAProxy; the supervisor starts it again. A request the dead replica was holding, or
 * whose connection it refused before the health checks caught up, is retried by the balancer on
 * the other replica (fraud scoring is idempotent by transactionId), so no answer should be lost.
 */
export const replicaKilled: Drill = {
  name: "replica-killed",
  description: `The fraud replica ${VICTIM} is killed with SIGKILL under probe traffic through the load balancer; the supervisor restarts it. The balancer's health checks (GET /readyz) take it out and put it back.`,
  expectations: (o) => [
    "no answer lost: every fraud probe through the load balancer answers 200 (a failed connection is retried on the other replica)",
    `the load balancer marks the killed replica down within ${MARKED_DOWN_WITHIN_MS / 1000} s of the kill`,
    `the replica runs again and the load balancer marks it up within ${o.faultSeconds} s of the kill`,
  ],
  unavailable: (ctx) =>
    ctx.cluster?.loadBalancerStatsUrl == null
      ? "set DRILL_LOAD_BALANCER_STATS_URL (HAProxy's statistics page; npm run demo -- --topology cluster sets it)"
      : !ctx.cluster.frontUrls.has(DESIGN)
        ? `set DRILL_FRONT_URLS with the load balancer's ${DESIGN} URL`
        : ctx.pidsFile === null
          ? `set DRILL_PIDS_FILE (the supervisor's pids file, with ${VICTIM} in it)`
          : null,
  async run(ctx: DrillContext, options: DrillOptions): Promise<DrillReport> {
    const startedAt = new Date().toISOString();
    const loadAtStart = loadAverage();
    const cluster = ctx.cluster as NonNullable<DrillContext["cluster"]>;
    const statsUrl = cluster.loadBalancerStatsUrl as string;
    const pidsFile = ctx.pidsFile as string;
    const before = readPids(pidsFile).services[VICTIM];
    if (!before?.pid) throw new Error(`${pidsFile} has no running ${VICTIM} (is this the cluster demo?)`);
    const status = () => balancerServerStatus(statsUrl, DESIGN, SERVER);
    // A replica on a busy machine can be out for a moment (a readiness probe missed its deadline): wait for it to be in.
    const up = await waitUntil(async () => ((await status())?.startsWith("UP") ? true : null), READY_BEFORE_MS, 200);
    if (!up) throw new Error(`the load balancer has not shown ${DESIGN}/${SERVER} UP for ${READY_BEFORE_MS / 1000} s (now ${(await status()) ?? "missing"}): nothing to take out`);
    const prober = new Prober({ urls: { [DESIGN]: cluster.frontUrls.get(DESIGN) as string }, rate: options.rate, timeoutMs: 5_000, clock: ctx.clock, population: 200 });
    const m: Omit<ReplicaKilledMeasures, "results"> = { markedDownMs: null, restartedMs: null, markedUpMs: null };
    let killAtMs = 0;
    let endMs: number | null = null;
    try {
      prober.start();
      ctx.say(`baseline: ${options.baselineSeconds} s of fraud probes at ${options.rate}/s through the load balancer`);
      await sleep(options.baselineSeconds * 1000);
      prober.phase = "replica down";
      killAtMs = prober.elapsed();
      await killHard(before.pid);
      ctx.say(`killed ${VICTIM} (pid ${before.pid}) with SIGKILL; following the load balancer's view of ${DESIGN}/${SERVER}`);
      const since = () => prober.elapsed() - killAtMs;
      // One loop for the three moments: they are seconds apart and each is polled every 50 ms.
      await waitUntil(
        async () => {
          const s = await status().catch(() => null);
          if (m.markedDownMs === null && s?.startsWith("DOWN")) m.markedDownMs = since();
          if (m.restartedMs === null) {
            const now = readPids(pidsFile).services[VICTIM];
            if (now?.pid && now.pid !== before.pid) m.restartedMs = since();
          }
          if (m.markedDownMs !== null && m.restartedMs !== null && s?.startsWith("UP")) m.markedUpMs = since();
          return m.markedUpMs;
        },
        options.faultSeconds * 1000,
        50,
      );
      endMs = prober.elapsed();
      prober.phase = "after";
      ctx.say(m.markedUpMs === null ? `${VICTIM} not back in the load balancer within ${options.faultSeconds} s` : `${VICTIM} back in the load balancer after ${seconds(m.markedUpMs)}`);
      await sleep(options.afterSeconds * 1000);
    } finally {
      await prober.stop();
    }
    const expectations = judgeReplicaKilled(this.expectations(options), options.faultSeconds, { ...m, results: prober.results });
    const lostAt = prober.results.filter((r) => !r.ok && r.at >= killAtMs).sort((a, b) => a.at - b.at)[0];
    return {
      drill: this.name,
      description: this.description,
      startedAt,
      finishedAt: new Date().toISOString(),
      settings: {
        "load average at start (1 min, 2 cores)": loadAtStart, "wait for return s": options.faultSeconds, "baseline s": options.baselineSeconds, "after s": options.afterSeconds, "probe rate /s": options.rate, killed: VICTIM },
      fault: { startMs: killAtMs, endMs },
      timeToDetectMs: lostAt ? lostAt.at - killAtMs : null,
      timeToRecoverMs: m.markedUpMs,
      phases: statsByPhase(prober.results),
      expectations,
      pass: expectations.every((e) => e.pass === true),
      notes: [
        `Phases: replica down runs from the kill until HAProxy showed ${DESIGN}/${SERVER} UP again (its statistics polled every 50 ms); time to recover is that moment.`,
        "Time to detect is the first lost answer after the kill (none: n/a). The world's traffic runs all along.",
      ],
    };
  },
};
