import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DriftMonitorConfigSchema } from "@mlsd/drift-monitor-service";
import type { DashboardInputs, EndpointBudget } from "./dashboards";

export const BUDGETS_FILE = fileURLToPath(new URL("../../jobs/loadgen/budgets.json", import.meta.url));
export const DASHBOARDS_DIR = fileURLToPath(new URL("./dashboards/", import.meta.url));

function numberAt(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw new Error(`${BUDGETS_FILE}: ${field} must be a number, got ${JSON.stringify(value)}`);
  return value;
}

function percentilesAt(value: unknown, field: string): { p50: number; p95: number; p99: number } {
  const v = (value ?? {}) as Record<string, unknown>;
  return { p50: numberAt(v.p50, `${field}.p50`), p95: numberAt(v.p95, `${field}.p95`), p99: numberAt(v.p99, `${field}.p99`) };
}

function endpointAt(file: Record<string, unknown>, name: string): EndpointBudget {
  const endpoints = (file.endpoints ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const e = endpoints[name];
  if (!e) throw new Error(`${BUDGETS_FILE}: endpoints.${name} is missing`);
  const stages = Object.fromEntries(Object.entries((e.stages ?? {}) as Record<string, unknown>).map(([stage, v]) => [stage, percentilesAt(v, `endpoints.${name}.stages.${stage}`)]));
  return {
    latency: percentilesAt(e.latency, `endpoints.${name}.latency`),
    stages,
    maxErrorRate: numberAt(e.maxErrorRate, `endpoints.${name}.maxErrorRate`),
    maxFallbackRate: numberAt(e.maxFallbackRate, `endpoints.${name}.maxFallbackRate`),
  };
}

/** The budget lines come from the load generator's budgets, the PSI line from the drift monitor's default. */
export function loadDashboardInputs(budgetsFile = BUDGETS_FILE): DashboardInputs {
  const file = JSON.parse(readFileSync(budgetsFile, "utf8")) as Record<string, unknown>;
  return {
    budgets: { fraud: endpointAt(file, "fraud"), recommendations: endpointAt(file, "recommendations") },
    psiThreshold: DriftMonitorConfigSchema.shape.PSI_THRESHOLD.parse(undefined),
  };
}

/** The checked-in text of a dashboard: two-space JSON and a final newline. */
export function dashboardText(dashboard: Record<string, unknown>): string {
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}
