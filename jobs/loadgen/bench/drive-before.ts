/**
 * Runs the load generator as it was before the precise ticker and the lean client (its source
 * extracted by bench/instrument.ts from git into DIR) against a URL, and prints one JSON line:
 * latency, send lag, CPU. Only bench/instrument.ts calls it.
 *
 *   npx tsx bench/drive-before.ts DIR URL RATE DURATION_S WARMUP_S
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { CALIBRATION_BODY } from "../src/calibrate";
import type * as HttpClientModule from "../src/http-client";
import type * as OpenLoopModule from "../src/open-loop";

const [dir, url, rate, duration, warmup] = process.argv.slice(2);
if (!dir || !url || !rate || !duration || !warmup) throw new Error("usage: drive-before.ts DIR URL RATE DURATION_S WARMUP_S");
const src = path.join(dir, "jobs/loadgen/src");
const { runOpenLoop } = (await import(pathToFileURL(path.join(src, "open-loop.ts")).href)) as typeof OpenLoopModule;
const { HttpClient } = (await import(pathToFileURL(path.join(src, "http-client.ts")).href)) as typeof HttpClientModule;

const client = new HttpClient({ baseUrl: url, maxSockets: 1000 });
const before = process.cpuUsage();
const result = await runOpenLoop({
  rate: Number(rate),
  durationMs: Number(duration) * 1000,
  warmupMs: Number(warmup) * 1000,
  endpoint: "null server",
  send: async ({ signal }) => ({ status: (await client.postJson("/", CALIBRATION_BODY, signal)).status }),
});
const cpu = process.cpuUsage(before);
client.close();
const sent = Math.floor(Number(rate) * (Number(duration) + Number(warmup)) + 1e-9);
process.stdout.write(`${JSON.stringify({ latency: result.latency, sendLag: result.sendLag, counts: result.counts, cpuMs: (cpu.user + cpu.system) / 1000, sentTotal: sent })}\n`);
