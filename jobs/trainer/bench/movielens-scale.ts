// How long `train:recs --dataset movielens` takes on a 10K-item release. Only 100K is on disk, so
// this writes a synthetic release in the 1M ('::') or CSV format (Zipf popularity, genre-driven
// users, session timestamps), then runs the trainer on it in-process, one seed.
// Run: npx tsx jobs/trainer/bench/movielens-scale.ts [--items 10000 --users 610 --ratings 100000 --format dat|csv --skip-two-tower --workers N]
// (--workers: threads for the ranker's fold signals, default the machine's cores; the results do not change with it)
import fs from "node:fs";
import os, { availableParallelism } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Rng } from "@mlsd/random";
import { trainRecs } from "../src/recs/pipeline";

const { values } = parseArgs({
  options: {
    items: { type: "string", default: "10000" },
    users: { type: "string", default: "610" },
    ratings: { type: "string", default: "100000" },
    format: { type: "string", default: "dat" },
    "skip-two-tower": { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    workers: { type: "string" },
  },
});
const numItems = Number(values.items);
const numUsers = Number(values.users);
const numRatings = Number(values.ratings);
const workers = values.workers === undefined ? undefined : Number(values.workers);
if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1)) throw new Error(`--workers must be a positive integer, got ${values.workers}`);
const GENRES = ["Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"];

function writeRelease(dir: string): void {
  const rng = new Rng(17);
  const genre = Int32Array.from({ length: numItems }, () => rng.int(GENRES.length));
  const year = Int32Array.from({ length: numItems }, () => 1930 + rng.int(70));
  // Popularity: Zipf(0.9) over a random permutation, so ids and popularity are unrelated.
  const order = Array.from({ length: numItems }, (_, i) => i);
  rng.shuffle(order);
  const weight = new Float64Array(numItems);
  order.forEach((item, rank) => (weight[item] = 1 / (rank + 1) ** 0.9));
  const byGenre: number[][] = GENRES.map(() => []);
  for (let i = 0; i < numItems; i++) (byGenre[genre[i] as number] as number[]).push(i);
  const cumulative = (items: number[]) => {
    const c = new Float64Array(items.length);
    let t = 0;
    items.forEach((i, k) => (c[k] = t += weight[i] as number));
    return c;
  };
  const all = Array.from({ length: numItems }, (_, i) => i);
  const tables = [...byGenre.map((g) => ({ items: g, c: cumulative(g) })), { items: all, c: cumulative(all) }];
  const draw = (t: { items: number[]; c: Float64Array }) => {
    const x = rng.next() * (t.c[t.c.length - 1] as number);
    let lo = 0;
    let hi = t.c.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((t.c[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    return t.items[lo] as number;
  };
  const movies = Array.from({ length: numItems }, (_, i) => `${i + 1}::Movie ${i + 1} (${year[i]})::${GENRES[genre[i] as number]}`);
  const ratings: string[] = [];
  const perUser = numRatings / numUsers;
  for (let u = 0; u < numUsers; u++) {
    const favourites = [rng.int(GENRES.length), rng.int(GENRES.length)];
    const count = Math.max(20, Math.min(numItems >> 2, Math.round(perUser * Math.exp(rng.normal(0, 0.7) - 0.245))));
    const seen = new Set<number>();
    let t = 950_000_000 + rng.int(90_000_000);
    while (seen.size < count) {
      const table = rng.next() < 0.7 ? (tables[favourites[rng.int(2)] as number] as (typeof tables)[number]) : (tables[GENRES.length] as (typeof tables)[number]);
      if (table.items.length === 0) continue;
      const item = draw(table);
      if (seen.has(item)) continue;
      seen.add(item);
      t += rng.int(600);
      ratings.push(`${u + 1}::${item + 1}::${1 + rng.int(5)}::${t}`);
    }
  }
  fs.mkdirSync(dir, { recursive: true });
  if (values.format === "csv") {
    fs.writeFileSync(path.join(dir, "movies.csv"), ["movieId,title,genres", ...movies.map((m) => m.split("::").join(","))].join("\n") + "\n");
    fs.writeFileSync(path.join(dir, "ratings.csv"), ["userId,movieId,rating,timestamp", ...ratings.map((r) => r.split("::").join(","))].join("\n") + "\n");
  } else {
    fs.writeFileSync(path.join(dir, "movies.dat"), movies.join("\n") + "\n");
    fs.writeFileSync(path.join(dir, "ratings.dat"), ratings.join("\n") + "\n");
  }
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ml-scale-"));
const dataDir = path.join(tmp, "release");
try {
  writeRelease(dataDir);
  const phases: string[] = [];
  const t0 = performance.now();
  const result = await trainRecs({
    source: { kind: "movielens", dir: dataDir, ...(values["skip-two-tower"] ? { twoTower: false } : {}) },
    registryDir: path.join(tmp, "registry"),
    reportDir: path.join(tmp, "reports"),
    quiet: true,
    ...(workers ? { twoStage: { workers } } : {}),
    log: (line) => {
      phases.push(`${((performance.now() - t0) / 1000).toFixed(0).padStart(5)} s  ${line}`);
      console.error(phases.at(-1));
    },
  });
  const run = result.movielens?.runs[0];
  console.log(`\nsynthetic release: ${numItems} items, ${numUsers} users, ${numRatings} ratings, ${values.format} format; ${workers ?? `${availableParallelism()} (the cores)`} workers for the ranker's folds`);
  console.log(`train:recs --dataset movielens: ${result.seconds.toFixed(0)} s in all`);
  if (run) {
    const s = run.seconds;
    console.log(`  two-tower ${s.twoTower.toFixed(0)} s, ranker (folds) ${s.ranker.toFixed(0)} s, final signals + index ${s.signals.toFixed(0)} s, evaluation of every model ${s.evaluation.toFixed(0)} s`);
    for (const r of run.results) console.log(`  ${r.recommender.padEnd(46)} NDCG@10 ${r.ndcg.toFixed(4)}  fit ${r.fitSeconds.toFixed(1)} s`);
  }
} finally {
  if (!values.keep) fs.rmSync(tmp, { recursive: true, force: true });
}
