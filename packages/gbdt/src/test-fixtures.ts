import { Rng } from "@mlsd/random";

/** Shared synthetic data for this package's tests. */
export interface Labelled {
  rows: number[][];
  labels: number[];
}

/**
 * Label depends on sign(x0) XOR sign(x1) only, so neither feature alone carries signal: a model
 * must learn the interaction. x2..x(F-1) are noise.
 */
export function xorData(n: number, seed: number, numFeatures = 5): Labelled {
  const rng = new Rng(seed);
  const rows: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = Array.from({ length: numFeatures }, () => rng.normal());
    const xor = (row[0] as number) > 0 !== (row[1] as number) > 0;
    rows.push(row);
    labels.push(rng.bernoulli(xor ? 0.9 : 0.1) ? 1 : 0);
  }
  return { rows, labels };
}

/** Positives are rare, x0 and x1 shift the log-odds, x2 is missing 30% of the time and missingness itself is risky. */
export function imbalancedData(n: number, seed: number): Labelled {
  const rng = new Rng(seed);
  const rows: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const x0 = rng.normal();
    const x1 = rng.normal();
    const missing = rng.bernoulli(0.3);
    const x2 = missing ? NaN : rng.normal();
    const logit = -3 + 1.2 * x0 + 0.8 * x1 + (missing ? 1.5 : 0.2 * x2);
    rows.push([x0, x1, x2, rng.normal()]);
    labels.push(rng.bernoulli(1 / (1 + Math.exp(-logit))) ? 1 : 0);
  }
  return { rows, labels };
}

export interface RankingData extends Labelled {
  groups: number[];
}

/**
 * Queries of `perQuery` items with grades 0..4. An item's true within-query score is
 * e + x1 where x0 = queryOffset + e: x0 carries a large per-query offset that says nothing about
 * order inside the query. A pointwise model regressing the grade on x0 shrinks x0's weight
 * (the offset looks like noise across queries); a listwise model compares items within a query,
 * where the offset cancels.
 */
export function rankingData(numQueries: number, perQuery: number, seed: number): RankingData {
  const rng = new Rng(seed);
  const rows: number[][] = [];
  const labels: number[] = [];
  const groups: number[] = [];
  for (let q = 0; q < numQueries; q++) {
    const offset = rng.normal(0, 3);
    const scores: number[] = [];
    const start = rows.length;
    for (let i = 0; i < perQuery; i++) {
      const e = rng.normal();
      const x1 = rng.normal();
      scores.push(e + x1 + rng.normal(0, 0.3));
      rows.push([offset + e, x1, rng.normal(), rng.normal()]);
    }
    const order = scores.map((_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number));
    const grades = new Array<number>(perQuery).fill(0);
    order.forEach((item, rank) => {
      grades[item] = rank < 1 ? 4 : rank < 3 ? 3 : rank < 6 ? 2 : rank < 10 ? 1 : 0;
    });
    for (let i = 0; i < perQuery; i++) labels[start + i] = grades[i] as number;
    groups.push(perQuery);
  }
  return { rows, labels, groups };
}
