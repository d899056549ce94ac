import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadMovieLens } from "@mlsd/datasets";
import { Progress } from "@mlsd/progress";
import { Ease } from "./baselines/ease";
import { ItemKnn } from "./baselines/item-knn";
import { MostPopular, RandomRecommender } from "./baselines/simple";
import { evaluate } from "./evaluate";
import type { EvaluationResult, Recommender } from "./evaluate";
import type { ReportColumn } from "./report";
import { formatResultsTable } from "./report";
import { interactionsOf, leaveLastOut, stratifiedSplit } from "./split";
import type { EvalSplit } from "./split";

const USAGE = `Evaluates the baseline recommenders on a MovieLens folder under both protocols.

  npm run eval:movielens -w @mlsd/rec-eval -- [--data DIR] [--seed N] [--k N] [--models LIST]

  --data    MovieLens folder (100K release or a CSV release); default ../shared/datasets/ml-100k
            beside the repository. Relative paths are taken from where npm was started.
  --seed    seed of the stratified split (default 42)
  --k       cut-off (default 10)
  --models  comma-separated subset of mostpop,random,itemknn,ease (default: all)
`;

const MODELS: Record<string, () => Recommender> = {
  random: () => new RandomRecommender(7),
  mostpop: () => new MostPopular(),
  itemknn: () => new ItemKnn({ neighbors: 100 }),
  ease: () => new Ease({ lambda: 500 }),
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: "string" },
      seed: { type: "string", default: "42" },
      k: { type: "string", default: "10" },
      models: { type: "string", default: Object.keys(MODELS).join(",") },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const seed = positiveInteger("--seed", values.seed, true);
  const k = positiveInteger("--k", values.k, false);
  const modelNames = values.models.split(",").map((m) => m.trim().toLowerCase());
  for (const m of modelNames) if (!(m in MODELS)) fail(`--models: unknown model '${m}' (known: ${Object.keys(MODELS).join(", ")})`);

  const dataDir = resolveDataDir(values.data);
  const t0 = performance.now();
  const dataset = await loadMovieLens(dataDir);
  process.stderr.write(
    `loaded ${dataDir}: ${dataset.numUsers} users, ${dataset.numItems} items, ${dataset.numRatings} ratings ` +
      `in ${((performance.now() - t0) / 1000).toFixed(2)} s\n`,
  );
  const data = interactionsOf(dataset);

  const protocols: { split: EvalSplit; columns: ReportColumn[]; title: string }[] = [
    {
      split: stratifiedSplit(data, { trainRatio: 0.75, seed }),
      columns: ["precision", "recall", "ndcg", "map", "coverage", "gini", "fitSeconds", "recommendSeconds"],
      title: `Per-user stratified random 75/25 split (seed ${seed}), all unrated items ranked, k = ${k}`,
    },
    {
      split: leaveLastOut(data),
      columns: ["hitRate", "ndcg", "mrr", "coverage", "fitSeconds", "recommendSeconds"],
      title: `Time-based leave-last-out (each user's latest rating is the test item), all unrated items ranked, k = ${k}`,
    },
  ];

  for (const { split, columns, title } of protocols) {
    const results: EvaluationResult[] = [];
    for (const name of modelNames) {
      const model = (MODELS[name] as () => Recommender)();
      const label = `${model.name} / ${split.protocol}`;
      process.stderr.write(`${label}: fitting\n`);
      // A bar only for rankings that take long enough to watch; most finish in well under a second.
      let rankStart: number | undefined;
      let bar: Progress | undefined;
      let barFrom = 0;
      const result = await evaluate(model, split, {
        k,
        onProgress: (done, total) => {
          rankStart ??= performance.now();
          if (bar === undefined && done < total && performance.now() - rankStart > 1000) {
            // The bar counts from here, so its rate and ETA are not skewed by the users before it.
            barFrom = done;
            bar = new Progress({ total: total - done, label, unit: "users" });
          }
          bar?.update(done - barFrom);
        },
      });
      bar?.done();
      process.stderr.write(
        `${label}: fit ${result.fitSeconds.toFixed(2)} s, ranked ${result.users} users in ${result.recommendSeconds.toFixed(2)} s\n`,
      );
      results.push(result);
    }
    process.stdout.write(`\n${title}\n(train ${split.train.nnz} ratings, test ${split.test.nnz}, ${results[0]?.users ?? 0} users evaluated)\n\n`);
    process.stdout.write(`${formatResultsTable(results, columns)}\n`);
  }
}

function resolveDataDir(arg: string | undefined): string {
  if (arg === undefined) {
    return fileURLToPath(new URL("../../../../shared/datasets/ml-100k", import.meta.url));
  }
  if (isAbsolute(arg)) return arg;
  // `npm run -w` runs in the package folder; INIT_CWD is where the command was typed.
  // eslint-disable-next-line no-restricted-properties
  const base = process.env.INIT_CWD ?? process.cwd();
  const dir = resolve(base, arg);
  if (!existsSync(dir)) fail(`--data: ${dir} does not exist`);
  return dir;
}

function positiveInteger(flag: string, text: string | undefined, allowZero: boolean): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < (allowZero ? 0 : 1)) fail(`${flag}: expected a ${allowZero ? "non-negative" : "positive"} integer, got '${text}'`);
  return v;
}

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}`);
  process.exit(2);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
