/**
 * Simulated false positive rate, power and coverage of the rollout tests under continuous
 * monitoring, plus the fixed-horizon sample sizes, as markdown tables for the README.
 *
 *   npm run -w @mlsd/rollout-stats sim
 *   npm run -w @mlsd/rollout-stats sim -- --experiments 2000 --seed 7
 */
import { horizonTau2Factor, sampleSizeForMde, tau2ForHorizon, type PlannedTest } from "../src/index";
import {
  clusteredPilotVariance,
  median,
  simulateClustered,
  simulateMeans,
  simulateProportions,
  skewedCost,
  type StreamOutcome,
  type StreamSettings,
} from "../test/simulate";

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`--${name} needs a positive integer, got ${process.argv[i + 1]}`);
  return v;
}

const EXPERIMENTS = flag("experiments", 1000);
const SEED = flag("seed", 1);
const ALPHA = 0.05;

interface Scenario {
  name: string;
  batch: number;
  treatmentBatch?: number;
  looks: number;
  /** Per-unit variance expected before the data arrive (tau2ForHorizon's input). */
  perUnitVariance: number;
  run(settings: StreamSettings): StreamOutcome;
}

function proportions(name: string, pc: number, pt: number, batch: number, looks: number, treatmentBatch?: number): Scenario {
  return { name, batch, treatmentBatch, looks, perUnitVariance: pc * (1 - pc), run: (s) => simulateProportions({ ...s, pc, pt }) };
}

/** A balanced A/B whose horizon is the sample size sampleSizeForMde plans for `test` (power 0.8), in 50 looks. */
function planned(name: string, pc: number, pt: number, test: PlannedTest): Scenario {
  const n = sampleSizeForMde({ baseline: pc, mde: pt - pc, mdeKind: "absolute", test }).control;
  return proportions(`${name}, horizon planned for the ${test} test`, pc, pt, Math.ceil(n / 50), 50);
}

function skewed(name: string, shift: number): Scenario {
  return { name, batch: 250, looks: 40, perUnitVariance: 14 * 14, run: (s) => simulateMeans({ ...s, draw: skewedCost, shift }) };
}

// Users split by a hash: 20 % heavy clickers at 40 %, the rest at 2.5 % (CTR 10 %), 1 + Poisson(9) impressions each.
const USERS = { heavyShare: 0.2, heavyRate: 0.4, lightRate: 0.025, extraImpressions: 9 };
function clustered(name: string, unit: "impression" | "user", lift: number): Scenario {
  const perUnitVariance = unit === "user" ? clusteredPilotVariance(USERS, 20_000, 99) : 0.09;
  // batch counts users; an impression-level stat sees about ten times as many units.
  const scale = unit === "user" ? 1 : 1 + USERS.extraImpressions;
  return {
    name,
    batch: 100,
    looks: 40,
    perUnitVariance: perUnitVariance / scale,
    run: (s) => simulateClustered({ ...s, ...USERS, unit, lift }),
  };
}

const SCENARIOS: Scenario[] = [
  proportions("A/A, 10 %, 50/50", 0.1, 0.1, 200, 50),
  proportions("A/A, 3 %, 50/50", 0.03, 0.03, 200, 50),
  proportions("A/A, 3 %, 5 % canary", 0.03, 0.03, 950, 40, 50),
  proportions("A/A, 10 %, 5 % canary", 0.1, 0.1, 950, 40, 50),
  skewed("A/A, skewed cost (mean 2.98, sd 14), 50/50", 0),
  clustered("A/A, CTR split by user, ProportionStat per impression (wrong unit)", "impression", 0),
  clustered("A/A, CTR split by user, RatioStat per user", "user", 0),
  planned("A/B, 10 % -> 11 %, 50/50", 0.1, 0.11, "fixed-horizon"),
  planned("A/B, 10 % -> 11 %, 50/50", 0.1, 0.11, "sequential"),
  planned("A/B, 10 % -> 10.5 %, 50/50", 0.1, 0.105, "sequential"),
  proportions("A/B, 10 % -> 8 %, 5 % canary", 0.1, 0.08, 950, 40, 50),
  proportions("A/B, 3 % -> 3.3 %, 5 % canary", 0.03, 0.03 * 1.1, 950, 40, 50),
  skewed("A/B, skewed cost +0.6 (+20 %), 50/50", 0.6),
  clustered("A/B, CTR +20 % split by user, RatioStat per user", "user", 0.2),
];

const rate = (k: number): string => `${((100 * k) / EXPERIMENTS).toFixed(1)}%`;

console.log(`Continuous monitoring, ${EXPERIMENTS} simulated experiments per row (seed ${SEED}), alpha = ${ALPHA}, a look after every batch;`);
console.log(`tau^2 = ${horizonTau2Factor(ALPHA).toFixed(2)} x Var(estimate at the horizon) (tau2ForHorizon), minCount 100.\n`);
console.log("| scenario | control / treatment at horizon | looks | mSPRT decided (better / worse) | mSPRT, Welch variance only (better / worse) | z-test, peeking every look | z-test once at horizon | confidence sequence missed truth | median treatment units at decision |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
const started = Date.now();
SCENARIOS.forEach((s, i) => {
  const tb = s.treatmentBatch ?? s.batch;
  const tau2 = tau2ForHorizon({ alpha: ALPHA, perUnitVariance: s.perUnitVariance, controlCount: s.batch * s.looks, treatmentCount: tb * s.looks });
  const o = s.run({ experiments: EXPERIMENTS, batchPerArm: s.batch, treatmentBatch: tb, looks: s.looks, alpha: ALPHA, tau2, seed: SEED + i });
  if (o.monotoneViolations > 0) throw new Error(`${s.name}: the always-valid p-value rose ${o.monotoneViolations} times`);
  const decided = `${rate(o.msprtDecided)} (${o.msprtBetter} / ${o.msprtWorse})`;
  const welch = `${rate(o.welchBetter + o.welchWorse)} (${o.welchBetter} / ${o.welchWorse})`;
  const units = o.decisionUnits.length ? median(o.decisionUnits).toLocaleString("en-US") : "-";
  console.log(
    `| ${s.name} | ${(s.batch * s.looks).toLocaleString("en-US")} / ${(tb * s.looks).toLocaleString("en-US")} | ${s.looks} | ${decided} | ${welch} | ${rate(o.peekingRejections)} | ${rate(o.horizonRejections)} | ${rate(o.coverageMisses)} | ${units} |`,
  );
  process.stderr.write(`  ${i + 1}/${SCENARIOS.length} done (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
});

console.log("\nUnits per arm to detect a relative lift with power 0.8 at alpha 0.05 (sampleSizeForMde): fixed-horizon z-test / sequential budget:\n");
const mdes = [0.05, 0.1, 0.2];
console.log(`| baseline | ${mdes.map((m) => `+${m * 100} % relative`).join(" | ")} |`);
console.log(`| ---: | ${mdes.map(() => "---:").join(" | ")} |`);
for (const baseline of [0.01, 0.03, 0.1]) {
  const cells = mdes.map((mde) =>
    (["fixed-horizon", "sequential"] as const).map((test) => sampleSizeForMde({ baseline, mde, mdeKind: "relative", test }).control.toLocaleString("en-US")).join(" / "),
  );
  console.log(`| ${baseline * 100} % | ${cells.join(" | ")} |`);
}
