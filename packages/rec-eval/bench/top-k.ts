// Top-k selection as evaluate() uses it (bounded heap) against the obvious baseline (sort all
// candidate indices by score), on an ML-100K-sized catalogue and on a 1M-item one.
// Run: npm run bench -w @mlsd/rec-eval
import { Rng } from "@mlsd/random";
import { topK } from "../src/top-k";

function fullSortTopK(scores: Float32Array, k: number, exclude: Uint8Array): Int32Array {
  const idx: number[] = [];
  for (let i = 0; i < scores.length; i++) if (exclude[i] === 0) idx.push(i);
  idx.sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
  return Int32Array.from(idx.slice(0, k));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
}

function run(label: string, numItems: number, users: number, k: number, repeats: number): string[] {
  const rng = new Rng(1);
  const scores = Array.from({ length: users }, () => Float32Array.from({ length: numItems }, () => rng.next()));
  const exclude = Array.from({ length: users }, () => Uint8Array.from({ length: numItems }, () => (rng.bernoulli(0.05) ? 1 : 0)));
  const time = (fn: (s: Float32Array, e: Uint8Array) => Int32Array): number[] => {
    const out: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      for (let u = 0; u < users; u++) fn(scores[u] as Float32Array, exclude[u] as Uint8Array);
      out.push(performance.now() - t0);
    }
    return out;
  };
  // Same answers first: a fast wrong top-k would be worthless.
  for (let u = 0; u < Math.min(users, 5); u++) {
    const a = topK(scores[u] as Float32Array, k, exclude[u]).join();
    const b = fullSortTopK(scores[u] as Float32Array, k, exclude[u] as Uint8Array).join();
    if (a !== b) throw new Error(`top-k mismatch for user ${u}`);
  }
  const heap = median(time((s, e) => topK(s, k, e)));
  const sort = median(time((s, e) => fullSortTopK(s, k, e)));
  const perUser = (ms: number) => `${((ms / users) * 1000).toFixed(1)} us`;
  return [label, `${numItems}`, `${users}`, perUser(heap), perUser(sort), `${(sort / heap).toFixed(1)}x`];
}

const rows = [
  ["case", "items", "users", "heap top-10 / user", "full sort / user", "speed-up"],
  run("ML-100K size", 1_682, 943, 10, 7),
  run("1M-item catalogue", 1_000_000, 5, 10, 3),
];
const widths = (rows[0] as string[]).map((_, c) => Math.max(...rows.map((r) => (r[c] as string).length)));
for (const r of rows) console.log(r.map((cell, c) => cell.padStart(widths[c] as number)).join("  "));
console.log("(medians; heap = evaluate()'s topK, full sort = sort all candidates by score)");
