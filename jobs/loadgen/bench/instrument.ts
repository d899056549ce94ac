/**
 * The instrument against a peer: this generator and vegeta (Go, open loop) against the same null
 * server (node:http answering at once, its own process), at several rates, side by side in one run,
 * several rounds in alternating order; medians of the rounds. Also the generator as it was before
 * (extracted from git at BEFORE_REF: Node's millisecond timers and `node:http`), and this one with
 * the coarse timer, so each change shows on its own. Prints latency distributions, send lag, CPU
 * per request and the ratios the goals are stated in, and writes them to --out.
 *
 *   flock /tmp/mlsd-bench.lock npx tsx bench/instrument.ts [--rates 1000,5000] [--duration 10]
 *     [--warmup 2] [--rounds 3] [--pin none|auto|G:T] [--out ../../.cache/loadgen-bench/instrument]
 *
 * vegeta is installed on first use with `go install` into .cache/loadgen-bench/bin (git-ignored).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { allowedCpus, planPinning, type PinPlan } from "../src/affinity";
import { CALIBRATION_BODY } from "../src/calibrate";
import { LatencyRecorder, type LatencySummary } from "../src/latency";
import { startNullServer, type NullServer } from "../src/null-server";
import { formatMs } from "../src/report";

const VEGETA_MODULE = "github.com/tsenart/vegeta/v12@v12.13.0";
/** The commit this work started from: the generator as the issue measured it. */
const BEFORE_REF = "f872f67";
const PACKAGE = fileURLToPath(new URL("../", import.meta.url));
const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const CACHE = path.join(REPO, ".cache/loadgen-bench");

const { values } = parseArgs({
  options: {
    rates: { type: "string", default: "1000,5000" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    rounds: { type: "string", default: "3" },
    pin: { type: "string", default: "none" },
    out: { type: "string", default: path.join(CACHE, "instrument") },
  },
});
const rates = values.rates.split(",").map(Number);
const durationS = Number(values.duration);
const warmupS = Number(values.warmup);
const rounds = Number(values.rounds);
if (rates.some((r) => !(r > 0)) || !(durationS > 0) || !(warmupS >= 0) || !(Number.isInteger(rounds) && rounds > 0)) {
  throw new Error("--rates, --duration, --warmup and --rounds must be positive numbers");
}
const log = (line: string) => process.stderr.write(`[instrument] ${line}\n`);

type Tool = "ours (precise)" | "ours (coarse timer)" | "before (f872f67)" | "vegeta";
const TOOLS: Tool[] = ["ours (precise)", "ours (coarse timer)", "before (f872f67)", "vegeta"];

interface Measurement {
  tool: Tool;
  rate: number;
  round: number;
  /** As the tool reports it: ours from the scheduled send, vegeta from its actual send. */
  latency: LatencySummary;
  /** From the scheduled send for every tool (vegeta: its latency plus its send lag, request by request). */
  fromSchedule: LatencySummary;
  /** From the actual send (what vegeta reports; the generator before did not record it). */
  latencyFromSend: LatencySummary | null;
  /** Actual minus scheduled send (vegeta: against its first send plus i / rate). */
  sendLag: LatencySummary;
  ok: number;
  measured: number;
  cpuMsPerRequest: number;
  serverCpuMsPerRequest: number;
}

function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<{ stdout: string; code: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? PACKAGE, env: options.env ?? process.env, stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ stdout, code: code ?? 1 }));
  });
}

async function ensureVegeta(): Promise<string> {
  const bin = path.join(CACHE, "bin");
  const vegeta = path.join(bin, "vegeta");
  if (existsSync(vegeta)) return vegeta;
  log(`installing vegeta: go install ${VEGETA_MODULE} (GOBIN=${bin})`);
  await mkdir(bin, { recursive: true });
  const { code } = await run("go", ["install", VEGETA_MODULE], { env: { ...process.env, GOBIN: bin } });
  if (code !== 0 || !existsSync(vegeta)) throw new Error(`go install ${VEGETA_MODULE} failed (exit ${code}); Go 1.22 or later is needed`);
  return vegeta;
}

/** The generator at BEFORE_REF, extracted from git (no checkout); modules resolve from this repo. */
async function extractBefore(): Promise<string> {
  const dir = path.join(CACHE, `before-${BEFORE_REF}`);
  if (existsSync(path.join(dir, "jobs/loadgen/src/open-loop.ts"))) return dir;
  await mkdir(dir, { recursive: true });
  const archive = spawnSync("git", ["archive", BEFORE_REF, "jobs/loadgen/src"], { cwd: REPO, maxBuffer: 64 << 20 });
  if (archive.status !== 0) throw new Error(`git archive ${BEFORE_REF} failed: ${archive.stderr.toString()}`);
  const untar = spawnSync("tar", ["-x", "-C", dir], { input: archive.stdout });
  if (untar.status !== 0) throw new Error(`tar failed: ${untar.stderr.toString()}`);
  return dir;
}

/** Share of time some task waited for a CPU over the last minute (Linux PSI), or null. */
async function cpuPressure(): Promise<number | null> {
  try {
    const m = /^some avg10=[\d.]+ avg60=([\d.]+)/m.exec(await readFile("/proc/pressure/cpu", "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** User + system CPU ms of a process so far (/proc; 100 ticks per second). */
async function processCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const pinned = (plan: PinPlan | null, command: string[]): string[] => (plan ? ["taskset", "-c", plan.generator, ...command] : command);
const sent = (rate: number) => Math.floor(rate * (durationS + warmupS) + 1e-9);

async function runOurs(timer: "precise" | "coarse", url: string, rate: number, plan: PinPlan | null, scratch: string) {
  const reportDir = path.join(scratch, `ours-${timer}-${rate}`);
  const cli = [process.execPath, "--import", "tsx", "src/cli.ts", "--target", "null", "--url", url, "--rate", String(rate), "--duration", String(durationS), "--warmup", String(warmupS), "--timer", timer, "--report", reportDir];
  const [command, ...args] = pinned(plan, cli);
  const { code } = await run(command as string, args);
  if (code !== 0) throw new Error(`loadgen --target null exited with ${code}`);
  const results = JSON.parse(await readFile(path.join(reportDir, "results.json"), "utf8"));
  const r = results.calibration.run;
  return {
    latency: r.latency as LatencySummary,
    fromSchedule: r.latency as LatencySummary,
    latencyFromSend: r.latencyFromSend as LatencySummary,
    sendLag: r.sendLag as LatencySummary,
    ok: r.counts.ok as number,
    measured: r.counts.scheduled as number,
    cpuMsPerRequest: r.generatorCpuMs / r.sentTotal,
  };
}

async function runBefore(dir: string, url: string, rate: number, plan: PinPlan | null) {
  const [command, ...args] = pinned(plan, [process.execPath, "--import", "tsx", "bench/drive-before.ts", dir, url, String(rate), String(durationS), String(warmupS)]);
  const { stdout, code } = await run(command as string, args);
  if (code !== 0) throw new Error(`drive-before exited with ${code}`);
  const r = JSON.parse(stdout.trim().split("\n").pop() as string);
  return { latency: r.latency as LatencySummary, fromSchedule: r.latency as LatencySummary, latencyFromSend: null, sendLag: r.sendLag as LatencySummary, ok: r.counts.ok as number, measured: r.counts.scheduled as number, cpuMsPerRequest: r.cpuMs / r.sentTotal };
}

/** Seconds from the shell's `times` (children's user and system time, its second line). */
function childCpuMs(times: string): number {
  const line = times.trim().split("\n").pop() ?? "";
  const parts = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (parts.length !== 2) throw new Error(`cannot read the shell's times: "${times}"`);
  return ((parts[0] as number) + (parts[1] as number)) * 1000;
}

/** "2024-01-02T03:04:05.123456789Z" to ns since the epoch, keeping the nanoseconds Date drops. */
function rfc3339Ns(ts: string): bigint {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(ts);
  if (!m) throw new Error(`not an RFC 3339 time: ${ts}`);
  const seconds = BigInt(Date.parse(`${m[1]}${m[3]}`)) * 1_000_000n;
  return seconds + BigInt(((m[2] ?? "") + "000000000").slice(0, 9));
}

async function runVegeta(vegeta: string, url: string, rate: number, plan: PinPlan | null, scratch: string) {
  const dir = path.join(scratch, `vegeta-${rate}`);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "body.json"), CALIBRATION_BODY);
  await writeFile(path.join(dir, "targets.txt"), `POST ${url}/\nContent-Type: application/json\n@${path.join(dir, "body.json")}\n`);
  const out = path.join(dir, "results.bin");
  const attack = pinned(plan, [vegeta, "attack", `-rate=${rate}/1s`, `-duration=${durationS + warmupS}s`, "-timeout=2s", `-targets=${path.join(dir, "targets.txt")}`, `-output=${out}`]);
  // The shell's `times` gives the attack's CPU (user + system) once it has exited.
  const quoted = attack.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const { stdout, code } = await run("sh", ["-c", `${quoted} && times`]);
  if (code !== 0) throw new Error(`vegeta attack exited with ${code}`);
  const cpuMs = childCpuMs(stdout);
  const encoded = await run(vegeta, ["encode", "-to", "json", out]);
  const hits = encoded.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as { seq: number; code: number; timestamp: string; latency: number })
    .sort((a, b) => a.seq - b.seq);
  const first = hits.find((h) => h.seq === 0);
  if (!first) throw new Error("vegeta recorded no hit 0");
  const t0 = rfc3339Ns(first.timestamp);
  const latency = new LatencyRecorder();
  const fromSchedule = new LatencyRecorder();
  const lag = new LatencyRecorder();
  let ok = 0;
  let measured = 0;
  for (const h of hits) {
    const began = rfc3339Ns(h.timestamp);
    const due = t0 + BigInt(Math.round((h.seq * 1e9) / rate));
    if (Number(due - t0) / 1e9 < warmupS) continue;
    measured++;
    const lagMs = Number(began - due) / 1e6;
    lag.record(lagMs);
    if (h.code >= 200 && h.code < 300) {
      ok++;
      latency.record(h.latency / 1e6);
      fromSchedule.record(h.latency / 1e6 + Math.max(0, lagMs));
    }
  }
  const summary = latency.summary();
  return { latency: summary, fromSchedule: fromSchedule.summary(), latencyFromSend: summary, sendLag: lag.summary(), ok, measured, cpuMsPerRequest: cpuMs / hits.length };
}

function median(xs: number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function main(): Promise<void> {
  const vegeta = await ensureVegeta();
  const before = await extractBefore();
  const plan = values.pin === "none" ? null : planPinning(values.pin, allowedCpus());
  const scratch = await mkdtemp(path.join(os.tmpdir(), "loadgen-instrument-"));
  const measurements: Measurement[] = [];
  const [l1, l5, l15] = os.loadavg().map((l) => l.toFixed(2));
  const pressureBefore = await cpuPressure();
  log(`${os.cpus().length} CPUs, load average ${l1} / ${l5} / ${l15}; ${plan ? `generators on CPU ${plan.generator}, null server on CPU ${plan.target}` : "not pinned"}`);
  try {
    for (const rate of rates) {
      for (let round = 0; round < rounds; round++) {
        // Alternating order: no tool always runs first (cold) or last (after the others heated the machine).
        const order = round % 2 === 0 ? TOOLS : [...TOOLS].reverse();
        const server: NullServer = await startNullServer(plan ? { cpus: plan.target } : {});
        try {
          for (const tool of order) {
            log(`${rate}/s round ${round + 1}/${rounds}: ${tool}`);
            const serverBefore = await processCpuMs(server.pid);
            const m =
              tool === "vegeta"
                ? await runVegeta(vegeta, server.url, rate, plan, scratch)
                : tool === "before (f872f67)"
                  ? await runBefore(before, server.url, rate, plan)
                  : await runOurs(tool === "ours (precise)" ? "precise" : "coarse", server.url, rate, plan, scratch);
            const serverCpuMsPerRequest = ((await processCpuMs(server.pid)) - serverBefore) / sent(rate);
            measurements.push({ tool, rate, round, ...m, serverCpuMsPerRequest });
            log(`  p50 ${formatMs(m.latency.p50)}  p99 ${formatMs(m.latency.p99)}  p99.9 ${formatMs(m.latency.p999)} ms; send lag p99 ${formatMs(m.sendLag.p99)} ms; CPU ${formatMs(m.cpuMsPerRequest)} ms/req`);
          }
        } finally {
          await server.stop();
        }
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }

  const pressureAfter = await cpuPressure();
  const rows: string[] = [];
  const goals: string[] = [];
  const cell = (xs: Measurement[], pick: (m: Measurement) => number) => formatMs(median(xs.map(pick)));
  rows.push(
    "| rate/s | tool | latency as reported p50 | p90 | p99 | p99.9 | max | from the schedule p99 | from actual send p50 | p99 | send lag p50 | p99 | p99.9 | CPU ms/req | null server CPU ms/req | OK / measured |",
    "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const rate of rates) {
    const of = (tool: Tool) => measurements.filter((m) => m.rate === rate && m.tool === tool);
    for (const tool of TOOLS) {
      const ms = of(tool);
      const okShare = `${ms.reduce((n, m) => n + m.ok, 0)} / ${ms.reduce((n, m) => n + m.measured, 0)}`;
      rows.push(
        `| ${rate} | ${tool} | ${cell(ms, (m) => m.latency.p50)} | ${cell(ms, (m) => m.latency.p90)} | ${cell(ms, (m) => m.latency.p99)} | ${cell(ms, (m) => m.latency.p999)} | ${cell(ms, (m) => m.latency.max)} | ${cell(ms, (m) => m.fromSchedule.p99)} | ${cell(ms, (m) => m.latencyFromSend?.p50 ?? Number.NaN)} | ${cell(ms, (m) => m.latencyFromSend?.p99 ?? Number.NaN)} | ${cell(ms, (m) => m.sendLag.p50)} | ${cell(ms, (m) => m.sendLag.p99)} | ${cell(ms, (m) => m.sendLag.p999)} | ${cell(ms, (m) => m.cpuMsPerRequest)} | ${cell(ms, (m) => m.serverCpuMsPerRequest)} | ${okShare} |`,
      );
    }
    // Ratios per round (tools side by side in the same minute), then the median of the rounds.
    const ratio = (a: Tool, b: Tool, pick: (m: Measurement) => number) =>
      median(of(a).map((m) => { const peer = of(b).find((p) => p.round === m.round); return peer ? pick(m) / pick(peer) : Number.NaN; }));
    const p99Ratio = ratio("ours (precise)", "vegeta", (m) => m.latency.p99);
    const p99Same = ratio("ours (precise)", "vegeta", (m) => m.fromSchedule.p99);
    const p99Send = ratio("ours (precise)", "vegeta", (m) => m.latencyFromSend?.p99 ?? Number.NaN);
    const cpuRatio = ratio("ours (precise)", "vegeta", (m) => m.cpuMsPerRequest);
    const cpuBefore = ratio("ours (precise)", "before (f872f67)", (m) => m.cpuMsPerRequest);
    const p99Before = ratio("before (f872f67)", "vegeta", (m) => m.latency.p99);
    const lag = median(of("ours (precise)").map((m) => m.sendLag.p99));
    goals.push(
      `- ${rate}/s: our p99 (from the scheduled send) / vegeta's p99 (from its own send) = **${p99Ratio.toFixed(2)}** (goal <= 1.5; before: ${p99Before.toFixed(2)}); both from the schedule ${p99Same.toFixed(2)}, both from the actual send ${p99Send.toFixed(2)}; our send lag p99 ${formatMs(lag)} ms${rate === 1000 ? " (goal < 0.5 ms)" : ""}; CPU per request ours / vegeta = ${cpuRatio.toFixed(2)}, ours / before = ${cpuBefore.toFixed(2)} (goal <= 1).`,
    );
  }
  const header = [
    `Null server: node:http answering at once, its own process; ${plan ? `generators pinned to CPU ${plan.generator}, null server to CPU ${plan.target} (taskset)` : "not pinned"}; ${durationS} s measured after ${warmupS} s of warm-up; medians of ${rounds} rounds in alternating order; ${os.cpus().length} CPUs, load average ${l1} / ${l5} / ${l15} at start; CPU pressure (share of time some task waited for a CPU, last minute) ${pressureBefore ?? "n/a"} % at start, ${pressureAfter ?? "n/a"} % at the end.`,
    "Ours and before time latency from each request's scheduled send; vegeta from its actual send (its send lag is against its first send plus i / rate). CPU: ours and before from process.cpuUsage over the run (every thread), vegeta from the shell's `times` over its whole process.",
  ];
  const text = [...header, "", ...rows, "", ...goals].join("\n");
  process.stdout.write(`\n${text}\n`);
  await mkdir(values.out, { recursive: true });
  await writeFile(path.join(values.out, "instrument.md"), `${text}\n`);
  await writeFile(path.join(values.out, "instrument.json"), `${JSON.stringify({ plan, durationS, warmupS, rounds, measurements }, null, 2)}\n`);
  log(`written: ${path.join(values.out, "instrument.md")}, instrument.json`);
}

await main();
