/**
 * The fraud service beside its floor (bench/fraud-floor.ts: node:http doing the same work with the
 * same packages): one Redis, one Kafka, one trained model; the two run back to back at the same
 * rates by the same open-loop generator, in pairs whose order alternates, each run on transactions
 * neither has seen (a replayed id would be answered from the store). CPU per request from /proc,
 * p50/p99 and the degraded share, medians over the pairs and the service/floor ratios; then one
 * --cpu-prof run of each at the profile rate and their top self-time entries. Writes --out.
 *
 *   flock /tmp/mlsd-bench.lock nice -n 0 npx tsx bench/fraud-floor-bench.ts [--rates 500,1000] [--pairs 3]
 *     [--duration 15] [--warmup 3] [--profile-rate 1000] [--no-profile] [--skip-train] [--work /tmp/lg-floor]
 *     [--out ../../docs/reports/fraud-floor.md]
 */
import { mkdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import type { ProfileSummary } from "../src/cpu-profile";
import type { RunResult } from "../src/open-loop";
import { formatMs } from "../src/report";
import { fraudTarget } from "../src/targets/fraud";
import { busiestProfile, cpuProfileFlags, cpuSeconds, everyRunSection, floorBenchOptions, floorBenchSettings, generatorRun, instrumentError, instrumentLine, median, mediansSection, metricLines, monotonicUs, profileSection, sumLines, writeReport, type BenchServer, type Measured } from "./floor-common";
import { startFraudStack, type FraudStack } from "./fraud-stack";

const { values } = parseArgs({ options: floorBenchOptions({ rates: "500,1000", duration: "15", warmup: "3", profileRate: "1000", work: "/tmp/lg-floor" }) });
const { rates, pairs, durationS, warmupS, profileRate } = floorBenchSettings(values);
const work = path.resolve(values.work);
const log = (line: string) => process.stderr.write(`[fraud-floor] ${line}\n`);
const COMMAND = `flock /tmp/mlsd-bench.lock nice -n 0 npx tsx bench/fraud-floor-bench.ts ${process.argv.slice(2).join(" ")}`.trim();

type Who = "service" | "floor";

/** Transactions the server has scored so far: the service's decision counter, the floor's own count. */
async function scoredSoFar(who: Who, url: string): Promise<number> {
  if (who === "service") return sumLines(await metricLines(url, /^fraud_decisions_total\{/));
  return ((await (await fetch(`${url}/scored`)).json()) as { scored: number }).scored;
}

/** The world's transactions in the generator's order: where each run must start so no id repeats. */
const stream = fraudTarget();
let nextFromMs: number | null = null;
/** Skips past the transactions a run of `count` requests will send; returns that run's --from-time. */
function claimTransactions(count: number): string | null {
  const from = nextFromMs;
  let last = 0;
  for (let i = 0; i < count; i++) last = Date.parse((JSON.parse(stream.next().body) as { time: string }).time);
  // Times are whole seconds: the next run starts a second past this run's last, never on one of its ids.
  nextFromMs = last + 1_000;
  return from === null ? null : new Date(from).toISOString();
}

async function load(url: string, rate: number, reportDir: string, extraS = 0): Promise<RunResult> {
  // Requests the generator could send beyond its schedule (draining, late ones) stay inside this margin.
  const count = Math.ceil(rate * (durationS + warmupS + extraS) * 1.05) + 100;
  const fromTime = claimTransactions(count);
  const args = ["--target", "fraud", "--url", url, "--rate", String(rate), "--duration", String(durationS + extraS), "--warmup", String(warmupS), "--calibrate", "0"];
  if (fromTime) args.push("--from-time", fromTime);
  return generatorRun(args, reportDir);
}

async function measure(who: Who, server: { url: string; pid: number }, pair: number, rate: number): Promise<Measured<Who>> {
  const loadAverage = os.loadavg()[0] as number;
  const scoredBefore = await scoredSoFar(who, server.url);
  const before = await cpuSeconds(server.pid);
  const run = await load(server.url, rate, path.join(work, "runs", `${who}-${pair}-${rate}`));
  const after = await cpuSeconds(server.pid);
  if (before === null || after === null) throw new Error(`no /proc/${server.pid}/stat: the ${who} exited during the run`);
  const scored = (await scoredSoFar(who, server.url)) - scoredBefore;
  const cpuMsPerRequest = ((after - before) * 1000) / scored;
  log(`${who} pair ${pair + 1} @ ${rate}/s: CPU ${cpuMsPerRequest.toFixed(3)} ms/request, p50 ${formatMs(run.latency.p50)} ms, p99 ${formatMs(run.latency.p99)} ms, degraded ${(run.fallbackRate * 100).toFixed(2)} %, errors ${(run.errorRate * 100).toFixed(2)} % (load average ${loadAverage.toFixed(2)})`);
  return { who, pair, rate, loadAverage, cpuMsPerRequest, served: scored, run };
}

async function profileOnce(stack: FraudStack, who: Who): Promise<ProfileSummary | null> {
  const dir = path.join(work, "cpu-profile", who);
  const flags = await cpuProfileFlags(dir);
  let floor: BenchServer | null = null;
  let server: { url: string; pid: number };
  if (who === "service") {
    await stack.restartService({}, flags);
    server = { url: stack.url, pid: stack.pid };
  } else {
    floor = await stack.startFloor(flags);
    server = floor;
  }
  const fromUs = monotonicUs();
  await load(server.url, profileRate, path.join(work, "runs", `${who}-profile`));
  const toUs = monotonicUs();
  // The profile is written when the process exits.
  if (floor) await floor.stop();
  else await stack.stopService();
  return busiestProfile(dir, { fromUs, toUs });
}

async function main(): Promise<void> {
  await mkdir(work, { recursive: true });
  await rm(path.join(work, "runs"), { recursive: true, force: true });
  const started = new Date().toISOString();
  const loadAtStart = os.loadavg()[0] as number;

  // The instrument's own error at the highest rate, once: the generator against its null server.
  const calibration = Number(values.calibrate) > 0 ? await instrumentError(Math.max(...rates), Number(values.calibrate), path.join(work, "runs", "calibration")) : null;

  const measured: Measured<Who>[] = [];
  let stack: FraudStack | undefined;
  const profiles: Partial<Record<Who, ProfileSummary | null>> = {};
  try {
    stack = await startFraudStack({ work, skipTrain: values["skip-train"], log });
    let serviceUp = true;
    for (let pair = 0; pair < pairs; pair++) {
      const order: Who[] = pair % 2 === 0 ? ["service", "floor"] : ["floor", "service"];
      for (const who of order) {
        if (who === "service") {
          if (!serviceUp) await stack.restartService({});
          for (const rate of rates) measured.push(await measure("service", { url: stack.url, pid: stack.pid }, pair, rate));
          await stack.stopService();
          serviceUp = false;
        } else {
          const floor = await stack.startFloor();
          try {
            for (const rate of rates) measured.push(await measure("floor", floor, pair, rate));
          } finally {
            await floor.stop();
          }
        }
      }
    }
    if (!values["no-profile"]) {
      profiles.service = await profileOnce(stack, "service");
      profiles.floor = await profileOnce(stack, "floor");
    }
  } finally {
    await stack?.stop();
  }

  const md: string[] = [
    "# Fraud service vs its floor",
    "",
    `Made by \`${COMMAND}\` in jobs/loadgen, started ${started}; load average (1 min) ${loadAtStart.toFixed(2)} at the start, ${(median(measured.map((m) => m.loadAverage)) ?? 0).toFixed(2)} median at the start of the runs.`,
    "",
    "The service is services/fraud as it runs in production (`node --import tsx src/main.ts`). The floor is",
    "jobs/loadgen/bench/fraud-floor.ts: `node:http` and JSON.parse, then the same work through the same packages (hard rules,",
    "the claim and the card and terminal Lua scripts under the same deadline, the GBDT with its fallback and reason codes,",
    "the decision, the two events through the same producer and journal, the answer stored for retries, the feature store's",
    "breaker, all with the service's default settings), and nothing else: no service skeleton, zod validation, logger, metrics",
    "or model arms. Both share one Redis, one Kafka broker and one",
    "trained model (small preset), and the generator, Redis and Kafka run on the same 2 cores as the server measured.",
    `Each pair runs the service and the floor back to back (the order alternates) at ${rates.join(" and ")} tx/s, ${warmupS} s warm-up + ${durationS} s measured,`,
    "each run on transactions no earlier run sent. CPU is the server process's user + system time from /proc over the",
    "whole run divided by the transactions it scored in it (warm-up included; the service's decision counter, the floor's",
    "own count); latency is from the scheduled send (open loop); errors are timeouts (2 s), dropped sends and bad statuses.",
    "",
  ];
  if (calibration) md.push(instrumentLine(calibration), "");
  const medians = mediansSection(measured, rates, ["service", "floor"], "floor", "degraded");
  md.push("## Medians over the pairs", "", ...medians.lines);
  md.push("", `Goal (issue 15): service CPU per request and p99 each within 1.3x the floor's. ${medians.verdicts.map((v) => `${v.replace(/^service at /, "At ")}.`).join(" ")}`, "");
  md.push("## Every run", "", ...everyRunSection(measured, "degraded", "scored"));
  for (const who of ["service", "floor"] as const) {
    const p = profiles[who];
    if (p) md.push("", profileSection(p, `${who === "service" ? "Service" : "Floor"} CPU profile, one run at ${profileRate}/s under --cpu-prof`));
  }
  await writeReport(md, values.out, log);
}

await main();
