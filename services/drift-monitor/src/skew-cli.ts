import { parseArgs } from "node:util";
import { OfflineStoreReader } from "@mlsd/offline-store";
import { loadConfigOrExit } from "@mlsd/service-kit";
import { SkewConfigSchema } from "./config";
import { measureSkew, SkewInputError } from "./skew";

// Training-serving skew over the offline store:
//   OFFLINE_STORE_DIR=.data/offline-store npm run skew -- --from 2024-04-08T00:00:00Z --to 2024-04-09T00:00:00Z [--sample 0.1] [--lookback-days 38] [--json]
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    from: { type: "string" },
    to: { type: "string" },
    sample: { type: "string", default: "1" },
    "lookback-days": { type: "string" },
    json: { type: "boolean", default: false },
  },
});
const config = loadConfigOrExit("skew", SkewConfigSchema);
const problems: string[] = [];
if (!values.from) problems.push("--from: required (ISO time)");
if (!values.to) problems.push("--to: required (ISO time)");
const sampleRate = Number(values.sample);
const lookbackDays = values["lookback-days"] === undefined ? undefined : Number(values["lookback-days"]);
if (lookbackDays !== undefined && !(lookbackDays >= 0)) problems.push(`--lookback-days: must be a number >= 0, got ${values["lookback-days"]}`);
if (problems.length > 0) {
  process.stderr.write(`skew: ${problems.join("; ")}\n`);
  process.exit(2);
}
try {
  const report = await measureSkew(new OfflineStoreReader(config.OFFLINE_STORE_DIR), {
    from: values.from as string,
    to: values.to as string,
    sampleRate,
    ...(lookbackDays === undefined ? {} : { lookbackMs: lookbackDays * 86_400_000 }),
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    process.stdout.write(
      `${report.from} .. ${report.to}: ${report.decisions} decisions, ${report.sampled} sampled, ${report.compared} compared, ` +
        `${report.missingTransactions} without a logged transaction, ${report.decisionsWithMismatch} with a mismatch\n\n` +
        "| feature | compared | mismatch rate | served missing | offline missing | mean abs diff |\n| --- | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for (const f of report.features) {
      process.stdout.write(`| ${f.feature} | ${f.compared} | ${(100 * f.mismatchRate).toFixed(2)}% | ${f.servedMissing} | ${f.offlineMissing} | ${f.meanAbsDiff.toPrecision(3)} |\n`);
    }
  }
} catch (error) {
  if (!(error instanceof SkewInputError)) throw error;
  process.stderr.write(`skew: ${error.message}\n`);
  process.exit(2);
}
