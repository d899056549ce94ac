/**
 * @mlsd/gbdt against XGBoost (tree_method=hist) on the same data, parameters and machine, in one run.
 *
 *   npm run bench                                   # seeded fraud-like data, 200k train / 100k test
 *   npm run bench -- --train-rows 50000 --rounds 100
 *   npm run bench -- --csv data.csv --label is_fraud [--test-csv test.csv | --test-fraction 0.3]
 *   npm run bench -- --skip-xgboost
 *
 * CSV input: a header row, comma-separated numeric columns (no quoting); empty, NA and NaN cells are
 * missing values. XGBoost runs from bench/xgb_baseline.py with OMP_WAIT_POLICY=PASSIVE, in the
 * virtual environment this script installs from PyPI (bench/requirements.txt; --python overrides).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { averagePrecision, rocAuc } from "@mlsd/ml-metrics";
import { ensurePythonEnv } from "@mlsd/python-peers";
import { Rng } from "@mlsd/random";
import { Dataset, Predictor, train } from "../src/index";
import { fraudTable, type Table } from "./fraud-data";

const { values: args } = parseArgs({
  options: {
    "train-rows": { type: "string", default: "200000" },
    "test-rows": { type: "string", default: "100000" },
    seed: { type: "string", default: "7" },
    rounds: { type: "string", default: "300" },
    "max-depth": { type: "string", default: "6" },
    eta: { type: "string", default: "0.1" },
    lambda: { type: "string", default: "1" },
    "min-child-weight": { type: "string", default: "1" },
    threads: { type: "string", default: "1,2" },
    csv: { type: "string" },
    label: { type: "string", default: "label" },
    "test-csv": { type: "string" },
    "test-fraction": { type: "string", default: "0.3" },
    "skip-xgboost": { type: "boolean", default: false },
    python: { type: "string" },
  },
});

const rounds = Number(args.rounds);
const maxDepth = Number(args["max-depth"]);
const eta = Number(args.eta);
const lambda = Number(args.lambda);
const minChildWeight = Number(args["min-child-weight"]);
const seed = Number(args.seed);

interface Row {
  name: string;
  auc: number;
  ap: number;
  trainSeconds: number;
  trainCpuSeconds: number;
  singleRowMicros: number;
  batchRowMicros: number;
}

function main(): void {
  const { trainTable, testTable, source } = loadData();
  const width = trainTable.featureNames.length;
  const positives = trainTable.labels.reduce((a, b) => a + b, 0);
  console.log(
    `data: ${source}; ${trainTable.numRows} train / ${testTable.numRows} test rows, ${width} features, ` +
      `${((100 * positives) / trainTable.numRows).toFixed(2)}% positives in train, ` +
      `${(100 * fractionMissing(trainTable)).toFixed(1)}% cells missing`,
  );
  console.log(`params: rounds=${rounds} max_depth=${maxDepth} eta=${eta} lambda=${lambda} min_child_weight=${minChildWeight} max_bin=255(+missing)/256`);

  const results: Row[] = [ours(trainTable, testTable)];
  if (!args["skip-xgboost"]) {
    const dir = mkdtempSync(join(tmpdir(), "mlsd-gbdt-bench-"));
    try {
      const trainCsv = join(dir, "train.csv");
      const testCsv = join(dir, "test.csv");
      writeCsv(trainCsv, trainTable);
      writeCsv(testCsv, testTable);
      for (const threads of args.threads.split(",").map(Number)) results.push(xgboost(trainCsv, testCsv, dir, threads, testTable.labels));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  printTable(results);
}

function ours(trainTable: Table, testTable: Table): Row {
  const width = trainTable.featureNames.length;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const data = Dataset.fromRows(
    { data: trainTable.data, numRows: trainTable.numRows, numColumns: width },
    { labels: trainTable.labels, featureNames: trainTable.featureNames, seed },
  );
  const { model } = train(data, { objective: "binary", numRounds: rounds, maxDepth, learningRate: eta, lambda, minChildWeight, seed });
  const trainSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const predictor = new Predictor(model);
  const test = { data: testTable.data, numRows: testTable.numRows, numColumns: width };
  const probabilities = predictor.predictBatch(test);

  const rows = Array.from({ length: Math.min(testTable.numRows, 20_000) }, (_, r) => testTable.data.subarray(r * width, (r + 1) * width));
  const singleRowMicros = medianPerRow(rows, 100, (row) => predictor.predictRow(row));
  const singleRowCpuMicros = cpuPerRow(rows, (row) => predictor.predictRow(row));
  const batch = new Float64Array(1000);
  const batchRowMicros = median(
    Array.from({ length: Math.min(50, Math.floor(testTable.numRows / 1000)) }, (_, i) => {
      const chunk = { data: testTable.data.subarray(i * 1000 * width, (i + 1) * 1000 * width), numRows: 1000, numColumns: width };
      const start = process.cpuUsage();
      predictor.predictBatch(chunk, batch);
      return process.cpuUsage(start).user / 1000;
    }),
  );
  const treeWalkMicros = cpuPerRow(rows.slice(0, 5_000), (row) => model.predict(row));
  console.log(
    `@mlsd/gbdt: ${model.trees.length} trees; single row ${singleRowCpuMicros.toFixed(2)} us of CPU time (mean); ` +
      `the unflattened tree walk (GbdtModel.predict) ${treeWalkMicros.toFixed(2)} us of CPU time`,
  );
  return {
    name: "@mlsd/gbdt (1 thread)",
    auc: rocAuc(testTable.labels, probabilities),
    ap: averagePrecision(testTable.labels, probabilities),
    trainSeconds,
    trainCpuSeconds: (cpu.user + cpu.system) / 1e6,
    singleRowMicros,
    batchRowMicros,
  };
}

/** Median over chunks of `chunk` consecutive single-row calls, per row (timer cost amortised). */
function medianPerRow(rows: Float64Array[], chunk: number, predict: (row: Float64Array) => number): number {
  let sink = 0;
  for (const row of rows.slice(0, 2_000)) sink += predict(row);
  const perRow: number[] = [];
  for (let i = 0; i + chunk <= rows.length; i += chunk) {
    const start = process.hrtime.bigint();
    for (let k = i; k < i + chunk; k++) sink += predict(rows[k] as Float64Array);
    perRow.push(Number(process.hrtime.bigint() - start) / 1000 / chunk);
  }
  if (Number.isNaN(sink)) throw new Error("prediction produced NaN");
  return median(perRow);
}

/** Mean CPU time per row over all rows (insensitive to this process being descheduled). */
function cpuPerRow(rows: Float64Array[], predict: (row: Float64Array) => number): number {
  let sink = 0;
  const start = process.cpuUsage();
  for (const row of rows) sink += predict(row);
  const used = process.cpuUsage(start);
  if (Number.isNaN(sink)) throw new Error("prediction produced NaN");
  return used.user / rows.length;
}

function xgboost(trainCsv: string, testCsv: string, dir: string, threads: number, labels: Float64Array): Row {
  const predictions = join(dir, `xgb-${threads}.txt`);
  const script = join(dirname(fileURLToPath(import.meta.url)), "xgb_baseline.py");
  const python = args.python ?? ensurePythonEnv({ name: "gbdt", requirements: join(dirname(fileURLToPath(import.meta.url)), "requirements.txt") });
  const run = spawnSync(
    python,
    [
      script,
      "--train", trainCsv,
      "--test", testCsv,
      "--predictions", predictions,
      "--nthread", String(threads),
      "--rounds", String(rounds),
      "--max-depth", String(maxDepth),
      "--eta", String(eta),
      "--lambda", String(lambda),
      "--min-child-weight", String(minChildWeight),
    ],
    // Passive waiting: on a shared, oversubscribed machine spinning OpenMP threads burn their
    // time slices waiting for descheduled siblings (nthread=2 ran 5x slower than nthread=1).
    { encoding: "utf8", maxBuffer: 1 << 26, env: { ...process.env, OMP_WAIT_POLICY: "PASSIVE" } },
  );
  if (run.status !== 0) {
    throw new Error(`xgb_baseline.py failed:\n${run.stderr}`);
  }
  const report = JSON.parse(run.stdout.trim().split("\n").pop() as string) as {
    version: string;
    trainSeconds: number;
    trainCpuSeconds: number;
    singleRowMicros: number;
    batchRowMicros: number;
  };
  const probabilities = Float64Array.from(readFileSync(predictions, "utf8").trim().split("\n"), Number);
  return {
    name: `xgboost ${report.version} (nthread=${threads})`,
    auc: rocAuc(labels, probabilities),
    ap: averagePrecision(labels, probabilities),
    trainSeconds: report.trainSeconds,
    trainCpuSeconds: report.trainCpuSeconds,
    singleRowMicros: report.singleRowMicros,
    batchRowMicros: report.batchRowMicros,
  };
}

function printTable(results: Row[]): void {
  const header = ["model", "test ROC-AUC", "test AP", "train s (wall)", "train s (CPU)", "1 row us (wall, median)", "batch of 1k: CPU us/row (median)"];
  const lines = results.map((r) => [
    r.name,
    r.auc.toFixed(4),
    r.ap.toFixed(4),
    r.trainSeconds.toFixed(2),
    r.trainCpuSeconds.toFixed(2),
    r.singleRowMicros.toFixed(2),
    r.batchRowMicros.toFixed(3),
  ]);
  console.log(`\n| ${header.join(" | ")} |\n|${header.map(() => " --- ").join("|")}|`);
  for (const line of lines) console.log(`| ${line.join(" | ")} |`);
  const ours = results[0] as Row;
  const xgb1 = results.find((r) => r.name.endsWith("(nthread=1)"));
  if (xgb1) {
    console.log(
      `\nours vs xgboost nthread=1: AUC ${(ours.auc - xgb1.auc >= 0 ? "+" : "") + (ours.auc - xgb1.auc).toFixed(4)}, ` +
        `training ${(ours.trainSeconds / xgb1.trainSeconds).toFixed(2)}x wall / ${(ours.trainCpuSeconds / xgb1.trainCpuSeconds).toFixed(2)}x CPU time`,
    );
  }
  console.log(`node ${process.version}; training time includes binning (Dataset.fromRows) and DMatrix construction`);
}

function loadData(): { trainTable: Table; testTable: Table; source: string } {
  if (!args.csv) {
    return {
      trainTable: fraudTable(Number(args["train-rows"]), seed),
      testTable: fraudTable(Number(args["test-rows"]), seed + 1),
      source: `synthetic fraud-like table (seed ${seed})`,
    };
  }
  const table = readCsv(args.csv, args.label);
  if (args["test-csv"]) {
    const testTable = readCsv(args["test-csv"], args.label);
    if (testTable.featureNames.join() !== table.featureNames.join()) throw new Error("--test-csv has different columns from --csv");
    return { trainTable: table, testTable, source: `${args.csv} + ${args["test-csv"]}` };
  }
  const fraction = Number(args["test-fraction"]);
  const order = new Rng(seed).shuffle(Array.from({ length: table.numRows }, (_, i) => i));
  const testCount = Math.round(table.numRows * fraction);
  return {
    trainTable: subset(table, order.slice(testCount)),
    testTable: subset(table, order.slice(0, testCount)),
    source: `${args.csv} (${(fraction * 100).toFixed(0)}% held out, seed ${seed})`,
  };
}

function readCsv(path: string, labelColumn: string): Table {
  const lines = readFileSync(path, "utf8").split(/\r?\n/).filter((l) => l.length > 0);
  const header = (lines[0] ?? "").split(",").map((h) => h.trim());
  const labelIndex = header.indexOf(labelColumn);
  if (labelIndex < 0) throw new Error(`label column "${labelColumn}" not in ${path} (columns: ${header.join(", ")})`);
  const featureNames = header.filter((_, i) => i !== labelIndex);
  const numRows = lines.length - 1;
  const data = new Float64Array(numRows * featureNames.length);
  const labels = new Float64Array(numRows);
  let unparsable = 0;
  for (let r = 0; r < numRows; r++) {
    const cells = (lines[r + 1] as string).split(",");
    if (cells.length !== header.length) throw new Error(`${path} line ${r + 2}: ${cells.length} cells, header has ${header.length}`);
    let c = 0;
    cells.forEach((cell, i) => {
      const text = cell.trim();
      const value = text === "" || text === "NA" || /^nan$/i.test(text) ? NaN : Number(text);
      if (i === labelIndex) {
        if (value !== 0 && value !== 1) throw new Error(`${path} line ${r + 2}: label "${text}" is not 0 or 1`);
        labels[r] = value;
        return;
      }
      if (Number.isNaN(value) && text !== "" && text !== "NA" && !/^nan$/i.test(text)) unparsable++;
      data[r * featureNames.length + c++] = Number.isFinite(value) ? value : NaN;
    });
  }
  if (unparsable > 0) console.log(`${path}: ${unparsable} non-numeric cells read as missing`);
  return { featureNames, data, labels, numRows };
}

function subset(table: Table, rows: number[]): Table {
  const width = table.featureNames.length;
  const data = new Float64Array(rows.length * width);
  const labels = new Float64Array(rows.length);
  rows.forEach((r, i) => {
    data.set(table.data.subarray(r * width, (r + 1) * width), i * width);
    labels[i] = table.labels[r] as number;
  });
  return { featureNames: table.featureNames, data, labels, numRows: rows.length };
}

function writeCsv(path: string, table: Table): void {
  const width = table.featureNames.length;
  const out: string[] = [[...table.featureNames, "label"].join(",")];
  for (let r = 0; r < table.numRows; r++) {
    const cells: string[] = [];
    for (let c = 0; c < width; c++) cells.push(String(table.data[r * width + c]));
    cells.push(String(table.labels[r]));
    out.push(cells.join(","));
  }
  writeFileSync(path, out.join("\n") + "\n");
}

function fractionMissing(table: Table): number {
  let missing = 0;
  for (const v of table.data) if (Number.isNaN(v)) missing++;
  return missing / table.data.length;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

main();
