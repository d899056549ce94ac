/**
 * @mlsd/gbdt against LightGBM and XGBoost (tree_method=hist), every library on one thread, on the
 * same data files and parameters, back to back in one run. The Python peers are installed from
 * PyPI into .cache/python-peers/gbdt by this script (bench/requirements.txt).
 *
 *   npm run bench -w @mlsd/gbdt                          # all cases
 *   npm run bench -w @mlsd/gbdt -- --cases wide --rounds 100
 *   npm run bench -w @mlsd/gbdt -- --skip-peers          # ours only (profiling)
 *
 * Cases: "fraud" (200k x 18 fraud-like table, 2.8% missing, 3% positives), "wide" (500k x 50,
 * mixed feature shapes, interactions), "rank" (LambdaRank, 6,000 queries of 10-60 items, 30
 * features). LightGBM's own example sets ship with its source repository, not with its PyPI
 * packages, so every set here is generated from a seed and identical for the three libraries.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { rocAuc } from "@mlsd/ml-metrics";
import { ensurePythonEnv, readFloat64, runPythonJson, writeRaw } from "@mlsd/python-peers";
import { Dataset, Predictor, train } from "../src/index";
import { meanNdcg } from "../src/eval-metrics";
import { fraudTable, type Table } from "./fraud-data";
import { rankingTable, wideTable, type RankingTable } from "./synthetic-data";

const { values: args } = parseArgs({
  options: {
    cases: { type: "string", default: "fraud,wide,rank" },
    rounds: { type: "string", default: "200" },
    "max-depth": { type: "string", default: "6" },
    eta: { type: "string", default: "0.1" },
    seed: { type: "string", default: "7" },
    "skip-peers": { type: "boolean", default: false },
    peers: { type: "string", default: "lightgbm,xgboost" },
  },
});

const rounds = Number(args.rounds);
const maxDepth = Number(args["max-depth"]);
const eta = Number(args.eta);
const seed = Number(args.seed);
const lambda = 1;
const minChildWeight = 1;
const here = dirname(fileURLToPath(import.meta.url));

interface Case {
  name: string;
  task: "binary" | "lambdarank";
  train: Table | RankingTable;
  test: Table | RankingTable;
}

interface Result {
  library: string;
  quality: number;
  trainSeconds: number;
  trainCpuSeconds: number;
  batchRowMicros: number;
}

interface PeerReport {
  version: string;
  trainSeconds: number;
  trainCpuSeconds: number;
  batchRowMicros: number;
}

function makeCase(name: string): Case {
  switch (name) {
    case "fraud":
      return { name: "fraud 200k x 18", task: "binary", train: fraudTable(200_000, seed), test: fraudTable(100_000, seed + 1) };
    case "wide":
      return { name: "wide 500k x 50", task: "binary", train: wideTable(500_000, 50, seed), test: wideTable(100_000, 50, seed + 1) };
    case "rank":
      return { name: "lambdarank 6k queries x 30", task: "lambdarank", train: rankingTable(6_000, seed), test: rankingTable(2_000, seed + 1) };
    default:
      throw new Error(`unknown case ${name}; use fraud, wide, rank`);
  }
}

function quality(c: Case, predictions: Float64Array): number {
  if (c.task === "binary") return rocAuc(c.test.labels, predictions);
  const groups = (c.test as RankingTable).groups;
  const offsets = new Int32Array(groups.length + 1);
  for (let g = 0; g < groups.length; g++) offsets[g + 1] = (offsets[g] as number) + (groups[g] as number);
  return meanNdcg(predictions, c.test.labels, offsets, 10);
}

function ours(c: Case): Result {
  const width = c.train.featureNames.length;
  const groups = (c.train as RankingTable).groups;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const data = Dataset.fromRows(
    { data: c.train.data, numRows: c.train.numRows, numColumns: width },
    { labels: c.train.labels, groups, featureNames: c.train.featureNames, seed },
  );
  const { model } = train(data, {
    objective: c.task,
    numRounds: rounds,
    maxDepth,
    learningRate: eta,
    lambda,
    minChildWeight,
    seed,
    lambdarankTruncation: 30,
  });
  const trainSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const predictor = new Predictor(model);
  const test = { data: c.test.data, numRows: c.test.numRows, numColumns: width };
  const predictions = predictor.predictBatch(test);
  const batch = 10_000;
  const out = new Float64Array(batch);
  const perRow: number[] = [];
  for (let i = 0; i < Math.max(1, Math.min(10, Math.floor(c.test.numRows / batch))); i++) {
    const chunk = { data: c.test.data.subarray(i * batch * width, (i + 1) * batch * width), numRows: batch, numColumns: width };
    const start = process.cpuUsage();
    predictor.predictBatch(chunk, out);
    const used = process.cpuUsage(start);
    perRow.push((used.user + used.system) / batch);
  }
  return {
    library: "@mlsd/gbdt",
    quality: quality(c, predictions),
    trainSeconds,
    trainCpuSeconds: (cpu.user + cpu.system) / 1e6,
    batchRowMicros: median(perRow),
  };
}

function peer(c: Case, python: string, library: string, dir: string): Result {
  const report = runPythonJson<PeerReport>(python, join(here, "peers.py"), [
    "--library", library,
    "--task", c.task,
    "--dir", dir,
    "--width", String(c.train.featureNames.length),
    "--rounds", String(rounds),
    "--max-depth", String(maxDepth),
    "--eta", String(eta),
    "--lambda", String(lambda),
    "--min-child-weight", String(minChildWeight),
  ]);
  const predictions = readFloat64(join(dir, `pred-${library}.f64`));
  return {
    library: `${library} ${report.version}`,
    quality: quality(c, predictions),
    trainSeconds: report.trainSeconds,
    trainCpuSeconds: report.trainCpuSeconds,
    batchRowMicros: report.batchRowMicros,
  };
}

function writeCase(c: Case, dir: string): void {
  for (const [name, table] of [
    ["train", c.train],
    ["test", c.test],
  ] as const) {
    writeRaw(join(dir, `${name}.x.f64`), table.data);
    writeRaw(join(dir, `${name}.y.f64`), table.labels);
    const groups = (table as RankingTable).groups;
    if (groups) writeRaw(join(dir, `${name}.g.i32`), groups);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const f = (x: number, digits: number): string => x.toFixed(digits);

function main(): void {
  const peers = args["skip-peers"] ? [] : args.peers.split(",").filter((p) => p !== "");
  const python = peers.length > 0 ? ensurePythonEnv({ name: "gbdt", requirements: join(here, "requirements.txt") }) : "";
  const lines: string[] = [];
  lines.push(
    `params: rounds ${rounds}, max depth ${maxDepth} (LightGBM num_leaves ${2 ** maxDepth}), eta ${eta}, lambda ${lambda}, min child hessian ${minChildWeight}, 255 value bins; one thread each`,
    "training time includes binning (Dataset.fromRows / DMatrix / lgb.Dataset); batch = CPU time per row predicting 10k-row batches (median of up to 10)",
    "",
    "| case | library | quality | train s (wall) | train s (CPU) | batch us/row | train CPU vs LightGBM | train CPU vs XGBoost | batch vs XGBoost |",
    "|---|---|---|---|---|---|---|---|---|",
  );
  for (const name of args.cases.split(",")) {
    console.error(`case ${name}: generating`);
    const c = makeCase(name);
    const results: Result[] = [];
    const dir = mkdtempSync(join(tmpdir(), "gbdt-peers-"));
    try {
      if (peers.length > 0) writeCase(c, dir);
      console.error(`case ${name}: @mlsd/gbdt`);
      results.push(ours(c));
      for (const library of peers) {
        console.error(`case ${name}: ${library}`);
        results.push(peer(c, python, library, dir));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const lgb = results.find((r) => r.library.startsWith("lightgbm"));
    const xgb = results.find((r) => r.library.startsWith("xgboost"));
    const metric = c.task === "binary" ? "AUC" : "NDCG@10";
    for (const r of results) {
      lines.push(
        `| ${c.name} | ${r.library} | ${metric} ${f(r.quality, 4)} | ${f(r.trainSeconds, 2)} | ${f(r.trainCpuSeconds, 2)} | ${f(r.batchRowMicros, 2)} | ` +
          `${lgb ? f(r.trainCpuSeconds / lgb.trainCpuSeconds, 2) + "x" : ""} | ${xgb ? f(r.trainCpuSeconds / xgb.trainCpuSeconds, 2) + "x" : ""} | ` +
          `${xgb ? f(r.batchRowMicros / xgb.batchRowMicros, 2) + "x" : ""} |`,
      );
    }
    console.error(lines.slice(-results.length).join("\n"));
  }
  lines.push("", `node ${process.version}; ${cpus().length} cores, load average at the end ${f(loadavg()[0] as number, 1)}`);
  console.log(lines.join("\n"));
}

main();
