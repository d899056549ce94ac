/**
 * The rollout step as a pure function: given where a candidate is (shadow, canary, A/B), the
 * sequential result on its primary metric and the guardrails, say what happens next and why.
 * Where the numbers come from (shadow scores against labelled rows, canary clicks) is the caller's
 * business; the rules are the same.
 */
import type { GuardrailResult } from "./guardrails";
import type { Direction, SequentialResult } from "./sequential";

export type Stage = "shadow" | "canary" | "ab";
export type StageAction = "promote" | "advance" | "hold" | "rollback";
export type BudgetPolicy = "rollback" | "hold";

export const DEFAULT_STAGES: readonly Stage[] = ["shadow", "canary", "ab"];

export interface StageDecisionInput {
  stage: Stage;
  /** The sequential test on the primary metric (its direction says which way is better). */
  primary: SequentialResult;
  guardrails: readonly GuardrailResult[];
  /**
   * Units each arm needs before the candidate may advance or be promoted (a rollback needs no
   * minimum: the always-valid tests are valid at every look, and waiting only exposes more users).
   */
  minSamples: number;
  /** Budget: the stage ends once the smaller arm has this many units... */
  maxSamples?: number;
  /** ...or once this much time has passed (then elapsedMs is required). At least one budget is required. */
  maxDurationMs?: number;
  elapsedMs?: number;
  /**
   * What an exhausted budget without a decision means. Default "rollback": the burden of proof is
   * on the candidate (promote only when the primary metric improves), an unproven model should not
   * keep serving users, and a stage that holds forever blocks the next candidate. "hold" leaves it
   * to an operator.
   */
  onBudgetExhausted?: BudgetPolicy;
  /** The order of stages; the last one promotes (default shadow, canary, ab). */
  stages?: readonly Stage[];
  /** If given, must match primary.direction (catches a test run with the wrong direction). */
  direction?: Direction;
}

export interface StageDecision {
  stage: Stage;
  action: StageAction;
  /** The stage to move to on "advance"; null otherwise. */
  nextStage: Stage | null;
  reasons: string[];
  numbers: Record<string, number | null>;
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

function describePrimary(p: SequentialResult): string {
  const n = `n = ${p.sampleSize.control} control / ${p.sampleSize.treatment} treatment`;
  if (p.estimate === null) return `primary metric: no data yet (${n})`;
  const rel = p.relativeEstimate !== null ? ` (${pct(p.relativeEstimate)} relative)` : "";
  const ci = p.ci ? `, always-valid ${pct(1 - p.alpha)} CI [${p.ci[0].toPrecision(4)}, ${p.ci[1].toPrecision(4)}]` : "";
  return `primary metric: treatment - control = ${p.estimate.toPrecision(4)}${rel}${ci}, always-valid p = ${p.pValue.toPrecision(3)} (alpha ${p.alpha}), ${n}`;
}

export function decideStage(input: StageDecisionInput): StageDecision {
  const stages = input.stages ?? DEFAULT_STAGES;
  const { primary, guardrails, stage, minSamples } = input;
  const at = stages.indexOf(stage);
  if (at < 0) throw new RangeError(`stage ${String(stage)} is not one of ${stages.join(", ")}`);
  if (new Set(stages).size !== stages.length) throw new RangeError(`stages repeat: ${stages.join(", ")}`);
  if (!primary) throw new RangeError("primary (the sequential result on the primary metric) is required");
  if (!Number.isInteger(minSamples) || minSamples < 0) throw new RangeError(`minSamples must be a non-negative integer, got ${minSamples}`);
  if (input.maxSamples === undefined && input.maxDurationMs === undefined) throw new RangeError("a stage needs a budget: maxSamples, maxDurationMs or both");
  if (input.maxSamples !== undefined && !(input.maxSamples >= minSamples)) throw new RangeError(`maxSamples (${input.maxSamples}) must be >= minSamples (${minSamples})`);
  if (input.maxDurationMs !== undefined && !(input.elapsedMs !== undefined && input.elapsedMs >= 0)) throw new RangeError("maxDurationMs needs elapsedMs >= 0");
  if (input.direction !== undefined && input.direction !== primary.direction) {
    throw new RangeError(`direction ${input.direction} does not match the sequential test's ${primary.direction}`);
  }
  const policy = input.onBudgetExhausted ?? "rollback";
  if (policy !== "rollback" && policy !== "hold") throw new RangeError(`onBudgetExhausted must be rollback or hold, got ${String(policy)}`);

  const smaller = Math.min(primary.sampleSize.control, primary.sampleSize.treatment);
  const breached = guardrails.filter((g) => g.status === "breached");
  const pending = guardrails.filter((g) => g.status === "insufficient-data");
  const samplesSpent = input.maxSamples !== undefined && smaller >= input.maxSamples;
  const timeSpent = input.maxDurationMs !== undefined && (input.elapsedMs as number) >= input.maxDurationMs;
  const numbers: Record<string, number | null> = {
    controlCount: primary.sampleSize.control,
    treatmentCount: primary.sampleSize.treatment,
    estimate: primary.estimate,
    relativeEstimate: primary.relativeEstimate,
    ciLower: primary.ci?.[0] ?? null,
    ciUpper: primary.ci?.[1] ?? null,
    relativeCiLower: primary.relativeCi?.[0] ?? null,
    relativeCiUpper: primary.relativeCi?.[1] ?? null,
    pValue: primary.pValue,
    alpha: primary.alpha,
    minSamples,
    maxSamples: input.maxSamples ?? null,
    elapsedMs: input.elapsedMs ?? null,
    maxDurationMs: input.maxDurationMs ?? null,
    guardrailsBreached: breached.length,
    guardrailsPending: pending.length,
  };
  const decision = (action: StageAction, reasons: string[], nextStage: Stage | null = null): StageDecision => ({ stage, action, nextStage, reasons, numbers });

  if (breached.length > 0 || primary.decided === "treatment-worse") {
    const reasons = breached.map((g) => `guardrail ${g.name} breached: ${g.detail}`);
    if (primary.decided === "treatment-worse") reasons.push(`treatment is worse: ${describePrimary(primary)}`);
    return decision("rollback", reasons);
  }

  const budgetReason = (): string => {
    const parts: string[] = [];
    if (samplesSpent) parts.push(`${smaller} units per arm >= maxSamples ${input.maxSamples}`);
    if (timeSpent) parts.push(`${input.elapsedMs} ms >= maxDurationMs ${input.maxDurationMs}`);
    return `budget exhausted (${parts.join("; ")})`;
  };
  const exhausted = (why: string): StageDecision =>
    policy === "rollback"
      ? decision("rollback", [`${budgetReason()} ${why}; policy: roll back (no evidence of improvement)`, describePrimary(primary)])
      : decision("hold", [`${budgetReason()} ${why}; policy: hold for an operator`, describePrimary(primary)]);

  if (primary.decided === "treatment-better") {
    const waiting: string[] = [];
    if (smaller < minSamples) waiting.push(`${smaller} units in the smaller arm, need minSamples ${minSamples}`);
    for (const g of pending) waiting.push(`guardrail ${g.name} has too little data: ${g.detail}`);
    if (waiting.length === 0) {
      const last = at === stages.length - 1;
      const reasons = [`treatment is better: ${describePrimary(primary)}`, ...guardrails.map((g) => `guardrail ${g.name} holds: ${g.detail}`)];
      return last ? decision("promote", reasons) : decision("advance", reasons, stages[at + 1] as Stage);
    }
    if (samplesSpent || timeSpent) return exhausted(`with the treatment better but not yet clear to advance (${waiting.join("; ")})`);
    return decision("hold", [`treatment is better but not yet clear to advance: ${waiting.join("; ")}`, describePrimary(primary)]);
  }

  if (samplesSpent || timeSpent) return exhausted("without a decision on the primary metric");
  return decision("hold", [`no decision yet: ${describePrimary(primary)}`, ...guardrails.map((g) => `guardrail ${g.name} ${g.status}: ${g.detail}`)]);
}
