import type { Interval } from "./stats";
import { meanInterval } from "./stats";

export interface Table {
  title: string;
  columns: string[];
  rows: string[][];
  /** A sentence under the table (what a column means, where a number comes from). */
  note?: string;
}

export class TableShapeError extends RangeError {
  constructor(table: string, message: string) {
    super(`table "${table}": ${message}`);
    this.name = "TableShapeError";
  }
}

function checkShape(t: Table): void {
  t.rows.forEach((row, r) => {
    if (row.length !== t.columns.length) throw new TableShapeError(t.title, `row ${r} has ${row.length} cells for ${t.columns.length} columns`);
  });
}

const escapeCell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function markdownTable(t: Table): string {
  checkShape(t);
  const lines = [`| ${t.columns.map(escapeCell).join(" | ")} |`, `|${t.columns.map(() => "---").join("|")}|`, ...t.rows.map((r) => `| ${r.map(escapeCell).join(" | ")} |`)];
  return lines.join("\n");
}

/** Aligned plain text for the terminal. */
export function textTable(t: Table): string {
  checkShape(t);
  const widths = t.columns.map((c, j) => Math.max(c.length, ...t.rows.map((r) => (r[j] as string).length)));
  const line = (cells: string[]) => cells.map((c, j) => c.padEnd(widths[j] as number)).join("  ").trimEnd();
  return [t.title, line(t.columns), widths.map((w) => "-".repeat(w)).join("  "), ...t.rows.map(line)].join("\n");
}

export function fmt(x: number, digits = 3): string {
  if (Number.isNaN(x)) return "n/a";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  return x.toFixed(digits);
}

/** "mean ± half-width" of the 95 % interval (just the mean for a single seed). */
export function fmtInterval(iv: Interval, digits = 3): string {
  if (iv.n === 0) return "n/a";
  if (!Number.isFinite(iv.hi)) return fmt(iv.mean, digits);
  return `${fmt(iv.mean, digits)} ± ${fmt(iv.hi - iv.mean, digits)}`;
}

/** A table cell from per-seed values. */
export function cell(values: readonly number[], digits = 3): string {
  return fmtInterval(meanInterval(values), digits);
}

/** Percentages from shares. */
export function cellPct(values: readonly number[], digits = 1): string {
  const iv = meanInterval(values.map((v) => v * 100));
  return iv.n === 0 ? "n/a" : `${fmtInterval(iv, digits)} %`;
}
