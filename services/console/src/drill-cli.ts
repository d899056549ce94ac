import { parseArgs } from "node:util";

const USAGE = `usage: npm run drill -- <name> [options]
       npm run drill -- --list

Runs a drill through the console (the same run the page's buttons start) and prints its scored report.
Drills act with the admin token: MLSD_ADMIN_TOKEN.

  --url URL             the console (default http://127.0.0.1:8090)
  --fault-seconds N     how long the fault lasts (redis-down), or the most to wait for the verdict (bad-model)
  --baseline-seconds N  probe traffic before the fault
  --after-seconds N     probe traffic after it
  --rate N              probe requests per second to each design (overload: the base rate)
  --multiple N          overload: offer N times the rate; drift-injected: multiply the shifted cards' amounts by N
  --save                write the report to the console's DRILL_REPORTS_DIR (docs/drills/<name>.md)
  --json                print the report as JSON
  --list                the drills, what each expects, and whether it can run here

Exit status: 0 the drill passed; 1 it failed an expectation or could not run; 2 usage.`;

interface DrillRunLike {
  id: string;
  status: "running" | "done" | "failed";
  log: string[];
  markdown: string | null;
  report: { pass: boolean } | null;
  savedTo: string | null;
  error: string | null;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: "string", default: "http://127.0.0.1:8090" },
      "fault-seconds": { type: "string" },
      "baseline-seconds": { type: "string" },
      "after-seconds": { type: "string" },
      rate: { type: "string" },
      multiple: { type: "string" },
      save: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      list: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const base = (values.url as string).replace(/\/$/, "");
  if (values.list) {
    const res = await fetch(`${base}/api/drills`);
    const body = (await res.json()) as { drills: { name: string; description: string; expectations: string[]; unavailable: string | null }[] };
    for (const d of body.drills) {
      console.log(`${d.name}${d.unavailable ? `  (cannot run here: ${d.unavailable})` : ""}\n  ${d.description}`);
      for (const e of d.expectations) console.log(`  - ${e}`);
    }
    return 0;
  }
  const name = positionals[0];
  if (!name || positionals.length > 1) {
    console.error(USAGE);
    return 2;
  }
  const token = process.env.MLSD_ADMIN_TOKEN;
  if (!token) {
    console.error("drill: set MLSD_ADMIN_TOKEN (the admin token the demo prints)");
    return 2;
  }
  const number = (flag: string) => {
    const raw = values[flag as keyof typeof values];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n)) throw new Error(`--${flag} must be a number, got ${String(raw)}`);
    return n;
  };
  const body = {
    ...(number("fault-seconds") !== undefined ? { faultSeconds: number("fault-seconds") } : {}),
    ...(number("baseline-seconds") !== undefined ? { baselineSeconds: number("baseline-seconds") } : {}),
    ...(number("after-seconds") !== undefined ? { afterSeconds: number("after-seconds") } : {}),
    ...(number("rate") !== undefined ? { rate: number("rate") } : {}),
    ...(number("multiple") !== undefined ? { multiple: number("multiple") } : {}),
    save: values.save,
    command: `npm run drill -- ${process.argv.slice(2).join(" ")}`,
  };
  const started = await fetch(`${base}/api/drills/${encodeURIComponent(name)}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  const first = (await started.json()) as DrillRunLike & { error?: { message: string } };
  if (started.status !== 202) {
    console.error(`drill: the console answered ${started.status}: ${(first.error as { message?: string } | undefined)?.message ?? JSON.stringify(first)}`);
    return 1;
  }
  let printed = 0;
  for (;;) {
    const run = (await (await fetch(`${base}/api/drills/runs/${first.id}`)).json()) as DrillRunLike;
    if (!values.json) for (; printed < run.log.length; printed++) console.log(run.log[printed]);
    if (run.status !== "running") {
      if (run.status === "failed") {
        console.error(`drill: ${run.error}`);
        return 1;
      }
      if (values.json) console.log(JSON.stringify(run.report, null, 2));
      else console.log(`\n${run.markdown ?? ""}`);
      if (run.savedTo) console.log(`saved to ${run.savedTo}`);
      return run.report?.pass ? 0 : 1;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`drill: ${(error as Error).message}`);
    process.exit(1);
  },
);
