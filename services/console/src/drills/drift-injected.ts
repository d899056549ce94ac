import type { DriftReference, NumericFeatureReference } from "@mlsd/drift";
import { openModelRegistry } from "@mlsd/model-formats/compatibility";
import { loadDriftReference } from "@mlsd/model-formats/drift-reference";
import { FRAUD_MODEL_NAME } from "@mlsd/model-formats/fraud";
import { parseExposition, sumOf } from "@mlsd/prom-text";
import type { Drill, DrillContext, DrillOptions } from "./drill";
import { sleep } from "./drill";
import { Prober, type ProbeTransaction } from "./probe";
import { statsByPhase, type DrillReport, type Expectation } from "./report";

/** The feature the drill moves from the request side: the amount of a transaction. */
export const SHIFTED_FEATURE = "TX_AMOUNT";
/** Computed from the amounts: a shift of the amounts moves them too, so their alerts are consequences, not false alerts. */
const MOVED_WITH_AMOUNT = /^CUSTOMER_ID_AVG_AMOUNT_/;
/** The window the drill judges: the last N decisions (the time window's minimum is out of a drill's reach, see the notes). */
const JUDGED_WINDOW = "count";
/**
 * The baseline lasts until the judged window has been evaluated on the drill's transactions and
 * no feature alerts there (an episode from before the drill, e.g. the demo world's card-testing
 * wave, has closed), or this long past its stated seconds; alerts still on then are not judged.
 */
const BASELINE_MAX_MS = 300_000;
const DAY_MS = 86_400_000;
const NIGHT_END_MS = 6 * 3_600_000;

interface FeatureLike {
  feature: string;
  isScore: boolean;
  psi: number;
  pValue: number;
  conditionMet: boolean;
  alerting: boolean;
}

interface WindowLike {
  window: string;
  spec: string;
  windowSize: number;
  evaluations: number;
  features: FeatureLike[];
}

export interface DriftReportLike {
  events: { decisions: number; monitored: number; skipped: number };
  episode: { active: boolean; startedAt: string | null; features: string[]; retrainRequested: boolean; episodes: number };
  windows: WindowLike[];
}

/** One reading of the monitor while the drill runs: ms since the drill started, and the judged window's alerting features. */
export interface DriftPoll {
  at: number;
  evaluations: number;
  alerting: string[];
}

/** Whether a shift of the amounts moves the feature (the shifted feature, the customers' average amounts, the model's score). */
export function movedByShift(feature: string, isScore: boolean): boolean {
  return isScore || feature === SHIFTED_FEATURE || MOVED_WITH_AMOUNT.test(feature);
}

/**
 * A value drawn from a numeric reference: a cell of its fine (CDF) grid with the reference's
 * counts as weights, then uniform inside it (the open end cells are closed by the reference's min and max).
 * `u` and `v` are uniform in [0, 1).
 */
export function sampleReference(ref: NumericFeatureReference, u: number, v: number): number {
  const total = ref.cdfCounts.reduce((a, b) => a + b, 0);
  if (total === 0) throw new Error(`reference ${ref.name} has no values`);
  let cell = 0;
  for (let acc = ref.cdfCounts[0] as number; acc <= u * total && cell < ref.cdfCounts.length - 1; acc += ref.cdfCounts[cell] as number) cell++;
  const lo = cell === 0 ? ref.min : (ref.cdfEdges[cell - 1] as number);
  const hi = cell === ref.cdfEdges.length ? ref.max : (ref.cdfEdges[cell] as number);
  return lo + v * (Math.max(hi, lo) - lo);
}

/** The mean of a numeric reference, each cell counted at its midpoint. */
export function referenceMean(ref: NumericFeatureReference): number {
  let sum = 0;
  let n = 0;
  ref.cdfCounts.forEach((count, cell) => {
    const lo = cell === 0 ? ref.min : (ref.cdfEdges[cell - 1] as number);
    const hi = cell === ref.cdfEdges.length ? ref.max : (ref.cdfEdges[cell] as number);
    sum += (count * (lo + hi)) / 2;
    n += count;
  });
  return n === 0 ? Number.NaN : sum / n;
}

function numeric(reference: DriftReference, name: string): NumericFeatureReference {
  const ref = reference.features.find((f) => f.name === name);
  if (!ref || ref.kind !== "numeric") throw new Error(`the fraud model's drift reference has no numeric feature ${name}`);
  return ref;
}

/** A small seeded generator (mulberry32): the drill's traffic is the same from run to run. */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface ReferenceTraffic {
  customers: number;
  terminals: number;
  nightShare: number;
  next(n: number, shifted: boolean): ProbeTransaction;
}

/**
 * Ids with daily rates as the reference's 30-day counts say, enough of them to carry `perDay`
 * transactions a clock day, and a draw of one id weighted by its rate. The reference counts one
 * value per transaction, so a busy card is in it more often than a quiet one: a rate drawn from it
 * is kept with probability (smallest rate / rate) to get the cards' own spread.
 */
function weightedIds(ref: NumericFeatureReference, perDay: number, random: () => number): { count: number; draw(): number } {
  const positive = ref.cdfEdges.find((e) => e > 0) ?? 1;
  const smallest = Math.max(positive, ref.min);
  const cumulative: number[] = [];
  let total = 0;
  while (total < perDay * 30 || cumulative.length < 2) {
    const c = sampleReference(ref, random(), random());
    if (c <= 0 || random() >= smallest / c) continue;
    total += c;
    cumulative.push(total);
  }
  return {
    count: cumulative.length,
    draw() {
      const x = random() * total;
      let lo = 0;
      let hi = cumulative.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((cumulative[mid] as number) > x) hi = mid;
        else lo = mid + 1;
      }
      return lo;
    },
  };
}

/** A normal draw (Box-Muller) from two uniforms. */
const normal = (u: number, v: number) => Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);

/**
 * Transactions that look like the training data on what the request decides: cards and terminals
 * with the spread of daily rates the reference's 30-day counts show, as many as carry this probe
 * rate at this clock speed; each card spending around its own mean (drawn from the reference's
 * 30-day customer average, sd half of it, as the world's simulator spends); the reference's share
 * of night-time transactions. A shifted transaction is one of a shifted card (every other card)
 * with its amount multiplied by `multiple`.
 */
export function referenceTraffic(reference: DriftReference, options: { rate: number; clockSpeed: number; multiple: number; now: () => number; seed?: number }): ReferenceTraffic {
  const night = numeric(reference, "TX_DURING_NIGHT");
  const nightTotal = night.binCounts.reduce((a, b) => a + b, 0);
  // Bin i holds [binEdges[i-1], binEdges[i]): the nights (value 1) are in the bins from edge 1 on.
  const nightShare = night.binCounts.reduce((t, c, i) => t + (i > 0 && (night.binEdges[i - 1] as number) >= 1 ? c : 0), 0) / nightTotal;
  const perDay = options.rate * (DAY_MS / options.clockSpeed / 1000);
  const random = uniform(options.seed ?? 18);
  const cards = weightedIds(numeric(reference, "CUSTOMER_ID_NB_TX_30DAY_WINDOW"), perDay, random);
  const terminals = weightedIds(numeric(reference, "TERMINAL_ID_NB_TX_30DAY_WINDOW"), perDay, random);
  const averages = numeric(reference, "CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW");
  const means = Array.from({ length: cards.count }, () => sampleReference(averages, random(), random()));
  return {
    customers: cards.count,
    terminals: terminals.count,
    nightShare,
    next(_n, shifted) {
      const customer = cards.draw();
      const mean = means[customer] as number;
      const base = mean + (mean / 2) * normal(random(), random());
      const value = shifted && customer % 2 === 0 ? base * options.multiple : base;
      // The time of day is drawn (night or not, as in the reference) and placed in the last day of clock time.
      const now = options.now() - 1_000;
      const target = random() < nightShare ? random() * NIGHT_END_MS : NIGHT_END_MS + random() * (DAY_MS - NIGHT_END_MS);
      const timeMs = now - ((((now % DAY_MS) - target) % DAY_MS) + DAY_MS) % DAY_MS;
      return { customerId: String(customer), terminalId: String(terminals.draw()), timeMs: Math.round(timeMs), amount: Math.max(0.01, Math.round(Math.abs(value) * 100) / 100) };
    },
  };
}

/** The features of the judged window that alert, and its evaluations so far. */
function judged(report: DriftReportLike): { evaluations: number; windowSize: number; spec: string; features: FeatureLike[] } {
  const w = report.windows.find((x) => x.window === JUDGED_WINDOW);
  if (!w) throw new Error(`the drift monitor reports no ${JUDGED_WINDOW} window`);
  return w;
}

export interface DriftScore {
  /** Ms from the shift's start until the shifted feature alerted, null if it did not. */
  detectMs: number | null;
  /** Features that started alerting after the shift began although the shift does not move them. */
  falseAlerts: string[];
  /** Features already alerting when the shift began. */
  alertingBefore: string[];
  /** Per feature, ms from the shift's start until it first alerted. */
  firstAlert: Record<string, number>;
}

/** Scores the polls of the monitor: when the shifted feature alerted, and which others did that the shift does not move. */
export function scoreDriftPolls(polls: readonly DriftPoll[], shiftStartMs: number, scoreFeatures: ReadonlySet<string>): DriftScore {
  const before = polls.filter((p) => p.at < shiftStartMs).at(-1)?.alerting ?? [];
  const firstAlert: Record<string, number> = {};
  for (const p of polls) {
    if (p.at < shiftStartMs) continue;
    for (const f of p.alerting) if (!(f in firstAlert) && !before.includes(f)) firstAlert[f] = p.at - shiftStartMs;
  }
  const falseAlerts = Object.keys(firstAlert).filter((f) => !movedByShift(f, scoreFeatures.has(f)));
  const detect = firstAlert[SHIFTED_FEATURE];
  return { detectMs: detect ?? null, falseAlerts, alertingBefore: [...before], firstAlert };
}

async function driftReport(url: string): Promise<DriftReportLike> {
  const res = await fetch(`${url}/v1/drift`, { signal: AbortSignal.timeout(5_000) });
  if (res.status !== 200) throw new Error(`GET ${url}/v1/drift answered ${res.status}`);
  return (await res.json()) as DriftReportLike;
}

async function retrainRequests(url: string): Promise<number> {
  return sumOf(parseExposition(await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text()), "drift_monitor_retrain_requests_total");
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * Probe transactions that look like the training data, then the same with the amounts of half
 * the probe's cards multiplied, read against the drift monitor's own report (GET /v1/drift,
 * polled every second): when the shifted feature alerts, which other features do, the PSI of
 * each, and whether the episode published a retrain request (drift_monitor_retrain_requests_total).
 */
export const driftInjected: Drill = {
  name: "drift-injected",
  description: `Probe transactions drawn from the fraud model's drift reference (cards and terminals with its spread of daily rates, each card spending around its own mean, its night share), then the amounts of half the probe's cards multiplied (${SHIFTED_FEATURE} shifts), read against the drift monitor's own report.`,
  expectations: (o) => [
    `${SHIFTED_FEATURE} alerts in the drift monitor's ${JUDGED_WINDOW} window within ${o.faultSeconds} s of the shift (amounts x${o.multiple ?? 10} on half the cards, ${o.rate} transactions/s)`,
    `no false alert: no feature the shift does not move starts alerting (all but ${SHIFTED_FEATURE}, the customers' average amounts and the score)`,
    "fraud answers >= 99 % of transactions throughout",
    "the drift episode publishes a retrain request (ml.retrain-request, drift_monitor_retrain_requests_total rises)",
  ],
  unavailable: (ctx) =>
    ctx.registryDir === null ? "set MODEL_REGISTRY_DIR (the drift reference of the fraud model in service) to run drift-injected" : !ctx.urls.has("fraud") || !ctx.urls.has("drift-monitor") ? "needs fraud and drift-monitor in SERVICE_URLS" : null,
  async run(ctx: DrillContext, options: DrillOptions): Promise<DrillReport> {
    const startedAt = new Date().toISOString();
    const multiple = options.multiple ?? 10;
    const fraudUrl = ctx.urls.get("fraud") as string;
    const monitorUrl = ctx.urls.get("drift-monitor") as string;
    const loaded = loadDriftReference(openModelRegistry(ctx.registryDir as string), FRAUD_MODEL_NAME, "current");
    const traffic = referenceTraffic(loaded.reference, { rate: options.rate, clockSpeed: ctx.clock.speed, multiple, now: () => ctx.clock.now() });
    ctx.say(`reference ${loaded.id}: ${traffic.customers} cards, ${traffic.terminals} terminals, ${(traffic.nightShare * 100).toFixed(1)} % at night`);
    const first = await driftReport(monitorUrl);
    const window = judged(first);
    let requestsBefore = await retrainRequests(monitorUrl);
    let episodeOpenAtShift = first.episode.active;
    const prober = new Prober({ urls: { fraud: fraudUrl }, rate: options.rate, timeoutMs: 5_000, clock: ctx.clock, population: traffic.customers, transaction: (n, phase) => traffic.next(n, phase === "shift") });
    const polls: DriftPoll[] = [];
    const scoreFeatures = new Set<string>();
    let last = first;
    const poll = async () => {
      last = await driftReport(monitorUrl);
      const w = judged(last);
      for (const f of w.features) if (f.isScore) scoreFeatures.add(f.feature);
      polls.push({ at: prober.elapsed(), evaluations: w.evaluations, alerting: w.features.filter((f) => f.alerting).map((f) => f.feature) });
    };
    const fault = { startMs: 0, endMs: null as number | null };
    let baselineEvaluations = 0;
    try {
      prober.start();
      ctx.say(`baseline: reference-like transactions at ${options.rate}/s for at least ${options.baselineSeconds} s, until the ${JUDGED_WINDOW} window (${window.spec}) has been evaluated on them with no feature alerting (at most ${BASELINE_MAX_MS / 1000} s more)`);
      const baselineEnd = Date.now() + options.baselineSeconds * 1000;
      const evaluationsAtStart = window.evaluations;
      for (;;) {
        await sleep(1_000);
        await poll().catch(() => undefined);
        baselineEvaluations = judged(last).evaluations - evaluationsAtStart;
        const quiet = baselineEvaluations >= 1 && polls.at(-1)?.alerting.length === 0 && !last.episode.active;
        if ((Date.now() >= baselineEnd && quiet) || Date.now() >= baselineEnd + BASELINE_MAX_MS) break;
      }
      requestsBefore = await retrainRequests(monitorUrl);
      episodeOpenAtShift = last.episode.active;
      prober.phase = "shift";
      fault.startMs = prober.elapsed();
      ctx.say(`shift: amounts x${multiple} on half the cards for up to ${options.faultSeconds} s (until ${SHIFTED_FEATURE} alerts); alerting before: ${polls.at(-1)?.alerting.join(", ") || "none"}`);
      const shiftEnd = Date.now() + options.faultSeconds * 1000;
      while (Date.now() < shiftEnd) {
        await sleep(1_000);
        await poll().catch(() => undefined);
        if (polls.at(-1)?.alerting.includes(SHIFTED_FEATURE) && !polls.filter((p) => p.at < fault.startMs).at(-1)?.alerting.includes(SHIFTED_FEATURE)) break;
      }
      fault.endMs = prober.elapsed();
      prober.phase = "after";
      ctx.say(`after: reference-like transactions again for ${options.afterSeconds} s, watching for alerts`);
      const afterEnd = Date.now() + options.afterSeconds * 1000;
      while (Date.now() < afterEnd) {
        await sleep(1_000);
        await poll().catch(() => undefined);
      }
    } finally {
      await prober.stop();
    }
    await poll();
    const requestsAfter = await retrainRequests(monitorUrl);
    const score = scoreDriftPolls(polls, fault.startMs, scoreFeatures);
    const phases = statsByPhase(prober.results);
    const all = prober.results;
    const availability = all.length === 0 ? null : all.filter((r) => r.ok).length / all.length;
    const monitoredShare = last.events.decisions - first.events.decisions > 0 ? (last.events.monitored - first.events.monitored) / (last.events.decisions - first.events.decisions) : null;
    const final = judged(last);
    const psi = final.features.map((f) => `${f.feature} ${round3(f.psi)}${f.alerting ? " (alerting)" : ""}`);
    const newRequests = requestsAfter - requestsBefore;
    const [t0, t1, t2, t3] = this.expectations(options) as [string, string, string, string];
    const expectations: Expectation[] = [
      {
        text: t0,
        pass: score.detectMs !== null && score.detectMs <= options.faultSeconds * 1000,
        observed: score.alertingBefore.includes(SHIFTED_FEATURE) ? `${SHIFTED_FEATURE} was alerting before the shift` : score.detectMs === null ? "did not alert" : `alerted ${(score.detectMs / 1000).toFixed(1)} s after the shift began`,
      },
      { text: t1, pass: score.falseAlerts.length === 0, observed: score.falseAlerts.length === 0 ? `0 (alerted: ${Object.entries(score.firstAlert).map(([f, ms]) => `${f} at ${(ms / 1000).toFixed(0)} s`).join(", ") || "none"})` : `${score.falseAlerts.length}: ${score.falseAlerts.join(", ")}` },
      { text: t2, pass: availability === null ? null : availability >= 0.99, observed: availability === null ? "no answers" : `${(availability * 100).toFixed(1)} %` },
      { text: t3, pass: newRequests > 0, observed: `${newRequests} published during the shift and after${episodeOpenAtShift ? " (an episode was still open when the shift began: the monitor requests once per episode)" : ""}; episodes ${first.episode.episodes} before the drill, ${last.episode.episodes} after` },
    ];
    return {
      drill: this.name,
      description: this.description,
      startedAt,
      finishedAt: new Date().toISOString(),
      settings: { "shift for at most s": options.faultSeconds, "baseline at least s": options.baselineSeconds, "after s": options.afterSeconds, "probe rate /s": options.rate, "amount multiple": multiple, reference: loaded.id, window: final.spec },
      fault,
      timeToDetectMs: score.detectMs,
      timeToRecoverMs: null,
      phases,
      expectations,
      pass: expectations.every((e) => e.pass === true),
      notes: [
        `PSI per feature in the ${JUDGED_WINDOW} window at the end: ${psi.join(", ")}.`,
        `Time to detect: from the first shifted transaction until GET /v1/drift (polled every second) showed ${SHIFTED_FEATURE} alerting. The monitor evaluates every so many decisions and alerts after several evaluations in a row (its SUSTAIN), so the time depends on the probe rate and on the window's size (${final.windowSize} decisions here): the shifted transactions must become a large enough part of it.`,
        `The baseline ran ${(fault.startMs / 1000).toFixed(0)} s: the window was evaluated ${baselineEvaluations} time(s) on the drill's reference-like transactions, alerting at the end of it: ${score.alertingBefore.join(", ") || "none"}. ${monitoredShare === null ? "" : `${(monitoredShare * 100).toFixed(1)} % of the decisions during the drill were monitored (decided by the model; fallback and rule decisions carry no score).`}`,
        "Not judged: recovery. The window holds the shifted decisions until as many new ones replace them; the alerts clear after the monitor's CLEAR_AFTER evaluations without the condition.",
        "The time window (a week of event time in the demo) needs more decisions than a drill sends in that much real time before it is evaluated, so only the count window is judged.",
      ],
    };
  },
};
