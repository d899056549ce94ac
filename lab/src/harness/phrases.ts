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
