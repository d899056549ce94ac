// Regenerates infra/grafana/dashboards/*.json from dashboards.ts (`npm run dashboards -w @mlsd/infra`).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildDashboards } from "./dashboards";
import { dashboardText, DASHBOARDS_DIR, loadDashboardInputs } from "./inputs";

mkdirSync(DASHBOARDS_DIR, { recursive: true });
for (const [file, dashboard] of Object.entries(buildDashboards(loadDashboardInputs()))) {
  writeFileSync(join(DASHBOARDS_DIR, file), dashboardText(dashboard));
  process.stdout.write(`wrote ${join(DASHBOARDS_DIR, file)}\n`);
}
