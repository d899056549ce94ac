import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { TransactionTableBuilder } from "@mlsd/datasets";
import { afterAll, describe, expect, it } from "vitest";
import { exportColumns, exportPredictions, formatExportPart, type ExportInput } from "./export";

const ORIGIN = Date.UTC(2018, 3, 1) / 1000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fraud-export-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function input(): ExportInput {
  const b = new TransactionTableBuilder(ORIGIN);
  // Row 0: a fraud on day 0 at 00:00:31, label known a day later; row 1: legitimate on day 2.
  b.push({ transactionId: 7, customerId: 596, terminalId: 3156, amount: 57.16, timeSeconds: 31, timeDays: 0, fraud: 1, fraudScenario: 2, labelKnownAt: 31 + 86_400 });
  b.push({ transactionId: 8, customerId: 4961, terminalId: 3412, amount: 81.5, timeSeconds: 2 * 86_400 + 3_730, timeDays: 2, fraud: 0, fraudScenario: 0, labelKnownAt: 9 * 86_400 });
  return {
    table: b.finish(),
    matrix: { names: ["TX_AMOUNT", "F2"], rows: 2, values: Float64Array.from([57.16, 0.1, 81.5, 1 / 3]) },
    modelVersion: "v1",
    parts: [
      { split: "train", fold: 0, rows: Int32Array.from([0]), scores: Float64Array.from([0.9]), cutoffSeconds: 2 * 86_400 },
      { split: "test", fold: 1, rows: Int32Array.from([1, 0]), scores: Float64Array.from([0.25, 0.75]), cutoffSeconds: 3_600 },
    ],
  };
}

describe("export of features and predictions", () => {
  it("has identifiers, the truth, the label as known at the cutoff, every feature and the prediction, in that order", () => {
    expect(exportColumns({ names: ["A", "B"] })).toEqual([
      "model_version", "split", "fold", "TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_TIME_DAYS", "TX_FRAUD", "TX_FRAUD_KNOWN", "A", "B", "PREDICTION",
    ]);
  });

  it("writes CSV rows with round-trip numbers", () => {
    const i = input();
    expect(formatExportPart(i, i.parts[0]!, "csv")).toBe("v1,train,0,7,2018-04-01 00:00:31,596,3156,0,1,1,57.16,0.1,0.9\n");
    // Known only after the test fold's cutoff: TX_FRAUD 1, TX_FRAUD_KNOWN 0.
    expect(formatExportPart(i, i.parts[1]!, "csv")).toBe(
      "v1,test,1,8,2018-04-03 01:02:10,4961,3412,2,0,0,81.5,0.3333333333333333,0.25\nv1,test,1,7,2018-04-01 00:00:31,596,3156,0,1,0,57.16,0.1,0.75\n",
    );
  });

  it("writes NDJSON objects keyed by column", () => {
    const i = input();
    const [line] = formatExportPart(i, i.parts[0]!, "ndjson").trimEnd().split("\n");
    expect(JSON.parse(line!)).toEqual({
      model_version: "v1", split: "train", fold: 0, TRANSACTION_ID: 7, TX_DATETIME: "2018-04-01 00:00:31", CUSTOMER_ID: 596, TERMINAL_ID: 3156,
      TX_TIME_DAYS: 0, TX_FRAUD: 1, TX_FRAUD_KNOWN: 1, TX_AMOUNT: 57.16, F2: 0.1, PREDICTION: 0.9,
    });
  });

  it("writes one file per split, with a header for CSV, and counts the rows", async () => {
    const result = await exportPredictions(dir, input(), "csv");
    expect(result.files.map((f) => path.basename(f))).toEqual(["fraud-train.csv", "fraud-validation.csv", "fraud-test.csv"]);
    expect(result.rows).toEqual({ train: 1, validation: 0, test: 2 });
    const test = fs.readFileSync(path.join(dir, "fraud-test.csv"), "utf8").trimEnd().split("\n");
    expect(test[0]).toBe(exportColumns({ names: ["TX_AMOUNT", "F2"] }).join(","));
    expect(test.length).toBe(3);
    expect(fs.readFileSync(path.join(dir, "fraud-validation.csv"), "utf8").trimEnd().split("\n").length).toBe(1);
    const nd = await exportPredictions(dir, input(), "ndjson");
    expect(fs.readFileSync(nd.files[2]!, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l).TRANSACTION_ID)).toEqual([8, 7]);
  });

  it("refuses a part whose scores do not match its rows", () => {
    const i = input();
    expect(() => formatExportPart(i, { ...i.parts[0]!, scores: new Float64Array(2) }, "csv")).toThrow(/1 rows but 2 scores/);
  });
});
