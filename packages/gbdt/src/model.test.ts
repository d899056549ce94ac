import { describe, expect, it } from "vitest";
import { Dataset } from "./dataset";
import { GbdtModelFormatError } from "./errors";
import { GbdtModel, MODEL_FORMAT_VERSION, type GbdtModelJson } from "./model";
import { imbalancedData } from "./test-fixtures";
import { train } from "./train";

const { rows, labels } = imbalancedData(2000, 31);
const model = train(Dataset.fromRows(rows, { labels, featureNames: ["amount", "velocity", "age", "noise"] }), {
  objective: "binary",
  numRounds: 12,
  maxDepth: 4,
}).model;

function formatError(json: unknown): GbdtModelFormatError {
  try {
    GbdtModel.fromJSON(json);
  } catch (err) {
    if (err instanceof GbdtModelFormatError) return err;
    throw err;
  }
  throw new Error("expected a GbdtModelFormatError");
}

function edited(edit: (json: GbdtModelJson) => void): unknown {
  const json = JSON.parse(JSON.stringify(model.toJSON())) as GbdtModelJson;
  edit(json);
  return json;
}

describe("model JSON format", () => {
  it("writes a versioned, self-describing file", () => {
    const json = model.toJSON();
    expect(json.format).toBe("mlsd-gbdt");
    expect(json.formatVersion).toBe(MODEL_FORMAT_VERSION);
    expect(json.featureNames).toEqual(["amount", "velocity", "age", "noise"]);
    expect(json.params.learningRate).toBe(0.1);
    const root = json.trees[0];
    expect(root?.feature[0]).toBeGreaterThanOrEqual(0);
    expect(root?.gain[0]).toBeGreaterThan(0);
    expect(root?.count[0]).toBe(2000);
  });

  it("round-trips through text to identical predictions and identical JSON", () => {
    const text = JSON.stringify(model.toJSON());
    const loaded = GbdtModel.parse(text);
    expect(JSON.stringify(loaded.toJSON())).toBe(text);
    for (const row of [...rows.slice(0, 200), [NaN, NaN, NaN, NaN], [1e6, -1e6, 0, 0]]) {
      expect(loaded.predictRaw(row)).toBe(model.predictRaw(row));
    }
  });

  it("refuses a newer format version with its own code", () => {
    const err = formatError(edited((j) => (j.formatVersion = MODEL_FORMAT_VERSION + 1)));
    expect(err.code).toBe("unsupported_version");
    expect(err.path).toBe("$.formatVersion");
  });

  it("names the broken field of a malformed file", () => {
    const cases: Array<[unknown, string]> = [
      [null, "$"],
      [edited((j) => ((j as unknown as Record<string, unknown>).format = "xgboost")), "$.format"],
      [edited((j) => ((j as unknown as Record<string, unknown>).formatVersion = "1")), "$.formatVersion"],
      [edited((j) => ((j as unknown as Record<string, unknown>).objective = "poisson")), "$.objective"],
      [edited((j) => ((j as unknown as Record<string, unknown>).trees = {})), "$.trees"],
      [edited((j) => j.trees[1]?.value.pop()), "$.trees[1].value"],
      [edited((j) => ((j.trees[0] as { threshold: unknown[] }).threshold[0] = null)), "$.trees[0].threshold[0]"],
      [edited((j) => ((j.trees[0] as { defaultLeft: unknown[] }).defaultLeft[0] = 1)), "$.trees[0].defaultLeft[0]"],
      [edited((j) => ((j.trees[0] as { feature: number[] }).feature[0] = 4)), "$.trees[0].feature[0]"],
      [edited((j) => ((j.trees[0] as { left: number[] }).left[0] = 0)), "$.trees[0].left[0]"],
    ];
    for (const [json, path] of cases) {
      const err = formatError(json);
      expect(err.code).toBe("bad_format");
      expect(err.path).toBe(path);
    }
  });

  it("rejects a node reached twice", () => {
    const err = formatError(
      edited((j) => {
        const t = j.trees[0] as { left: number[]; right: number[] };
        t.right[0] = t.left[0] as number;
      }),
    );
    expect(err.message).toMatch(/parents/);
  });

  it("reports text that is not JSON as a format error", () => {
    expect(() => GbdtModel.parse("{ trees: ")).toThrow(GbdtModelFormatError);
  });
});
