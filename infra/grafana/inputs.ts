import { fileURLToPath } from "node:url";
import { budgetFor, BudgetsFileError, DEFAULT_BUDGETS_PATH, loadBudgetsSync, type Budgets, type LatencyTargets } from "@mlsd/budgets";
import { DEFAULT_PSI_BANDS } from "@mlsd/drift";
import type { DashboardInputs, EndpointBudget } from "./dashboards";

export const DASHBOARDS_DIR = fileURLToPath(new URL("./dashboards/", import.meta.url));

/** A dashboard draws p50, p95 and p99 lines, so each must be in the budget. */
function drawn(targets: LatencyTargets, field: string): { p50: number; p95: number; p99: number } {
  const { p50, p95, p99 } = targets;
  if (p50 === undefined || p95 === undefined || p99 === undefined) throw new BudgetsFileError(field, "the dashboards draw p50, p95 and p99: each needs a target");
  return { p50, p95, p99 };
}

function endpoint(budgets: Budgets, name: string): EndpointBudget {
  const e = budgetFor(budgets, name);
  return {
    latency: drawn(e.latency, `endpoints.${name}.latency`),
    stages: Object.fromEntries(Object.entries(e.stages).map(([stage, t]) => [stage, drawn(t, `endpoints.${name}.stages.${stage}`)])),
    maxErrorRate: e.maxErrorRate,
    maxFallbackRate: e.maxFallbackRate,
  };
}

/** The budget lines come from @mlsd/budgets (the file the load generator gates on), the PSI line from the drift monitor's default (the "moderate" band). */
export function loadDashboardInputs(budgetsFile = DEFAULT_BUDGETS_PATH): DashboardInputs {
  const budgets = loadBudgetsSync(budgetsFile);
  return {
    budgets: { fraud: endpoint(budgets, "fraud"), recommendations: endpoint(budgets, "recommendations") },
    psiThreshold: DEFAULT_PSI_BANDS.moderate,
  };
}

/** The checked-in text of a dashboard: two-space JSON and a final newline. */
export function dashboardText(dashboard: Record<string, unknown>): string {
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}
