/**
 * Throughput of DriftDetector with 20 features (15 numeric, 5 categorical), a 5,000-event window
 * and an evaluation every 500 events, against a baseline that keeps the raw window and re-bins it
 * at every evaluation; then the detection delay for a 0.5 sd mean shift and the false-alarm rates.
 *
 *   npm run bench            (from packages/drift)
 *   BENCH_EVENTS=100000 npm run bench   (events per timed run; default 200,000)
 */
import { Rng } from "@mlsd/random";
import {
  chiSquareHomogeneity,
  createBinner,
  type DriftEvent,
  type DriftReference,
  DriftDetector,
  type DriftDetectorOptions,
  type FeatureBinner,
  jensenShannonDivergence,
  ksFromHistograms,
  populationStabilityIndex,
  PsiNullCache,
} from "../src/index";
import { World } from "../test/world";

const EVENTS_PER_RUN = Number(process.env.BENCH_EVENTS ?? 200_000);
const RUNS = 5;
const WINDOW = 5000;
const EVERY = 500;

const world = new World(15, 5);
const reference = world.reference(new Rng(100), 20_000, false);
const poolRng = new Rng(1);
const pool: DriftEvent[] = Array.from({ length: 100_000 }, (_, i) => world.event(poolRng, i));

interface Monitor {
  push(event: DriftEvent): unknown;
  evaluate(): unknown;
}

/** The obvious implementation: keep the raw values of the last N events and re-bin them at each evaluation. */
class RecomputingMonitor implements Monitor {
  private readonly binners: FeatureBinner[];
  private readonly raw: Array<DriftEvent["features"]>;
  private next = 0;
  private filled = 0;
  private since = 0;

  constructor(
    ref: DriftReference,
    private readonly capacity: number,
    private readonly every: number,
    private readonly nullCache: PsiNullCache,
  ) {
    this.binners = ref.features.map(createBinner);
    this.raw = new Array(capacity);
  }

  push(event: DriftEvent): unknown {
    this.raw[this.next] = event.features;
    this.next = (this.next + 1) % this.capacity;
    this.filled = Math.min(this.capacity, this.filled + 1);
    if (++this.since < this.every) return undefined;
    this.since = 0;
    return this.evaluate();
  }

  evaluate(): unknown {
    const out: number[] = [];
    for (const binner of this.binners) {
      const cells = new Float64Array(binner.cellCount);
      for (let i = 0; i < this.filled; i++) {
        const cell = binner.cellOf((this.raw[i] as DriftEvent["features"])[binner.name]);
        cells[cell] = (cells[cell] as number) + 1;
      }
      const bins = binner.binsFromCells(cells, new Float64Array(binner.binCount));
      const psi = populationStabilityIndex(binner.referenceBins, bins, this.nullCache.epsilon);
      const p = this.nullCache.get(binner.referenceBins, this.filled).pValue(psi);
      const js = jensenShannonDivergence(binner.referenceBins, bins);
      const extra =
        binner.kind === "numeric" ? ksFromHistograms(binner.referenceCells, cells, binner.cellCount - 1) : chiSquareHomogeneity(binner.referenceBins, bins).pValue;
      out.push(psi, p, js, extra);
    }
    return out;
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

interface Row {
  variant: string;
  eventsPerSecond: number;
  microsPerEvent: number;
  evaluationMs: number;
  coldEvaluationMs: number;
}

function measure(variant: string, make: (cache: PsiNullCache) => Monitor, timeBased: boolean): Row {
  // Cold: the first evaluation on a full window simulates the null distributions it needs.
  const cache = new PsiNullCache();
  const monitor = make(cache);
  let clock = 0;
  const feed = (count: number): void => {
    for (let i = 0; i < count; i++) {
      const event = pool[clock % pool.length] as DriftEvent;
      event.time = timeBased ? clock : 0;
      clock++;
      monitor.push(event);
    }
  };
  feed(WINDOW - 1);
  const coldStart = performance.now();
  monitor.evaluate();
  const coldEvaluationMs = performance.now() - coldStart;
  feed(50_000); // JIT warm-up and every null bucket the window passes through
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const start = performance.now();
    feed(EVENTS_PER_RUN);
    rates.push(EVENTS_PER_RUN / ((performance.now() - start) / 1000));
  }
  const evalTimes: number[] = [];
  for (let r = 0; r < 50; r++) {
    const start = performance.now();
    monitor.evaluate();
    evalTimes.push(performance.now() - start);
  }
  const eventsPerSecond = median(rates);
  return { variant, eventsPerSecond, microsPerEvent: 1e6 / eventsPerSecond, evaluationMs: median(evalTimes), coldEvaluationMs };
}

const detectorOptions = (cache: PsiNullCache, window: DriftDetectorOptions["window"]): DriftDetectorOptions => ({
  window,
  evaluateEvery: EVERY,
  nullCache: cache,
});

const rows = [
  measure("DriftDetector, count window (incremental)", (c) => new DriftDetector(reference, detectorOptions(c, { kind: "count", size: WINDOW })), false),
  measure("DriftDetector, time window 5 s at 1 event/ms", (c) => new DriftDetector(reference, detectorOptions(c, { kind: "time", seconds: 5 })), true),
  measure("baseline: raw window, re-binned per evaluation", (c) => new RecomputingMonitor(reference, WINDOW, EVERY, c), false),
];

const fmt = (x: number, digits = 0): string => x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
console.log(`\nDriftDetector throughput: 20 features (15 numeric, 5 categorical), window ${fmt(WINDOW)}, evaluation every ${EVERY} events`);
console.log(`median of ${RUNS} runs x ${fmt(EVENTS_PER_RUN)} events; evaluation = median of 50 evaluate() calls; cold = first evaluation with an empty null cache\n`);
console.log("| variant | events/s | us/event | evaluation ms | cold evaluation ms |");
console.log("| --- | ---: | ---: | ---: | ---: |");
for (const r of rows) {
  console.log(`| ${r.variant} | ${fmt(r.eventsPerSecond)} | ${fmt(r.microsPerEvent, 2)} | ${fmt(r.evaluationMs, 3)} | ${fmt(r.coldEvaluationMs, 1)} |`);
}

// ---- detection delay and false alarms ---------------------------------------------------------

const sharedCache = new PsiNullCache();

function detectionDelay(seed: number): { delay: number; otherAlerts: number } {
  const d = new DriftDetector(reference, { window: { kind: "count", size: WINDOW }, evaluateEvery: EVERY, nullCache: sharedCache });
  const rng = new Rng(seed);
  for (let i = 0; i < 20_000; i++) d.push(world.event(rng, i));
  const shiftAt = d.eventCount;
  let delay = Number.NaN;
  let otherAlerts = 0;
  for (let i = 0; i < 20_000; i++) {
    const evaluation = d.push(world.event(rng, i, { meanShift: { x3: 0.5 } }));
    for (const t of evaluation?.transitions ?? []) {
      if (t.feature === "x3" && t.type === "start" && Number.isNaN(delay)) delay = t.eventCount - shiftAt;
      else otherAlerts++;
    }
  }
  return { delay, otherAlerts };
}

const delays = [11, 12, 13, 14, 15].map(detectionDelay);
console.log(`\nDetection of a 0.5 sd mean shift on one numeric feature (window ${fmt(WINDOW)}, every ${EVERY}, PSI >= 0.1, Holm alpha 0.05, sustain 3), 5 seeds`);
console.log("| events from shift to alert (median) | min | max | alerts on other features |");
console.log("| ---: | ---: | ---: | ---: |");
const delayValues = delays.map((d) => d.delay);
console.log(`| ${fmt(median(delayValues))} | ${fmt(Math.min(...delayValues))} | ${fmt(Math.max(...delayValues))} | ${delays.reduce((a, d) => a + d.otherAlerts, 0)} |`);

function falseAlarms(window: number, evaluations: number): { plain: number; feature: number; family: number; starts: number } {
  const options = { window: { kind: "count", size: window }, evaluateEvery: window, nullCache: sharedCache } as const;
  const raw = new DriftDetector(reference, { ...options, sustain: 1, clearAfter: 1 });
  const sustained = new DriftDetector(reference, options);
  const rng = new Rng(99);
  let plain = 0;
  let feature = 0;
  let family = 0;
  let starts = 0;
  let results = 0;
  for (let i = 0; i < window * evaluations; i++) {
    const event = world.event(rng, i);
    starts += sustained.push(event)?.transitions.filter((t) => t.type === "start").length ?? 0;
    const evaluation = raw.push(event);
    if (!evaluation) continue;
    results += evaluation.results.length;
    plain += evaluation.results.filter((r) => r.psi >= 0.1).length;
    const met = evaluation.results.filter((r) => r.conditionMet).length;
    feature += met;
    family += met > 0 ? 1 : 0;
  }
  return { plain: plain / results, feature: feature / results, family: family / evaluations, starts };
}

console.log("\nFalse alarms with no shift: 2,000 evaluations of disjoint windows x 20 features, alpha 0.05 (Holm)");
console.log("| window | plain PSI >= 0.1 (per feature-evaluation) | effect AND significance (per feature-evaluation) | evaluations with any | alerts started, sustain 3 |");
console.log("| ---: | ---: | ---: | ---: | ---: |");
for (const window of [100, 250]) {
  const r = falseAlarms(window, 2000);
  console.log(`| ${window} | ${fmt(100 * r.plain, 2)}% | ${fmt(100 * r.feature, 3)}% | ${fmt(100 * r.family, 2)}% | ${r.starts} |`);
}
