import { parseExposition, sumBy, sumOf } from "@mlsd/prom-text";
import type { KnownService } from "../config";
import { readPid } from "./cluster-nodes";
import type { Drill, DrillContext, DrillOptions } from "./drill";
import { sleep, waitUntil } from "./drill";
import { Prober } from "./probe";
import { statsByPhase, type DrillReport, type Expectation, type PhaseStats } from "./report";

/** The services whose events the drill accounts for: each is the only producer of its topics. */
const PRODUCERS: readonly KnownService[] = ["fraud", "recommender"];
/** After the broker answers again, every journal must be drained and the logger caught up within this long. */
const DRAIN_WITHIN_MS = 60_000;

const pct = (x: number | null | undefined) => (x === null || x === undefined ? "no answers" : `${(x * 100).toFixed(1)} %`);

interface ProducerCounts {
  /** Acknowledged by Kafka, by topic. */
  sent: Record<string, number>;
  dropped: number;
  pending: number;
  /** Events moved to the producer's disk journal (to be replayed from it) instead of sent from memory. */
  spilled: number;
}

interface LoggerStats {
  topics: Record<string, { written: number; duplicatesSkipped: number; lag: number | null }>;
  lag: { total: number } | null;
}

async function producerCounts(name: KnownService, url: string): Promise<ProducerCounts> {
  const families = parseExposition(await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text());
  const prefix = name.replace(/-/g, "_");
  const sent = sumBy(families, `${prefix}_events_sent_total`, "topic");
  const pending = sumOf(families, `${prefix}_events_journal_pending`) + sumOf(families, `${prefix}_events_queue_depth`);
  return { sent, dropped: sumOf(families, `${prefix}_events_dropped_total`), pending, spilled: sumOf(families, `${prefix}_events_spilled_total`) };
}

async function loggerStats(url: string): Promise<LoggerStats> {
  return (await (await fetch(`${url}/v1/stats`, { signal: AbortSignal.timeout(10_000) })).json()) as LoggerStats;
}

/**
 * The Kafka broker hangs for N seconds (SIGSTOP: connections stay open, nothing answers, as with a
 * stuck host), then resumes. Kafka is off the answer path: both designs should keep answering,
 * their producers spilling to the disk journal, and once the broker is back every event should
 * reach the offline store once: the events Kafka acknowledged from each producer, topic by topic,
 * against the events the logger wrote, after the journals drained and the logger caught up.
 */
export const kafkaDown: Drill = {
  name: "kafka-down",
  description: "The Kafka broker hangs for N seconds (SIGSTOP, then SIGCONT). Probe traffic at both designs before, during and after; the events each producer got acknowledged are counted against the events the event logger stored.",
  expectations: (o) => [
    "fraud answers >= 99 % of transactions while the broker hangs",
    "the recommender answers >= 99 % of requests while the broker hangs",
    `the producers' journals are drained and the event logger has caught up within ${DRAIN_WITHIN_MS / 1000} s after the broker resumes (outage ${o.faultSeconds} s)`,
    "every event stored exactly once: per topic, the event logger stored as many new events as the producers got acknowledged (each is its topic's only producer), and no producer dropped one",
  ],
  unavailable: (ctx) =>
    ctx.cluster !== null && ctx.kafkaPidFile === null
      ? "the services use a three-broker Kafka here (kafka-broker-killed is the cluster's Kafka drill); set DRILL_KAFKA_PID_FILE to freeze one broker anyway"
      : ctx.kafkaPidFile === null
      ? "set DRILL_KAFKA_PID_FILE (the pid file of the broker the services use; scripts/services-up writes .data/pids/kafka.pid) to run kafka-down"
      : !ctx.urls.has("event-logger")
        ? "needs event-logger in SERVICE_URLS (to count the events stored)"
        : !PRODUCERS.some((p) => ctx.urls.has(p))
          ? "needs fraud or recommender in SERVICE_URLS"
          : null,
  async run(ctx: DrillContext, options: DrillOptions): Promise<DrillReport> {
    const startedAt = new Date().toISOString();
    const pid = readPid(ctx.kafkaPidFile as string);
    const loggerUrl = ctx.urls.get("event-logger") as string;
    const producers = PRODUCERS.filter((p) => ctx.urls.has(p)).map((name) => ({ name, url: ctx.urls.get(name) as string }));
    const urls: { fraud?: string; recommender?: string } = {};
    for (const p of producers) urls[p.name as "fraud" | "recommender"] = p.url;
    const countsBefore = await Promise.all(producers.map((p) => producerCounts(p.name, p.url)));
    const loggerBefore = await loggerStats(loggerUrl);
    const prober = new Prober({ urls, rate: options.rate, timeoutMs: 5_000, clock: ctx.clock, population: 200 });
    const fault = { startMs: 0, endMs: null as number | null };
    let drained: { ms: number } | null = null;
    let frozen = false;
    try {
      prober.start();
      ctx.say(`baseline: ${options.baselineSeconds} s of probe traffic at ${options.rate}/s per design`);
      await sleep(options.baselineSeconds * 1000);
      prober.phase = "outage";
      fault.startMs = prober.elapsed();
      process.kill(pid, "SIGSTOP");
      frozen = true;
      ctx.say(`outage: the broker (pid ${pid}) is stopped for ${options.faultSeconds} s`);
      await sleep(options.faultSeconds * 1000);
      process.kill(pid, "SIGCONT");
      frozen = false;
      fault.endMs = prober.elapsed();
      prober.phase = "after";
      ctx.say(`after: the broker runs again; ${options.afterSeconds} s of probe traffic`);
      await sleep(options.afterSeconds * 1000);
    } finally {
      if (frozen) process.kill(pid, "SIGCONT");
      await prober.stop();
    }
    // Accounting: wait until nothing is pending in any producer and the logger has no lag.
    const resumedAt = Date.now() - (prober.elapsed() - (fault.endMs ?? 0));
    ctx.say("waiting for the journals to drain and the event logger to catch up");
    let countsAfter = countsBefore;
    let loggerAfter = loggerBefore;
    drained = await waitUntil(async () => {
      countsAfter = await Promise.all(producers.map((p) => producerCounts(p.name, p.url)));
      loggerAfter = await loggerStats(loggerUrl);
      const sentTopics = new Set(countsAfter.flatMap((c) => Object.keys(c.sent)));
      const caughtUp = [...sentTopics].every((t) => (loggerAfter.topics[t]?.lag ?? 1) === 0);
      return countsAfter.every((c) => c.pending === 0) && caughtUp ? { ms: Date.now() - resumedAt } : null;
    }, DRAIN_WITHIN_MS, 1000);

    const topics = [...new Set(countsAfter.flatMap((c) => Object.keys(c.sent)))].sort();
    const rows = topics.map((topic) => {
      const produced = countsAfter.reduce((n, c, i) => n + (c.sent[topic] ?? 0) - (countsBefore[i]?.sent[topic] ?? 0), 0);
      const stored = (loggerAfter.topics[topic]?.written ?? 0) - (loggerBefore.topics[topic]?.written ?? 0);
      const duplicates = (loggerAfter.topics[topic]?.duplicatesSkipped ?? 0) - (loggerBefore.topics[topic]?.duplicatesSkipped ?? 0);
      return { topic, produced, stored, duplicates };
    });
    const dropped = countsAfter.reduce((n, c, i) => n + c.dropped - (countsBefore[i]?.dropped ?? 0), 0);
    const spilled = countsAfter.reduce((n, c, i) => n + c.spilled - (countsBefore[i]?.spilled ?? 0), 0);
    const phases = statsByPhase(prober.results);
    const outage = (target: "fraud" | "recommender"): PhaseStats | undefined => phases[target].outage;
    const [t0, t1, t2, t3] = this.expectations(options) as [string, string, string, string];
    const availability = (s: PhaseStats | undefined) => ({ pass: s?.availability === null || s?.availability === undefined ? null : s.availability >= 0.99, observed: pct(s?.availability) });
    const off = rows.filter((r) => r.stored !== r.produced);
    const expectations: Expectation[] = [
      ...(urls.fraud ? [{ text: t0, ...availability(outage("fraud")) }] : []),
      ...(urls.recommender ? [{ text: t1, ...availability(outage("recommender")) }] : []),
      { text: t2, pass: drained !== null, observed: drained ? `${(drained.ms / 1000).toFixed(1)} s` : "not within the time" },
      {
        text: t3,
        pass: drained !== null && rows.length > 0 && off.length === 0 && dropped === 0,
        observed: `${rows.map((r) => `${r.topic}: ${r.produced} acknowledged, ${r.stored} stored, ${r.duplicates} duplicate deliveries skipped`).join("; ")}; ${dropped} dropped; ${spilled} went through the producers' disk journals`,
      },
    ];
    return {
      drill: this.name,
      description: this.description,
      startedAt,
      finishedAt: new Date().toISOString(),
      settings: { "outage s": options.faultSeconds, "baseline s": options.baselineSeconds, "after s": options.afterSeconds, "probe rate /s per design": options.rate },
      fault,
      timeToDetectMs: null,
      timeToRecoverMs: drained?.ms ?? null,
      phases,
      expectations,
      pass: expectations.every((e) => e.pass === true),
      notes: [
        "Time to recover: from the broker's resumption until every producer's journal and queue were empty and the event logger had no lag on the producers' topics.",
        "Went through the journals: events the producers spilled to disk (Kafka slow or down) and sent from there once it answered, instead of from memory.",
        "Produced counts what Kafka acknowledged to the producers (their *_events_sent_total), stored what the event logger wrote (its /v1/stats): a send retried after a lost acknowledgement reaches the log twice and is stored once, counted under duplicate deliveries.",
      ],
    };
  },
};
