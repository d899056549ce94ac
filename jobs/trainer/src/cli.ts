import path from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_IVF_PARAMS, SEARCH_EFFORT } from "@mlsd/ann";
import { loadMovieLens } from "@mlsd/datasets";
import { FRAUD_USAGE, runFraudCli } from "./fraud/fraud-cli";
import { trainFraudFromLog } from "./from-log/fraud";
import { trainRankerFromLog } from "./from-log/recs";
import { twoTowerSeeds } from "./recs/movielens-eval";
import { DEFAULT_RANKER_VARIANTS, searchRankerVariants, type RankerVariant } from "./recs/movielens-ranker-search";
import { DEFAULT_TUNE_GRID, TUNE_STAGES, tuneMovieLens, type TuneStage } from "./recs/movielens-tune";
import { materializeWorld, trainRecs, type RecsDataSource, type RecsPreset } from "./recs/pipeline";
import { MOVIELENS_TWO_STAGE } from "./recs/two-stage";
import type { IndexSpec } from "./recs/retrieval-model";

const USAGE = `usage: trainer <fraud|recs> [options]

${FRAUD_USAGE}
training from the log (either command, with --from-log):
  --from-log           train from what the running system logged (the event logger's offline store)
                       instead of a world or a dataset; publishes under --alias candidate (never current)
  --store DIR          the offline store (default .data/offline-store)
  --as-of TIME         train as of this time (ISO; default now): windows end here
  --train-days N --gap-days N --eval-days N    window lengths in days (default 14, 1, 3); with --from-log,
                       --train-days is this training window, not the fraud protocol's
  --label-horizon-days N    fraud: how long labels take to settle before evaluation (default 7)
  --json               print the result (candidate version and comparison) as one JSON line on stdout

recs options:
  --dataset NAME       synthetic (default) | movielens
  --preset NAME        synthetic world: small | demo (default; about 1-2 minutes) | benchmark (1M items)
  --users N --items N --sessions N    override the preset's world size and sessions per user
  --seed N             world seed (synthetic) or split seed (movielens, default 42)
  --seeds LIST         movielens: comma-separated split seeds (e.g. 42,43,44); the table shows mean, sd and range,
                       the first seed's models are published
  --skip-two-tower     movielens: leave the (slow) tfjs two-tower row out
  --two-tower-only     movielens: only the two-tower row (and MostPop) for each of --seeds
  --tune               movielens: search the hyper-parameters on a validation split carved from the
                       training half of --seed's split (no test rating is read), print the table, publish nothing
  --tune-stages LIST   with --tune: comma-separated stages to search, of retrieval, ranker, two-tower, ials (default all)
  --search-ranker      movielens: score the ranker variants (features, objective, boosting) on several
                       validation splits of --seed's training half, print the per-split and mean NDCG@10
  --inner-seeds LIST   with --search-ranker: the validation splits' seeds (default 1042,1043,1044)
  --variants LIST      with --search-ranker: score only these variants (1-based numbers in the table's order;
                       default every variant)
  --data DIR           MovieLens folder (default ../shared/datasets/ml-100k beside the repository)
  --epochs N           two-tower epochs (default: the preset's; for MovieLens at most 4, early-stopped on validation)
  --candidates N       retrieval candidates handed to the ranker (default 200; MovieLens 50)
  --bags N             movielens: rankers averaged into the shipped one, each boosted on rows dealt by its own
                       seed (default: the pipeline's, MOVIELENS_TWO_STAGE.bags)
  --workers N          movielens: threads for the ranker's fold signal fits and boostings (default: the machine's
                       cores; 1 = none); the rows and the model are the same for any N
  --tower-end-day N    synthetic: the two-tower model trains on the clicks before day N and the ranker's
                       training sessions start there (default: 60 % of the days before the ranker's validation, day 12 of the small world)
  --index KIND         synthetic: the index retrieval serves from, hnsw (default) or ivf (the service's SEARCH
                       must name the same kind); MovieLens always builds HNSW
  --nlist N            ivf: k-means lists (default 4 sqrt(items), at most 1024)
  --nprobe N           ivf: lists a search scans unless the service sets SEARCH_NPROBE (default 32)
  --registry DIR       model registry (default artifacts/registry)
  --reports DIR        where the report and charts go (default reports)
  --alias NAME         registry alias to publish under (default current; movielens for MovieLens)
  --redis URL|NODES    after training, materialise features and click histories into this Redis
                       (a redis:// URL, or a Redis Cluster's host:port,host:port,...)
  --feature-prefix P --history-prefix P    Redis key namespaces (default rx: and rh:)
  --quiet              no progress bars
  --materialize-only   skip training: only load the world's features and click histories into --redis
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

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  // `trainer fraud --from-log` (the retrain controller's run) takes the from-log options below.
  if (argv[0] === "fraud" && !argv.includes("--from-log")) {
    // `npm run -w` runs in the package folder; INIT_CWD is where the command was typed.
    // eslint-disable-next-line no-restricted-properties
    const invokedFrom = process.env.INIT_CWD ?? process.cwd();
    process.exitCode = await runFraudCli(argv.slice(1), invokedFrom, (t) => process.stdout.write(t), (t) => process.stderr.write(t));
    return;
  }
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      preset: { type: "string" },
      seed: { type: "string" },
      seeds: { type: "string" },
      "skip-two-tower": { type: "boolean" },
      tune: { type: "boolean" },
      "tune-stages": { type: "string" },
      "search-ranker": { type: "boolean" },
      "inner-seeds": { type: "string" },
      variants: { type: "string" },
      "two-tower-only": { type: "boolean" },
      registry: { type: "string", default: "artifacts/registry" },
      reports: { type: "string", default: "reports" },
      redis: { type: "string" },
      dataset: { type: "string" },
      data: { type: "string" },
      epochs: { type: "string" },
      candidates: { type: "string" },
      bags: { type: "string" },
      workers: { type: "string" },
      "tower-end-day": { type: "string" },
      index: { type: "string" },
      nlist: { type: "string" },
      nprobe: { type: "string" },
      alias: { type: "string" },
      users: { type: "string" },
      items: { type: "string" },
      sessions: { type: "string" },
      "feature-prefix": { type: "string" },
      "history-prefix": { type: "string" },
      quiet: { type: "boolean" },
      "materialize-only": { type: "boolean" },
      "from-log": { type: "boolean" },
      store: { type: "string" },
      "as-of": { type: "string" },
      "train-days": { type: "string" },
      "gap-days": { type: "string" },
      "eval-days": { type: "string" },
      "label-horizon-days": { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(USAGE);
    process.exit(command ? 0 : 2);
  }
  if (values["from-log"] && (command === "fraud" || command === "recs")) {
    await fromLog(command, values);
    return;
  }
  if (command === "recs") {
    await recs(values);
    return;
  }
  process.stderr.write(`unknown command "${command}"\n${USAGE}`);
  process.exit(2);
}

function days(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(n >= 0) || !Number.isFinite(n)) {
    process.stderr.write(`--${name} must be a non-negative number of days, got "${value}"\n`);
    process.exit(2);
  }
  return n;
}

/** A path from the command line, relative to where the command was typed (npm runs scripts in the package folder). */
function fromInvocation(value: string): string {
  // eslint-disable-next-line no-restricted-properties
  return path.resolve(process.env.INIT_CWD ?? process.cwd(), value);
}

async function fromLog(command: "fraud" | "recs", values: Record<string, string | boolean | undefined>): Promise<void> {
  const text = (name: string) => (typeof values[name] === "string" ? (values[name] as string) : undefined);
  const asOf = text("as-of") ?? new Date().toISOString();
  if (!Number.isFinite(Date.parse(asOf))) {
    process.stderr.write(`--as-of must be an ISO time, got "${asOf}"\n`);
    process.exit(2);
  }
  const common = {
    storeDir: fromInvocation(text("store") ?? ".data/offline-store"),
    registryDir: text("registry") ?? "artifacts/registry",
    asOf,
    trainDays: days(text("train-days"), "train-days", 14),
    gapDays: days(text("gap-days"), "gap-days", 1),
    evalDays: days(text("eval-days"), "eval-days", 3),
    alias: text("alias") ?? "candidate",
  };
  const result =
    command === "fraud"
      ? await trainFraudFromLog({ ...common, labelHorizonDays: days(text("label-horizon-days"), "label-horizon-days", 7) })
      : await trainRankerFromLog(common);
  const summary = { model: result.registered.manifest.model, version: result.registered.manifest.version, alias: common.alias, comparison: result.comparison };
  process.stdout.write(values.json ? `${JSON.stringify(summary)}\n` : `\n${JSON.stringify(summary, null, 2)}\n`);
}

/** Default: beside the repository; a relative --data is taken from where npm was started (INIT_CWD), not the package folder. */
function movieLensDir(arg: string | undefined): string {
  if (arg === undefined) return path.resolve(import.meta.dirname, "../../../../shared/datasets/ml-100k");
  // `npm run -w` runs in the package folder; INIT_CWD is where the command was typed.
  // eslint-disable-next-line no-restricted-properties
  return path.resolve(process.env.INIT_CWD ?? process.cwd(), arg);
}

async function recs(values: Record<string, string | boolean | undefined>): Promise<void> {
  const text = (name: string) => (typeof values[name] === "string" ? (values[name] as string) : undefined);
  const dataset = text("dataset") ?? "synthetic";
  const seed = text("seed") !== undefined ? int(text("seed"), "seed") : undefined;
  const epochs = int(text("epochs"), "epochs");
  const candidates = int(text("candidates"), "candidates");
  const bags = int(text("bags"), "bags");
  if (bags !== undefined && dataset !== "movielens") {
    process.stderr.write("--bags needs --dataset movielens\n");
    process.exit(2);
  }
  const workers = int(text("workers"), "workers");
  if (workers !== undefined && dataset !== "movielens") {
    process.stderr.write("--workers needs --dataset movielens\n");
    process.exit(2);
  }
  const twoStage = { ...MOVIELENS_TWO_STAGE, ...(workers ? { workers } : {}) };
  const towerEndDay = int(text("tower-end-day"), "tower-end-day");
  if (towerEndDay !== undefined && dataset !== "synthetic") {
    process.stderr.write("--tower-end-day is for synthetic worlds\n");
    process.exit(2);
  }
  const indexKind = text("index") ?? "hnsw";
  const nlist = int(text("nlist"), "nlist");
  const nprobe = int(text("nprobe"), "nprobe");
  if (indexKind !== "hnsw" && indexKind !== "ivf") {
    process.stderr.write(`--index must be hnsw or ivf, got "${indexKind}"\n`);
    process.exit(2);
  }
  if ((nlist || nprobe) && indexKind !== "ivf") {
    process.stderr.write("--nlist and --nprobe need --index ivf\n");
    process.exit(2);
  }
  if (indexKind === "ivf" && dataset === "movielens") {
    process.stderr.write("--index ivf is for synthetic worlds; MovieLens builds HNSW\n");
    process.exit(2);
  }
  const index: IndexSpec = indexKind === "ivf" ? { kind: "ivf", params: { ...(nlist ? { nlist } : {}), ...(nprobe ? { nprobe } : {}) } } : { kind: "hnsw" };
  let source: RecsDataSource;
  if (dataset === "movielens") {
    const seeds = text("seeds")?.split(",").map((v) => int(v.trim(), "seeds") as number);
    source = {
      kind: "movielens",
      dir: movieLensDir(text("data")),
      ...(seed ? { seed } : {}),
      ...(seeds ? { seeds } : {}),
      ...(epochs ? { epochs } : {}),
      ...(values["skip-two-tower"] ? { twoTower: false } : {}),
    };
  } else if (dataset === "synthetic") {
    const preset = text("preset") ?? "demo";
    if (!["small", "demo", "benchmark"].includes(preset)) {
      process.stderr.write(`--preset must be small, demo or benchmark, got "${preset}"\n`);
      process.exit(2);
    }
    const users = int(text("users"), "users");
    const items = int(text("items"), "items");
    const sessions = int(text("sessions"), "sessions");
    source = {
      kind: "synthetic",
      preset: preset as RecsPreset,
      ...(seed ? { seed } : {}),
      ...(users || items ? { world: { ...(users ? { numUsers: users } : {}), ...(items ? { numItems: items } : {}) } } : {}),
      ...(sessions ? { sessionsPerUser: sessions } : {}),
    };
  } else {
    process.stderr.write(`--dataset must be synthetic or movielens, got "${dataset}"\n`);
    process.exit(2);
  }
  if (values["two-tower-only"]) {
    if (source.kind !== "movielens") {
      process.stderr.write("--two-tower-only needs --dataset movielens\n");
      process.exit(2);
    }
    const dataset = await loadMovieLens(source.dir);
    const rows = await twoTowerSeeds(dataset, source.seeds ?? [source.seed ?? 42], source.epochs ? { epochs: source.epochs } : {}, (line) => process.stderr.write(line + "\n"));
    const stats = (xs: number[]) => {
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
      return `${mean.toFixed(4)} ± ${sd.toFixed(4)} (${Math.min(...xs).toFixed(4)}-${Math.max(...xs).toFixed(4)})`;
    };
    const out = [`\n${source.dir}, seeds ${rows.map((r) => r.seed).join(", ")}:`, "", "| model | NDCG@10 | P@10 | R@10 |", "|---|---:|---:|---:|"];
    for (const key of ["mostPop", "twoTower"] as const) {
      out.push(`| ${rows[0]?.[key].recommender} | ${stats(rows.map((r) => r[key].ndcg))} | ${stats(rows.map((r) => r[key].precision))} | ${stats(rows.map((r) => r[key].recall))} |`);
    }
    process.stdout.write(out.join("\n") + "\n");
    return;
  }
  if (values["search-ranker"]) {
    if (source.kind !== "movielens") {
      process.stderr.write("--search-ranker needs --dataset movielens\n");
      process.exit(2);
    }
    const innerSeeds = (text("inner-seeds") ?? "1042,1043,1044").split(",").map((v) => int(v.trim(), "inner-seeds") as number);
    const dataset = await loadMovieLens(source.dir);
    const chosen = text("variants")?.split(",").map((v) => int(v.trim(), "variants") as number);
    const outOfRange = chosen?.filter((n) => n < 1 || n > DEFAULT_RANKER_VARIANTS.length) ?? [];
    if (outOfRange.length) {
      process.stderr.write(`--variants: ${outOfRange.join(", ")} out of range; the variants are numbered 1-${DEFAULT_RANKER_VARIANTS.length}\n`);
      process.exit(2);
    }
    const variants = chosen ? chosen.map((n) => DEFAULT_RANKER_VARIANTS[n - 1] as RankerVariant) : DEFAULT_RANKER_VARIANTS;
    const rows = await searchRankerVariants(dataset, source.seed ?? 42, innerSeeds, twoStage, variants, (line) => process.stderr.write(line + "\n"));
    const out = [
      `\nRanker variants, validation NDCG@10 on splits of seed ${source.seed ?? 42}'s training half (inner seeds ${innerSeeds.join(", ")}; ${source.dir}):`,
      "",
      `| variant | ${innerSeeds.map((s) => `inner ${s}`).join(" | ")} | mean | trees |`,
      `|---|${innerSeeds.map(() => "---:|").join("")}---:|---|`,
    ];
    for (const r of rows) out.push(`| ${r.variant} | ${r.ndcg.map((v) => v.toFixed(4)).join(" | ")} | ${r.mean.toFixed(4)} | ${r.trees.join(", ")} |`);
    process.stdout.write(out.join("\n") + "\n");
    return;
  }
  if (values.tune) {
    if (source.kind !== "movielens") {
      process.stderr.write("--tune needs --dataset movielens\n");
      process.exit(2);
    }
    const stages = (text("tune-stages") ?? TUNE_STAGES.join(",")).split(",").map((v) => v.trim());
    const unknown = stages.filter((v) => !(TUNE_STAGES as readonly string[]).includes(v));
    if (unknown.length) {
      process.stderr.write(`--tune-stages: unknown stage ${unknown.join(", ")}; expected some of ${TUNE_STAGES.join(", ")}\n`);
      process.exit(2);
    }
    const dataset = await loadMovieLens(source.dir);
    const rows = await tuneMovieLens(dataset, source.seed ?? 42, twoStage, DEFAULT_TUNE_GRID, (line) => process.stderr.write(line + "\n"), stages as TuneStage[]);
    const out = [`\nValidation search, seed ${source.seed ?? 42} (${source.dir}):`, "", "| stage | setting | metric | value |", "|---|---|---|---:|"];
    for (const r of rows) out.push(`| ${r.stage} | ${r.setting} | ${r.metric} | ${r.value.toFixed(4)} |`);
    process.stdout.write(out.join("\n") + "\n");
    return;
  }
  if (values["materialize-only"]) {
    if (source.kind !== "synthetic" || !text("redis")) {
      process.stderr.write("--materialize-only needs a synthetic world and --redis URL\n");
      process.exit(2);
    }
    await materializeWorld(source, text("redis") as string, {
      ...(text("feature-prefix") ? { featurePrefix: text("feature-prefix") as string } : {}),
      ...(text("history-prefix") ? { historyPrefix: text("history-prefix") as string } : {}),
    });
    return;
  }
  const result = await trainRecs({
    source,
    registryDir: text("registry") ?? "artifacts/registry",
    reportDir: text("reports") ?? "reports",
    ...(text("redis") ? { redisUrl: text("redis") as string } : {}),
    ...(text("alias") ? { alias: text("alias") as string } : {}),
    ...(text("feature-prefix") ? { featurePrefix: text("feature-prefix") as string } : {}),
    ...(text("history-prefix") ? { historyPrefix: text("history-prefix") as string } : {}),
    ...(values.quiet ? { quiet: true } : {}),
    ...(candidates ? { candidates } : {}),
    ...(bags || workers ? { twoStage: { ...(bags ? { bags } : {}), ...(workers ? { workers } : {}) } } : {}),
    ...(towerEndDay ? { towerEndDay } : {}),
    ...(epochs && source.kind === "synthetic" ? { twoTower: { epochs } } : {}),
    index,
  });
  const lines = ["", `recs models ${result.version} (${result.seconds.toFixed(0)} s)`];
  const shown = index.kind === "hnsw" ? 200 : (nprobe ?? DEFAULT_IVF_PARAMS.nprobe);
  for (const r of result.indexSweep.filter((s) => s.effort === shown)) lines.push(`  ${index.kind.toUpperCase()} recall@${r.k} vs exact at ${SEARCH_EFFORT[index.kind]} ${shown}: ${r.recall.toFixed(4)}`);
  for (const m of result.world?.evaluation.methods ?? []) {
    lines.push(`  ${m.description.padEnd(40)} NDCG@10 true relevance ${m.ndcgTrue.toFixed(4)}   held-out clicks ${m.ndcgClicks.toFixed(4)}`);
  }
  const ranker = result.world?.ranker;
  if (ranker) {
    const split = ranker.split;
    lines.push(`  ranker on logged slates, days ${split.testStartDay}-${split.endDay} (trained on days ${split.warmupDays}-${split.testStartDay - split.validDays}; validation NDCG@10 vs clicks ${ranker.models.lambdarank.bestValidScore?.toFixed(4) ?? "-"}):`);
    for (const m of ranker.methods.filter((x) => x.method === "lambdarank" || x.method === "retrieval")) {
      lines.push(`    ${m.method.padEnd(38)} NDCG@10 true relevance ${m.ndcgTrue.toFixed(4)}   clicks ${m.ndcgClicks.toFixed(4)}`);
    }
  }
  for (const s of result.movielens?.summary ?? []) {
    const spread = s.values.length > 1 ? ` ± ${s.sd.toFixed(4)} (${s.min.toFixed(4)}-${s.max.toFixed(4)}, ${s.values.length} seeds)` : "";
    lines.push(`  ${s.model.padEnd(46)} ${s.metric.padEnd(8)} ${s.mean.toFixed(4)}${spread}`);
  }
  lines.push(`  report: ${result.reportPath}`, "");
  process.stdout.write(lines.join("\n"));
}

main().catch((error: unknown) => {
  process.stderr.write(`trainer failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
