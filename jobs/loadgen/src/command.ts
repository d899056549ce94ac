import os from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { FRAUD_WORLD_PRESETS } from "@mlsd/synth";
import { budgetFor, evaluateBudgets, loadBudgets } from "./budgets";
import { sleep, systemClock } from "./clock";
import { LoadgenInputError } from "./errors";
import { HttpClient } from "./http-client";
import { runOpenLoop, DEFAULT_MAX_IN_FLIGHT, DEFAULT_TIMEOUT_MS, type RunResult } from "./open-loop";
import { runRamp, type RampResult } from "./ramp";
import { formatMs, formatShare, renderReport, writeReport } from "./report";
import { ARRIVAL_PROCESSES, type ArrivalProcess } from "./schedule";
import { fraudTarget } from "./targets/fraud";
import { recsTarget } from "./targets/recs";
import { httpSender, type LoadTarget } from "./targets/target";

export const DEFAULT_BUDGETS_PATH = fileURLToPath(new URL("../budgets.json", import.meta.url));

export const USAGE = `usage: loadgen --target fraud|recommendations --url URL [options]

Open-loop load at a fixed arrival rate; latency from each request's scheduled send time.

  --target NAME         fraud (POST /v1/transactions/score) or recommendations (POST /v1/recommendations)
  --url URL             the service, e.g. http://127.0.0.1:8081
  --rate N              requests/s of the main run (default: the rate the target's budget is stated at)
  --duration S          measured seconds of the main run (default 30; 0 runs only the ramp)
  --warmup S            seconds sent before measuring (default 5)
  --ramp R1,R2,...      also run steps of increasing rate, to find the knee
  --step-duration S     measured seconds per ramp step (default 10)
  --step-warmup S       warm-up seconds per ramp step (default 2)
  --settle S            pause between the ramp (run first) and the main run (default 5)
  --arrivals KIND       constant | poisson (default constant)
  --seed N              seed of the arrivals and the request mix (default 1)
  --max-in-flight N     requests due beyond this many unanswered are dropped and counted (default ${DEFAULT_MAX_IN_FLIGHT})
  --timeout MS          a request unanswered this long counts as a timeout (default ${DEFAULT_TIMEOUT_MS})
  --budgets FILE        budget file (default jobs/loadgen/budgets.json)
  --report DIR          write report.md, results.json and the latency-vs-load SVG here
  --gate                exit 1 when a budget is missed
  --note TEXT           a line for the report's header (repeatable), e.g. the machine's state
fraud:
  --world NAME          fraud world preset the model was trained on: small | handbook (default small)
  --days N --start-date YYYY-MM-DD    the history the model was trained on, when not the preset's
  --start-day N         skip this many days of history (default: the history's length)
  --from-time ISO       skip the transactions before this time too (continue where a world run stopped)
  --invalid-share X     share of deliberately invalid transactions, expected to get a 4xx (default 0)
recommendations:
  --rec-world NAME      small | demo | benchmark (default small)
  --new-user-share X    share of users no model has seen (default 0.1)
  --k K1,K2,...         slate sizes, drawn uniformly (default 10)
`;

export interface CommandIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

function num(field: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw new LoadgenInputError(`--${field}`, `must be a number, got "${value}"`);
  return n;
}

function list(field: string, value: string): number[] {
  return value.split(",").map((part, i) => {
    const n = Number(part.trim());
    if (part.trim() === "" || !Number.isFinite(n)) throw new LoadgenInputError(`--${field}[${i}]`, `must be a number, got "${part}"`);
    return n;
  });
}

export interface CommandOptions {
  target: "fraud" | "recommendations";
  url: string;
  rate: number | undefined;
  durationMs: number;
  warmupMs: number;
  ramp: number[] | null;
  stepDurationMs: number;
  stepWarmupMs: number;
  settleMs: number;
  arrivals: ArrivalProcess;
  seed: number;
  maxInFlight: number;
  timeoutMs: number;
  budgetsPath: string;
  reportDir: string | null;
  gate: boolean;
  notes: string[];
  world: "small" | "handbook";
  startDay: number | undefined;
  days: number | undefined;
  startDate: string | undefined;
  fromTime: number | undefined;
  invalidShare: number;
  recWorld: "small" | "demo" | "benchmark";
  newUserShare: number;
  k: number[];
}

/** Reads the command line; a wrong flag throws a LoadgenInputError naming it. */
export function parseCommand(argv: readonly string[]): CommandOptions | "help" {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      target: { type: "string" },
      url: { type: "string" },
      rate: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      ramp: { type: "string" },
      "step-duration": { type: "string" },
      "step-warmup": { type: "string" },
      settle: { type: "string" },
      arrivals: { type: "string" },
      seed: { type: "string" },
      "max-in-flight": { type: "string" },
      timeout: { type: "string" },
      budgets: { type: "string" },
      report: { type: "string" },
      gate: { type: "boolean", default: false },
      note: { type: "string", multiple: true },
      world: { type: "string" },
      "start-day": { type: "string" },
      days: { type: "string" },
      "start-date": { type: "string" },
      "from-time": { type: "string" },
      "invalid-share": { type: "string" },
      "rec-world": { type: "string" },
      "new-user-share": { type: "string" },
      k: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return "help";
  const target = values.target === "recs" ? "recommendations" : values.target;
  if (target !== "fraud" && target !== "recommendations") throw new LoadgenInputError("--target", `must be fraud or recommendations, got "${values.target ?? ""}"`);
  if (!values.url) throw new LoadgenInputError("--url", "is required, e.g. http://127.0.0.1:8081");
  const arrivals = (values.arrivals ?? "constant") as ArrivalProcess;
  if (!ARRIVAL_PROCESSES.includes(arrivals)) throw new LoadgenInputError("--arrivals", `must be constant or poisson, got "${values.arrivals}"`);
  const world = values.world ?? "small";
  if (world !== "small" && world !== "handbook") throw new LoadgenInputError("--world", `must be small or handbook, got "${world}"`);
  const recWorld = values["rec-world"] ?? "small";
  if (recWorld !== "small" && recWorld !== "demo" && recWorld !== "benchmark") throw new LoadgenInputError("--rec-world", `must be small, demo or benchmark, got "${recWorld}"`);
  const durationMs = num("duration", values.duration, 30) * 1000;
  const ramp = values.ramp ? list("ramp", values.ramp) : null;
  if (durationMs < 0) throw new LoadgenInputError("--duration", `must be >= 0 seconds, got ${values.duration}`);
  const settleMs = num("settle", values.settle, 5) * 1000;
  if (settleMs < 0) throw new LoadgenInputError("--settle", `must be >= 0 seconds, got ${values.settle}`);
  if (durationMs === 0 && !ramp) throw new LoadgenInputError("--duration", "0 skips the main run, so --ramp is needed");
  const fromTime = values["from-time"] === undefined ? undefined : Date.parse(values["from-time"]);
  if (fromTime !== undefined && !Number.isFinite(fromTime)) throw new LoadgenInputError("--from-time", `must be an ISO date-time, got "${values["from-time"]}"`);
  const days = values.days === undefined ? undefined : num("days", values.days, 0);
  if (days !== undefined && !(Number.isInteger(days) && days >= 1)) throw new LoadgenInputError("--days", `must be a positive integer, got "${values.days}"`);
  return {
    target,
    url: values.url,
    rate: values.rate === undefined ? undefined : num("rate", values.rate, 0),
    durationMs,
    warmupMs: num("warmup", values.warmup, 5) * 1000,
    ramp,
    stepDurationMs: num("step-duration", values["step-duration"], 10) * 1000,
    stepWarmupMs: num("step-warmup", values["step-warmup"], 2) * 1000,
    settleMs,
    arrivals,
    seed: num("seed", values.seed, 1),
    maxInFlight: num("max-in-flight", values["max-in-flight"], DEFAULT_MAX_IN_FLIGHT),
    timeoutMs: num("timeout", values.timeout, DEFAULT_TIMEOUT_MS),
    budgetsPath: values.budgets ?? DEFAULT_BUDGETS_PATH,
    reportDir: values.report ?? null,
    gate: values.gate,
    notes: values.note ?? [],
    world,
    startDay: values["start-day"] === undefined ? undefined : num("start-day", values["start-day"], 0),
    days,
    startDate: values["start-date"],
    fromTime,
    invalidShare: num("invalid-share", values["invalid-share"], 0),
    recWorld,
    newUserShare: num("new-user-share", values["new-user-share"], 0.1),
    k: values.k ? list("k", values.k) : [10],
  };
}

function makeTarget(o: CommandOptions): LoadTarget {
  return o.target === "fraud"
    ? fraudTarget({
        world: { ...FRAUD_WORLD_PRESETS[o.world], ...(o.days !== undefined ? { days: o.days } : {}), ...(o.startDate !== undefined ? { startDate: o.startDate } : {}) },
        ...(o.startDay !== undefined ? { startDay: o.startDay } : {}),
        ...(o.fromTime !== undefined ? { fromTimeMs: o.fromTime } : {}),
        invalidShare: o.invalidShare,
        seed: o.seed,
      })
    : recsTarget({ world: { preset: o.recWorld }, newUserShare: o.newUserShare, k: o.k, seed: o.seed });
}

function progressLine(r: RunResult): string {
  return `${r.endpoint} @ ${r.offeredRate}/s: p50 ${formatMs(r.latency.p50)} ms, p99 ${formatMs(r.latency.p99)} ms, throughput ${r.throughput.toFixed(1)}/s, errors ${formatShare(r.errorRate)}, fallbacks ${formatShare(r.fallbackRate)}\n`;
}

/** The whole CLI: parse, load budgets, run, report; resolves to the exit code (0, 1 gate missed, 2 bad input). */
export async function runCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  let options: CommandOptions | "help";
  try {
    options = parseCommand(argv);
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options === "help") {
    io.out(USAGE);
    return 0;
  }
  const o = options;
  let client: HttpClient | null = null;
  try {
    const budgets = await loadBudgets(o.budgetsPath);
    const budget = budgetFor(budgets, o.target);
    const rate = o.rate ?? budget.rate;
    client = new HttpClient({ baseUrl: o.url, maxSockets: o.maxInFlight });
    io.err(`preparing the ${o.target} request mix...\n`);
    const sender = httpSender(makeTarget(o), client);
    const common = { ...sender, arrivals: o.arrivals, seed: o.seed, maxInFlight: o.maxInFlight, timeoutMs: o.timeoutMs };
    const [load1, load5, load15] = os.loadavg().map((l) => l.toFixed(2));
    const notes = [
      `${new Date().toISOString()}: \`loadgen ${argv.join(" ")}\``,
      `machine: ${os.cpus().length} cores, load average ${load1} / ${load5} / ${load15} at start (generator and target share it)`,
      ...o.notes,
    ];

    // The ramp goes first, on a rested target, and ends at the first saturated step; the main run
    // follows after a settling pause, so a backlog from one phase does not pose as the other's latency.
    const ramps: RampResult[] = [];
    if (o.ramp) {
      io.err(`ramp: ${o.ramp.join(", ")}/s, ${o.stepDurationMs / 1000} s per step\n`);
      ramps.push(
        await runRamp({ ...common, rates: o.ramp, stepDurationMs: o.stepDurationMs, stepWarmupMs: o.stepWarmupMs, onStep: (step) => io.err(`  ${progressLine(step)}`) }),
      );
    }
    const runs: RunResult[] = [];
    if (o.durationMs > 0) {
      if (o.ramp && o.settleMs > 0) {
        io.err(`settling for ${o.settleMs / 1000} s\n`);
        await sleep(systemClock, o.settleMs);
      }
      io.err(`main run: ${rate}/s for ${o.durationMs / 1000} s after ${o.warmupMs / 1000} s of warm-up\n`);
      const run = await runOpenLoop({ ...common, rate, durationMs: o.durationMs, warmupMs: o.warmupMs });
      io.err(progressLine(run));
      runs.push(run);
    }

    const evaluation = evaluateBudgets(runs, budgets);
    const report = renderReport({ title: `Load test: ${o.target}`, runs, ramps, budgets, evaluation, notes });
    io.out(report.terminal);
    if (o.reportDir) {
      const files = await writeReport(o.reportDir, report, { runs, ramps });
      io.err(`report written: ${files.join(", ")}\n`);
    }
    if (o.gate && runs.length > 0 && !evaluation.passed) {
      io.err("gate: budget missed\n");
      return 1;
    }
    return 0;
  } catch (error) {
    if (error instanceof LoadgenInputError) {
      io.err(`${error.message}\n`);
      return 2;
    }
    throw error;
  } finally {
    client?.close();
  }
}
