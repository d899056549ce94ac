import { Rng } from "@mlsd/random";
import type { Table } from "./fraud-data";

/** A ranking table: row-major features, integer grades, query group sizes in row order. */
export interface RankingTable extends Table {
  groups: Int32Array;
}

/**
 * A wide binary table nobody tuned to (the "500k x 50" case): 50 features of mixed shapes
 * (normal, uniform, heavy-tailed, few-valued), 12 of which carry signal through thresholds,
 * smooth terms and pairwise interactions; the rest are noise. About 30% positives, 1% of cells
 * missing at random.
 */
export function wideTable(numRows: number, numFeatures: number, seed: number): Table {
  if (numFeatures < 12) throw new Error("wideTable needs at least 12 features");
  const rng = new Rng(seed);
  const data = new Float64Array(numRows * numFeatures);
  const labels = new Float64Array(numRows);
  const x = new Float64Array(numFeatures);
  for (let r = 0; r < numRows; r++) {
    for (let f = 0; f < numFeatures; f++) {
      const kind = f % 4;
      x[f] = kind === 0 ? rng.normal() : kind === 1 ? rng.next() : kind === 2 ? Math.exp(rng.normal(0, 1)) : rng.int(8);
    }
    let logit = -1.2;
    logit += 0.9 * (x[0] as number) - 0.6 * Math.abs(x[4] as number);
    logit += (x[1] as number) > 0.7 ? 1.1 : 0;
    logit += 0.8 * Math.log(x[2] as number) * ((x[3] as number) > 4 ? 1 : -0.5);
    logit += 1.2 * Math.sin(3 * (x[5] as number)) * (x[8] as number);
    logit += (x[6] as number) < 0.5 && (x[7] as number) < 3 ? 1.0 : -0.3;
    logit += 0.5 * (x[9] as number) * (x[10] as number);
    logit += (x[11] as number) % 2 === 0 ? 0.4 : -0.4;
    logit += rng.normal(0, 0.5);
    labels[r] = rng.bernoulli(1 / (1 + Math.exp(-logit))) ? 1 : 0;
    for (let f = 0; f < numFeatures; f++) data[r * numFeatures + f] = rng.next() < 0.01 ? NaN : (x[f] as number);
  }
  return { featureNames: Array.from({ length: numFeatures }, (_, f) => `f${f}`), data, labels, numRows };
}

/**
 * Queries with 10 to 60 candidates each, 30 features, grades 0..4 from a hidden relevance that mixes
 * item features, a per-query offset on one feature (which only a listwise model can cancel) and
 * noise; few items per query are highly relevant, as in search logs.
 */
export function rankingTable(numQueries: number, seed: number): RankingTable {
  const rng = new Rng(seed);
  const width = 30;
  const rows: number[] = [];
  const labels: number[] = [];
  const groups = new Int32Array(numQueries);
  for (let q = 0; q < numQueries; q++) {
    const size = 10 + rng.int(51);
    groups[q] = size;
    const offset = rng.normal(0, 2);
    const taste = rng.normal();
    const relevance: number[] = [];
    for (let i = 0; i < size; i++) {
      const x = Array.from({ length: width }, (_, f) => (f % 3 === 2 ? rng.next() : rng.normal()));
      const rel =
        (x[0] as number) + 0.7 * (x[1] as number) * taste + ((x[2] as number) > 0.8 ? 1 : 0) + 0.5 * Math.abs(x[3] as number) - 0.4 * (x[4] as number) ** 2 + rng.normal(0, 0.6);
      x[5] = (x[5] as number) + offset + 0.5 * rel;
      relevance.push(rel);
      rows.push(...x);
    }
    for (const rel of relevance) labels.push(rel > 2.6 ? 4 : rel > 2 ? 3 : rel > 1.4 ? 2 : rel > 0.7 ? 1 : 0);
  }
  return {
    featureNames: Array.from({ length: width }, (_, f) => `f${f}`),
    data: Float64Array.from(rows),
    labels: Float64Array.from(labels),
    numRows: labels.length,
    groups,
  };
}
