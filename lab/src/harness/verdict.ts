import type { Interval } from "./stats";

export type Verdict = "holds" | "does not hold" | "inconclusive";

export const VERDICTS: readonly Verdict[] = ["holds", "does not hold", "inconclusive"];

/**
 * A threshold written in the experiment before it runs. The claim's side of it is where the whole
 * 95 % interval of the mean over seeds has to be for "holds"; "does not hold" needs the whole interval
 * on the other side; anything straddling the threshold is inconclusive.
 */
export type Rule =
  | { kind: "at-least"; threshold: number }
  | { kind: "at-most"; threshold: number }
  | { kind: "within"; lo: number; hi: number };

export const atLeast = (threshold: number): Rule => ({ kind: "at-least", threshold });
export const atMost = (threshold: number): Rule => ({ kind: "at-most", threshold });
export const within = (lo: number, hi: number): Rule => {
  if (!(lo < hi)) throw new RangeError(`within(${lo}, ${hi}): lo must be below hi`);
  return { kind: "within", lo, hi };
};

export interface Check {
  /** Short id, unique within the claim. */
  id: string;
  /** Per-seed metric the rule is applied to (a key of each seed's metrics). */
  metric: string;
  /** What the metric is, in words, e.g. "AUC of the random-split estimate minus the true future AUC". */
  description: string;
  rule: Rule;
  /** Decimals to print the metric with. */
  digits?: number;
}

export interface Judgement {
  verdict: Verdict;
  /** Distance of the mean from the threshold, positive on the claim's side. */
  margin: number;
}

export function judge(rule: Rule, interval: Interval): Judgement {
  const { mean, lo, hi } = interval;
  if (!Number.isFinite(mean)) return { verdict: "inconclusive", margin: Number.NaN };
  switch (rule.kind) {
    case "at-least":
      return { verdict: lo > rule.threshold ? "holds" : hi < rule.threshold ? "does not hold" : "inconclusive", margin: mean - rule.threshold };
    case "at-most":
      return { verdict: hi < rule.threshold ? "holds" : lo > rule.threshold ? "does not hold" : "inconclusive", margin: rule.threshold - mean };
    case "within":
      return {
        verdict: lo >= rule.lo && hi <= rule.hi ? "holds" : hi < rule.lo || lo > rule.hi ? "does not hold" : "inconclusive",
        margin: Math.min(mean - rule.lo, rule.hi - mean),
      };
  }
}

/**
 * A claim holds when every part of it holds; one part that does not hold sinks it; otherwise it is
 * inconclusive. The deciding part is the first that does not hold, else the first inconclusive one,
 * else the first declared (the claim's main measurement).
 */
export function combine<T extends Judgement & { check: Check }>(parts: readonly T[]): { verdict: Verdict; deciding: T } {
  if (parts.length === 0) throw new RangeError("a claim needs at least one check");
  const failed = parts.find((p) => p.verdict === "does not hold");
  if (failed) return { verdict: "does not hold", deciding: failed };
  const open = parts.find((p) => p.verdict === "inconclusive");
  if (open) return { verdict: "inconclusive", deciding: open };
  return { verdict: "holds", deciding: parts[0] as T };
}

export function describeRule(rule: Rule, digits = 3): string {
  const f = (x: number) => x.toFixed(digits);
  switch (rule.kind) {
    case "at-least":
      return `>= ${f(rule.threshold)}`;
    case "at-most":
      return `<= ${f(rule.threshold)}`;
    case "within":
      return `within [${f(rule.lo)}, ${f(rule.hi)}]`;
  }
}
