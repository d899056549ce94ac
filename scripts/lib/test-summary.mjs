// Adds up the vitest JSON reports that the unit and integration runs leave in each workspace's
// .turbo-reports folder and prints one closing line: "N passed, N failed".
import fs from "node:fs";
import path from "node:path";

const roots = ["packages", "services", "jobs", "lab", "infra", "tooling"];
let passed = 0;
let failed = 0;
let skipped = 0;
const files = [];
for (const root of roots) {
  if (!fs.existsSync(root)) continue;
  // infra and lab are workspaces themselves; the other roots hold one workspace per folder.
  const dirs = root === "infra" || root === "lab" ? [root] : fs.readdirSync(root).map((d) => path.join(root, d));
  for (const dir of dirs) {
    const reports = path.join(dir, ".test-reports");
    if (!fs.existsSync(reports)) continue;
    for (const f of fs.readdirSync(reports)) if (f.endsWith(".json")) files.push(path.join(reports, f));
  }
}
for (const file of files) {
  const report = JSON.parse(fs.readFileSync(file, "utf8"));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}
console.log(`\ntest reports: ${files.length} (unit and integration runs)`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 ? 1 : 0);
