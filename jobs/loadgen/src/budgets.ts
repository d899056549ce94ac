import type { Budgets, EndpointBudget, LatencyTargets, PercentileKey } from "@mlsd/budgets";
import { budgetFor } from "@mlsd/budgets";
import type { LatencySummary } from "./latency";
import type { RunResult } from "./open-loop";
import type { RampResult } from "./ramp";

/** The budgets themselves (the file, its reader) live in @mlsd/budgets; this module judges runs against them. */
export { budgetFor, DEFAULT_BUDGETS_PATH, loadBudgets, parseBudgets, type Budgets, type EndpointBudget, type LatencyTargets } from "@mlsd/budgets";

/** `not-judged`: the instrument's own error is too large a share of the budget to tell (see `INSTRUMENT_ERROR_MULTIPLE`). */
export type CheckStatus = "pass" | "fail" | "no-data" | "not-judged";

/**
 * A latency budget is judged only when it is at least this many times the instrument's own error
 * at the same percentile. Four is the test uncertainty ratio metrology asks of a calibrated
 * instrument (4:1, as in ANSI/NCSL Z540.3): with the instrument's error at most a quarter of the
 * tolerance, a pass or a miss says something about the system, not the meter. Against a 5 ms p99
 * budget the generator may add at most 1.25 ms at p99.
 */
export const INSTRUMENT_ERROR_MULTIPLE = 4;

/** The generator's own error, measured against a null server (`calibrate`), or why it is unknown. */
export type Instrument = { error: LatencySummary; rate: number } | { error: null; reason: string };

export interface BudgetCheck {
  endpoint: string;
  /** "end to end", "stage features", "error rate", "fallback rate", "offered rate". */
  subject: string;
  metric: string;
  measured: number | null;
  target: number;
  comparison: "<=" | ">=";
  unit: "ms" | "share" | "req/s";
  status: CheckStatus;
  note?: string;
  /** End-to-end latency checks: the instrument's own latency at the same percentile (null: not measured). */
  instrumentError?: number | null;
}

export interface BudgetEvaluation {
  /** True when every check passed; a check without data, or one not judged, is not a pass. */
  passed: boolean;
  checks: BudgetCheck[];
}

function latencyChecks(endpoint: string, subject: string, summary: LatencySummary | undefined, targets: LatencyTargets, missingNote: string): BudgetCheck[] {
  return Object.entries(targets).map(([key, target]) => {
    const value = summary && summary.count > 0 ? summary[key as PercentileKey] : null;
    return {
      endpoint,
      subject,
      metric: key,
      measured: value,
      target,
      comparison: "<=",
      unit: "ms",
      status: value === null ? "no-data" : value <= target ? "pass" : "fail",
      ...(value === null ? { note: missingNote } : {}),
    };
  });
}

/** Sets aside an end-to-end latency check the instrument cannot resolve, with the reason. */
function judgeWithInstrument(check: BudgetCheck, instrument: Instrument, offeredRate: number): BudgetCheck {
  const key = check.metric as PercentileKey;
  if (instrument.error === null) return { ...check, instrumentError: null, status: "not-judged", note: instrument.reason };
  const error = instrument.error.count > 0 ? instrument.error[key] : Number.NaN;
  if (!Number.isFinite(error)) return { ...check, instrumentError: null, status: "not-judged", note: `the calibration measured no ${key}` };
  const withError = { ...check, instrumentError: error };
  if (instrument.rate < offeredRate) {
    return { ...withError, status: "not-judged", note: `the instrument was calibrated at ${instrument.rate}/s, below the run's ${offeredRate}/s` };
  }
  if (check.target < INSTRUMENT_ERROR_MULTIPLE * error) {
    const limit = INSTRUMENT_ERROR_MULTIPLE * error;
    return { ...withError, status: "not-judged", note: `budget below ${INSTRUMENT_ERROR_MULTIPLE} x the instrument's own ${key} of ${error.toFixed(3)} ms = ${limit.toFixed(3)} ms` };
  }
  return withError;
}

/**
 * Every target of the run's endpoint against what the run measured. With `instrument`, end-to-end
 * latency targets tighter than `INSTRUMENT_ERROR_MULTIPLE` times the instrument's own error are
 * not judged (and without a measured error none is); stage targets are the service's own clock
 * and are judged regardless. Without `instrument` (ramp steps) every target is judged as measured.
 */
export function evaluateRun(result: RunResult, budget: EndpointBudget, instrument?: Instrument): BudgetCheck[] {
  const e = result.endpoint;
  const checks: BudgetCheck[] = [];
  checks.push({
    endpoint: e,
    subject: "offered rate",
    metric: "rate",
    measured: result.offeredRate,
    target: budget.rate,
    comparison: ">=",
    unit: "req/s",
    status: result.offeredRate >= budget.rate ? "pass" : "fail",
    ...(result.offeredRate >= budget.rate ? {} : { note: "the run offered less load than the budget is stated at" }),
  });
  const endToEnd = latencyChecks(e, "end to end", result.latency, budget.latency, "no answer was measured");
  checks.push(...(instrument ? endToEnd.map((c) => (c.status === "no-data" ? c : judgeWithInstrument(c, instrument, result.offeredRate))) : endToEnd));
  for (const [stage, targets] of Object.entries(budget.stages)) {
    checks.push(...latencyChecks(e, `stage ${stage}`, result.stages[stage], targets, `the answers carried no "${stage}" timing`));
  }
  const rateCheck = (subject: string, measured: number, target: number): BudgetCheck => ({
    endpoint: e,
    subject,
    metric: "share",
    measured,
    target,
    comparison: "<=",
    unit: "share",
    status: result.counts.scheduled === 0 ? "no-data" : measured <= target ? "pass" : "fail",
  });
  checks.push(rateCheck("error rate", result.errorRate, budget.maxErrorRate));
  checks.push(rateCheck("fallback rate", result.fallbackRate, budget.maxFallbackRate));
  return checks;
}

/** Checks each run against its endpoint's budget (see `evaluateRun` for `instrument`). */
export function evaluateBudgets(results: RunResult | readonly RunResult[], budgets: Budgets, instrument?: Instrument): BudgetEvaluation {
  const runs = Array.isArray(results) ? (results as readonly RunResult[]) : [results as RunResult];
  const checks = runs.flatMap((run) => evaluateRun(run, budgetFor(budgets, run.endpoint), instrument));
  return { passed: checks.length > 0 && checks.every((c) => c.status === "pass"), checks };
}

/** Whether a ramp step met the endpoint's latency targets and error budget (load itself aside). */
export function stepWithinBudget(step: RunResult, budget: EndpointBudget): boolean {
  return evaluateRun(step, budget).every((c) => c.subject === "offered rate" || c.status === "pass");
}

/**
 * The highest offered rate at which the ramp still met the budget, counting only steps below the
 * first that missed it (the knee); null if even the first step missed.
 */
export function sustainableRate(ramp: RampResult, budget: EndpointBudget): number | null {
  let best: number | null = null;
  for (const step of ramp.steps) {
    if (!stepWithinBudget(step, budget)) break;
    best = step.offeredRate;
  }
  return best;
}
