// Trains the ranker on a synthetic world and prints the NDCG table (claim 9 and the position-bias
// rows of X1). Until the recs trainer wires in the two-tower model, retrieval is the world's
// latent affinity plus noise.
// Run: npx tsx src/recs/ranker-cli.ts --users 2000 --items 10000 --sessions 10 --noise 1 [--registry DIR]
import { parseArgs } from "node:util";
import { createRecWorld, simulateInteractions } from "@mlsd/synth";
import { renderRankerReport, trainRanker } from "./ranker";
import { noisyLatentScorer } from "./ranker-data";

const { values } = parseArgs({
  options: {
    users: { type: "string", default: "2000" },
    items: { type: "string", default: "10000" },
    sessions: { type: "string", default: "10" },
    slate: { type: "string", default: "20" },
    noise: { type: "string", default: "1" },
    seed: { type: "string", default: "1" },
    registry: { type: "string" },
  },
});

function positive(name: keyof typeof values): number {
  const n = Number(values[name]);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`--${name} must be a non-negative number, got "${values[name]}"\n`);
    process.exit(2);
  }
  return n;
}

const world = createRecWorld({ preset: "small", seed: positive("seed"), numUsers: positive("users"), numItems: positive("items") });
const t0 = performance.now();
const impressions = simulateInteractions(world, { seed: positive("seed") + 1, sessionsPerUser: positive("sessions"), slateSize: positive("slate") });
const noise = positive("noise");
process.stderr.write(`world: ${world.numUsers} users, ${world.numItems} items; ${impressions.length} impressions in ${impressions.sessions} slates\n`);
const { report } = await trainRanker({
  world,
  impressions,
  scorer: noisyLatentScorer(world, { noise }),
  scorerName: `latent affinity + N(0, ${noise}^2) noise`,
  ...(values.registry ? { registryDir: values.registry } : {}),
});
process.stdout.write(renderRankerReport(report));
process.stderr.write(`total ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
