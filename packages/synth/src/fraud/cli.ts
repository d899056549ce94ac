import { createWriteStream } from "node:fs";
import { parseArgs } from "node:util";
import { Progress } from "@mlsd/progress";
import { streamTransactionDays } from "./simulate";
import { TransactionSummaryBuilder } from "./summary";
import { writeTransactionsCsv } from "@mlsd/datasets";
import { FRAUD_WORLD_PRESETS, FraudWorldOptionsError, createFraudWorld } from "./world";
import type { FraudWorldInput, FraudWorldPreset } from "./world";
import type { TransactionTable } from "@mlsd/datasets";

const USAGE = `usage: npm run generate:fraud -w @mlsd/synth -- --out FILE.csv
  [--preset handbook|small] [--customers N] [--terminals N] [--days N] [--seed S]
  [--start-date YYYY-MM-DD] [--label-delay-min-days D] [--label-delay-max-days D]`;

function numberFlag(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(v)) throw new FraudWorldOptionsError(name, `must be a number, got "${raw}"`);
  return v;
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: "string" },
      preset: { type: "string" },
      customers: { type: "string" },
      terminals: { type: "string" },
      days: { type: "string" },
      seed: { type: "string" },
      "start-date": { type: "string" },
      "label-delay-min-days": { type: "string" },
      "label-delay-max-days": { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    return;
  }
  if (!values.out) throw new FraudWorldOptionsError("out", `is required\n${USAGE}`);
  const presetName = (values.preset ?? "handbook") as FraudWorldPreset;
  const preset = FRAUD_WORLD_PRESETS[presetName];
  if (!preset) throw new FraudWorldOptionsError("preset", `must be one of ${Object.keys(FRAUD_WORLD_PRESETS).join(", ")}, got "${values.preset}"`);

  const input: FraudWorldInput = { ...preset };
  const set = <K extends "customers" | "terminals" | "days" | "seed">(key: K, flag: string, raw: string | undefined) => {
    const v = numberFlag(flag, raw);
    if (v !== undefined) input[key] = v;
  };
  set("customers", "customers", values.customers);
  set("terminals", "terminals", values.terminals);
  set("days", "days", values.days);
  set("seed", "seed", values.seed);
  if (values["start-date"] !== undefined) input.startDate = values["start-date"];
  const minDays = numberFlag("label-delay-min-days", values["label-delay-min-days"]);
  const maxDays = numberFlag("label-delay-max-days", values["label-delay-max-days"]);
  if (minDays !== undefined || maxDays !== undefined) {
    const min = minDays ?? Math.min(maxDays as number, preset.labelDelay.minDays);
    input.labelDelay = { minDays: min, maxDays: maxDays ?? Math.max(min, preset.labelDelay.maxDays) };
  }

  const started = performance.now();
  const world = createFraudWorld(input);
  const { options } = world;
  process.stderr.write(
    `fraud world: ${options.customers} customers, ${options.terminals} terminals, ${options.days} days from ${options.startDate}, seed ${options.seed}\n`,
  );
  const progress = new Progress({ total: options.days, label: "simulating", unit: "days" });
  const summary = new TransactionSummaryBuilder();
  function* days(): Generator<TransactionTable> {
    for (const day of streamTransactionDays(world)) {
      summary.add(day);
      yield day;
    }
  }
  const out = createWriteStream(values.out);
  const finished = new Promise<void>((resolve, reject) => {
    out.on("finish", resolve);
    out.on("error", reject);
  });
  await writeTransactionsCsv(days(), out, () => progress.tick());
  out.end();
  await finished;
  progress.done();

  const s = summary.summary();
  const pct = (n: number) => `${((100 * n) / Math.max(1, s.transactions)).toFixed(3)} %`;
  process.stderr.write(
    [
      `wrote ${values.out}: ${s.transactions} transactions, ${s.frauds} frauds (${pct(s.frauds)})`,
      `  scenario 1 (amount):   ${s.byScenario[1]} (${pct(s.byScenario[1])})`,
      `  scenario 2 (terminal): ${s.byScenario[2]} (${pct(s.byScenario[2])})`,
      `  scenario 3 (customer): ${s.byScenario[3]} (${pct(s.byScenario[3])})`,
      ...(s.byScenario[4] > 0 ? [`  scenario 4 (fast attack): ${s.byScenario[4]} (${pct(s.byScenario[4])})`] : []),
      `  total time ${((performance.now() - started) / 1000).toFixed(1)} s`,
      "",
    ].join("\n"),
  );
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`);
  process.exitCode = 1;
});
