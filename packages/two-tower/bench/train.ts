/**
 * End-to-end numbers for the model on a synthetic clustered world: training throughput
 * (examples/s), recall@K against random and popularity baselines, and request-time user-tower
 * latency of the pure-JS encoder next to the tfjs forward pass on one query.
 *
 *   npx tsx bench/train.ts [--users 5000] [--items 2000] [--per-user 20] [--epochs 3] [--batch 256]
 */
import { Rng } from "@mlsd/random";
import { backendName, hitRate, itemCounts, mostPopularLists, popularityRanks, recallAtK, TwoTowerModel, UserEncoder, type UserQuery } from "../src/index";
import { makeClusteredWorld } from "../src/testing/clustered-world";

const argv = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const numUsers = flag("--users", 5000);
const numItems = flag("--items", 2000);
const perUser = flag("--per-user", 20);
const epochs = flag("--epochs", 3);
const batchSize = flag("--batch", 256);
const K = flag("--k", 20);

const world = makeClusteredWorld({ seed: 11, numUsers, numItems, numClusters: 20, interactionsPerUser: perUser, historyLength: 20, tagsPerCluster: 2 });
const model = await TwoTowerModel.fromData(world.train, { epochs, batchSize });
const report = await model.fit(world.train, {
  onEpoch: (e, loss) => console.error(`epoch ${e}: loss ${loss.toFixed(3)}`),
});

const recall = recallAtK(model, world.heldOut, K, { exclude: world.seen });
const ranks = popularityRanks(itemCounts(world.train.interactions, numItems));
const popularity = hitRate(mostPopularLists(ranks, world.heldOut.interactions.user, world.seen, K), K, world.heldOut.interactions.item);

const rng = new Rng(5);
const queries: UserQuery[] = Array.from({ length: 2000 }, () => {
  const u = rng.int(numUsers);
  return {
    userId: u,
    numeric: Array.from(world.train.userFeatures.numeric.subarray(2 * u, 2 * u + 2)),
    categorical: Array.from(world.train.userFeatures.categorical.subarray(2 * u, 2 * u + 2)),
    history: Array.from({ length: 20 }, () => rng.int(numItems)),
  };
});
const encoder = new UserEncoder(model.exportUserTower());
const out = new Float32Array(encoder.dim);
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] as number;
const latency = (f: (q: UserQuery) => void, n: number) => {
  for (let i = 0; i < 200; i++) f(queries[i % queries.length] as UserQuery);
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const q = queries[i % queries.length] as UserQuery;
    const t0 = performance.now();
    f(q);
    t.push((performance.now() - t0) * 1000);
  }
  return { p50: percentile(t, 0.5), p99: percentile(t, 0.99) };
};
const js = latency((q) => encoder.encode(q, out), 20_000);
const tfjs = latency((q) => model.embedUsers([q]), 500);

const f = (x: number, d = 3) => x.toFixed(d);
console.log(`\ntwo-tower on a synthetic world: ${numUsers} users, ${numItems} items, 20 clusters, ${world.train.interactions.user.length} training interactions; backend ${backendName()}\n`);
console.log("| measure | value |");
console.log("|---|---:|");
console.log(`| training throughput (batch ${batchSize}, ${epochs} epochs) | ${f(report.examplesPerSecond, 0)} examples/s |`);
console.log(`| epoch loss first -> last | ${f(report.epochLoss[0] as number)} -> ${f(report.epochLoss.at(-1) as number)} |`);
console.log(`| recall@${K}, model (exact scoring) | ${f(recall)} |`);
console.log(`| recall@${K}, popularity baseline | ${f(popularity)} |`);
console.log(`| recall@${K}, random baseline | ${f(K / numItems)} |`);
console.log(`| user tower, pure JS: p50 / p99 | ${f(js.p50, 1)} / ${f(js.p99, 1)} us |`);
console.log(`| user tower, tfjs (1 query): p50 / p99 | ${f(tfjs.p50, 1)} / ${f(tfjs.p99, 1)} us |`);
