import { DEFAULT_FRAUD_FEATURE_CONFIG, type LabelInput } from "@mlsd/feature-store";
import { averagePrecision, rocAuc } from "@mlsd/ml-metrics";
import { defineClaim } from "../harness/experiment";
import { openParts } from "../harness/phrases";
import { meanInterval } from "../harness/stats";
import { cell, fmtInterval } from "../harness/table";
import { atLeast } from "../harness/verdict";
import { featuresFor } from "../fraud/data";
import { scoreRows, trainGbdt } from "../fraud/model";
import { DEFAULT_WORLD, QUICK_WORLD, splitWorld, type WorldSize } from "../fraud/world";

type Params = WorldSize;

interface Arm {
  auc: number;
  ap: number;
}

interface Detail {
  honest: Arm;
  leakyOffline: Arm;
  leakyServed: Arm;
}

export default defineClaim<Params, Detail>({
  id: "10",
  aliases: [],
  slug: "label-leakage",
  title: "A feature computed after the label time inflates offline metrics and collapses in production",
  claim:
    "Label leakage: a feature built with information that only exists after the moment of prediction (here, fraud labels that arrive days later) makes the offline evaluation look excellent, and the model falls apart when it is served the feature as it really is at decision time.",
  question: "What is label leakage (e.g. in churn prediction)? (grill Q10)",
  setup: [
    "The fraud features include a terminal's fraud rate over the last 1, 7 and 30 days. The feature store computes it point in time: only labels known at the decision count, and the windows are shifted back by the 7-day label delay (the production definition).",
    "",
    "The leaky pipeline computes the same named features from the warehouse as it looks later: every label is treated as known when its transaction happened and the windows are not shifted, so a fraud's own label (and its neighbours') feed the terminal's fraud rate. Nothing else changes: same world, same rows, same GBDT, same targets (labels known at the deployment cutoff).",
    "",
    "- **offline**: the leaky model evaluated on leaky test features, as its offline report would show it;",
    "- **served**: the same model scored on the features the service can actually compute (point in time);",
    "- **honest**: a model trained and evaluated on point-in-time features throughout.",
    "",
    "Every AUC is against the ground truth of the test window.",
  ].join("\n"),
  sizes: {
    default: DEFAULT_WORLD,
    quick: QUICK_WORLD,
  },
  seeds: { default: 5, quick: 2 },
  checks: [
    { id: "inflation", metric: "inflation", description: "offline AUC of the leaky model minus its AUC when served point-in-time features", rule: atLeast(0.05) },
    { id: "worse-than-honest", metric: "collapse", description: "AUC of the honest model minus the served AUC of the leaky model", rule: atLeast(0.01) },
  ],
  run(p, ctx) {
    const s = splitWorld(ctx.seed, p);
    const { table, matrix } = s.data;
    // The warehouse's view: final labels, all "known" at their transaction's time, no delay shift.
    const warehouseLabels: LabelInput[] = s.data.labels.map((l) => ({ ...l, knownAtMs: l.transactionTimeMs }));
    const leaky = featuresFor({ ...s.data, labels: warehouseLabels }, { config: { ...DEFAULT_FRAUD_FEATURE_CONFIG, labelDelayDays: 0 } });
    ctx.log(`${table.length} transactions; training honest and leaky models`);
    const { train, test } = s.split.rows;
    const honestModel = trainGbdt({ matrix, rows: train, labels: s.trainY });
    const leakyModel = trainGbdt({ matrix: leaky, rows: train, labels: s.trainY });
    const arm = (scores: Float64Array): Arm => ({ auc: rocAuc(s.testY, scores), ap: averagePrecision(s.testY, scores) });
    const honest = arm(scoreRows(honestModel.predictor, matrix, test));
    const leakyOffline = arm(scoreRows(leakyModel.predictor, leaky, test));
    const leakyServed = arm(scoreRows(leakyModel.predictor, matrix, test));
    return {
      metrics: { inflation: leakyOffline.auc - leakyServed.auc, collapse: honest.auc - leakyServed.auc },
      detail: { honest, leakyOffline, leakyServed },
    };
  },
  report({ runs }) {
    const col = (f: (d: Detail) => number, digits = 3) => cell(runs.map((r) => f(r.detail)), digits);
    const iv = (f: (d: Detail) => number) => fmtInterval(meanInterval(runs.map((r) => f(r.detail))));
    return {
      tables: [
        {
          title: "Test window, against the ground truth",
          columns: ["model and features", "ROC-AUC", "average precision"],
          rows: [
            ["leaky model, leaky features (its offline report)", col((d) => d.leakyOffline.auc), col((d) => d.leakyOffline.ap)],
            ["leaky model, point-in-time features (what serving gives it)", col((d) => d.leakyServed.auc), col((d) => d.leakyServed.ap)],
            ["honest model, point-in-time features", col((d) => d.honest.auc), col((d) => d.honest.ap)],
          ],
          note: "Mean ± half-width of the 95 % interval over seeds.",
        },
      ],
      figures: [],
      facts: {
        offline: iv((d) => d.leakyOffline.auc),
        served: iv((d) => d.leakyServed.auc),
        honest: iv((d) => d.honest.auc),
        offlineAp: iv((d) => d.leakyOffline.ap),
        servedAp: iv((d) => d.leakyServed.ap),
        honestAp: iv((d) => d.honest.ap),
      },
    };
  },
  interview: {
    holds: ({ facts }) =>
      `"Leakage is any feature built with information from after the prediction time. I reproduced it with a terminal fraud rate computed from the warehouse's final labels: the offline report said AUC ${facts.offline} (AP ${facts.offlineAp}), served with the point-in-time feature the same model scored ${facts.served} (AP ${facts.servedAp}), below the honest model's ${facts.honest}. So the leak does not just inflate the report, it trains the model to rely on something that does not exist at serving time. The guard is point-in-time feature computation: labels count from when they are known, windows shifted by the label delay, the same definition offline and online."`,
    "does not hold": ({ facts }) =>
      `"I expected a warehouse-computed terminal fraud rate to inflate the offline AUC and collapse online. Measured: offline ${facts.offline}, served ${facts.served}, honest model ${facts.honest}; the collapse was smaller than my threshold here. I would still compute features point in time, because how much a leak hurts depends on how much the model leans on the leaked feature, which you do not know in advance."`,
    inconclusive: ({ checks, facts }) =>
      `"A leaked feature (terminal fraud rate computed from the warehouse's final labels) gave an offline AUC of ${facts.offline}; served with the point-in-time feature the same model scored ${facts.served}, against ${facts.honest} for an honest model, by ROC-AUC this was not settled (${openParts(checks)}). Average precision tells the story ROC-AUC hides: ${facts.offlineAp} offline, ${facts.servedAp} served, ${facts.honestAp} for the honest model. The offline report cannot be trusted when features are not computed point in time."`,
  },
});
