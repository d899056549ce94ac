import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadFraudModel } from "@mlsd/model-formats/fraud";
import { ModelRegistry } from "@mlsd/model-registry";
import { afterAll, describe, expect, it } from "vitest";
import { buildReference, parseDriftReference } from "@mlsd/drift";
import { FraudColumnPlan, fraudFeatureNames, fraudLabelInputs, fraudTransactionInputs } from "@mlsd/feature-store";
import { DRIFT_REFERENCE_FILE } from "@mlsd/model-formats/drift-reference";
import { createFraudWorld, simulateTransactions } from "@mlsd/synth";
import { buildFeatures } from "./data";
import { spread } from "./evaluate";
import { REQUEST_FEATURES } from "./fallback";
import { trainFraud, type TrainFraudOptions } from "./pipeline";
import { rowsOfDays, testFolds } from "./protocol";
import { DEFAULT_LABEL_EDGES, DEFAULT_RATIO_FEATURES, scoreRows } from "./selection";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fraud-pipeline-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const base = (name: string): TrainFraudOptions => ({
  source: { kind: "synthetic", world: { customers: 300, terminals: 600, days: 50 }, seeds: [3, 4] },
  protocol: { folds: 2 },
  grid: { maxDepth: [2, 3], learningRate: [0.3], numRounds: [5, 20], positiveWeight: [1] },
  registryDir: path.join(dir, name, "registry"),
  reportDir: path.join(dir, name, "reports"),
  command: "npm run train:fraud -- --test",
  quiet: true,
  log: () => {},
});

describe("trainFraud on the handbook's protocol", async () => {
  const result = await trainFraud({ ...base("drop"), export: { dir: path.join(dir, "drop", "export"), format: "csv" } });
  const report = fs.readFileSync(result.reportPath, "utf8");
  const f4 = (x: number) => x.toFixed(4);

  it("runs every seed, publishes the first seed's test-fold-0 model and records its windows and metrics", () => {
    expect(result.runs.map((r) => r.label)).toEqual(["world seed 3", "world seed 4"]);
    const first = result.runs[0]!;
    const model = loadFraudModel(new ModelRegistry(path.join(dir, "drop", "registry")), "current");
    expect(model.version).toBe(result.registered.manifest.version);
    expect(model.gbdt.trees.length).toBe(first.selection.best.candidate.params.numRounds);
    expect(model.manifest.metrics).toMatchObject({ test: { rocAuc: first.tests[0]!.metrics.auc, averagePrecision: first.tests[0]!.metrics.ap } });
    expect(model.manifest.dataWindow).toMatchObject({ train: first.tests[0]!.train.dates, test: first.tests[0]!.assess.dates, knownCompromised: "drop" });
    expect(result.evaluation.auc).toBe(first.tests[0]!.metrics.auc);
  });

  it("publishes the degraded-answer fallback beside the model, its quality in the metrics and the report", () => {
    const model = loadFraudModel(new ModelRegistry(path.join(dir, "drop", "registry")), "current");
    expect(model.fallback?.gbdt.featureNames).toEqual([...REQUEST_FEATURES]);
    expect(model.fallback!.thresholds.review).toBeLessThanOrEqual(model.fallback!.thresholds.decline);
    const d = result.degraded;
    expect(d.rows).toBe(result.runs[0]!.tests[0]!.assess.rows);
    expect(d.full.rocAuc).toBeCloseTo(result.evaluation.auc, 12);
    // The request's three features say less than the store's nineteen.
    expect(d.fallback.rocAuc).toBeGreaterThan(0.5);
    expect(d.fallback.rocAuc).toBeLessThan(d.full.rocAuc);
    expect(model.manifest.metrics).toMatchObject({ degraded: JSON.parse(JSON.stringify(d)) });
    expect(report).toContain(`| fallback model | ${f4(d.fallback.rocAuc)} | ${f4(d.fallback.averagePrecision)} |`);
  });

  it("takes the drift reference's score from the published model on its delay period, not another fold's model", () => {
    const registered = result.registered;
    const reference = parseDriftReference(fs.readFileSync(registered.file(DRIFT_REFERENCE_FILE), "utf8"));
    const table = simulateTransactions(createFraudWorld({ customers: 300, terminals: 600, days: 50, seed: 3 }));
    const delay = rowsOfDays(table, testFolds(result.runs[0]!.spec)[0]!.delay);
    const model = loadFraudModel(new ModelRegistry(path.join(dir, "drop", "registry")), "current");
    const txs = fraudTransactionInputs(table);
    const served = buildFeatures(txs, fraudLabelInputs(table, txs), true);
    const scores = scoreRows(model.gbdt, FraudColumnPlan.compile(served.names, model.gbdt.featureNames).matrix(served), delay);
    expect(reference.score?.count).toBe(delay.length);
    expect(reference.score).toEqual(buildReference("score", scores, { kind: "numeric", bins: 10 }));
    // The features' references are the served features' (what the decision events carry), not the ratios the model computes.
    expect(reference.features.map((f) => f.name)).toEqual(fraudFeatureNames());
  });

  it("trains on the served features and the ratios it computes from them, and says so in the report", () => {
    const model = loadFraudModel(new ModelRegistry(path.join(dir, "drop", "registry")), "current");
    expect(model.gbdt.featureNames).toEqual([...fraudFeatureNames(), ...DEFAULT_RATIO_FEATURES]);
    expect(result.runs[0]!.selection.computedColumns).toEqual([...DEFAULT_RATIO_FEATURES]);
    expect(report).toContain(`Columns: the 19 served features and 5 ratios of them the model computes (--ratio-features): ${DEFAULT_RATIO_FEATURES.join(", ")}.`);
    // The exported rows carry the model's columns, ratios included.
    const header = fs.readFileSync(path.join(dir, "drop", "export", "fraud-test.csv"), "utf8").split("\n")[0]!;
    expect(header).toContain("TX_AMOUNT/CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW");
  });

  it("writes a report with the command, rows, frauds, fraud rate and dates of every window, and only computed numbers", () => {
    const first = result.runs[0]!;
    expect(report).toContain("Made by `npm run train:fraud -- --test`.");
    const h = first.history;
    expect(report).toContain(`| whole history | 0-49 | 2018-04-01 .. 2018-05-20 | ${h.rows.toLocaleString("en-US")} | ${h.frauds.toLocaleString("en-US")} | ${(h.fraudRate * 100).toFixed(3)} % |`);
    const t = first.tests[0]!;
    expect(report).toContain(`| test | ${t.assess.range.from}-${t.assess.range.to - 1} | ${t.assess.dates[0]} .. ${t.assess.dates[1]} | ${t.assess.rows.toLocaleString("en-US")} |`);
    expect(report).toContain(`rows of ${t.droppedCards} known-compromised cards dropped`);
    expect(t.dropped).toBeGreaterThan(0);
    for (const k of [0, 1]) expect(report).toContain(`| validation fold ${k}: validate |`);
    expect(report).toContain("Known-compromised cards: **dropped**");
    for (const name of ["ROC-AUC**:", "Average precision (AP)**:", "Card precision@100 (CP@100)**:", "ECE (expected calibration error", "Costs**:"]) expect(report).toContain(name);
    // The grid: 4 candidates, each with its per-fold values, the chosen one in bold.
    expect(report).toContain("= 4 candidates");
    expect(first.selection.labelEdges).toBe(DEFAULT_LABEL_EDGES);
    expect(report).toContain(`Bins: at most 255 per feature, ${DEFAULT_LABEL_EDGES} of the edges placed by the training labels`);
    expect(report).toContain(`| **${first.selection.best.candidate.id}** |`);
  });

  it("states the mean and spread over seeds beside the handbook's numbers, with the gap", () => {
    const ap = spread(result.runs.map((r) => r.testMean.ap));
    expect(report).toContain(`${f4(ap.mean)} ± ${f4(ap.sd)} [${f4(ap.min)} .. ${f4(ap.max)}]`);
    expect(report).toContain("| handbook XGBoost, best after prequential model selection (its chapter 5): its published numbers on its own data | 0.869 | 0.687 | 0.303 |");
    const gap = ap.mean - 0.687;
    expect(report).toContain(gap >= 0 ? `average precision ${f4(ap.mean)} vs 0.687: at or above (+${f4(gap)})` : `average precision ${f4(ap.mean)} vs 0.687: **below by ${f4(-gap)}**`);
  });

  it("exports the published seed's train, validation and test rows with the model version", () => {
    const first = result.runs[0]!;
    expect(result.exported?.rows).toEqual({
      train: first.tests[0]!.train.rows,
      validation: first.validation.reduce((s, v) => s + v.assess.rows, 0),
      test: first.tests[0]!.assess.rows,
    });
    const lines = fs.readFileSync(path.join(dir, "drop", "export", "fraud-test.csv"), "utf8").trimEnd().split("\n");
    expect(lines.length).toBe(first.tests[0]!.assess.rows + 1);
    expect(lines[1]!.startsWith(`${result.registered.manifest.version},test,0,`)).toBe(true);
  });

  it("keeps known-compromised cards when asked, and says so", async () => {
    const keep = await trainFraud({ ...base("keep"), source: { kind: "synthetic", world: { customers: 300, terminals: 600, days: 50 }, seeds: [3] }, protocol: { folds: 2, knownCompromised: "keep" }, ratioFeatures: [] });
    const t = keep.runs[0]!.tests[0]!;
    const dropped = result.runs[0]!.tests[0]!;
    expect(t.dropped).toBe(0);
    expect(t.assess.rows).toBe(dropped.assess.rows + dropped.dropped);
    const keptReport = fs.readFileSync(keep.reportPath, "utf8");
    expect(keptReport).toContain("Known-compromised cards: **kept**");
    // Without ratios (ratioFeatures: []) the model reads the served features alone.
    expect(loadFraudModel(new ModelRegistry(path.join(dir, "keep", "registry")), "current").gbdt.featureNames).toEqual(fraudFeatureNames());
    expect(keptReport).toContain("Columns: the 19 served features (--ratio-features none).");
  });
});
