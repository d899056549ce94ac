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
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startKafka, startRedis, type KafkaHandle, type RedisHandle } from "@mlsd/testkit";
import { runCommand } from "../src/command";
import { profileMarkdown, summarizeCpuProfile } from "../src/cpu-profile";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
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

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "inherit", "inherit"] });
    child.once("error", reject);
    child.once("exit", (code, signal) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited with ${code ?? signal}`))));
  });
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the fraud service exited with ${child.exitCode} before it was ready`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the fraud service was not ready within ${timeoutMs} ms`);
}

async function stop(child: ChildProcess, name: string, graceMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  log(`stopping ${name} (pid ${child.pid})`);
  process.kill(child.pid, "SIGTERM");
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, "SIGKILL");
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

/** User + system CPU seconds of a process so far (Linux /proc; clock ticks are 100/s there). */
async function cpuSeconds(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** The service's own decision and degradation counters, to say which path the requests took. */
async function decisionCounters(url: string): Promise<string[]> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    return text.split("\n").filter((l) => /^fraud_(decisions|degraded)_total\{/.test(l));
  } catch {
    return [];
  }
}

async function main(): Promise<number> {
  await mkdir(work, { recursive: true });
  let redis: RedisHandle | undefined;
  let kafka: KafkaHandle | undefined;
  let service: ChildProcess | undefined;
  try {
    [redis, kafka] = await Promise.all([startRedis(), startKafka()]);
    log(`Redis ${redis.url} (${redis.source}), Kafka ${kafka.brokers.join(",")} (${kafka.source})`);
    const registry = path.join(work, "registry");
    if (!values["skip-train"] || !existsSync(registry)) {
      log("training the small fraud model and warming Redis (jobs/trainer)");
      await run(process.execPath, ["--import", "tsx", "src/cli.ts", "fraud", "--preset", "small", "--registry", registry, "--reports", path.join(work, "trainer-reports"), "--redis", redis.url], {
        cwd: path.join(REPO, "jobs/trainer"),
        env: process.env,
      });
    }

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const profDir = path.join(work, "cpu-profile");
    if (values.profile) {
      await rm(profDir, { recursive: true, force: true });
      await mkdir(profDir, { recursive: true });
    }
    // node itself (not npx) so the pid we signal is the service's, and --cpu-prof profiles it.
    const nodeArgs = [...(values.profile ? ["--cpu-prof", "--cpu-prof-dir", profDir, "--cpu-prof-interval", "250"] : []), "--import", "tsx", "src/main.ts"];
    const env = {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      MODEL_REGISTRY_DIR: registry,
      REDIS_URL: redis.url,
      KAFKA_BROKERS: kafka.brokers.join(","),
      EVENT_JOURNAL_DIR: path.join(work, "journal"),
      LOG_LEVEL: "warn",
    };
    log(`starting the fraud service on ${url}: node ${nodeArgs.join(" ")}`);
    service = spawn(process.execPath, nodeArgs, { cwd: path.join(REPO, "services/fraud"), env, stdio: ["ignore", "inherit", "inherit"] });
    await waitReady(url, service, 90_000);
    log("service ready");

    const reportDir = path.join(work, "report");
    const args = ["--target", "fraud", "--url", url, "--rate", values.rate, "--duration", values.duration, "--warmup", values.warmup, "--arrivals", values.arrivals, "--report", reportDir];
    if (values.ramp) args.push("--ramp", values.ramp, "--step-duration", values["step-duration"], "--settle", values.settle);
    if (values.gate) args.push("--gate");
    args.push("--calibrate", values.calibrate);
    if (values.pin) args.push("--pin", values.pin, "--target-pid", String(service.pid));
    args.push(
      "--note",
      `target: services/fraud (node --import tsx src/main.ts${values.profile ? ", under --cpu-prof" : ""}), small-preset model, Redis ${redis.source}, Kafka ${kafka.source}, all on this machine`,
      "--note",
      "the machine is shared with other engineers' builds and tests: numbers are noisy, compare runs of the same hour",
    );
    const fromUs = monotonicUs();
    const cpuBefore = await cpuSeconds(service.pid as number);
    const code = await runCommand(args, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) });
    const cpuAfter = await cpuSeconds(service.pid as number);
    const toUs = monotonicUs();
    const counters = await decisionCounters(url);
    await stop(service, "the fraud service");

    // Every request the service scored (warm-up, late and timed-out ones included) shows in its counter.
    const scored = counters.filter((c) => c.startsWith("fraud_decisions_total")).reduce((n, c) => n + Number(c.slice(c.lastIndexOf(" ") + 1)), 0);
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
    if (service) await stop(service, "the fraud service");
    await Promise.allSettled([redis?.stop(), kafka?.stop()]);
  }
}

process.exitCode = await main();
