import fs from "node:fs";
import path from "node:path";
import { formatUtcDateTime, type TransactionTable } from "@mlsd/datasets";
import type { FraudFeatureMatrix } from "@mlsd/feature-store";

export type ExportFormat = "csv" | "ndjson";
export type ExportSplit = "train" | "validation" | "test";

/** Rows of one fold of one split, with the scores of the model that was assessed on them. */
export interface ExportPart {
  split: ExportSplit;
  fold: number;
  rows: Int32Array;
  scores: Float64Array;
  /** The fold's deployment time (seconds since the origin): TX_FRAUD_KNOWN says whether the label was known by then. */
  cutoffSeconds: number;
}

export interface ExportInput {
  table: TransactionTable;
  matrix: FraudFeatureMatrix;
  modelVersion: string;
  parts: readonly ExportPart[];
}

const ID_COLUMNS = ["model_version", "split", "fold", "TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_TIME_DAYS", "TX_FRAUD", "TX_FRAUD_KNOWN"] as const;

export function exportColumns(matrix: Pick<FraudFeatureMatrix, "names">): string[] {
  return [...ID_COLUMNS, ...matrix.names, "PREDICTION"];
}

/** One row's values in column order. */
function rowValues(input: ExportInput, part: ExportPart, r: number): (string | number)[] {
  const { table, matrix } = input;
  const i = part.rows[r] as number;
  const width = matrix.names.length;
  const known = table.fraud[i] === 1 && (table.labelKnownAt[i] as number) <= part.cutoffSeconds ? 1 : 0;
  const features = Array.from(matrix.values.subarray(i * width, (i + 1) * width));
  return [
    input.modelVersion,
    part.split,
    part.fold,
    table.transactionId[i] as number,
    formatUtcDateTime(table.originEpochSeconds + (table.timeSeconds[i] as number)),
    table.customerId[i] as number,
    table.terminalId[i] as number,
    table.timeDays[i] as number,
    table.fraud[i] as number,
    known,
    ...features,
    part.scores[r] as number,
  ];
}

/** The lines of one part (no header), each ending in "\n". Numbers use the shortest text that reads back as the same double. */
export function formatExportPart(input: ExportInput, part: ExportPart, format: ExportFormat): string {
  if (part.scores.length !== part.rows.length) throw new RangeError(`${part.split} fold ${part.fold}: ${part.rows.length} rows but ${part.scores.length} scores`);
  const columns = exportColumns(input.matrix);
  let out = "";
  for (let r = 0; r < part.rows.length; r++) {
    const values = rowValues(input, part, r);
    if (format === "csv") out += values.map(String).join(",") + "\n";
    else out += JSON.stringify(Object.fromEntries(columns.map((c, k) => [c, values[k]]))) + "\n";
  }
  return out;
}

export interface ExportResult {
  files: string[];
  rows: Record<ExportSplit, number>;
}

/**
 * Writes `fraud-train`, `fraud-validation` and `fraud-test` (.csv with a header, or .ndjson) into
 * `dir`: every assessed or trained-on row with its identifiers, the ground truth, whether the label
 * was known at the scoring model's cutoff, the features and the prediction.
 */
export async function exportPredictions(dir: string, input: ExportInput, format: ExportFormat): Promise<ExportResult> {
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const rows: Record<ExportSplit, number> = { train: 0, validation: 0, test: 0 };
  for (const split of ["train", "validation", "test"] as const) {
    const file = path.join(dir, `fraud-${split}.${format}`);
    const stream = fs.createWriteStream(file);
    const write = async (text: string) => {
      if (!stream.write(text)) await new Promise<void>((resolve) => stream.once("drain", resolve));
    };
    if (format === "csv") await write(exportColumns(input.matrix).join(",") + "\n");
    for (const part of input.parts.filter((p) => p.split === split)) {
      // A chunk per 20k rows keeps the strings small.
      for (let from = 0; from < part.rows.length; from += 20_000) {
        const to = Math.min(part.rows.length, from + 20_000);
        await write(formatExportPart(input, { ...part, rows: part.rows.subarray(from, to), scores: part.scores.subarray(from, to) }, format));
      }
      rows[split] += part.rows.length;
    }
    await new Promise<void>((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
    files.push(file);
  }
  return { files, rows };
}
