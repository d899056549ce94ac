/**
 * A small vocabulary for Grafana dashboards as code: rows of time-series panels whose queries are
 * PromQL, with optional budget lines. The output is the dashboard JSON Grafana's file provisioning
 * loads (schemaVersion 39 layout: a flat `panels` list with row panels and grid positions).
 */

/** The provisioned data source (infra/grafana/provisioning/datasources/prometheus.yml). */
export const DATASOURCE = Object.freeze({ type: "prometheus", uid: "prometheus" });

export interface Query {
  expr: string;
  /** Grafana legend template, e.g. `{{stage}}`. */
  legend: string;
}

export type Unit = "s" | "ms" | "reqps" | "ops" | "percentunit" | "short" | "bytes" | "none";

export interface PanelSpec {
  title: string;
  description: string;
  unit: Unit;
  queries: Query[];
  /** A dashed horizontal line at this value: the budget or alert threshold the panel is read against. */
  line?: number;
  /** Stack the series (shares of a whole, e.g. the decision mix). */
  stacked?: boolean;
  /** Grid width out of 24 (default 12). */
  width?: number;
}

export interface RowSpec {
  title: string;
  panels: PanelSpec[];
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  rows: RowSpec[];
}

const PANEL_HEIGHT = 8;
const GRID_WIDTH = 24;

/** `histogram_quantile(q, sum by (le[, by]) (rate(<histogram>_bucket{selector}[1m])))`. */
export function quantile(q: number, histogram: string, options: { by?: string; selector?: string } = {}): string {
  const by = options.by ? `le, ${options.by}` : "le";
  return `histogram_quantile(${q}, sum by (${by}) (rate(${histogram}_bucket${options.selector ?? ""}[1m])))`;
}

/** p50, p95 and p99 of one histogram, one series each. */
export function percentiles(histogram: string, selector = ""): Query[] {
  return [0.5, 0.95, 0.99].map((q) => ({ expr: quantile(q, histogram, { selector }), legend: `p${Math.round(q * 100)}` }));
}

function refId(index: number): string {
  return String.fromCharCode("A".charCodeAt(0) + index);
}

function panelJson(spec: PanelSpec, id: number, gridPos: { x: number; y: number; w: number; h: number }): Record<string, unknown> {
  const thresholds =
    spec.line === undefined
      ? { mode: "absolute", steps: [{ color: "green", value: null }] }
      : { mode: "absolute", steps: [{ color: "green", value: null }, { color: "red", value: spec.line }] };
  return {
    id,
    type: "timeseries",
    title: spec.title,
    description: spec.description,
    datasource: DATASOURCE,
    gridPos,
    fieldConfig: {
      defaults: {
        unit: spec.unit,
        min: 0,
        thresholds,
        custom: {
          drawStyle: "line",
          lineWidth: 1,
          fillOpacity: spec.stacked ? 30 : 0,
          showPoints: "never",
          spanNulls: false,
          stacking: { mode: spec.stacked ? "normal" : "none", group: "A" },
          thresholdsStyle: { mode: spec.line === undefined ? "off" : "dashed" },
        },
      },
      overrides: [],
    },
    options: {
      legend: { displayMode: "list", placement: "bottom", showLegend: true },
      tooltip: { mode: "multi", sort: "desc" },
    },
    targets: spec.queries.map((query, i) => ({
      refId: refId(i),
      datasource: DATASOURCE,
      expr: query.expr,
      legendFormat: query.legend,
      range: true,
    })),
  };
}

/** Lays the rows out on Grafana's 24-column grid, panels left to right, wrapping at the edge. */
export function dashboardJson(spec: DashboardSpec): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let id = 1;
  let y = 0;
  for (const row of spec.rows) {
    panels.push({ id: id++, type: "row", title: row.title, collapsed: false, gridPos: { x: 0, y, w: GRID_WIDTH, h: 1 }, panels: [] });
    y += 1;
    let x = 0;
    for (const panel of row.panels) {
      const w = panel.width ?? 12;
      if (x + w > GRID_WIDTH) {
        x = 0;
        y += PANEL_HEIGHT;
      }
      panels.push(panelJson(panel, id++, { x, y, w, h: PANEL_HEIGHT }));
      x += w;
    }
    y += PANEL_HEIGHT;
  }
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: ["mlsd-lab"],
    timezone: "browser",
    editable: false,
    graphTooltip: 1,
    refresh: "5s",
    schemaVersion: 39,
    version: 1,
    time: { from: "now-15m", to: "now" },
    templating: { list: [] },
    annotations: { list: [] },
    links: [{ type: "dashboards", tags: ["mlsd-lab"], title: "mlsd-lab", asDropdown: true }],
    panels,
  };
}
