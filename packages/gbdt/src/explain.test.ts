import { describe, expect, it } from "vitest";
import { Dataset } from "./dataset";
import { GbdtInputError } from "./errors";
import { contributions, featureImportance, topReasons } from "./explain";
import type { GbdtModel } from "./model";
import { imbalancedData, xorData } from "./test-fixtures";
import type { Tree } from "./tree";
import { train } from "./train";

/** E[tree(x) | x_S] where features outside S follow both branches weighted by training rows. */
function conditional(tree: Tree, node: number, row: number[], known: Set<number>): number {
  const left = tree.left[node] as number;
  if (left < 0) return tree.value[node] as number;
  const right = tree.right[node] as number;
  const f = tree.feature[node] as number;
  if (known.has(f)) {
    const x = row[f] as number;
    const goLeft = x <= (tree.threshold[node] as number) || (Number.isNaN(x) && tree.defaultLeft[node] === 1);
    return conditional(tree, goLeft ? left : right, row, known);
  }
  const n = tree.count[node] as number;
  return (
    ((tree.count[left] as number) / n) * conditional(tree, left, row, known) +
    ((tree.count[right] as number) / n) * conditional(tree, right, row, known)
  );
}

/** Shapley values by enumerating every coalition (exponential; fine for 4 features). */
function bruteForceShapley(model: GbdtModel, row: number[]): number[] {
  const m = model.numFeatures;
  const value = (mask: number): number => {
    const known = new Set<number>();
    for (let f = 0; f < m; f++) if (mask & (1 << f)) known.add(f);
    return model.trees.reduce((s, t) => s + conditional(t, 0, row, known), model.baseScore);
  };
  const factorial = (k: number): number => (k <= 1 ? 1 : k * factorial(k - 1));
  const phi = new Array<number>(m).fill(0);
  for (let f = 0; f < m; f++) {
    for (let mask = 0; mask < 1 << m; mask++) {
      if (mask & (1 << f)) continue;
      let size = 0;
      for (let g = 0; g < m; g++) if (mask & (1 << g)) size++;
      const weight = (factorial(size) * factorial(m - size - 1)) / factorial(m);
      phi[f] = (phi[f] as number) + weight * (value(mask | (1 << f)) - value(mask));
    }
  }
  return [...phi, value(0)];
}

describe("TreeSHAP contributions", () => {
  const { rows, labels } = imbalancedData(3000, 51);
  const model = train(Dataset.fromRows(rows, { labels, featureNames: ["x0", "x1", "x2", "noise"] }), {
    objective: "binary",
    numRounds: 20,
    maxDepth: 5,
  }).model;

  it("sum with the bias to the raw margin", () => {
    for (const row of [...rows.slice(0, 300), [NaN, NaN, NaN, NaN]]) {
      const phi = contributions(model, row);
      expect(phi.length).toBe(5);
      expect(phi.reduce((a, b) => a + b, 0)).toBeCloseTo(model.predictRaw(row), 10);
    }
  });

  it("equal exact Shapley values computed over every coalition", () => {
    for (const row of [...rows.slice(0, 8), [2, -1, NaN, 0.5]]) {
      const phi = Array.from(contributions(model, row));
      const exact = bruteForceShapley(model, row);
      phi.forEach((v, i) => expect(v).toBeCloseTo(exact[i] as number, 10));
    }
  });

  it("split credit between interacting features on an XOR model", () => {
    const xor = xorData(2000, 52, 3);
    const m = train(Dataset.fromRows(xor.rows, { labels: xor.labels }), { objective: "binary", numRounds: 10, maxDepth: 3 }).model;
    const row = [1, 1, 0];
    const phi = Array.from(contributions(m, row));
    const exact = bruteForceShapley(m, row);
    phi.forEach((v, i) => expect(v).toBeCloseTo(exact[i] as number, 10));
    expect(Math.abs(phi[0] as number)).toBeGreaterThan(5 * Math.abs(phi[2] as number));
    expect(Math.abs(phi[1] as number)).toBeGreaterThan(5 * Math.abs(phi[2] as number));
  });

  it("give a missing risky field a positive contribution", () => {
    const phi = contributions(model, [0, 0, NaN, 0]);
    expect(phi[2]).toBeGreaterThan(0.3);
  });
});

describe("feature importance", () => {
  const { rows, labels } = imbalancedData(3000, 53);
  const model = train(Dataset.fromRows(rows, { labels, featureNames: ["x0", "x1", "x2", "noise"] }), {
    objective: "binary",
    numRounds: 20,
    maxDepth: 3,
  }).model;

  it("ranks the strongest feature first by gain and counts every split", () => {
    const gain = featureImportance(model, "gain");
    expect(gain[0]?.name).toBe("x0");
    expect(gain[gain.length - 1]?.name).toBe("noise");
    const splits = featureImportance(model, "split");
    const internal = model.trees.reduce((s, t) => s + Array.from(t.left).filter((l) => l >= 0).length, 0);
    expect(splits.reduce((s, f) => s + f.importance, 0)).toBe(internal);
  });
});

describe("topReasons", () => {
  const names = ["amount", "velocity", "country", "device"];

  it("lists the features that raised the score most", () => {
    const reasons = topReasons([0.4, -0.9, 1.2, 0.1, -3], names, 2);
    expect(reasons).toEqual([
      { feature: 2, name: "country", contribution: 1.2 },
      { feature: 0, name: "amount", contribution: 0.4 },
    ]);
  });

  it("ranks by magnitude when asked", () => {
    expect(topReasons([0.4, -0.9, 1.2, 0.1], names, 3, "absolute").map((r) => r.name)).toEqual(["country", "velocity", "amount"]);
  });

  it("rejects mismatched names", () => {
    expect(() => topReasons([1, 2], names, 1)).toThrow(GbdtInputError);
  });
});
