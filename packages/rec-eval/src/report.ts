import type { EvaluationResult } from "./evaluate";

type Column = { header: string; value: (r: EvaluationResult) => string };

const metric = (header: string, pick: (r: EvaluationResult) => number): Column => ({
  header,
  value: (r) => pick(r).toFixed(4),
});

const COLUMNS: Record<string, Column> = {
  precision: metric("P@k", (r) => r.precision),
  recall: metric("R@k", (r) => r.recall),
  ndcg: metric("NDCG@k", (r) => r.ndcg),
  map: metric("MAP", (r) => r.map),
  hitRate: metric("HR@k", (r) => r.hitRate),
  mrr: metric("MRR@k", (r) => r.mrr),
  coverage: metric("coverage", (r) => r.coverage),
  gini: metric("Gini", (r) => r.gini),
  fitSeconds: { header: "fit s", value: (r) => r.fitSeconds.toFixed(2) },
  recommendSeconds: { header: "rank s", value: (r) => r.recommendSeconds.toFixed(2) },
};

export type ReportColumn = keyof typeof COLUMNS;

/** A Markdown table, one row per result, with k written into the metric headers. */
export function formatResultsTable(results: readonly EvaluationResult[], columns: readonly ReportColumn[]): string {
  const k = results[0]?.k ?? 10;
  const headers = ["model", ...columns.map((c) => (COLUMNS[c] as Column).header.replace("@k", `@${k}`))];
  const rows = results.map((r) => [r.recommender, ...columns.map((c) => (COLUMNS[c] as Column).value(r))]);
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `${"-".repeat(w + 1)} ` : ` ${"-".repeat(w)}:`)).join("|")}|`;
  return [line(headers), rule, ...rows.map(line)].join("\n");
}
