import { averagePrecision } from "@mlsd/ml-metrics";
import { barChart } from "@mlsd/plot";
import { FRAUD_SCENARIO } from "@mlsd/synth";
import { DAY_MS } from "@mlsd/feature-store";
import { defineClaim } from "../harness/experiment";
import { openParts } from "../harness/phrases";
import { meanInterval } from "../harness/stats";
import { cell, cellPct, fmtInterval } from "../harness/table";
import { atLeast } from "../harness/verdict";
import { featuresFor } from "../fraud/data";
import { scoreRows, trainGbdt } from "../fraud/model";
import { recallWhere, thresholdAtFpr } from "../fraud/operating-point";
import { DEFAULT_WORLD, QUICK_WORLD, splitWorld, type WorldSize } from "../fraud/world";

interface Params extends WorldSize {
  /** Fast attacks per day per 1,000 customers. */
  attacksPerThousand: number;
  burstTransactions: number;
  burstMinutes: number;
  /** False-positive budget of the operating point. */
  fpr: number;
}

interface Arm {
  ap: number;
  recallByScenario: number[];
  attackAmountStopped: number;
}

interface Detail {
  streaming: Arm;
  batch: Arm;
  attackShare: number;
}

const SCENARIOS = [
  { id: FRAUD_SCENARIO.amount, name: "large amount" },
  { id: FRAUD_SCENARIO.terminal, name: "compromised terminal" },
  { id: FRAUD_SCENARIO.customer, name: "compromised card (slow)" },
  { id: FRAUD_SCENARIO.burst, name: "fast attack (burst)" },
];

export default defineClaim<Params, Detail>({
  id: "37",
  aliases: [],
  slug: "streaming-features",
  title: "Streaming features catch fast attacks that daily batch features miss",
  claim:
    "Batch features are computed on a schedule (nightly) and are stale by up to a day; streaming features are updated per event. Against an attack that plays out within minutes (a stolen card used many times in half an hour), only the streaming features can see it in time.",
  question: "Batch vs streaming: what is the difference? (grill Q37; seed 001: batch aggregates vs real-time features)",
  setup: [
    "The fraud world with fast attacks added (@mlsd/synth scenario 4): each day some cards are taken over and used for a burst of payments within half an hour, at their owner's usual terminals and amounts, so only the pace gives them away.",
    "",
    "The same feature definitions (@mlsd/feature-store) are materialised two ways: **streaming**, as of each payment (the online store's Redis counters), and **daily batch**, as a nightly job would have left them (aggregates as of the last midnight; only the payment's own amount and time are fresh). A GBDT is trained on each, same rows and labels.",
    "",
    "Each model's threshold flags 1 % of legitimate validation payments; recall per fraud scenario is then measured on the test window.",
  ].join("\n"),
  sizes: {
    default: { ...DEFAULT_WORLD, attacksPerThousand: 2.5, burstTransactions: 8, burstMinutes: 30, fpr: 0.01 },
    quick: { ...QUICK_WORLD, attacksPerThousand: 5, burstTransactions: 8, burstMinutes: 30, fpr: 0.01 },
  },
  seeds: { default: 5, quick: 2 },
  checks: [{ id: "fast-attacks", metric: "burstGain", description: "recall of fast-attack payments with streaming features minus with daily batch features (1 % FPR)", rule: atLeast(0.2) }],
  run(p, ctx) {
    const s = splitWorld(ctx.seed, p, {
      scenarios: { burstCardsPerDay: Math.max(1, Math.round((p.customers * p.attacksPerThousand) / 1000)), burstTransactions: p.burstTransactions, burstMinutes: p.burstMinutes },
    });
    const { table } = s.data;
    const { train, valid, test } = s.split.rows;
    const scenarioOf = Uint8Array.from(test, (i) => table.fraudScenario[i] as number);
    const amountOf = Float64Array.from(test, (i) => table.amount[i] as number);
    const arm = (matrix: typeof s.data.matrix): Arm => {
      const model = trainGbdt({ matrix, rows: train, labels: s.trainY });
      const threshold = thresholdAtFpr(s.validY, scoreRows(model.predictor, matrix, valid), p.fpr);
      const scores = scoreRows(model.predictor, matrix, test);
      let stopped = 0;
      let total = 0;
      scores.forEach((sc, r) => {
        if (scenarioOf[r] !== FRAUD_SCENARIO.burst) return;
        total += amountOf[r] as number;
        if (sc >= threshold) stopped += amountOf[r] as number;
      });
      return {
        ap: averagePrecision(s.testY, scores),
        recallByScenario: SCENARIOS.map((sc) => recallWhere(scores, Uint8Array.from(scenarioOf, (v) => (v === sc.id ? 1 : 0)), threshold)),
        attackAmountStopped: total ? stopped / total : Number.NaN,
      };
    };
    ctx.log("streaming features");
    const streaming = arm(s.data.matrix);
    ctx.log("daily batch features");
    const batch = arm(featuresFor(s.data, { batchPeriodMs: DAY_MS }));
    const burst = SCENARIOS.findIndex((sc) => sc.id === FRAUD_SCENARIO.burst);
    return {
      metrics: { burstGain: (streaming.recallByScenario[burst] as number) - (batch.recallByScenario[burst] as number), apGain: streaming.ap - batch.ap },
      detail: { streaming, batch, attackShare: scenarioOf.reduce((a, v) => a + (v === FRAUD_SCENARIO.burst ? 1 : 0), 0) / Math.max(1, s.testY.reduce((a, b) => a + b, 0)) },
    };
  },
  report({ runs, params }) {
    const pick = (arm: "streaming" | "batch", f: (a: Arm) => number) => runs.map((r) => f(r.detail[arm]));
    const row = (arm: "streaming" | "batch", name: string) => [name, cell(pick(arm, (a) => a.ap)), ...SCENARIOS.map((_, k) => cellPct(pick(arm, (a) => a.recallByScenario[k] as number))), cellPct(pick(arm, (a) => a.attackAmountStopped))];
    const mean = (arm: "streaming" | "batch", k: number) => 100 * meanInterval(pick(arm, (a) => a.recallByScenario[k] as number)).mean;
    const burst = SCENARIOS.length - 1;
    return {
      tables: [
        {
          title: `Recall by fraud scenario at ${(params.fpr * 100).toFixed(0)} % false-positive rate (test window)`,
          columns: ["features", "average precision", ...SCENARIOS.map((s) => `recall: ${s.name}`), "fast-attack amount stopped"],
          rows: [row("streaming", "streaming (as of each payment)"), row("batch", "daily batch (as of last midnight)")],
          note: `Mean ± half-width of the 95 % interval over seeds. Fast attacks are ${cellPct(runs.map((r) => r.detail.attackShare))} of the test window's fraudulent payments.`,
        },
      ],
      figures: [
        {
          name: "recall",
          title: "Recall by fraud scenario: streaming against daily batch features",
          svg: barChart({
            title: "Recall at 1 % FPR by fraud scenario",
            xLabel: "fraud scenario",
            yLabel: "recall (%, mean over seeds)",
            categories: SCENARIOS.map((s) => s.name),
            yDomain: [0, 100],
            series: [
              { name: "streaming features", values: SCENARIOS.map((_, k) => mean("streaming", k)) },
              { name: "daily batch features", values: SCENARIOS.map((_, k) => mean("batch", k)) },
            ],
          }),
        },
      ],
      facts: {
        streamBurst: cellPct(pick("streaming", (a) => a.recallByScenario[burst] as number)),
        batchBurst: cellPct(pick("batch", (a) => a.recallByScenario[burst] as number)),
        streamSlow: cellPct(pick("streaming", (a) => a.recallByScenario[2] as number)),
        batchSlow: cellPct(pick("batch", (a) => a.recallByScenario[2] as number)),
        apGain: fmtInterval(meanInterval(runs.map((r) => r.metrics.apGain as number))),
        streamAmount: cellPct(pick("streaming", (a) => a.attackAmountStopped)),
        batchAmount: cellPct(pick("batch", (a) => a.attackAmountStopped)),
      },
    };
  },
  interview: {
    holds: ({ facts }) =>
      `"It depends on how fast the fraud moves. Against card take-overs that spend within half an hour at normal amounts, the model on streaming features caught ${facts.streamBurst} of the attack payments at a 1 % false-positive rate; the same model on features from a nightly batch caught ${facts.batchBurst}, because at decision time the batch has not seen today's burst. On slow fraud (a compromised card over two weeks) the difference was ${facts.streamSlow} vs ${facts.batchSlow}. So: batch for slow, stable aggregates (30-day averages), streaming counters for velocity, both defined once in the feature store."`,
    "does not hold": ({ facts }) =>
      `"I expected streaming features to matter most against fast attacks; measured, the streaming model caught ${facts.streamBurst} of attack payments against ${facts.batchBurst} for daily batch features, less of a gap than my threshold. Batch features still carry the history that makes an attack stand out, so before building streaming infrastructure I would measure how much of the fraud is actually fast."`,
    inconclusive: ({ checks, facts }) =>
      `"Streaming features caught ${facts.streamBurst} of fast-attack payments against ${facts.batchBurst} with daily batch features; not settled: ${openParts(checks)}."`,
  },
});
