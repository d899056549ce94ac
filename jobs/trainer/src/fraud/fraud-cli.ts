import path from "node:path";
import { parseArgs } from "node:util";
import { importTransactionsCsv } from "@mlsd/datasets";
import { CUSTOMER_RATIO_FEATURES } from "@mlsd/feature-store";
import { FRAUD_WORLD_PRESETS, type FraudWorldInput, type FraudWorldPreset } from "@mlsd/synth";
import type { ExportFormat } from "./export";
import { trainFraud, type FraudDataSource, type TrainFraudOptions } from "./pipeline";
import { DEFAULT_PROTOCOL, HANDBOOK_TEST_START, type KnownCompromisedMode, type ProtocolInput } from "./protocol";
import { DEFAULT_GRID, DEFAULT_LABEL_EDGES, type SelectionMetric } from "./selection";

export const FRAUD_USAGE = `fraud options:
  data
  --preset NAME        synthetic world: small | demo | handbook (default handbook: 5,000 customers,
                       10,000 terminals, 183 days from 2018-04-01, about 1.77 M transactions)
  --customers N --terminals N --days N --seed N    override the preset's size and world seed
  --start-date DATE    day 0 of the world, YYYY-MM-DD (default the handbook's 2018-04-01); a live
                       world (npm run world) needs the fraud history to end where the recommender's does
  --seeds LIST         run the whole protocol on these world seeds (e.g. 0,1,2); the first one's model
                       is published, the report gives every seed and the mean and spread
  --csv FILE           train on a transaction CSV instead (handbook columns, any source)
  --label-delay-days N when a fraud label becomes known, in days after the transaction (default 7, the
                       handbook's): the synthetic world's chargeback delay, or for CSV rows without
                       TX_FRAUD_KNOWN_AT

  protocol windows (the handbook's; whole UTC days; DATE is YYYY-MM-DD or a day number from the first day)
  --train-start DATE   first day of the training window (default: test start - delay - train days;
                       2018-07-25 with the other defaults)
  --train-days N       training window length (default ${DEFAULT_PROTOCOL.trainDays})
  --delay-days N       delay period between training and test; its labels are not yet known at
                       deployment (default ${DEFAULT_PROTOCOL.delayDays})
  --test-start DATE    first day of the test window (default ${HANDBOOK_TEST_START}, the handbook's test week,
                       when the data covers the protocol around it; otherwise as late as the data allows).
                       Give --train-start or --test-start; both must agree if both are given
  --test-days N        test window length (default ${DEFAULT_PROTOCOL.testDays})
  --test-folds N       test windows, each --test-days later with its own model; metrics averaged
                       (default ${DEFAULT_PROTOCOL.testFolds}; the handbook's model-selection chapter uses 4)
  --known-compromised drop|keep
                       test and validation rows of cards already known compromised (a fraud since the
                       training window's start whose label was known before the day began): drop them
                       (default, the handbook's test set) or keep them

  model selection (prequential: folds sliding back from the delay period before the test)
  --folds N            validation folds (default ${DEFAULT_PROTOCOL.folds})
  --valid-days N       validation window length (default: --test-days)
  --select-by METRIC   ap | auc | cp100: the mean validation metric that picks the candidate (default ap)
  --depths LIST        tree depths to try (default ${DEFAULT_GRID.maxDepth.join(",")})
  --learning-rates LIST  (default ${DEFAULT_GRID.learningRate.join(",")})
  --rounds LIST        numbers of trees to try (default ${DEFAULT_GRID.numRounds.join(",")})
  --fraud-weights LIST weights of fraud rows: numbers or sqrt-balance (default ${DEFAULT_GRID.positiveWeight.join(",")})
  --label-edges N      of each feature's 254 bin edges, how many the training labels place where they
                       best separate frauds inside a quantile bin (0-253, default ${DEFAULT_LABEL_EDGES})
  --ratio-features customer|none
                       columns the model computes from the served features: customer (default) adds the
                       amount over the customer's 1-, 7- and 30-day average amounts and the 1- and 7-day
                       averages over the 30-day one; none trains on the served features alone

  output (relative paths are taken from where the command was typed)
  --registry DIR       model registry (default artifacts/registry in the repository)
  --reports DIR        where the report goes (default reports in the repository)
  --export DIR         write features and predictions of the train, validation and test rows there,
                       with the model version
  --export-format F    csv (default) | ndjson
  --redis URL|NODES    after training, replay recent history into this Redis (warm features;
                       a redis:// URL, or a Redis Cluster's host:port,host:port,...)
  --quiet              no progress bars

  --from-log           train from the running system's log instead (the retrain controller's run; its
                       options are in trainer --help); with it, --train-days is the from-log training
                       window (default 14), not the protocol's
`;

const OPTIONS = {
  preset: { type: "string" },
  customers: { type: "string" },
  terminals: { type: "string" },
  days: { type: "string" },
  seed: { type: "string" },
  seeds: { type: "string" },
  "start-date": { type: "string" },
  csv: { type: "string" },
  "label-delay-days": { type: "string" },
  "train-start": { type: "string" },
  "train-days": { type: "string" },
  "delay-days": { type: "string" },
  "test-start": { type: "string" },
  "test-days": { type: "string" },
  "test-folds": { type: "string" },
  "known-compromised": { type: "string" },
  folds: { type: "string" },
  "valid-days": { type: "string" },
  "select-by": { type: "string" },
  depths: { type: "string" },
  "learning-rates": { type: "string" },
  rounds: { type: "string" },
  "fraud-weights": { type: "string" },
  "label-edges": { type: "string" },
  "ratio-features": { type: "string" },
  registry: { type: "string" },
  reports: { type: "string" },
  export: { type: "string" },
  "export-format": { type: "string" },
  redis: { type: "string" },
  quiet: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A relative path typed by the user is taken from where the command was typed, not from the package folder npm runs in. */
export function resolveUserPath(arg: string, invokedFrom: string): string {
  return path.resolve(invokedFrom, arg);
}

export const REPO_ROOT = path.resolve(import.meta.dirname, "../../../..");

function integer(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got "${value}"`);
  return n;
}

function numberList(value: string | undefined, name: string, check: (n: number) => boolean, what: string): number[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(",").map((s) => s.trim());
  const out = items.map(Number);
  if (items.some((s) => s === "") || out.some((n) => !check(n))) throw new UsageError(`--${name} must be a comma-separated list of ${what}, got "${value}"`);
  return out;
}

function oneOf<T extends string>(value: string | undefined, name: string, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${name} must be ${allowed.join(" or ")}, got "${value}"`);
  return value as T;
}

export interface FraudCliPlan {
  options: Omit<TrainFraudOptions, "source">;
  /** Resolved lazily: reading a CSV is I/O. */
  source: { kind: "csv"; file: string; labelDelayDays?: number } | Extract<FraudDataSource, { kind: "synthetic" }>;
}

/** Turns the command line into training options; every problem is a UsageError naming the flag. */
export function planFraudCli(argv: readonly string[], invokedFrom: string): FraudCliPlan | "help" {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: false }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return "help";
  const labelDelayDays = values["label-delay-days"] === undefined ? undefined : Number(values["label-delay-days"]);
  if (labelDelayDays !== undefined && !(Number.isFinite(labelDelayDays) && labelDelayDays >= 0)) {
    throw new UsageError(`--label-delay-days must be a number >= 0, got "${values["label-delay-days"]}"`);
  }

  let source: FraudCliPlan["source"];
  if (values.csv !== undefined) {
    for (const flag of ["preset", "customers", "terminals", "days", "seed", "seeds", "start-date"] as const) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} describes a synthetic world; it cannot be combined with --csv`);
    }
    source = { kind: "csv", file: resolveUserPath(values.csv, invokedFrom), ...(labelDelayDays !== undefined ? { labelDelayDays } : {}) };
  } else {
    const preset = oneOf(values.preset ?? "handbook", "preset", Object.keys(FRAUD_WORLD_PRESETS) as FraudWorldPreset[]) as FraudWorldPreset;
    const startDate = values["start-date"];
    if (startDate !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(startDate)) throw new UsageError(`--start-date must be a date YYYY-MM-DD, got "${startDate}"`);
    const size = (name: "customers" | "terminals" | "days") => integer(values[name], name, 1);
    const seed = integer(values.seed, "seed", 0);
    const seeds = numberList(values.seeds, "seeds", (n) => Number.isInteger(n) && n >= 0, "integers >= 0");
    if (seed !== undefined && seeds !== undefined) throw new UsageError("give --seed or --seeds, not both");
    const world: FraudWorldInput = {
      ...FRAUD_WORLD_PRESETS[preset],
      ...(startDate !== undefined ? { startDate } : {}),
      ...(size("customers") ? { customers: size("customers") } : {}),
      ...(size("terminals") ? { terminals: size("terminals") } : {}),
      ...(size("days") ? { days: size("days") } : {}),
      ...(seed !== undefined ? { seed } : {}),
      ...(labelDelayDays !== undefined ? { labelDelay: { minDays: labelDelayDays, maxDays: labelDelayDays } } : {}),
    };
    source = { kind: "synthetic", world, ...(seeds ? { seeds } : {}) };
  }

  const protocol: ProtocolInput = {};
  if (values["train-start"] !== undefined) protocol.trainStart = values["train-start"];
  if (values["test-start"] !== undefined) protocol.testStart = values["test-start"];
  const days: [keyof ProtocolInput, string, number][] = [
    ["trainDays", "train-days", 1],
    ["delayDays", "delay-days", 0],
    ["testDays", "test-days", 1],
    ["testFolds", "test-folds", 1],
    ["folds", "folds", 1],
    ["validDays", "valid-days", 1],
  ];
  for (const [key, flag, min] of days) {
    const n = integer(values[flag as keyof typeof values] as string | undefined, flag, min);
    if (n !== undefined) (protocol as Record<string, unknown>)[key] = n;
  }
  const known = oneOf(values["known-compromised"], "known-compromised", ["drop", "keep"] as const);
  if (known) protocol.knownCompromised = known as KnownCompromisedMode;

  const weights = values["fraud-weights"]?.split(",").map((s) => s.trim());
  if (weights?.some((w) => w !== "sqrt-balance" && !(Number(w) > 0))) throw new UsageError(`--fraud-weights must list numbers > 0 or sqrt-balance, got "${values["fraud-weights"]}"`);
  const grid = {
    ...(values.depths !== undefined ? { maxDepth: numberList(values.depths, "depths", (n) => Number.isInteger(n) && n >= 1 && n <= 30, "integers 1-30") } : {}),
    ...(values["learning-rates"] !== undefined ? { learningRate: numberList(values["learning-rates"], "learning-rates", (n) => n > 0 && n <= 1, "numbers in (0, 1]") } : {}),
    ...(values.rounds !== undefined ? { numRounds: numberList(values.rounds, "rounds", (n) => Number.isInteger(n) && n >= 1, "integers >= 1") } : {}),
    ...(weights ? { positiveWeight: weights.map((w) => (w === "sqrt-balance" ? "sqrt-balance" : Number(w))) } : {}),
  } as TrainFraudOptions["grid"];

  const exportFormat = oneOf(values["export-format"], "export-format", ["csv", "ndjson"] as const) as ExportFormat | undefined;
  if (exportFormat && values.export === undefined) throw new UsageError("--export-format needs --export DIR");
  const selectBy = oneOf(values["select-by"], "select-by", ["ap", "auc", "cp100"] as const) as SelectionMetric | undefined;
  const labelEdges = integer(values["label-edges"], "label-edges", 0);
  if (labelEdges !== undefined && labelEdges > 253) throw new UsageError(`--label-edges must be an integer in 0-253, got "${values["label-edges"]}"`);
  const ratios = oneOf(values["ratio-features"], "ratio-features", ["customer", "none"] as const);
  return {
    source,
    options: {
      protocol,
      ...(grid && Object.keys(grid).length ? { grid } : {}),
      ...(selectBy ? { selectBy } : {}),
      ...(labelEdges !== undefined ? { labelEdges } : {}),
      ...(ratios !== undefined ? { ratioFeatures: ratios === "none" ? [] : CUSTOMER_RATIO_FEATURES } : {}),
      registryDir: values.registry !== undefined ? resolveUserPath(values.registry, invokedFrom) : path.join(REPO_ROOT, "artifacts", "registry"),
      reportDir: values.reports !== undefined ? resolveUserPath(values.reports, invokedFrom) : path.join(REPO_ROOT, "reports"),
      ...(values.export !== undefined ? { export: { dir: resolveUserPath(values.export, invokedFrom), format: exportFormat ?? "csv" } } : {}),
      ...(values.redis !== undefined ? { materializeRedisUrl: values.redis } : {}),
      ...(values.quiet ? { quiet: true } : {}),
      command: ["npm run train:fraud --", ...argv].join(" "),
    },
  };
}

/** `trainer fraud ...`: returns the process exit code. */
export async function runFraudCli(argv: readonly string[], invokedFrom: string, out: (text: string) => void, err: (text: string) => void): Promise<number> {
  let plan: FraudCliPlan | "help";
  try {
    plan = planFraudCli(argv, invokedFrom);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    err(`${error.message}\n\n${FRAUD_USAGE}`);
    return 2;
  }
  if (plan === "help") {
    out(`usage: trainer fraud [options]\n\n${FRAUD_USAGE}`);
    return 0;
  }
  const source: FraudDataSource =
    plan.source.kind === "csv"
      ? {
          kind: "table",
          table: await importTransactionsCsv(plan.source.file, plan.source.labelDelayDays !== undefined ? { labelDelayDays: plan.source.labelDelayDays } : {}),
          name: path.basename(plan.source.file),
        }
      : plan.source;
  const result = await trainFraud({ ...plan.options, source });
  const lines = ["", `fraud model ${result.registered.manifest.version} -> ${result.registered.dir}`];
  for (const run of result.runs) {
    const m = run.testMean;
    lines.push(`  ${run.label}: test ROC-AUC ${m.auc.toFixed(4)}   average precision ${m.ap.toFixed(4)}   card precision@100 ${m.cp100.toFixed(4)} (${run.tests.length} test fold(s))`);
  }
  lines.push(
    `  published model: ECE ${result.evaluation.ece.toFixed(4)}; test cost at the chosen thresholds ${result.chosen.total.toFixed(0)} vs declining at 0.5: ${result.atHalf.total.toFixed(0)}`,
    ...(result.exported ? [`  exported: ${result.exported.files.join(", ")}`] : []),
    `  report: ${result.reportPath}`,
    "",
  );
  out(lines.join("\n"));
  return 0;
}
