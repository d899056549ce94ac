import { Rng } from "@mlsd/random";
import { describe, expect, it } from "vitest";
import { createBinner } from "./binner";
import { DriftError } from "./errors";
import {
  buildReference,
  createDriftReference,
  type CategoricalFeatureReference,
  type NumericFeatureReference,
  nextUp,
  parseDriftReference,
  serializeDriftReference,
  upperBound,
} from "./reference";

function bump(counts: Float64Array, cell: number): void {
  counts[cell] = (counts[cell] as number) + 1;
}

const rng = new Rng(21);
const normals = Array.from({ length: 20_000 }, () => rng.normal());

function numeric(name: string, values: ReadonlyArray<number | null>, bins = 10): NumericFeatureReference {
  const ref = buildReference(name, values, { kind: "numeric", bins });
  if (ref.kind !== "numeric") throw new Error("expected numeric");
  return ref;
}

describe("buildReference (numeric)", () => {
  it("puts exactly a tenth of distinct continuous values in each decile bin", () => {
    const ref = numeric("x", normals);
    expect(ref.binEdges).toHaveLength(9);
    expect(ref.binCounts).toEqual(new Array(10).fill(2000));
    expect(ref.missingCount).toBe(0);
    // The median edge of a standard normal sample sits near 0, the 10% edge near -1.2816.
    expect(ref.binEdges[4]).toBeCloseTo(0, 1);
    expect(ref.binEdges[0]).toBeCloseTo(-1.2816, 1);
    expect(ref.cdfEdges.length).toBeGreaterThanOrEqual(99);
    expect(ref.binEdges.every((e) => ref.cdfEdges.includes(e))).toBe(true);
    expect(ref.cdfCounts.reduce((a, b) => a + b)).toBe(20_000);
  });

  it("deduplicates tied quantiles of a discrete feature and keeps out-of-range bins", () => {
    // 50% zeros, 30% ones, 20% twos: deciles are 0,0,0,0,1,1,1,2,2.
    const values = [...new Array(500).fill(0), ...new Array(300).fill(1), ...new Array(200).fill(2)];
    const ref = numeric("d", values);
    expect(ref.binEdges).toEqual([0, 1, 2, nextUp(2)]);
    // (-inf, 0) below the training range, {0}, {1}, {2}, (2, inf) above it.
    expect(ref.binCounts).toEqual([0, 500, 300, 200, 0]);
    const binner = createBinner(ref);
    const bins = new Float64Array(binner.binCount);
    const cells = new Float64Array(binner.cellCount);
    for (const v of [-1, 0, 1, 2, 2.0000001, null]) bump(cells, binner.cellOf(v));
    expect([...binner.binsFromCells(cells, bins)]).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it("handles a constant feature and counts null/NaN as missing", () => {
    const ref = numeric("k", [3, 3, 3, null, Number.NaN, 3]);
    expect(ref.binEdges).toEqual([3, nextUp(3)]);
    expect(ref.binCounts).toEqual([0, 4, 0]);
    expect(ref.missingCount).toBe(2);
    expect(ref.count).toBe(6);
    expect([ref.min, ref.max]).toEqual([3, 3]);
  });

  it("keeps infinities in the outer bins out of the edges", () => {
    const ref = numeric("inf", [Number.NEGATIVE_INFINITY, 1, 2, 3, 4, Number.POSITIVE_INFINITY], 3);
    expect(ref.binEdges.every(Number.isFinite)).toBe(true);
    expect(ref.binCounts.reduce((a, b) => a + b)).toBe(6);
    expect([ref.min, ref.max]).toEqual([1, 4]);
  });

  it("rejects unusable input naming the field", () => {
    expect(() => buildReference("x", [1, "a", 2], { kind: "numeric" })).toThrow(/values\[1\]/);
    expect(() => buildReference("x", [null, Number.NaN], { kind: "numeric" })).toThrow(/no finite value/);
    expect(() => buildReference("x", [1, 2], { kind: "numeric", bins: 1 })).toThrow(/options\.bins/);
    expect(() => buildReference("", [1], { kind: "numeric" })).toThrow(/name/);
    expect(() => buildReference("x", [], { kind: "categorical" })).toThrow(/values/);
    expect(() => buildReference("x", [1], { kind: "ordinal" as never })).toThrow(/options\.kind/);
  });
});

describe("buildReference (categorical)", () => {
  it("keeps the most frequent categories by name and pools the rest", () => {
    const values = ["b", "a", "a", "c", "a", "b", 7, null, "d", undefined];
    const ref = buildReference("cat", values, { kind: "categorical", maxCategories: 3 }) as CategoricalFeatureReference;
    expect(ref.categories).toEqual(["a", "b", "7"]);
    expect(ref.categoryCounts).toEqual([3, 2, 1]);
    expect(ref.otherCount).toBe(2);
    expect(ref.missingCount).toBe(2);
    const binner = createBinner(ref);
    expect(binner.cellOf("a")).toBe(0);
    expect(binner.cellOf(7)).toBe(2);
    expect(binner.cellOf("never-seen")).toBe(3);
    expect(binner.cellOf(null)).toBe(4);
    expect([...binner.referenceBins]).toEqual([3, 2, 1, 2, 2]);
  });
});

describe("numeric binner", () => {
  it("puts a value equal to an edge in the bin above it and non-numbers in the missing cell", () => {
    const binner = createBinner(numeric("x", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 2));
    const edge = 6; // floor(10 * 1/2) -> sorted[5]
    const bins = new Float64Array(binner.binCount);
    const cells = new Float64Array(binner.cellCount);
    bump(cells, binner.cellOf(edge - 1e-9));
    bump(cells, binner.cellOf(edge));
    bump(cells, binner.cellOf("6" as never));
    binner.binsFromCells(cells, bins);
    expect([...bins]).toEqual([1, 1, 1]);
  });
});

describe("numeric binner lookup", () => {
  it("agrees with a binary search over the grid for skewed, discrete and edge-exact values", () => {
    const r = new Rng(77);
    const samples: Record<string, number[]> = {
      normal: Array.from({ length: 5000 }, () => r.normal()),
      lognormal: Array.from({ length: 5000 }, () => Math.exp(3 * r.normal())),
      discrete: Array.from({ length: 5000 }, () => r.poisson(2)),
      wide: Array.from({ length: 5000 }, () => (r.bernoulli(0.01) ? 1e12 : r.uniform(0, 1e-6))),
    };
    for (const [name, values] of Object.entries(samples)) {
      const ref = numeric(name, values);
      const binner = createBinner(ref);
      const probes = [...values.slice(0, 2000), ...ref.cdfEdges, ...ref.cdfEdges.map((e) => e - Math.abs(e) * 1e-15), -1e300, 1e300];
      for (const x of probes) expect(binner.cellOf(x), `${name} at ${x}`).toBe(upperBound(ref.cdfEdges, x));
    }
  });
});

describe("DriftReference serialisation", () => {
  const features = [numeric("x", normals), buildReference("c", ["u", "v", "u", null], { kind: "categorical" })];
  const score = numeric("score", normals.slice(0, 500).map((v) => 1 / (1 + Math.exp(-v))));
  const reference = createDriftReference({ features, score, createdAt: "2025-03-01T12:00:00.000Z" });

  it("round-trips through JSON exactly", () => {
    const text = serializeDriftReference(reference);
    expect(parseDriftReference(text)).toEqual(reference);
    expect(parseDriftReference(JSON.parse(text))).toEqual(reference);
    expect(reference.version).toBe(1);
  });

  function broken(mutate: (raw: Record<string, unknown> & { features: Array<Record<string, unknown>> }) => void): unknown {
    const raw = JSON.parse(serializeDriftReference(reference));
    mutate(raw);
    return raw;
  }

  function fieldOf(input: unknown): string {
    try {
      parseDriftReference(input);
    } catch (error) {
      expect(error).toBeInstanceOf(DriftError);
      return `${(error as DriftError).code} ${(error as DriftError).field}`;
    }
    throw new Error("expected parseDriftReference to throw");
  }

  it("names the offending field", () => {
    expect(fieldOf("{not json")).toBe("INVALID_REFERENCE $");
    expect(fieldOf(broken((r) => (r["version"] = 2)))).toBe("UNSUPPORTED_VERSION version");
    expect(fieldOf(broken((r) => (r["format"] = "other")))).toBe("INVALID_REFERENCE format");
    expect(fieldOf(broken((r) => ((r.features[0]?.["binEdges"] as number[]).reverse())))).toBe("INVALID_REFERENCE features[0].binEdges[1]");
    expect(fieldOf(broken((r) => ((r.features[0]?.["binCounts"] as number[]).push(1))))).toBe("INVALID_REFERENCE features[0].binCounts");
    expect(fieldOf(broken((r) => ((r.features[0]?.["binCounts"] as number[])[3] = 1999)))).toBe("INVALID_REFERENCE features[0].count");
    expect(fieldOf(broken((r) => ((r.features[0]?.["cdfCounts"] as number[])[0] = -1)))).toBe("INVALID_REFERENCE features[0].cdfCounts[0]");
    expect(fieldOf(broken((r) => ((r.features[0]?.["cdfEdges"] as number[]).splice(10, 1))))).toMatch(/features\[0\]\.cdf(Edges|Counts)/);
    expect(fieldOf(broken((r) => (r.features[1]!["kind"] = "ordinal")))).toBe("INVALID_REFERENCE features[1].kind");
    expect(fieldOf(broken((r) => (r.features[1]!["categories"] = ["u", "u"])))).toBe("INVALID_REFERENCE features[1].categories[1]");
    expect(fieldOf(broken((r) => (r.features[1]!["name"] = "x")))).toBe("INVALID_REFERENCE features[1].name");
    expect(fieldOf(broken((r) => (r["createdAt"] = "yesterday")))).toBe("INVALID_REFERENCE createdAt");
  });

  it("refuses a categorical score", () => {
    expect(() => createDriftReference({ features, score: features[1] })).toThrow(/score/);
  });
});
