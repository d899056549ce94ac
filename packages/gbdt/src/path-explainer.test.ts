import { describe, expect, it } from "vitest";
import { Rng } from "@mlsd/random";
import { contributions, Dataset, PathExplainer, train } from "./index";

function data(seed: number, n = 3000) {
  const rng = new Rng(seed);
  const rows: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = [rng.normal(), rng.normal(), rng.normal(), rng.bernoulli(0.1) ? Number.NaN : rng.normal()];
    rows.push(row);
    labels.push(rng.bernoulli(1 / (1 + Math.exp(-(2 * row[0]! - row[1]!)))) ? 1 : 0);
  }
  return { rows, labels };
}

describe("PathExplainer (Saabas)", () => {
  const { rows, labels } = data(3);
  const model = train(Dataset.fromRows(rows, { labels, seed: 3 }), { objective: "binary", numRounds: 60, maxDepth: 4, seed: 3 }).model;
  const explainer = new PathExplainer(model);

  it("sums to the raw margin, missing values included", () => {
    for (const row of rows.slice(0, 200)) {
      const phi = explainer.contributions(row);
      const total = phi.reduce((s, v) => s + v, 0);
      expect(total).toBeCloseTo(model.predictRaw(row), 9);
    }
  });

  it("equals TreeSHAP on stumps, where path order cannot matter", () => {
    const stumps = train(Dataset.fromRows(rows, { labels, seed: 3 }), { objective: "binary", numRounds: 30, maxDepth: 1, seed: 3 }).model;
    const fast = new PathExplainer(stumps);
    for (const row of rows.slice(0, 50)) {
      const a = fast.contributions(row);
      const b = contributions(stumps, row);
      a.forEach((v, i) => expect(v).toBeCloseTo(b[i] as number, 9));
    }
  });

  it("credits the features that drive the score and ignores noise", () => {
    let x0 = 0;
    let noise = 0;
    for (const row of rows.slice(0, 500)) {
      const phi = explainer.contributions(row);
      x0 += Math.abs(phi[0] as number);
      noise += Math.abs(phi[2] as number);
    }
    expect(x0).toBeGreaterThan(5 * noise);
  });

  it("refuses a row of the wrong width", () => {
    expect(() => explainer.contributions([1, 2])).toThrow(/feature/);
  });
});
