// Cost of the recommendation world: generation time and memory per preset, and the throughput of
// simulateInteractions. The benchmark preset (100k users, 1M items) must fit as typed arrays.
// Run: npm run bench:recs -w @mlsd/synth
import { createRecWorld, simulateInteractions } from "../src/recs/index";
import type { RecWorld, RecWorldPreset } from "../src/recs/index";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
}

function worldBytes(w: RecWorld): number {
  let bytes = w.categoryCentroids.byteLength;
  for (const part of [w.items, w.users]) {
    for (const a of Object.values(part) as ArrayBufferView[]) bytes += a.byteLength;
  }
  return bytes;
}

const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
const rows: string[][] = [["preset", "users", "items", "generate (median)", "typed arrays", "impressions/s", "sim CTR"]];
const plan: [RecWorldPreset, number][] = [
  ["small", 5],
  ["demo", 3],
  ["benchmark", 1],
];
for (const [preset, repeats] of plan) {
  const times: number[] = [];
  let world: RecWorld | undefined;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    world = createRecWorld({ preset, seed: 1 });
    times.push(performance.now() - t0);
  }
  const w = world as RecWorld;
  // One session per user on average over the period keeps the benchmark preset to ~1M impressions.
  const t0 = performance.now();
  const log = simulateInteractions(w, { seed: 2, sessionsPerUser: 1 });
  const simMs = performance.now() - t0;
  let clicks = 0;
  for (let i = 0; i < log.length; i++) clicks += log.clicked[i] as number;
  rows.push([
    preset,
    `${w.numUsers}`,
    `${w.numItems}`,
    `${(median(times) / 1000).toFixed(2)} s`,
    mb(worldBytes(w)),
    `${Math.round(log.length / (simMs / 1000))}`,
    (clicks / log.length).toFixed(4),
  ]);
}
const widths = (rows[0] as string[]).map((_, c) => Math.max(...rows.map((r) => (r[c] as string).length)));
for (const r of rows) console.log(r.map((cell, c) => cell.padStart(widths[c] as number)).join("  "));
console.log(`heap after run: ${mb(process.memoryUsage().heapUsed)}, array buffers: ${mb(process.memoryUsage().arrayBuffers)}`);
