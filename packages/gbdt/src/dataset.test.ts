import { describe, expect, it } from "vitest";
import { Dataset } from "./dataset";
import { train } from "./train";
import { GbdtInputError } from "./errors";

function inputError(fn: () => unknown): GbdtInputError {
  try {
    fn();
  } catch (err) {
    if (err instanceof GbdtInputError) return err;
    throw err;
  }
  throw new Error("expected a GbdtInputError");
}

describe("Dataset binning", () => {
  it("gives each distinct value its own bin when there are few, and NaN bin 0", () => {
    const rows = [[3], [1], [2], [NaN], [2], [1]];
    const data = Dataset.fromRows(rows, { labels: [0, 1, 0, 1, 0, 1] });
    expect(Array.from(data.binMapper.edges[0] as Float64Array)).toEqual([1.5, 2.5]);
    expect(Array.from(data.bins)).toEqual([3, 1, 2, 0, 2, 1]);
    expect(data.binMapper.numBins[0]).toBe(4);
  });

  it("caps value bins at maxBins with roughly equal counts", () => {
    const rows = Array.from({ length: 1000 }, (_, i) => [i]);
    const data = Dataset.fromRows(rows, { maxBins: 10 });
    const edges = data.binMapper.edges[0] as Float64Array;
    expect(edges.length).toBe(9);
    const counts = new Array<number>(11).fill(0);
    for (const b of data.bins) counts[b] = (counts[b] as number) + 1;
    expect(counts[0]).toBe(0);
    for (let b = 1; b <= 10; b++) expect(counts[b]).toBe(100);
  });

  it("keeps a heavy tied value in one bin and spreads the rest", () => {
    const rows = [...Array.from({ length: 500 }, () => [0]), ...Array.from({ length: 500 }, (_, i) => [i + 1])];
    const data = Dataset.fromRows(rows, { maxBins: 5 });
    const zeroBin = data.bins[0] as number;
    for (let i = 0; i < 500; i++) expect(data.bins[i]).toBe(zeroBin);
    expect(data.bins[500]).not.toBe(zeroBin);
    expect((data.binMapper.edges[0] as Float64Array).length).toBe(4);
  });

  it("bins validation rows with the reference edges, including values never seen in training", () => {
    const train = Dataset.fromRows([[0], [10], [20]], { labels: [0, 1, 0] });
    const valid = Dataset.fromRows([[-5], [5], [10], [15], [99], [NaN]], { reference: train, labels: [0, 0, 0, 0, 0, 1] });
    expect(valid.binMapper).toBe(train.binMapper);
    // Edges sit midway between training values (5, 15); a value equal to an edge goes to the lower bin.
    expect(Array.from(valid.bins)).toEqual([1, 1, 2, 2, 3, 0]);
    expect(valid.featureNames).toEqual(["f0"]);
  });

  it("accepts a dense row-major matrix and stores bins column-major", () => {
    const data = Dataset.fromRows({ data: Float64Array.from([1, 10, 2, 20, 3, 30]), numRows: 3, numColumns: 2 });
    expect(Array.from(data.bins)).toEqual([1, 2, 3, 1, 2, 3]);
  });

  it("turns group sizes into offsets", () => {
    const data = Dataset.fromRows([[1], [2], [3], [4], [5]], { labels: [0, 1, 2, 0, 1], groups: [2, 3] });
    expect(Array.from(data.groupOffsets as Int32Array)).toEqual([0, 2, 5]);
    expect(data.numGroups).toBe(2);
  });
});

describe("Dataset input errors", () => {
  it("rejects empty data", () => {
    expect(inputError(() => Dataset.fromRows([])).code).toBe("empty_data");
    expect(inputError(() => Dataset.fromRows([[]])).code).toBe("empty_data");
  });

  it("rejects ragged rows and names the row", () => {
    const err = inputError(() => Dataset.fromRows([[1, 2], [3]]));
    expect(err.code).toBe("ragged_rows");
    expect(err.field).toBe("rows[1]");
  });

  it("rejects NaN labels and mismatched label, weight and group lengths", () => {
    const rows = [[1], [2], [3]];
    const nanLabel = inputError(() => Dataset.fromRows(rows, { labels: [0, NaN, 1] }));
    expect([nanLabel.code, nanLabel.field]).toEqual(["bad_label", "labels[1]"]);
    expect(inputError(() => Dataset.fromRows(rows, { labels: [0, 1] })).field).toBe("labels");
    expect(inputError(() => Dataset.fromRows(rows, { weights: [1, 1] })).field).toBe("weights");
    const groups = inputError(() => Dataset.fromRows(rows, { groups: [1, 1] }));
    expect([groups.code, groups.field]).toEqual(["length_mismatch", "groups"]);
    expect(inputError(() => Dataset.fromRows(rows, { groups: [0, 3] })).field).toBe("groups[0]");
  });

  it("rejects negative weights, infinite features, bad maxBins and mismatched reference width", () => {
    expect(inputError(() => Dataset.fromRows([[1], [2]], { weights: [1, -1] })).field).toBe("weights[1]");
    expect(inputError(() => Dataset.fromRows([[1], [Infinity]])).field).toBe("rows[1][0]");
    expect(inputError(() => Dataset.fromRows([[1]], { maxBins: 256 })).field).toBe("maxBins");
    const train = Dataset.fromRows([[1, 2]]);
    expect(inputError(() => Dataset.fromRows([[1]], { reference: train })).code).toBe("feature_mismatch");
    expect(inputError(() => Dataset.fromRows([[1, 2]], { featureNames: ["a"] })).field).toBe("featureNames");
  });
});

describe("Dataset edges placed by the labels (labelEdges)", () => {
  // 1,000 distinct values; the label steps at 950, inside the top tenth that one quantile bin holds.
  const rows = Array.from({ length: 1000 }, (_, i) => [i]);
  const labels = rows.map(([x]) => ((x as number) > 950 ? 1 : 0));
  const edgesOf = (data: Dataset): number[] => Array.from(data.binMapper.edges[0] as Float64Array);

  it("puts an edge at the label's step that the quantile edges miss, within the same bin budget", () => {
    const quantiles = edgesOf(Dataset.fromRows(rows, { labels, maxBins: 10 }));
    expect(quantiles).toHaveLength(9);
    expect(quantiles.some((e) => e > 940 && e < 960)).toBe(false);
    const data = Dataset.fromRows(rows, { labels, maxBins: 10, labelEdges: 2 });
    const edges = edgesOf(data);
    expect(edges).toHaveLength(9);
    expect(edges).toContain(950.5);
    expect([...edges].sort((a, b) => a - b)).toEqual(edges);
    // No bin holds rows of both labels any more.
    const labelsInBin = new Map<number, Set<number>>();
    data.bins.forEach((b, r) => labelsInBin.set(b, (labelsInBin.get(b) ?? new Set()).add(labels[r] as number)));
    expect([...labelsInBin.values()].every((s) => s.size === 1)).toBe(true);
    // Only one bin has labels to separate, so the second edge reserved for the labels goes back to
    // the quantiles: 8 edges from 9 quantile bins, and one from the labels.
    expect(edges.filter((e) => !quantilesOf(9).includes(e))).toEqual([950.5]);
    expect(edges).toHaveLength(9);
  });

  function quantilesOf(bins: number): number[] {
    return edgesOf(Dataset.fromRows(rows, { maxBins: bins }));
  }

  it("weighs the rows: rows of weight 0 place no edge, and the reserved edge goes back to the quantiles", () => {
    const weights = rows.map(([x]) => ((x as number) > 950 ? 0 : 1));
    expect(edgesOf(Dataset.fromRows(rows, { labels, weights, maxBins: 10, labelEdges: 1 }))).toEqual(quantilesOf(10));
  });

  it("leaves features with no more distinct values than bins, and the default, as the quantiles made them", () => {
    const few = Array.from({ length: 1000 }, (_, i) => [i % 7]);
    const fewLabels = few.map(([x]) => (x === 6 ? 1 : 0));
    expect(edgesOf(Dataset.fromRows(few, { labels: fewLabels, maxBins: 10, labelEdges: 3 }))).toEqual(edgesOf(Dataset.fromRows(few, { maxBins: 10 })));
    expect(edgesOf(Dataset.fromRows(rows, { labels, maxBins: 10, labelEdges: 0 }))).toEqual(quantilesOf(10));
  });

  it("lets a model split at the step, where quantile bins give both sides one prediction", () => {
    const params = { objective: "binary", numRounds: 20, maxDepth: 2, learningRate: 0.3, minChildWeight: 0, seed: 1 } as const;
    const plain = train(Dataset.fromRows(rows, { labels, maxBins: 10 }), params).model;
    expect(plain.predict([955])).toBe(plain.predict([945]));
    const byLabel = train(Dataset.fromRows(rows, { labels, maxBins: 10, labelEdges: 1 }), params).model;
    expect(byLabel.predict([955])).toBeGreaterThan(0.9);
    expect(byLabel.predict([945])).toBeLessThan(0.1);
  });

  it("finds the step from a sample of the rows, with the sampled rows' own labels", () => {
    const many = Array.from({ length: 20_000 }, (_, i) => [i / 20]);
    const manyLabels = many.map(([x]) => ((x as number) > 950 ? 1 : 0));
    const edges = edgesOf(Dataset.fromRows(many, { labels: manyLabels, maxBins: 10, labelEdges: 1, binSampleSize: 2_000, seed: 3 }));
    const step = edges.filter((e) => e > 900);
    expect(step).toHaveLength(1);
    expect(Math.abs((step[0] as number) - 950)).toBeLessThan(1);
  });

  it("keeps within maxBins when heavy tied values leave the quantiles short of their edges", () => {
    // Distinct values with a few values repeated hundreds of times: the quantiles find fewer edges
    // than bins, and the labels change inside the wide bins.
    for (const [heavy, maxBins, labelEdges] of [[700, 10, 4], [400, 16, 8], [900, 32, 20], [600, 64, 40]] as const) {
      const tied = [...Array.from({ length: 1000 - heavy }, (_, i) => [i + 1]), ...Array.from({ length: heavy }, (_, i) => [2000 + (i % 3) * 1000])];
      const tiedLabels = tied.map(([x], i) => ((x as number) % 7 === 0 || (x as number) === 3000 || i % 11 === 0 ? 1 : 0));
      const data = Dataset.fromRows(tied, { labels: tiedLabels, maxBins, labelEdges });
      expect(edgesOf(data).length).toBeLessThanOrEqual(maxBins - 1);
      expect(Math.max(...data.bins)).toBeLessThanOrEqual(maxBins);
    }
  });

  it("refuses a bad labelEdges, naming the field", () => {
    expect(inputError(() => Dataset.fromRows(rows, { maxBins: 10, labelEdges: 1 })).message).toMatch(/labelEdges.*needs labels/);
    expect(inputError(() => Dataset.fromRows(rows, { labels, maxBins: 10, labelEdges: 9 })).field).toBe("labelEdges");
    expect(inputError(() => Dataset.fromRows(rows, { labels, maxBins: 10, labelEdges: 1.5 })).field).toBe("labelEdges");
    expect(inputError(() => Dataset.fromRows(rows, { labels, maxBins: 10, labelEdges: -1 })).field).toBe("labelEdges");
  });
});
