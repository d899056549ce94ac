import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DriftMonitorConfigSchema } from "@mlsd/drift-monitor-service";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildDashboards } from "../grafana/dashboards";
import { dashboardText, loadDashboardInputs } from "../grafana/inputs";
import { budgetLine, DASHBOARDS_DIR, dashboardQueries, readDashboards, type Panel } from "./dashboard-files";
import { metricNames, selectors } from "./promql";
import { readCompose, readRepoFile } from "./stack";

const dashboards = readDashboards();
const inputs = loadDashboardInputs();
const datasourceUid = (parse(readRepoFile("infra/grafana/provisioning/datasources/prometheus.yml")) as { datasources: { uid: string }[] }).datasources[0]?.uid;

function panels(): { file: string; panel: Panel }[] {
  return [...dashboards].flatMap(([file, d]) => d.panels.map((panel) => ({ file, panel })));
}

/** The panel of a dashboard whose queries read `metric` with the stage/route selector and a 0.99 quantile. */
function p99Panel(file: string, metric: string, selector: string): Panel {
  const found = dashboards.get(file)?.panels.find((p) => (p.targets ?? []).some((t) => t.expr.startsWith("histogram_quantile(0.99") && t.expr.includes(`${metric}_bucket{${selector}}`)));
  if (!found) throw new Error(`${file}: no p99 panel of ${metric}{${selector}}`);
  return found;
}

describe("dashboard files", () => {
  it("are the fraud, recommender and platform dashboards, as generated from grafana/dashboards.ts", () => {
    const generated = buildDashboards(inputs);
    expect([...dashboards.keys()]).toEqual(Object.keys(generated).sort());
    for (const [file, dashboard] of Object.entries(generated)) {
      // Edit dashboards.ts and run `npm run dashboards -w @mlsd/infra`, not the JSON.
      expect(readFileSync(join(DASHBOARDS_DIR, file), "utf8"), file).toBe(dashboardText(dashboard));
    }
  });

  it("have unique uids and titles, and unique panel ids within each", () => {
    const uids = [...dashboards.values()].map((d) => d.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const [file, d] of dashboards) {
      expect(d.title, file).toBeTruthy();
      const ids = d.panels.map((p) => p.id);
      expect(new Set(ids).size, file).toBe(ids.length);
    }
  });

  it("query the provisioned data source from every panel and target", () => {
    expect(datasourceUid).toBe("prometheus");
    const graphs = panels().filter(({ panel }) => panel.type !== "row");
    expect(graphs.length).toBeGreaterThan(30);
    for (const { file, panel } of graphs) {
      const where = `${file}: ${panel.title}`;
      expect(panel.datasource?.uid, where).toBe(datasourceUid);
      expect(panel.targets?.length ?? 0, where).toBeGreaterThan(0);
      const refIds = (panel.targets ?? []).map((t) => t.refId);
      expect(new Set(refIds).size, where).toBe(refIds.length);
      for (const target of panel.targets ?? []) {
        expect(target.datasource?.uid, where).toBe(datasourceUid);
        expect(target.expr.trim(), where).not.toBe("");
      }
    }
  });

  it("lay panels on the 24-column grid without overlaps", () => {
    for (const [file, d] of dashboards) {
      const cells = new Set<string>();
      for (const { gridPos: g, title } of d.panels) {
        expect(g.x + g.w, `${file}: ${title}`).toBeLessThanOrEqual(24);
        for (let x = g.x; x < g.x + g.w; x++) {
          for (let y = g.y; y < g.y + g.h; y++) {
            expect(cells.has(`${x},${y}`), `${file}: ${title} overlaps at ${x},${y}`).toBe(false);
            cells.add(`${x},${y}`);
          }
        }
      }
    }
  });
});

describe("dashboard queries", () => {
  const queries = dashboardQueries(dashboards);

  it("parse, and each reads at least one metric", () => {
    expect(queries.length).toBeGreaterThan(60);
    for (const q of queries) expect(metricNames(q.expr).length, `${q.file}: ${q.panel}: ${q.expr}`).toBeGreaterThan(0);
  });

  it("read only metrics of a scraped service, the Node.js process metrics or Prometheus's up", () => {
    const compose = readCompose();
    const scraped = Object.entries(compose.services)
      .filter(([, svc]) => svc.build !== undefined && svc.restart !== "no")
      .map(([name]) => `${name.replace(/-/g, "_")}_`);
    for (const q of queries) {
      for (const metric of metricNames(q.expr)) {
        const known = metric === "up" || /^(process|nodejs)_/.test(metric) || scraped.some((prefix) => metric.startsWith(prefix));
        expect(known, `${q.file}: ${q.panel}: ${metric}`).toBe(true);
      }
    }
  });

  it("show p50, p95 and p99 of every stage of fraud scoring", () => {
    const exprs = queries.filter((q) => q.file === "fraud.json").map((q) => q.expr);
    for (const quantile of ["0.5", "0.95", "0.99"]) {
      expect(exprs).toContain(`histogram_quantile(${quantile}, sum by (le, stage) (rate(fraud_stage_duration_seconds_bucket[1m])))`);
    }
  });

  it("read Kafka consumer lag of every consumer group and the drift monitor's PSI per feature", () => {
    const all = queries.map((q) => q.expr);
    for (const consumer of ["feature_streamer", "event_logger", "drift_monitor"]) expect(all.some((e) => e.includes(`${consumer}_consumer_lag`)), consumer).toBe(true);
    const psi = queries.filter((q) => selectors(q.expr).some((s) => s.metric === "drift_monitor_feature_psi"));
    expect(psi.length).toBeGreaterThanOrEqual(2);
    for (const q of psi) expect(q.expr, q.panel).toMatch(/by \([^)]*feature[^)]*\)/);
  });
});

describe("budget lines", () => {
  it("are the architecture's budgets: fraud p99 5 ms, recommendations p99 25 ms, feature fetch p99 2 ms", () => {
    expect(budgetLine(p99Panel("fraud.json", "fraud_http_request_duration_seconds", `route="/v1/transactions/score"`))).toBe(0.005);
    expect(budgetLine(p99Panel("recommender.json", "recommender_http_request_duration_seconds", `route="/v1/recommendations"`))).toBe(0.025);
    expect(budgetLine(p99Panel("fraud.json", "fraud_stage_duration_seconds", `stage="features"`))).toBe(0.002);
    expect(budgetLine(p99Panel("recommender.json", "ranker_stage_duration_seconds", `stage="features"`))).toBe(0.002);
  });

  it("follow packages/budgets/budgets.json, which the load generator gates on", () => {
    expect(inputs.budgets.fraud.latency.p99 / 1000).toBe(0.005);
    expect(inputs.budgets.recommendations.latency.p99 / 1000).toBe(0.025);
    const changed = buildDashboards({ ...inputs, budgets: { ...inputs.budgets, fraud: { ...inputs.budgets.fraud, latency: { p50: 1, p95: 3, p99: 7 } } } });
    const text = JSON.stringify(changed["fraud.json"]);
    expect(text).toContain('"value":0.007');
    expect(text).toContain("budget p99 7 ms");
  });

  it("refuse a budget file without a percentile they draw, naming the field", () => {
    const dir = mkdtempSync(join(tmpdir(), "dashboards-"));
    const file = join(dir, "budgets.json");
    const fraud = { rate: 1000, latency: { p99: 5 }, stages: {} };
    writeFileSync(file, JSON.stringify({ endpoints: { fraud, recommendations: { ...fraud, latency: { p50: 1, p95: 2, p99: 3 } } } }));
    expect(() => loadDashboardInputs(file)).toThrow(/^endpoints\.fraud\.latency: the dashboards draw p50, p95 and p99/);
  });

  it("draw the error, fallback and PSI thresholds where those panels are", () => {
    const lines = panels()
      .filter(({ panel }) => panel.type !== "row")
      .map(({ file, panel }) => ({ file, title: panel.title, line: budgetLine(panel) }))
      .filter((p) => p.line !== undefined);
    expect(lines.filter((p) => p.title.startsWith("Error rate")).map((p) => p.line)).toEqual([inputs.budgets.fraud.maxErrorRate, inputs.budgets.recommendations.maxErrorRate]);
    expect(lines.filter((p) => p.title.startsWith("Fallback rate") || p.title.startsWith("Degraded answers (")).map((p) => p.line)).toEqual([
      inputs.budgets.fraud.maxFallbackRate,
      inputs.budgets.recommendations.maxFallbackRate,
    ]);
    // The line is where the drift monitor alerts by default.
    expect(inputs.psiThreshold).toBe(DriftMonitorConfigSchema.shape.PSI_THRESHOLD.parse(undefined));
    expect(inputs.psiThreshold).toBe(0.1);
    expect(lines.filter((p) => p.title.includes("PSI")).every((p) => p.line === inputs.psiThreshold)).toBe(true);
    expect(lines.filter((p) => p.title.includes("PSI")).length).toBe(3);
  });
});
