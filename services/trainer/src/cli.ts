import path from "node:path";
import { parseArgs } from "node:util";
import { importTransactionsCsv } from "@mlsd/datasets";
import { trainFraud, type FraudDataSource } from "./fraud/pipeline";

const USAGE = `usage: trainer <fraud|recs> [options]

fraud options:
  --preset NAME        synthetic world: small | demo | handbook (default handbook: 5,000 customers,
                       10,000 terminals, 183 days, about 1.75 M transactions)
  --customers N --terminals N --days N --seed N    override the preset's size
  --csv FILE           train on a transaction CSV instead (handbook columns, any source)
  --rounds N           boosting rounds (default 300, early stopping on the validation window)
  --registry DIR       model registry (default artifacts/registry)
  --reports DIR        where the report goes (default reports)
  --redis URL          after training, replay recent history into this Redis (warm features)
`;

function int(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    process.stderr.write(`--${name} must be a positive integer, got "${value}"\n${USAGE}`);
    process.exit(2);
  }
  return n;
}

const DEMO_WORLD = { customers: 2000, terminals: 4000, days: 80 };

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      preset: { type: "string" },
      customers: { type: "string" },
      terminals: { type: "string" },
      days: { type: "string" },
      seed: { type: "string" },
      csv: { type: "string" },
      rounds: { type: "string" },
      registry: { type: "string", default: "artifacts/registry" },
      reports: { type: "string", default: "reports" },
      redis: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(USAGE);
    process.exit(command ? 0 : 2);
  }
  if (command !== "fraud") {
    process.stderr.write(`unknown command "${command}"\n${USAGE}`);
    process.exit(2);
  }

  let source: FraudDataSource;
  if (values.csv) {
    const table = await importTransactionsCsv(values.csv);
    source = { kind: "table", table, name: path.basename(values.csv) };
  } else {
    const preset = values.preset ?? "handbook";
    if (!["small", "demo", "handbook"].includes(preset)) {
      process.stderr.write(`--preset must be small, demo or handbook, got "${preset}"\n`);
      process.exit(2);
    }
    const base = preset === "demo" ? DEMO_WORLD : {};
    const world = {
      ...(preset === "small" ? { customers: 1000, terminals: 2000, days: 60 } : base),
      ...(int(values.customers, "customers") ? { customers: int(values.customers, "customers") } : {}),
      ...(int(values.terminals, "terminals") ? { terminals: int(values.terminals, "terminals") } : {}),
      ...(int(values.days, "days") ? { days: int(values.days, "days") } : {}),
      ...(int(values.seed, "seed") ? { seed: int(values.seed, "seed") } : {}),
    };
    source = { kind: "synthetic", world };
  }
  const rounds = int(values.rounds, "rounds");
  const result = await trainFraud({
    source,
    registryDir: values.registry,
    reportDir: values.reports,
    ...(rounds ? { gbdt: { numRounds: rounds } } : {}),
    ...(values.redis ? { materializeRedisUrl: values.redis } : {}),
  });
  const e = result.evaluation;
  process.stdout.write(
    [
      "",
      `fraud model ${result.registered.manifest.version} -> ${result.registered.dir}`,
      `  test ROC-AUC ${e.rocAuc.toFixed(4)}   average precision ${e.averagePrecision.toFixed(4)}   card precision@100 ${e.cardPrecisionAt100.toFixed(4)}   ECE ${e.ece.toFixed(4)}`,
      `  thresholds review ${result.chosen.thresholds.review.toFixed(4)} decline ${result.chosen.thresholds.decline.toFixed(4)}`,
      `  test cost at the chosen thresholds ${result.chosen.total.toFixed(0)} vs declining at 0.5: ${result.atHalf.total.toFixed(0)}`,
      `  report: ${result.reportPath}`,
      "",
    ].join("\n"),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`trainer failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
