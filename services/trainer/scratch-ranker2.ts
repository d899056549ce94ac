import { createRecWorld, simulateInteractions } from "@mlsd/synth";
import { noisyLatentScorer } from "./src/recs/ranker-data";
import { trainRanker } from "./src/recs/ranker";
const [users, items, sessions, slate, noise] = process.argv.slice(2, 7).map(Number);
const variants = JSON.parse(process.argv[7] ?? "[{}]");
const world = createRecWorld({ preset: "small", seed: 1, numUsers: users, numItems: items });
const log = simulateInteractions(world, { seed: 2, sessionsPerUser: sessions, slateSize: slate });
for (const v of variants) {
  const t = performance.now();
  const r = await trainRanker({ world, impressions: log, scorer: noisyLatentScorer(world, { noise: noise! }), scorerName: "x", lambdarank: v, pointwise: { numRounds: 300 }, log: () => {} });
  const m = Object.fromEntries(r.report.methods.map((x) => [x.method, `${x.ndcgTrue.toFixed(4)}/${x.ndcgClicks.toFixed(4)}`]));
  console.log(JSON.stringify(v), ((performance.now() - t) / 1000).toFixed(1) + "s", "trees", r.report.models.lambdarank.trees, r.report.models.pointwise.trees, JSON.stringify(m));
}
