import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/**
 * The budgets every endpoint is held to, in one file (`packages/budgets/budgets.json`) with one
 * reader. The load generator gates runs on them; the console and the Grafana dashboards draw them
 * as lines. A library, so that a service (the console) never has to import the load generator to
 * know a budget.
 */

/** The latency percentiles a budget may name (the load generator measures each of them). */
export const PERCENTILE_KEYS = ["p50", "p90", "p95", "p99", "p999"] as const;
export type PercentileKey = (typeof PERCENTILE_KEYS)[number];

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

/** A budget file that cannot be read or has a wrong field; `field` names it, e.g. `endpoints.fraud.latency.p99`. */
export class BudgetsFileError extends RangeError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "BudgetsFileError";
  }
}

/** The project's budgets: packages/budgets/budgets.json. */
export const DEFAULT_BUDGETS_PATH = fileURLToPath(new URL("../budgets.json", import.meta.url));

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function positiveNumber(field: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new BudgetsFileError(field, `must be a positive number, got ${JSON.stringify(v)}`);
  return v;
}

function share(field: string, v: unknown): number {
  if (typeof v !== "number" || !(v >= 0 && v <= 1)) throw new BudgetsFileError(field, `must be a share in [0, 1], got ${JSON.stringify(v)}`);
  return v;
}

function latencyTargets(field: string, v: unknown): LatencyTargets {
  if (!isRecord(v)) throw new BudgetsFileError(field, "must be an object of percentile targets in ms, e.g. { \"p99\": 5 }");
  const out: LatencyTargets = {};
  for (const [key, value] of Object.entries(v)) {
    if (!(PERCENTILE_KEYS as readonly string[]).includes(key)) throw new BudgetsFileError(`${field}.${key}`, `unknown percentile (known: ${PERCENTILE_KEYS.join(", ")})`);
    out[key as PercentileKey] = positiveNumber(`${field}.${key}`, value);
  }
  if (Object.keys(out).length === 0) throw new BudgetsFileError(field, "needs at least one percentile target");
  return out;
}

/** Checks a budget file's shape; errors name the field, e.g. `endpoints.fraud.latency.p99`. */
export function parseBudgets(raw: unknown): Budgets {
  if (!isRecord(raw) || !isRecord(raw.endpoints)) throw new BudgetsFileError("endpoints", "must be an object keyed by endpoint name");
  const endpoints: Record<string, EndpointBudget> = {};
  for (const [name, value] of Object.entries(raw.endpoints)) {
    const at = `endpoints.${name}`;
    if (!isRecord(value)) throw new BudgetsFileError(at, "must be an object");
    const stagesRaw = value.stages ?? {};
    if (!isRecord(stagesRaw)) throw new BudgetsFileError(`${at}.stages`, "must be an object keyed by stage name");
    endpoints[name] = {
      rate: positiveNumber(`${at}.rate`, value.rate),
      latency: latencyTargets(`${at}.latency`, value.latency),
      stages: Object.fromEntries(Object.entries(stagesRaw).map(([stage, t]) => [stage, latencyTargets(`${at}.stages.${stage}`, t)])),
      maxErrorRate: share(`${at}.maxErrorRate`, value.maxErrorRate ?? 0),
      maxFallbackRate: share(`${at}.maxFallbackRate`, value.maxFallbackRate ?? 1),
    };
  }
  if (Object.keys(endpoints).length === 0) throw new BudgetsFileError("endpoints", "needs at least one endpoint");
  return { endpoints };
}

function parseText(path: string, text: string): Budgets {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new BudgetsFileError("budgets", `${path} is not JSON: ${(error as Error).message}`);
  }
  return parseBudgets(raw);
}

/** Reads and checks a budget file (default: the project's). */
export async function loadBudgets(path = DEFAULT_BUDGETS_PATH): Promise<Budgets> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new BudgetsFileError("budgets", `cannot read ${path}: ${(error as Error).message}`);
  }
  return parseText(path, text);
}

/** `loadBudgets` for generators that run synchronously (the dashboards). */
export function loadBudgetsSync(path = DEFAULT_BUDGETS_PATH): Budgets {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new BudgetsFileError("budgets", `cannot read ${path}: ${(error as Error).message}`);
  }
  return parseText(path, text);
}

/** One endpoint's budget, or an error listing the endpoints the budgets cover. */
export function budgetFor(budgets: Budgets, endpoint: string): EndpointBudget {
  const budget = budgets.endpoints[endpoint];
  if (!budget) throw new BudgetsFileError("endpoint", `no budget for "${endpoint}" (budgets cover: ${Object.keys(budgets.endpoints).join(", ")})`);
  return budget;
}
