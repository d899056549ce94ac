import type { Interval } from "./stats";

/**
 * Comparative words for the interview templates, decided by the numbers: "higher than" only when
 * the intervals do not overlap.
 */
export function comparison(a: Interval, b: Interval, words: { more: string; less: string; same: string }): string {
  if (a.lo > b.hi) return words.more;
  if (a.hi < b.lo) return words.less;
  return words.same;
}

export function pct(x: number, digits = 0): string {
  return `${(x * 100).toFixed(digits)} %`;
}

/** "12x", "3.4x"; below 1, "0.5x". */
export function phraseRatio(x: number): string {
  if (!Number.isFinite(x)) return "n/a";
  return `${x >= 10 ? x.toFixed(0) : x.toFixed(1)}x`;
}

/** "2 of 6 checks held (a, b); 1 did not (c); 3 were inconclusive (d, e, f)", from the verdicts. */
export function checkSummary(checks: Readonly<Record<string, { verdict: string; check: { id: string } }>>): string {
  const all = Object.values(checks);
  const ids = (v: string) => all.filter((c) => c.verdict === v).map((c) => c.check.id);
  const parts = [`${ids("holds").length} of ${all.length} checks held${ids("holds").length ? ` (${ids("holds").join(", ")})` : ""}`];
  if (ids("does not hold").length) parts.push(`${ids("does not hold").length} did not (${ids("does not hold").join(", ")})`);
  if (ids("inconclusive").length) parts.push(`${ids("inconclusive").length} ${ids("inconclusive").length === 1 ? "was" : "were"} inconclusive (${ids("inconclusive").join(", ")})`);
  return parts.join("; ");
}

/** The checks left open, each with its number and threshold: what an inconclusive answer is unsure of. */
export function openParts(checks: Readonly<Record<string, { verdict: string; ruleText: string; interval: Interval; check: { description: string; digits?: number } }>>): string {
  const open = Object.values(checks).filter((c) => c.verdict === "inconclusive");
  return open
    .map((c) => {
      const d = c.check.digits ?? 3;
      const ci = Number.isFinite(c.interval.lo) ? ` (95 % CI ${c.interval.lo.toFixed(d)} to ${c.interval.hi.toFixed(d)})` : "";
      return `${c.check.description} was ${c.interval.mean.toFixed(d)}${ci} against ${c.ruleText}`;
    })
    .join("; ");
}
