import os from "node:os";
import { parseArgs } from "node:util";
import { FRAUD_WORLD_PRESETS } from "@mlsd/synth";
import { allowedCpus, pinProcess, placement, planPinning, type PinPlan, type Placement } from "./affinity";
import { budgetFor, DEFAULT_BUDGETS_PATH, evaluateBudgets, INSTRUMENT_ERROR_MULTIPLE, loadBudgets, type Budgets } from "./budgets";
import { calibrate, type Calibration } from "./calibrate";
import { sleep, systemClock } from "./clock";
import { LoadgenInputError } from "./errors";
import { BudgetsFileError } from "@mlsd/budgets";
import { HttpClient } from "./http-client";
import { runOpenLoop, DEFAULT_MAX_IN_FLIGHT, DEFAULT_TIMEOUT_MS, TIMER_KINDS, type RunResult, type TimerKind } from "./open-loop";
import { runRamp, type RampResult } from "./ramp";
import { formatMs, formatShare, instrumentOf, renderReport, writeReport } from "./report";
import { ARRIVAL_PROCESSES, type ArrivalProcess } from "./schedule";
import { fraudTarget } from "./targets/fraud";
import { recsTarget } from "./targets/recs";
import { httpSender, type LoadTarget } from "./targets/target";

export { DEFAULT_BUDGETS_PATH } from "./budgets";

export const USAGE = `usage: loadgen --target fraud|recommendations --url URL [options]
       loadgen --target null [--url URL] --rate N     (calibration: the instrument's own error)

Open-loop load at a fixed arrival rate; latency from each request's scheduled send time. Before
the load, the generator measures its own error against a null server at the same rate; the report
prints it beside each budget, and end-to-end latency budgets tighter than ${INSTRUMENT_ERROR_MULTIPLE} x that error are
not judged. Exit codes: 0; 1 a budget missed (--gate); 2 bad input; 3 nothing missed but some
budget not judged (--gate).

  --target NAME         fraud (POST /v1/transactions/score), recommendations (POST /v1/recommendations),
                        or null: only the calibration, against the built-in null server or --url
  --url URL             the service, e.g. http://127.0.0.1:8081
  --rate N              requests/s of the main run (default: the rate the target's budget is stated at; null: 1000)
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
  --timer KIND          precise (default): a worker thread wakes the scheduler at each send time on a
                        high-resolution timer; coarse: Node's millisecond timers (late sends in bursts)
  --calibrate S         seconds of calibration at the main run's rate before the load (default 10; 0 skips
                        it, and then no end-to-end latency budget is judged)
  --calibration-url URL a null server of your own (default: the built-in one, in a process of its own)
  --pin SPEC            auto (generator on the first CPU, null server and --target-pid on the others) or
                        GENERATOR_CPUS:TARGET_CPUS, e.g. 0:1; uses taskset; the report says what ran where
  --target-pid PID      the service's process: pinned to the target CPUs with --pin, and reported
  --budgets FILE        budget file (default packages/budgets/budgets.json)
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
  target: "fraud" | "recommendations" | "null";
  /** Null only for the null target (start the built-in null server). */
  url: string | null;
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
  timer: TimerKind;
  calibrateMs: number;
  calibrationUrl: string | null;
  pin: string | null;
  targetPid: number | null;
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
      timer: { type: "string" },
      calibrate: { type: "string" },
      "calibration-url": { type: "string" },
      pin: { type: "string" },
      "target-pid": { type: "string" },
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
  if (target !== "fraud" && target !== "recommendations" && target !== "null") throw new LoadgenInputError("--target", `must be fraud, recommendations or null, got "${values.target ?? ""}"`);
  if (!values.url && target !== "null") throw new LoadgenInputError("--url", "is required, e.g. http://127.0.0.1:8081");
  const timer = (values.timer ?? "precise") as TimerKind;
  if (!TIMER_KINDS.includes(timer)) throw new LoadgenInputError("--timer", `must be precise or coarse, got "${values.timer}"`);
  const calibrateMs = num("calibrate", values.calibrate, 10) * 1000;
  if (calibrateMs < 0) throw new LoadgenInputError("--calibrate", `must be >= 0 seconds, got ${values.calibrate}`);
  const targetPid = values["target-pid"] === undefined ? null : num("target-pid", values["target-pid"], 0);
  if (targetPid !== null && !(Number.isInteger(targetPid) && targetPid > 0)) throw new LoadgenInputError("--target-pid", `must be a process id, got "${values["target-pid"]}"`);
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
    url: values.url ?? null,
    rate: values.rate === undefined ? (target === "null" ? 1000 : undefined) : num("rate", values.rate, 0),
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
    timer,
    calibrateMs,
    calibrationUrl: values["calibration-url"] ?? null,
    pin: values.pin ?? null,
    targetPid,
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
  return `${r.endpoint} @ ${r.offeredRate}/s: p50 ${formatMs(r.latency.p50)} ms, p99 ${formatMs(r.latency.p99)} ms, send lag p99 ${formatMs(r.sendLag.p99)} ms, throughput ${r.throughput.toFixed(1)}/s, errors ${formatShare(r.errorRate)}, fallbacks ${formatShare(r.fallbackRate)}\n`;
}

/** Pins this process (the generator) and the target's, as `--pin` asks; says where everything runs. */
function applyPinning(o: CommandOptions, io: CommandIo): { plan: PinPlan | null; placements: Placement[] } {
  const available = allowedCpus();
  const plan = o.pin ? planPinning(o.pin, available) : null;
  if (o.pin && !plan) io.err(`--pin ${o.pin}: not pinned, this process may use only CPU ${available ?? "unknown"}\n`);
  if (plan) {
    pinProcess(process.pid, plan.generator);
    if (o.targetPid !== null) pinProcess(o.targetPid, plan.target);
  }
  const placements = [placement("generator (this process, every thread)", process.pid, plan !== null)];
  if (o.targetPid !== null) placements.push(placement("target (--target-pid)", o.targetPid, plan !== null));
  return { plan, placements };
}

/** The whole CLI: parse, calibrate, load budgets, run, report; resolves to the exit code (0; 1 missed; 2 bad input; 3 not judged). */
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
    const budgets: Budgets = o.target === "null" ? { endpoints: {} } : await loadBudgets(o.budgetsPath);
    const rate = o.rate ?? budgetFor(budgets, o.target).rate;
    const loop = { arrivals: o.arrivals, seed: o.seed, maxInFlight: o.maxInFlight, timeoutMs: o.timeoutMs, timer: o.timer };
    const { plan, placements } = applyPinning(o, io);
    const [load1, load5, load15] = os.loadavg().map((l) => l.toFixed(2));
    const notes = [
      `${new Date().toISOString()}: \`loadgen ${argv.join(" ")}\``,
      `machine: ${os.cpus().length} cores, load average ${load1} / ${load5} / ${load15} at start${plan ? "" : " (generator and target share it)"}`,
      ...o.notes,
    ];
    const runCalibration = async (calibrationRate: number, durationMs: number, warmupMs: number, url: string | null): Promise<Calibration> => {
      io.err(`calibration: ${calibrationRate}/s against ${url ?? "the built-in null server"} for ${durationMs / 1000} s after ${warmupMs / 1000} s of warm-up\n`);
      const calibration = await calibrate({
        ...loop,
        rate: calibrationRate,
        durationMs,
        warmupMs,
        ...(url ? { url } : {}),
        ...(plan ? { cpus: plan.target } : {}),
        onServer: (pid) => placements.push(placement("null server (calibration)", pid, plan !== null)),
      });
      const r = calibration.run;
      io.err(`instrument @ ${r.offeredRate}/s: latency p50 ${formatMs(r.latency.p50)} / p99 ${formatMs(r.latency.p99)} / p99.9 ${formatMs(r.latency.p999)} ms, send lag p50 ${formatMs(r.sendLag.p50)} / p99 ${formatMs(r.sendLag.p99)} / p99.9 ${formatMs(r.sendLag.p999)} ms\n`);
      return calibration;
    };

    if (o.target === "null") {
      const calibration = await runCalibration(rate, o.durationMs, o.warmupMs, o.url);
      const report = renderReport({ title: "Calibration: the load generator's own error", runs: [], budgets, calibration, placements, notes });
      io.out(report.terminal);
      if (o.reportDir) {
        const files = await writeReport(o.reportDir, report, { runs: [], calibration, placements });
        io.err(`report written: ${files.join(", ")}\n`);
      }
      return calibration.run.counts.ok > 0 ? 0 : 1;
    }

    client = new HttpClient({ baseUrl: o.url as string, maxSockets: o.maxInFlight });
    // The instrument is measured first, at the rate the budgets are judged at (or the ramp's top).
    const calibrationRate = o.durationMs > 0 ? rate : Math.max(...(o.ramp ?? [rate]));
    const calibration = o.calibrateMs > 0 ? await runCalibration(calibrationRate, o.calibrateMs, Math.min(o.warmupMs, 2000), o.calibrationUrl) : null;
    io.err(`preparing the ${o.target} request mix...\n`);
    const common = { ...httpSender(makeTarget(o), client), ...loop };

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

    const evaluation = evaluateBudgets(runs, budgets, instrumentOf(calibration));
    const report = renderReport({ title: `Load test: ${o.target}`, runs, ramps, budgets, calibration, evaluation, placements, notes });
    io.out(report.terminal);
    if (o.reportDir) {
      const files = await writeReport(o.reportDir, report, { runs, ramps, calibration, placements });
      io.err(`report written: ${files.join(", ")}\n`);
    }
    if (o.gate && runs.length > 0 && !evaluation.passed) {
      const missed = evaluation.checks.some((c) => c.status === "fail" || c.status === "no-data");
      const notJudged = evaluation.checks.filter((c) => c.status === "not-judged");
      if (missed) {
        io.err("gate: budget missed\n");
        return 1;
      }
      io.err(`gate: not judged: ${notJudged.map((c) => `${c.subject} ${c.metric} (${c.note})`).join("; ")}\n`);
      return 3;
    }
    return 0;
  } catch (error) {
    if (error instanceof LoadgenInputError || error instanceof BudgetsFileError) {
      io.err(`${error.message}\n`);
      return 2;
    }
    throw error;
  } finally {
    client?.close();
  }
}
