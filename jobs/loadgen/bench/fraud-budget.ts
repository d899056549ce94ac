/**
 * Measures the real fraud service against its budget: starts Redis and Kafka (or takes REDIS_URL /
 * KAFKA_BROKERS from the environment), trains the small model into a scratch registry (warming
 * Redis), starts services/fraud, runs the open-loop load (main run and ramp) through the loadgen
 * CLI, optionally profiles the service (--profile), and stops everything it started by pid.
 *
 *   npx tsx bench/fraud-budget.ts [--rate 1000 --duration 30 --warmup 5 --ramp 250,500,1000,2000]
 *     [--step-duration 10] [--settle 20] [--calibrate 10] [--pin auto|G:T] [--profile] [--work /tmp/lg]
 *     [--skip-train] [--gate]
 *
 * The load generator first measures its own error against its null server at the same rate (see
 * the report's Instrument section); --pin puts the generator and the service on different CPUs.
 */
import { mkdir, readdir, rm, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { runCommand } from "../src/command";
import { profileMarkdown, summarizeCpuProfile } from "../src/cpu-profile";
import { cpuSeconds, metricLines, monotonicUs, REPO, startFraudStack, sumLines, type FraudStack } from "./fraud-stack";

const { values } = parseArgs({
  options: {
    rate: { type: "string", default: "1000" },
    duration: { type: "string", default: "30" },
    warmup: { type: "string", default: "5" },
    ramp: { type: "string", default: "250,500,1000,2000" },
    "step-duration": { type: "string", default: "10" },
    settle: { type: "string", default: "20" },
    calibrate: { type: "string", default: "10" },
    pin: { type: "string" },
    arrivals: { type: "string", default: "constant" },
    work: { type: "string", default: "/tmp/lg" },
    profile: { type: "boolean", default: false },
    "skip-train": { type: "boolean", default: false },
    gate: { type: "boolean", default: false },
  },
});
const work = path.resolve(values.work);
const log = (line: string) => process.stderr.write(`[fraud-budget] ${line}\n`);

async function main(): Promise<number> {
  await mkdir(work, { recursive: true });
  const profDir = path.join(work, "cpu-profile");
  if (values.profile) {
    await rm(profDir, { recursive: true, force: true });
    await mkdir(profDir, { recursive: true });
  }
  let stack: FraudStack | undefined;
  try {
    stack = await startFraudStack({
      work,
      skipTrain: values["skip-train"],
      nodeFlags: values.profile ? ["--cpu-prof", "--cpu-prof-dir", profDir, "--cpu-prof-interval", "250"] : [],
      log,
    });
    const { url, redis, kafka, pid } = stack;

    const reportDir = path.join(work, "report");
    const args = ["--target", "fraud", "--url", url, "--rate", values.rate, "--duration", values.duration, "--warmup", values.warmup, "--arrivals", values.arrivals, "--report", reportDir];
    if (values.ramp) args.push("--ramp", values.ramp, "--step-duration", values["step-duration"], "--settle", values.settle);
    if (values.gate) args.push("--gate");
    args.push("--calibrate", values.calibrate);
    if (values.pin) args.push("--pin", values.pin, "--target-pid", String(pid));
    args.push(
      "--note",
      `target: services/fraud (node --import tsx src/main.ts${values.profile ? ", under --cpu-prof" : ""}), small-preset model, Redis ${redis.source}, Kafka ${kafka.source}, all on this machine`,
      "--note",
      "the machine is shared with other engineers' builds and tests: numbers are noisy, compare runs of the same hour",
    );
    const fromUs = monotonicUs();
    const cpuBefore = await cpuSeconds(pid);
    const code = await runCommand(args, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) });
    const cpuAfter = await cpuSeconds(pid);
    const toUs = monotonicUs();
    const counters = await metricLines(url, /^fraud_(decisions|degraded)_total\{/);
    await stack.stopService();

    // Every request the service scored (warm-up, late and timed-out ones included) shows in its counter.
    const scored = sumLines(counters.filter((c) => c.startsWith("fraud_decisions_total")));
    const extra: string[] = ["", "## Service process during the load", ""];
    if (cpuBefore !== null && cpuAfter !== null) {
      const cpu = cpuAfter - cpuBefore;
      const wall = (toUs - fromUs) / 1e6;
      const perRequest = scored > 0 ? (cpu * 1000) / scored : Number.NaN;
      extra.push(
        `- CPU time of the service (user + system from /proc, which does not count time spent waiting for a core): ${cpu.toFixed(1)} s over ${wall.toFixed(1)} s of wall time, ${((cpu / wall) * 100).toFixed(0)} % of one core.`,
        `- ${scored} transactions scored: ${perRequest.toFixed(2)} ms of CPU each, so one core saturates near ${Math.round(1000 / perRequest)} tx/s on this request mix.`,
      );
    }
    extra.push(...counters.map((c) => `- \`${c}\``));
    await writeFile(path.join(reportDir, "report.md"), `${await readFile(path.join(reportDir, "report.md"), "utf8")}${extra.join("\n")}\n`);
    process.stdout.write(`${extra.join("\n")}\n`);

    if (values.profile) {
      // tsx's loader thread writes a profile of its own; the service's main thread is the busy one.
      const files = (await readdir(profDir)).filter((f) => f.endsWith(".cpuprofile"));
      const summaries = await Promise.all(files.map(async (f) => ({ f, summary: await summarizeCpuProfile(path.join(profDir, f), { fromUs, toUs }, REPO) })));
      const busiest = summaries.sort((a, b) => b.summary.totalMs - b.summary.idleMs - (a.summary.totalMs - a.summary.idleMs))[0];
      if (!busiest) log("no .cpuprofile was written");
      else {
        const md = profileMarkdown(busiest.summary, "Fraud service CPU profile during the load run");
        await writeFile(path.join(reportDir, "cpu-profile.md"), md);
        process.stdout.write(`\n${md}`);
        log(`profile: ${path.join(profDir, busiest.f)} (open in Chrome DevTools > Performance), summary in ${path.join(reportDir, "cpu-profile.md")}`);
      }
    }
    return code;
  } finally {
    await stack?.stop();
  }
}

process.exitCode = await main();
