import { TOPICS } from "@mlsd/contracts";
import { OfflineStoreReader } from "@mlsd/offline-store";
import { Kafka, logLevel } from "kafkajs";
import { killHard, loadAverage, TOPOLOGY_UNSET, pct, readPid, readTopology, relaunch, seconds } from "./cluster-nodes";
import type { Drill, DrillContext, DrillOptions } from "./drill";
import { sleep, waitUntil } from "./drill";
import { Prober, type ProbeResult } from "./probe";
import { statsByPhase, type DrillReport, type Expectation, type PhaseStats } from "./report";

/** The topic whose leaders and whose stored events the drill follows: the fraud decisions, one per answered transaction. */
const TOPIC = TOPICS.fraudDecisions;
export const LEADERS_MOVED_WITHIN_MS = 15_000;
/** After the broker is back, every probe's decision must be in the offline store within this long. */
export const STORED_WITHIN_MS = 60_000;
export const ISR_WITHIN_MS = 60_000;
/** While a broker is down, p99 may grow to this multiple of the baseline's (plus a floor: the baseline's p99 is a few ms). */
export const P99_MULTIPLE = 2;
export const P99_SLACK_MS = 20;

interface PartitionState {
  partition: number;
  leader: number;
  isr: number[];
}

/** Ids counted against the store: how many stored once, missing, stored more than once. */
export function accountIds(produced: readonly string[], stored: readonly string[]): { produced: number; storedOnce: number; missing: string[]; duplicated: string[] } {
  const counts = new Map<string, number>();
  for (const id of stored) counts.set(id, (counts.get(id) ?? 0) + 1);
  const missing = produced.filter((id) => !counts.has(id));
  const duplicated = produced.filter((id) => (counts.get(id) ?? 0) > 1);
  return { produced: produced.length, storedOnce: produced.length - missing.length - duplicated.length, missing, duplicated };
}

export interface KafkaBrokerKilledMeasures {
  results: readonly ProbeResult[];
  leadersMovedMs: number | null;
  /** Partitions the killed broker led. */
  ledPartitions: number;
  accounting: ReturnType<typeof accountIds> | null;
  /** From the restart to the lookup that found every decision: an upper bound (the first lookup runs after the after phase and the in-sync wait). */
  storedAfterMs: number | null;
  isrBackMs: number | null;
}

const p99Ok = (base: PhaseStats | undefined, down: PhaseStats | undefined) =>
  base?.p99Ms == null || down?.p99Ms == null ? null : down.p99Ms <= Math.max(P99_MULTIPLE * base.p99Ms, base.p99Ms + P99_SLACK_MS);

export function judgeKafkaBrokerKilled(texts: readonly string[], m: KafkaBrokerKilledMeasures): Expectation[] {
  const [t0, t1, t2, t3, t4] = texts as [string, string, string, string, string];
  const phases = statsByPhase(m.results);
  const targets = (["fraud", "recommender"] as const).filter((t) => phases[t]["broker down"]);
  const availability = targets.map((t) => phases[t]["broker down"]?.availability ?? null);
  const p99 = targets.map((t) => p99Ok(phases[t].baseline, phases[t]["broker down"]));
  const a = m.accounting;
  return [
    {
      text: t0,
      pass: targets.length === 0 || availability.some((x) => x === null) ? null : availability.every((x) => (x as number) >= 0.99),
      observed: targets.map((t, i) => `${t} ${pct(availability[i])}`).join(", ") || "no answers",
    },
    {
      text: t1,
      pass: p99.length === 0 || p99.some((x) => x === null) ? null : p99.every(Boolean),
      observed: targets.map((t) => `${t} ${phases[t].baseline?.p99Ms ?? "n/a"} ms -> ${phases[t]["broker down"]?.p99Ms ?? "n/a"} ms`).join(", ") || "no answers",
    },
    { text: t2, pass: m.leadersMovedMs !== null && m.leadersMovedMs <= LEADERS_MOVED_WITHIN_MS, observed: `${m.ledPartitions} partitions led by the killed broker; ${m.leadersMovedMs === null ? "not all moved" : `all moved ${seconds(m.leadersMovedMs)} after the kill`}` },
    {
      text: t3,
      pass: a === null || a.produced === 0 ? null : a.missing.length === 0 && a.duplicated.length === 0,
      observed:
        a === null
          ? "not counted"
          : `${a.produced} transactions answered 200, ${a.storedOnce} decisions stored once, ${a.missing.length} missing, ${a.duplicated.length} stored twice or more${a.missing.length > 0 ? ` (e.g. ${a.missing.slice(0, 3).join(", ")})` : ""}${m.storedAfterMs !== null ? `; all there at a lookup ${seconds(m.storedAfterMs)} after the restart` : ""}`,
    },
    { text: t4, pass: m.isrBackMs !== null && m.isrBackMs <= ISR_WITHIN_MS, observed: m.isrBackMs === null ? "not back in every in-sync set" : `in every in-sync set ${seconds(m.isrBackMs)} after its restart` },
  ];
}

/**
 * A Kafka broker dies (SIGKILL) under the world's traffic and the drill's probes: Kafka is off the
 * request path (producers buffer and spill to their journals), so answers should not change; the
 * partitions it led get new leaders from the in-sync replicas; started again, it catches up. The
 * drill's own probe transactions are looked up in the offline store by id: each decision stored
 * exactly once.
 */
export const kafkaBrokerKilled: Drill = {
  name: "kafka-broker-killed",
  description: `One of the three Kafka brokers (the one leading the most partitions of ${TOPIC}) is killed with SIGKILL under probe traffic through the load balancer and started again after N seconds; the probes' fraud decisions are looked up in the offline store.`,
  expectations: (o) => [
    "both designs answer >= 99 % of requests while the broker is down (Kafka is off the request path)",
    `p99 while the broker is down stays within ${P99_MULTIPLE}x the baseline's (or the baseline's + ${P99_SLACK_MS} ms)`,
    `every partition of ${TOPIC} the broker led has another leader within ${LEADERS_MOVED_WITHIN_MS / 1000} s of the kill`,
    `every probe transaction answered 200 has its decision in the offline store exactly once, within ${STORED_WITHIN_MS / 1000} s after the broker is back (down ${o.faultSeconds} s)`,
    `the restarted broker is back in the in-sync replicas of every partition of ${TOPIC} within ${ISR_WITHIN_MS / 1000} s`,
  ],
  unavailable: (ctx) =>
    ctx.cluster?.topologyFile == null
      ? TOPOLOGY_UNSET
      : ctx.cluster.offlineStoreDir === null
        ? "set DRILL_OFFLINE_STORE_DIR (the event logger's OFFLINE_STORE_DIR) to count the stored decisions"
        : !ctx.cluster.frontUrls.has("fraud")
          ? "set DRILL_FRONT_URLS with the load balancer's fraud URL"
          : null,
  async run(ctx: DrillContext, options: DrillOptions): Promise<DrillReport> {
    const startedAt = new Date().toISOString();
    const loadAtStart = loadAverage();
    const cluster = ctx.cluster as NonNullable<DrillContext["cluster"]>;
    const topology = readTopology(cluster.topologyFile as string);
    const kafka = new Kafka({ clientId: "mlsd-console-drill", brokers: topology.kafka.map((k) => k.address), logLevel: logLevel.NOTHING, connectionTimeout: 1_000, requestTimeout: 3_000, retry: { retries: 1 } });
    const admin = kafka.admin();
    await admin.connect();
    const prober = new Prober({ urls: Object.fromEntries(cluster.frontUrls), rate: options.rate, timeoutMs: 5_000, clock: ctx.clock, population: 200 });
    const measures: Omit<KafkaBrokerKilledMeasures, "results"> = { leadersMovedMs: null, ledPartitions: 0, accounting: null, storedAfterMs: null, isrBackMs: null };
    let killAtMs = 0;
    let restartAtMs: number | null = null;
    let victimLabel = "";
    try {
      const partitions = async (): Promise<PartitionState[]> => {
        const meta = await admin.fetchTopicMetadata({ topics: [TOPIC] });
        return (meta.topics[0]?.partitions ?? []).map((p) => ({ partition: p.partitionId, leader: p.leader, isr: p.isr }));
      };
      const { brokers } = await admin.describeCluster();
      const before = await partitions();
      const led = new Map<number, number>();
      for (const p of before) led.set(p.leader, (led.get(p.leader) ?? 0) + 1);
      const [victimId, ledCount] = [...led.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0] ?? [];
      const victimBroker = brokers.find((b) => b.nodeId === victimId);
      if (victimId === undefined || !victimBroker) throw new Error(`no broker leads a partition of ${TOPIC}`);
      const address = `${victimBroker.host}:${victimBroker.port}`;
      const node = topology.kafka.find((k) => k.address === address);
      if (!node) throw new Error(`broker ${victimId} (${address}) is not in ${cluster.topologyFile}`);
      victimLabel = `broker ${victimId} (${address})`;
      measures.ledPartitions = ledCount as number;
      const pid = readPid(node.pidFile);

      prober.start();
      ctx.say(`baseline: ${options.baselineSeconds} s of probe traffic at ${options.rate}/s per design through the load balancer`);
      await sleep(options.baselineSeconds * 1000);
      prober.phase = "broker down";
      killAtMs = prober.elapsed();
      let restarted = false;
      try {
        await killHard(pid);
        ctx.say(`killed ${victimLabel}, pid ${pid}, leader of ${ledCount} of ${before.length} partitions of ${TOPIC}; it stays down ${options.faultSeconds} s`);
        const moved = await waitUntil(async () => ((await partitions()).every((p) => p.leader !== victimId && p.leader >= 0) ? prober.elapsed() - killAtMs : null), options.faultSeconds * 1000, 200);
        measures.leadersMovedMs = moved;
        ctx.say(moved === null ? `leaders not all moved within ${options.faultSeconds} s` : `leaders moved after ${seconds(moved)}`);
        const left = options.faultSeconds * 1000 - (prober.elapsed() - killAtMs);
        if (left > 0) await sleep(left);
      } finally {
        relaunch(node.command, node.pidFile);
        restarted = true;
        restartAtMs = prober.elapsed();
        prober.phase = "after";
      }
      ctx.say(`${victimLabel} started again (restarted: ${restarted}); ${options.afterSeconds} s of probe traffic`);
      const restartedAt = Date.now();
      const isr = waitUntil(async () => ((await partitions()).every((p) => p.isr.includes(victimId)) ? Date.now() - restartedAt : null), ISR_WITHIN_MS + 5_000, 500);
      await sleep(options.afterSeconds * 1000);
      await prober.stop();
      measures.isrBackMs = await isr;
      ctx.say("looking up the probes' decisions in the offline store");
      const produced = prober.results.filter((r) => r.target === "fraud" && r.ok && r.transaction).map((r) => (r.transaction as NonNullable<ProbeResult["transaction"]>).transactionId);
      const times = prober.results.filter((r) => r.transaction).map((r) => Date.parse((r.transaction as NonNullable<ProbeResult["transaction"]>).time));
      const range = { from: Math.min(...times) - 3_600_000, to: Math.max(...times) + 3_600_000 };
      const reader = new OfflineStoreReader(cluster.offlineStoreDir as string);
      const prefix = produced[0]?.replace(/-\d+$/, "-") ?? "";
      let stored: string[] = [];
      const done = await waitUntil(
        async () => {
          stored = [];
          for await (const e of reader.events(TOPIC, range)) {
            const id = (e.payload as { transactionId?: string }).transactionId;
            if (id?.startsWith(prefix)) stored.push(id);
          }
          const a = accountIds(produced, stored);
          return a.missing.length === 0 ? Date.now() - restartedAt : null;
        },
        STORED_WITHIN_MS,
        2_000,
      );
      measures.storedAfterMs = done;
      measures.accounting = accountIds(produced, stored);
    } finally {
      await prober.stop();
      await admin.disconnect().catch(() => {});
    }
    const expectations = judgeKafkaBrokerKilled(this.expectations(options), { ...measures, results: prober.results });
    return {
      drill: this.name,
      description: this.description,
      startedAt,
      finishedAt: new Date().toISOString(),
      settings: {
        "load average at start (1 min, 2 cores)": loadAtStart, "broker down s": options.faultSeconds, "baseline s": options.baselineSeconds, "after s": options.afterSeconds, "probe rate /s per design": options.rate, killed: victimLabel },
      fault: { startMs: killAtMs, endMs: restartAtMs },
      timeToDetectMs: null,
      timeToRecoverMs: measures.isrBackMs,
      phases: statsByPhase(prober.results),
      expectations,
      pass: expectations.every((e) => e.pass === true),
      notes: [
        "Time to recover: from the restart until the broker was in the in-sync replicas of every partition of the topic again.",
        `Produced: the drill's own probe transactions the fraud service answered 200 (each answer publishes one decision); stored: the ${TOPIC} events in the offline store with those transaction ids (the event logger skips redelivered event ids, so a transaction stored twice would be two decisions).`,
        "The world's traffic runs all along; the probes go through the load balancer.",
      ],
    };
  },
};
