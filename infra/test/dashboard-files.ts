import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const GRAFANA_DIR = fileURLToPath(new URL("../grafana/", import.meta.url));
export const DASHBOARDS_DIR = join(GRAFANA_DIR, "dashboards");

export interface Target {
  refId: string;
  expr: string;
  legendFormat?: string;
  datasource?: { type?: string; uid?: string };
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  fieldConfig?: { defaults?: { unit?: string; thresholds?: { steps?: { value: number | null }[] }; custom?: { thresholdsStyle?: { mode?: string } } } };
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
}

export interface Query {
  file: string;
  panel: string;
  expr: string;
}

/** Every dashboard JSON file in infra/grafana/dashboards, parsed. */
export function readDashboards(): Map<string, Dashboard> {
  const out = new Map<string, Dashboard>();
  for (const file of readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith(".json")).sort()) {
    out.set(file, JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), "utf8")) as Dashboard);
  }
  return out;
}

/** Every PromQL expression of every panel. */
export function dashboardQueries(dashboards: Map<string, Dashboard> = readDashboards()): Query[] {
  return [...dashboards].flatMap(([file, d]) => d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ file, panel: p.title, expr: t.expr }))));
}

/** The dashed threshold line of a panel, if it draws one. */
export function budgetLine(panel: Panel): number | undefined {
  if (panel.fieldConfig?.defaults?.custom?.thresholdsStyle?.mode === "off") return undefined;
  const steps = panel.fieldConfig?.defaults?.thresholds?.steps ?? [];
  const last = steps[steps.length - 1];
  return last?.value ?? undefined;
}
