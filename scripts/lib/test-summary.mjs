// Adds up the vitest JSON reports that the unit and integration runs leave in each workspace's
// .test-reports folder, names every failed test with the start of its message (the end of a CI
// log is often all that is kept, and a suite's own output may be far above it), and prints one
// closing line: "N passed, N failed".
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
const MESSAGE_LINES = 12;
// eslint-disable-next-line no-control-regex
const plain = (text) => String(text ?? "").replace(/\u001b\[[0-9;]*m/g, "");
// The message and the test's own stack frames; vitest's and Node's frames say nothing here.
const noise = /^\s*at .*(node_modules|node:internal|new Promise|<anonymous>)/;
const head = (text) => plain(text).split("\n").filter((line) => line.trim() !== "" && !noise.test(line)).slice(0, MESSAGE_LINES).map((line) => `    ${line}`).join("\n");
const failures = [];
for (const file of files) {
  const report = JSON.parse(fs.readFileSync(file, "utf8"));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  for (const suite of report.testResults ?? []) {
    const where = path.relative(process.cwd(), suite.name ?? file);
    const tests = (suite.assertionResults ?? []).filter((t) => t.status === "failed");
    for (const t of tests) failures.push(`FAIL ${where} > ${t.fullName ?? t.title}\n${head((t.failureMessages ?? []).join("\n"))}`);
    // A suite that failed outside its tests (a hook, an import) has no failed test to name.
    if (tests.length === 0 && suite.status === "failed") failures.push(`FAIL ${where} (the file itself)\n${head(suite.message)}`);
  }
}
if (failures.length > 0) console.log(`\n${failures.join("\n\n")}`);
console.log(`\ntest reports: ${files.length} (unit and integration runs)`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 || failures.length > 0 ? 1 : 0);
