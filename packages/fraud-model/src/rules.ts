import type { ScoreTransactionRequest } from "@mlsd/contracts";

export interface RuleHit {
  rule: string;
  decision: "decline" | "review";
}

export interface RuleSet {
  maxAmount: number;
  blockedTerminals: ReadonlySet<string>;
}

/**
 * Hard rules run before any feature or model: they are cheap, explainable, and hold even when
 * every dependency is down.
 */
export function applyRules(tx: ScoreTransactionRequest, rules: RuleSet): RuleHit | null {
  if (rules.blockedTerminals.has(tx.terminalId)) return { rule: "blocked-terminal", decision: "decline" };
  if (tx.amount > rules.maxAmount) return { rule: "amount-over-limit", decision: "decline" };
  return null;
}
