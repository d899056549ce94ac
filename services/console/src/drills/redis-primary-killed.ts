import { Redis } from "ioredis";
import { killHard, loadAverage, TOPOLOGY_UNSET, pct, readPid, readTopology, relaunch, seconds, splitAddress } from "./cluster-nodes";
import type { Drill, DrillContext, DrillOptions } from "./drill";
import { sleep, waitUntil } from "./drill";
import { Prober, type ProbeResult } from "./probe";
import { abnormal, statsByPhase, type DrillReport, type Expectation, type PhaseStats } from "./report";

/** The cluster's node timeout is 1 s (testkit); a promotion slower than this is a fault of its own. */
export const PROMOTE_WITHIN_MS = 10_000;
/** From the kill until answers are normal again. */
export const REDIS_RECOVER_WITHIN_MS = 15_000;
/** The killed node, started again, is a replica again within this long. */
export const REJOIN_WITHIN_MS = 30_000;
/** After the failover the abnormal share may exceed the baseline's by at most this much. */
export const AFTER_ABNORMAL_SLACK = 0.05;

/** A slot range and who serves it, as `CLUSTER SLOTS` answers. */
export interface SlotRange {
  start: number;
  end: number;
  primary: string;
  replicas: string[];
}

/** `CLUSTER SLOTS`: `[[start, end, [ip, port, id, ...], [ip, port, id, ...]...], ...]`. */
export function parseClusterSlots(reply: unknown): SlotRange[] {
  if (!Array.isArray(reply)) throw new Error("CLUSTER SLOTS: not an array");
  return reply.map((entry) => {
    const [start, end, ...nodes] = entry as [number, number, ...[string, number][]];
    const address = (n: [string, number]) => `${n[0]}:${n[1]}`;
    return { start: Number(start), end: Number(end), primary: address(nodes[0] as [string, number]), replicas: nodes.slice(1).map(address) };
  });
}

/** The primary serving the most slots among those with a replica (a primary without one cannot fail over). */
export function choosePrimary(ranges: readonly SlotRange[]): string | null {
  const slots = new Map<string, number>();
  for (const r of ranges) if (r.replicas.length > 0) slots.set(r.primary, (slots.get(r.primary) ?? 0) + r.end - r.start + 1);
  return [...slots.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? null;
}

/** Who serves the victim's former ranges now: a new primary for every one of them, or null while any is still the victim's. */
export function promotedFor(victim: string, before: readonly SlotRange[], now: readonly SlotRange[]): string | null {
  const owned = before.filter((r) => r.primary === victim);
  const takers = new Set<string>();
  for (const r of owned) {
    const serving = now.find((n) => n.start <= r.start && n.end >= r.start);
    if (!serving || serving.primary === victim) return null;
    takers.add(serving.primary);
  }
  return owned.length > 0 ? [...takers].join(", ") : null;
}

async function slotsAt(address: string): Promise<SlotRange[] | null> {
  const client = new Redis({ ...splitAddress(address), lazyConnect: true, connectTimeout: 500, commandTimeout: 1_000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  client.on("error", () => {});
  try {
    await client.connect();
    return parseClusterSlots(await client.call("CLUSTER", "SLOTS"));
  } catch {
    return null;
  } finally {
    client.disconnect();
  }
}

/** The first node other than `except` that answers CLUSTER SLOTS. */
async function clusterSlots(nodes: readonly string[], except: string | null): Promise<SlotRange[] | null> {
  for (const node of nodes) {
    if (node === except) continue;
    const slots = await slotsAt(node);
    if (slots) return slots;
  }
  return null;
}

export interface RedisPrimaryKilledMeasures {
  results: readonly ProbeResult[];
  /** From the kill, in ms (null: not seen). */
  promotedMs: number | null;
  promotedTo: string | null;
  /** Real ms of the drill: the kill and the promotion. */
  killAtMs: number;
  promotedAtMs: number | null;
  rejoinedMs: number | null;
}

const abnormalShare = (s: PhaseStats | undefined) => (s && s.requests > 0 ? Object.entries(s.outcomes).reduce((t, [o, n]) => t + (o === "model" || o === "cold-start" ? 0 : n), 0) / s.requests : null);

/** Answers in the window that must be back to the baseline's mix. */
export const RECOVER_WINDOW = 20;

/**
 * When the answers were back to the baseline's mix after `fromMs`: per design, the send time of the
 * first of RECOVER_WINDOW answers in a row with at most AFTER_ABNORMAL_SLACK more degraded or
 * fallback answers than the baseline had (the later design's; null if that never happened). On a
 * quiet machine the baseline is all model answers and this is "20 normal in a row"; on a loaded
 * one the baseline already has fallbacks, and "normal" means back to that.
 */
export function timeToBaselineMix(results: readonly ProbeResult[], fromMs: number, phases: ReturnType<typeof statsByPhase>): number | null {
  let latest = fromMs;
  for (const target of ["fraud", "recommender"] as const) {
    const base = abnormalShare(phases[target].baseline);
    if (base === null) continue;
    const after = results.filter((r) => r.target === target && r.at >= fromMs).sort((a, b) => a.at - b.at);
    let found: number | null = null;
    for (let i = 0; i + RECOVER_WINDOW <= after.length && found === null; i++) {
      const bad = after.slice(i, i + RECOVER_WINDOW).filter(abnormal).length;
      if (bad / RECOVER_WINDOW <= base + AFTER_ABNORMAL_SLACK + 1e-9) found = (after[i] as ProbeResult).at;
    }
    if (found === null) return null;
    latest = Math.max(latest, found);
  }
  return latest;
}

/** The expectations judged from what the drill measured (pure: unit-tested with made-up answers). */
export function judgeRedisPrimaryKilled(texts: readonly string[], m: RedisPrimaryKilledMeasures): { expectations: Expectation[]; recoverMs: number | null } {
  const [t0, t1, t2, t3, t4] = texts as [string, string, string, string, string];
  const lost = m.results.filter((r) => !r.ok);
  const byStatus = new Map<string, number>();
  for (const r of lost) byStatus.set(`${r.target} ${r.status === 0 ? "timeout/reset" : r.status}`, (byStatus.get(`${r.target} ${r.status === 0 ? "timeout/reset" : r.status}`) ?? 0) + 1);
  const phases = statsByPhase(m.results);
  const recoverAt = m.promotedAtMs === null ? null : timeToBaselineMix(m.results, m.promotedAtMs, phases);
  const recoverMs = recoverAt === null ? null : recoverAt - m.killAtMs;
  const shares = (["fraud", "recommender"] as const)
    .filter((t) => phases[t].baseline && phases[t].after)
    .map((t) => ({ t, base: abnormalShare(phases[t].baseline) as number, after: abnormalShare(phases[t].after) as number }));
  return {
    recoverMs,
    expectations: [
      { text: t0, pass: m.results.length > 0 && lost.length === 0, observed: `${m.results.length - lost.length} of ${m.results.length} answered 200${lost.length > 0 ? `; lost: ${[...byStatus].map(([k, n]) => `${k} x${n}`).join(", ")}` : ""}` },
      { text: t1, pass: m.promotedMs !== null && m.promotedMs <= PROMOTE_WITHIN_MS, observed: m.promotedMs === null ? "no promotion seen" : `${m.promotedTo} promoted ${seconds(m.promotedMs)} after the kill` },
      { text: t2, pass: recoverMs !== null && recoverMs <= REDIS_RECOVER_WITHIN_MS, observed: recoverMs === null ? "not within the drill" : `${seconds(recoverMs)} after the kill` },
      {
        text: t3,
        pass: shares.length === 0 ? null : shares.every((s) => s.after <= s.base + AFTER_ABNORMAL_SLACK),
        observed: shares.length === 0 ? "no answers to compare" : shares.map((s) => `${s.t} ${pct(s.base)} before, ${pct(s.after)} after`).join("; "),
      },
      { text: t4, pass: m.rejoinedMs !== null && m.rejoinedMs <= REJOIN_WITHIN_MS, observed: m.rejoinedMs === null ? "not a replica again within the drill" : `a replica again ${seconds(m.rejoinedMs)} after its restart` },
    ],
  };
}

/**
 * A Redis Cluster primary holding slots dies (SIGKILL, under the world's traffic and the drill's
 * probes through the load balancer). Its replica should be promoted after the node timeout, the
 * services should answer every request meanwhile (degraded for the dead node's keys: a command
 * to it fails at once and the deadline picks the fallback), and the old primary, started again,
 * should rejoin as a replica.
 */
export const redisPrimaryKilled: Drill = {
  name: "redis-primary-killed",
  description: "A Redis Cluster primary holding slots is killed with SIGKILL under probe traffic through the load balancer; its replica takes over; the node is started again afterwards and rejoins as a replica.",
  expectations: () => [
    "no answer lost: every probe to both designs answers 200 (no 5xx, no timeout) before, during and after the failover",
    `a replica is promoted for all of the killed primary's slots within ${PROMOTE_WITHIN_MS / 1000} s of the kill (CLUSTER SLOTS)`,
    `answers are back to the baseline's mix (${RECOVER_WINDOW} in a row with at most ${AFTER_ABNORMAL_SLACK * 100} points more degraded or fallback answers than the baseline, cold starts aside) within ${REDIS_RECOVER_WITHIN_MS / 1000} s of the kill`,
    `after the failover, the share of degraded or fallback answers is at most ${AFTER_ABNORMAL_SLACK * 100} points above the baseline's`,
    `the killed node, started again, is a replica again within ${REJOIN_WITHIN_MS / 1000} s`,
  ],
  unavailable: (ctx) =>
    ctx.cluster?.topologyFile == null
      ? TOPOLOGY_UNSET
      : ctx.cluster.frontUrls.size === 0
        ? "set DRILL_FRONT_URLS (the load balancer's fraud and recommender URLs)"
        : null,
  async run(ctx: DrillContext, options: DrillOptions): Promise<DrillReport> {
    const startedAt = new Date().toISOString();
    const loadAtStart = loadAverage();
    const cluster = ctx.cluster as NonNullable<DrillContext["cluster"]>;
    const topology = readTopology(cluster.topologyFile as string);
    const nodes = topology.redis.map((n) => n.address);
    const before = await clusterSlots(nodes, null);
    if (!before) throw new Error(`no node of the Redis Cluster answers CLUSTER SLOTS (${nodes.join(", ")})`);
    const victim = choosePrimary(before);
    if (!victim) throw new Error("no primary with a replica: the cluster cannot fail over (a replica still missing after an earlier drill?)");
    const node = topology.redis.find((n) => n.address === victim);
    if (!node) throw new Error(`${victim} serves slots but is not in ${cluster.topologyFile}`);
    const pid = readPid(node.pidFile);
    const prober = new Prober({ urls: Object.fromEntries(cluster.frontUrls), rate: options.rate, timeoutMs: 5_000, clock: ctx.clock, population: 200 });
    let killAtMs = 0;
    let promoted: { ms: number; at: number; to: string } | null = null;
    let rejoinedMs: number | null = null;
    let restarted = false;
    try {
      prober.start();
      ctx.say(`baseline: ${options.baselineSeconds} s of probe traffic at ${options.rate}/s per design through the load balancer`);
      await sleep(options.baselineSeconds * 1000);
      prober.phase = "failover";
      killAtMs = prober.elapsed();
      await killHard(pid);
      ctx.say(`killed the primary ${victim} (pid ${pid}, ${before.filter((r) => r.primary === victim).reduce((n, r) => n + r.end - r.start + 1, 0)} slots) with SIGKILL; waiting up to ${options.faultSeconds} s for a promotion`);
      promoted = await waitUntil(
        async () => {
          const now = await clusterSlots(nodes, victim);
          const to = now ? promotedFor(victim, before, now) : null;
          return to ? { ms: prober.elapsed() - killAtMs, at: prober.elapsed(), to } : null;
        },
        options.faultSeconds * 1000,
        100,
      );
      prober.phase = "after";
      ctx.say(promoted ? `${promoted.to} promoted after ${seconds(promoted.ms)}` : `no promotion within ${options.faultSeconds} s`);
      const newPid = relaunch(node.command, node.pidFile);
      restarted = true;
      const restartAt = Date.now();
      ctx.say(`started ${victim} again (pid ${newPid}); it should rejoin as a replica`);
      const rejoined = await waitUntil(async () => ((await clusterSlots(nodes, null))?.some((r) => r.replicas.includes(victim)) ? true : null), REJOIN_WITHIN_MS + 5_000, 200);
      rejoinedMs = rejoined ? Date.now() - restartAt : null;
      const left = options.afterSeconds * 1000 - (prober.elapsed() - (promoted?.at ?? prober.elapsed()));
      if (left > 0) await sleep(left);
    } finally {
      // The cluster must not stay a node short whatever failed above (the next drill needs a replica).
      if (!restarted && killAtMs > 0) relaunch(node.command, node.pidFile);
      await prober.stop();
    }
    const texts = this.expectations(options);
    const { expectations, recoverMs } = judgeRedisPrimaryKilled(texts, { results: prober.results, promotedMs: promoted?.ms ?? null, promotedTo: promoted?.to ?? null, killAtMs, promotedAtMs: promoted?.at ?? null, rejoinedMs });
    const firstAbnormal = prober.results.filter((r) => r.at >= killAtMs && abnormal(r)).sort((a, b) => a.at - b.at)[0];
    return {
      drill: this.name,
      description: this.description,
      startedAt,
      finishedAt: new Date().toISOString(),
      settings: {
        "load average at start (1 min, 2 cores)": loadAtStart, "wait for promotion s": options.faultSeconds, "baseline s": options.baselineSeconds, "after s": options.afterSeconds, "probe rate /s per design": options.rate, killed: victim },
      fault: { startMs: killAtMs, endMs: promoted?.at ?? null },
      timeToDetectMs: firstAbnormal ? firstAbnormal.at - killAtMs : null,
      timeToRecoverMs: recoverMs,
      phases: statsByPhase(prober.results),
      expectations,
      pass: expectations.every((e) => e.pass === true),
      notes: [
        "Phases: failover runs from the kill until CLUSTER SLOTS (asked of the surviving nodes every 100 ms) showed another primary for every range the killed node served; after, from then on.",
        `Time to recover counts from the kill to the first of ${RECOVER_WINDOW} answers in a row after the promotion that are back to the baseline's mix (per design, the later one). Time to detect is the first degraded or fallback answer after the kill: when the baseline already has them (a loaded machine), it says little.`,
        "The probes go through the load balancer, like the world's traffic, which runs all along; p50 and p99 are measured at the console.",
      ],
    };
  },
};
