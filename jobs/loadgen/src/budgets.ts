import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { LoadgenInputError } from "./errors";
import { PERCENTILE_KEYS, type LatencySummary, type PercentileKey } from "./latency";
import type { RunResult } from "./open-loop";
import type { RampResult } from "./ramp";

/** Latency targets in milliseconds, any of p50, p90, p95, p99, p999. */
export type LatencyTargets = Partial<Record<PercentileKey, number>>;

export interface EndpointBudget {
  /** The offered rate (requests/s) the budget is stated at; a run at less load cannot pass it. */
  rate: number;
  latency: LatencyTargets;
  stages: Record<string, LatencyTargets>;
  /** Share of scheduled requests that may fail (bad status, timeout, transport error, dropped). */
  maxErrorRate: number;
  /** Share of OK answers that may be degraded or served by a fallback. */
  maxFallbackRate: number;
}

export interface Budgets {
  endpoints: Record<string, EndpointBudget>;
}

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

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function positiveNumber(field: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new LoadgenInputError(field, `must be a positive number, got ${JSON.stringify(v)}`);
  return v;
}

function share(field: string, v: unknown): number {
  if (typeof v !== "number" || !(v >= 0 && v <= 1)) throw new LoadgenInputError(field, `must be a share in [0, 1], got ${JSON.stringify(v)}`);
  return v;
}

function latencyTargets(field: string, v: unknown): LatencyTargets {
  if (!isRecord(v)) throw new LoadgenInputError(field, "must be an object of percentile targets in ms, e.g. { \"p99\": 5 }");
  const out: LatencyTargets = {};
  for (const [key, value] of Object.entries(v)) {
    if (!(PERCENTILE_KEYS as readonly string[]).includes(key)) throw new LoadgenInputError(`${field}.${key}`, `unknown percentile (known: ${PERCENTILE_KEYS.join(", ")})`);
    out[key as PercentileKey] = positiveNumber(`${field}.${key}`, value);
  }
  if (Object.keys(out).length === 0) throw new LoadgenInputError(field, "needs at least one percentile target");
  return out;
}

/** Checks a budget file's shape; errors name the field, e.g. `endpoints.fraud.latency.p99`. */
export function parseBudgets(raw: unknown): Budgets {
  if (!isRecord(raw) || !isRecord(raw.endpoints)) throw new LoadgenInputError("endpoints", "must be an object keyed by endpoint name");
  const endpoints: Record<string, EndpointBudget> = {};
  for (const [name, value] of Object.entries(raw.endpoints)) {
    const at = `endpoints.${name}`;
    if (!isRecord(value)) throw new LoadgenInputError(at, "must be an object");
    const stagesRaw = value.stages ?? {};
    if (!isRecord(stagesRaw)) throw new LoadgenInputError(`${at}.stages`, "must be an object keyed by stage name");
    endpoints[name] = {
      rate: positiveNumber(`${at}.rate`, value.rate),
      latency: latencyTargets(`${at}.latency`, value.latency),
      stages: Object.fromEntries(Object.entries(stagesRaw).map(([stage, t]) => [stage, latencyTargets(`${at}.stages.${stage}`, t)])),
      maxErrorRate: share(`${at}.maxErrorRate`, value.maxErrorRate ?? 0),
      maxFallbackRate: share(`${at}.maxFallbackRate`, value.maxFallbackRate ?? 1),
    };
  }
  if (Object.keys(endpoints).length === 0) throw new LoadgenInputError("endpoints", "needs at least one endpoint");
  return { endpoints };
}

/** The budgets the load generator gates on and the console draws: jobs/loadgen/budgets.json. */
export const DEFAULT_BUDGETS_PATH = fileURLToPath(new URL("../budgets.json", import.meta.url));

export async function loadBudgets(path: string): Promise<Budgets> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new LoadgenInputError("budgets", `cannot read ${path}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new LoadgenInputError("budgets", `${path} is not JSON: ${(error as Error).message}`);
  }
  return parseBudgets(raw);
}

export function budgetFor(budgets: Budgets, endpoint: string): EndpointBudget {
  const budget = budgets.endpoints[endpoint];
  if (!budget) throw new LoadgenInputError("endpoint", `no budget for "${endpoint}" (budgets cover: ${Object.keys(budgets.endpoints).join(", ")})`);
  return budget;
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
