/**
 * What the floor benches share (bench/fraud-floor-bench.ts here, services/recommender/bench/recs-floor-bench.ts): starting
 * and stopping server processes by pid, CPU from /proc, one generator run, medians, the profile
 * summary of the busiest thread, and the report's tables of a service measured beside its floor.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runCommand } from "../src/command";
import { profileMarkdown, summarizeCpuProfile, type ProfileSummary } from "../src/cpu-profile";
import type { RunResult } from "../src/open-loop";
import { formatMs } from "../src/report";

export const REPO = fileURLToPath(new URL("../../../", import.meta.url));
/** util-linux's setpriv, as the testkit uses it for its servers. */
const SETPRIV = "/usr/bin/setpriv";

export function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "inherit", "inherit"] });
    child.once("error", reject);
    child.once("exit", (code, signal) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited with ${code ?? signal}`))));
  });
}

export async function waitReady(url: string, child: ChildProcess, timeoutMs: number, name = "the fraud service"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} before it was ready`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${name} was not ready within ${timeoutMs} ms`);
}

export async function stopChild(child: ChildProcess, name: string, log: (line: string) => void, graceMs = 20_000): Promise<void> {
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

/** Starts `node <nodeArgs>` tied to this process's life (setpriv) and waits for its /readyz. */
export async function spawnReady(o: { cwd: string; nodeArgs: string[]; env: NodeJS.ProcessEnv; url: string; name: string; log: (line: string) => void }): Promise<ChildProcess> {
  const [command, args] = existsSync(SETPRIV) ? [SETPRIV, ["--pdeathsig", "TERM", "--", process.execPath, ...o.nodeArgs]] : [process.execPath, o.nodeArgs];
  const child = spawn(command, args, { cwd: o.cwd, env: o.env, stdio: ["ignore", "inherit", "inherit"] });
  try {
    await waitReady(o.url, child, 90_000, o.name);
  } catch (error) {
    await stopChild(child, o.name, o.log);
    throw error;
  }
  return child;
}

/** A server process of the bench's: its URL and pid, and how to stop it. */
export interface BenchServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

/** User + system CPU seconds of a process so far (Linux /proc; clock ticks are 100/s there). */
export async function cpuSeconds(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** The service's own counters matching `pattern` (its /metrics lines). */
export async function metricLines(url: string, pattern: RegExp): Promise<string[]> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    return text.split("\n").filter((l) => pattern.test(l));
  } catch {
    return [];
  }
}

/** Sum of the values of metric lines. */
export function sumLines(lines: readonly string[]): number {
  return lines.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** One run of the load generator (its CLI's arguments, in this process); its result from `reportDir`. */
export async function generatorRun(args: readonly string[], reportDir: string): Promise<RunResult> {
  let text = "";
  const code = await runCommand([...args, "--report", reportDir], { out: (t) => (text += t), err: (t) => process.stderr.write(t) });
  if (code !== 0) throw new Error(`the load generator exited with ${code}: ${text}`);
  const results = JSON.parse(await readFile(path.join(reportDir, "results.json"), "utf8")) as { runs: RunResult[] };
  const run = results.runs[0];
  if (!run) throw new Error(`no run in ${reportDir}/results.json`);
  return run;
}

/** The instrument's own error at `rate`: the generator against its null server, once; null if that run failed. */
export async function instrumentError(rate: number, seconds: number, reportDir: string): Promise<RunResult | null> {
  const code = await runCommand(["--target", "null", "--rate", String(rate), "--duration", String(seconds), "--warmup", "1", "--report", reportDir], { out: () => undefined, err: (t) => process.stderr.write(t) });
  if (code !== 0) return null;
  return (JSON.parse(await readFile(path.join(reportDir, "results.json"), "utf8")) as { calibration: { run: RunResult } | null }).calibration?.run ?? null;
}

/** Node flags that write a CPU profile into `dir` (emptied first) when the process exits. */
export async function cpuProfileFlags(dir: string): Promise<string[]> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return ["--cpu-prof", "--cpu-prof-dir", dir, "--cpu-prof-interval", "250"];
}

/** The summary of the busiest thread's profile in `dir` over the load window (tsx's loader thread writes one of its own). */
export async function busiestProfile(dir: string, window: { fromUs: number; toUs: number }, top = 15): Promise<ProfileSummary | null> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".cpuprofile"));
  const summaries = await Promise.all(files.map((f) => summarizeCpuProfile(path.join(dir, f), window, REPO, top)));
  return summaries.sort((a, b) => b.totalMs - b.idleMs - (a.totalMs - a.idleMs))[0] ?? null;
}

/** A profile's own time (by area, by function) as a report section, one heading level down. */
export function profileSection(profile: ProfileSummary, title: string): string {
  return (profileMarkdown(profile, title).split("## Inclusive time")[0] ?? "").replace(/^#/gm, "##").trimEnd();
}

/** One server's run at one rate, in one pair. */
export interface Measured<Who extends string = string> {
  who: Who;
  pair: number;
  rate: number;
  loadAverage: number;
  cpuMsPerRequest: number;
  /** Requests the server answered during the run (warm-up, late and abandoned ones included). */
  served: number;
  run: RunResult;
}

const pct = (x: number) => `${(x * 100).toFixed(2)} %`;

/**
 * The medians over the pairs, each server's columns beside the floor's with the ratios, and the
 * verdict against issue 15's goal (CPU and p99 within 1.3x the floor's). A rate where some run lost
 * more than 1 % of its requests measured the machine's queue, not the servers: not judged.
 */
export function mediansSection<Who extends string>(measured: readonly Measured<Who>[], rates: readonly number[], servers: readonly Who[], floor: Who, fallbackLabel: string): { lines: string[]; verdicts: string[] } {
  const others = servers.filter((w) => w !== floor);
  const header = ["rate", ...servers.map((w) => `CPU ms/request ${w}`), ...others.map((w) => `CPU ${w}/${floor}`), ...servers.map((w) => `p50 ms ${w}`), ...servers.map((w) => `p99 ms ${w}`), ...others.map((w) => `p99 ${w}/${floor}`), ...servers.map((w) => `${fallbackLabel} ${w}`), ...servers.map((w) => `errors ${w}`)];
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => "---:").join("|")}|`];
  const verdicts: string[] = [];
  for (const rate of rates) {
    const med = (who: Who, pick: (m: Measured<Who>) => number) => median(measured.filter((m) => m.rate === rate && m.who === who).map(pick));
    const cpu = (w: Who) => med(w, (m) => m.cpuMsPerRequest);
    const p99 = (w: Who) => med(w, (m) => m.run.latency.p99 ?? Number.NaN);
    const errors = Math.max(...measured.filter((m) => m.rate === rate).map((m) => m.run.errorRate));
    lines.push(
      `| ${[rate, ...servers.map((w) => cpu(w).toFixed(3)), ...others.map((w) => `**${(cpu(w) / cpu(floor)).toFixed(2)}x**`), ...servers.map((w) => formatMs(med(w, (m) => m.run.latency.p50 ?? Number.NaN))), ...servers.map((w) => formatMs(p99(w))), ...others.map((w) => `**${(p99(w) / p99(floor)).toFixed(2)}x**`), ...servers.map((w) => pct(med(w, (m) => m.run.fallbackRate))), ...servers.map((w) => pct(med(w, (m) => m.run.errorRate)))].join(" | ")} |`,
    );
    for (const w of others) {
      const c = cpu(w) / cpu(floor);
      const p = p99(w) / p99(floor);
      verdicts.push(errors > 0.01 ? `${w} at ${rate}/s: not judged (a run there lost ${(errors * 100).toFixed(1)} % of its requests to timeouts or drops)` : `${w} at ${rate}/s: CPU ${c.toFixed(2)}x (${c <= 1.3 ? "met" : "not met"}), p99 ${p.toFixed(2)}x (${p <= 1.3 ? "met" : "not met"})`);
    }
  }
  return { lines, verdicts };
}

/** Every run, in the order run. */
export function everyRunSection(measured: readonly Measured[], fallbackLabel: string, servedLabel: string): string[] {
  const lines = [`| pair | server | rate | load avg | CPU ms/request | ${servedLabel} | p50 ms | p99 ms | ${fallbackLabel} | errors |`, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"];
  for (const m of measured) {
    lines.push(`| ${m.pair + 1} | ${m.who} | ${m.rate} | ${m.loadAverage.toFixed(2)} | ${m.cpuMsPerRequest.toFixed(3)} | ${m.served} | ${formatMs(m.run.latency.p50)} | ${formatMs(m.run.latency.p99)} | ${pct(m.run.fallbackRate)} | ${pct(m.run.errorRate)} |`);
  }
  return lines;
}

/** The options both floor benches take; `defaults` are each bench's own. */
export function floorBenchOptions(defaults: { rates: string; duration: string; warmup: string; profileRate: string; work: string }) {
  return {
    rates: { type: "string", default: defaults.rates },
    pairs: { type: "string", default: "3" },
    duration: { type: "string", default: defaults.duration },
    warmup: { type: "string", default: defaults.warmup },
    calibrate: { type: "string", default: "5" },
    "profile-rate": { type: "string", default: defaults.profileRate },
    "no-profile": { type: "boolean", default: false },
    "skip-train": { type: "boolean", default: false },
    work: { type: "string", default: defaults.work },
    out: { type: "string" },
  } as const;
}

/** The numbers of those options, checked. */
export function floorBenchSettings(values: { rates: string; pairs: string; duration: string; warmup: string; "profile-rate": string }) {
  const settings = { rates: values.rates.split(",").map(Number), pairs: Number(values.pairs), durationS: Number(values.duration), warmupS: Number(values.warmup), profileRate: Number(values["profile-rate"]) };
  const { rates, pairs, durationS, warmupS, profileRate } = settings;
  if (rates.some((r) => !(r > 0)) || !(Number.isInteger(pairs) && pairs > 0) || !(durationS > 0) || !(warmupS >= 0) || !(profileRate > 0)) {
    throw new Error("--rates, --pairs, --duration, --warmup and --profile-rate must be positive numbers");
  }
  return settings;
}

/** The instrument's error as the report states it. */
export function instrumentLine(calibration: RunResult): string {
  return `Instrument error (the generator against its null server at ${calibration.offeredRate}/s, same run): p50 ${formatMs(calibration.latency.p50)} ms, p99 ${formatMs(calibration.latency.p99)} ms.`;
}

/** The report on stdout, and into `out` when given. */
export async function writeReport(lines: readonly string[], out: string | undefined, log: (line: string) => void): Promise<void> {
  const text = `${lines.join("\n").trimEnd()}\n`;
  process.stdout.write(text);
  if (!out) return;
  await mkdir(path.dirname(path.resolve(out)), { recursive: true });
  await writeFile(path.resolve(out), text);
  log(`report: ${path.resolve(out)}`);
}
