import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { ScoreTransactionRequestSchema } from "@mlsd/contracts";
import { createMetrics, createServiceApp, defineRoute, silentLogger, stageTimer } from "@mlsd/service-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCommand } from "./command";
import { HttpClient } from "./http-client";
import { runOpenLoop } from "./open-loop";
import { fraudTarget } from "./targets/fraud";
import { httpSender } from "./targets/target";

/**
 * A stand-in for the fraud service on the real HTTP stack (service-kit's skeleton): the
 * score contract's validation, per-stage timings, every 20th answer degraded.
 */
async function startFakeFraud(): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  const metrics = createMetrics("fakefraud", { defaultMetrics: false });
  let scored = 0;
  const app = createServiceApp({
    logger: silentLogger,
    metrics,
    routes: [
      defineRoute({
        method: "POST",
        path: "/v1/transactions/score",
        summary: "a stand-in scorer",
        body: ScoreTransactionRequestSchema,
        handler: async (ctx) => {
          const timer = stageTimer(metrics, ctx);
          const tx = ctx.body;
          await timer.time("features", () => new Promise((r) => setTimeout(r, 1)));
          const degraded = ++scored % 20 === 0;
          const score = timer.timeSync("model", () => Math.min(1, tx.amount / 1000));
          return { transactionId: tx.transactionId, score, decision: "approve", degraded, timings: timer.snapshot() };
        },
      }),
    ],
  });
  const server: Server = await new Promise((resolve) => {
    const s = createServer(app).listen(0, "127.0.0.1", () => resolve(s));
  });
  let connections = 0;
  server.on("connection", () => connections++);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe("loadgen against an HTTP service", () => {
  let service: Awaited<ReturnType<typeof startFakeFraud>>;
  beforeAll(async () => {
    service = await startFakeFraud();
  });
  afterAll(async () => {
    await service.close();
  });

  it("drives the fraud mix open-loop over keep-alive connections and reads the answers' stages", async () => {
    const client = new HttpClient({ baseUrl: service.url, maxSockets: 200 });
    const before = service.connections();
    try {
      const result = await runOpenLoop({
        ...httpSender(fraudTarget({ world: "small", invalidShare: 0.05, seed: 4 }), client),
        rate: 200,
        durationMs: 1500,
        warmupMs: 500,
        maxInFlight: 200,
      });
      expect(result.endpoint).toBe("fraud");
      expect(result.counts.scheduled).toBe(300);
      expect(result.counts.badStatus + result.counts.timeouts + result.counts.transportErrors + result.counts.dropped).toBe(0);
      expect(result.counts.ok + result.counts.rejected).toBe(300);
      expect(result.counts.rejected).toBeGreaterThan(3);
      expect(result.counts.rejected).toBeLessThan(35);
      expect(result.statusCounts["400"]).toBe(result.counts.rejected);
      // Every 20th scored request (warm-up included) was degraded.
      expect(result.fallbackRate).toBeGreaterThan(0.02);
      expect(result.fallbackRate).toBeLessThan(0.08);
      expect(Object.keys(result.stages)).toEqual(["features", "model", "total", "validate"]);
      expect(result.stages.features!.p50).toBeGreaterThanOrEqual(0.9);
      expect(result.latency.min).toBeGreaterThanOrEqual(result.stages.total!.min);
      // Keep-alive: the sockets opened are the concurrency reached plus the sender thread's reserve
      // of idle ones (50 ms of requests at 200/s: 10), not one per request.
      expect(service.connections() - before).toBeLessThanOrEqual(result.maxInFlightSeen + 10 + 5);
      expect(service.connections() - before).toBeLessThan(100);
    } finally {
      client.close();
    }
  });

  it("counts a target that refuses connections as transport errors, every one", async () => {
    const closed = await startFakeFraud();
    await closed.close();
    const client = new HttpClient({ baseUrl: closed.url });
    try {
      const result = await runOpenLoop({ ...httpSender(fraudTarget({ world: "small" }), client), rate: 100, durationMs: 300 });
      expect(result.counts.transportErrors).toBe(30);
      expect(result.errorRate).toBe(1);
      expect(result.throughput).toBe(0);
    } finally {
      client.close();
    }
  });

  it("runs the CLI end to end: calibration, report files, and a gate that judges only what the instrument can resolve", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "loadgen-cli-"));
    const writeBudget = async (name: string, p99: number, maxFallbackRate = 0.1) => {
      const file = path.join(dir, name);
      await writeFile(file, JSON.stringify({ endpoints: { fraud: { rate: 100, latency: { p99 }, stages: { features: { p99: 1000 } }, maxErrorRate: 0.01, maxFallbackRate } } }));
      return file;
    };
    const loose = await writeBudget("loose.json", 1000);
    const tight = await writeBudget("tight.json", 0.001);
    // Every 20th answer of the fake service is degraded: 5 % fallbacks miss a 1 % budget.
    const missed = await writeBudget("missed.json", 0.001, 0.01);
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
    const args = ["--target", "fraud", "--url", service.url, "--rate", "100", "--duration", "1", "--warmup", "0.2", "--calibrate", "1", "--gate"];

    const reportDir = path.join(dir, "report");
    await expect(runCommand([...args, "--budgets", loose, "--report", reportDir, "--ramp", "50,100", "--step-duration", "0.5", "--step-warmup", "0.1", "--settle", "0.2", "--note", "integration test"], io)).resolves.toBe(0);
    expect(out.join("")).toContain("Budgets: PASS: every budget met");
    const md = await readFile(path.join(reportDir, "report.md"), "utf8");
    expect(md).toContain("- integration test");
    // The instrument's own p99 stands beside the end-to-end budget; a stage budget is the service's clock.
    expect(md).toMatch(/\| fraud \| end to end p99 \| [\d.]+ ms \| <= 1000 ms \| [\d.]+ ms \| PASS \|/);
    expect(md).toMatch(/\| fraud \| stage features p99 \| [\d.]+ ms \| <= 1000 ms \| service clock \| PASS \|/);
    expect(md).toContain("## Instrument: the generator's own error at 100/s");
    expect(md).toMatch(/\| send lag \(actual - scheduled send\) \| 100 \|/);
    expect(md).toContain("Highest offered rate within budget: 100/s.");
    const svg = await readFile(path.join(reportDir, "latency-vs-load-fraud.svg"), "utf8");
    expect(svg).toContain("p99 budget 1000 ms");
    const results = JSON.parse(await readFile(path.join(reportDir, "results.json"), "utf8"));
    expect(results.runs[0].counts.scheduled).toBe(100);
    expect(results.runs[0].sendLag.count).toBe(100);
    expect(results.runs[0].sender).toBe("sender thread");
    expect(results.calibration.run.counts).toMatchObject({ scheduled: 100, ok: 100 });
    expect(results.calibration.builtIn).toBe(true);
    expect(results.placements.map((p: { role: string }) => p.role)).toEqual(["generator (this process, every thread)", "null server (calibration)"]);
    expect(results.ramps[0].steps.map((s: { offeredRate: number }) => s.offeredRate)).toEqual([50, 100]);

    // A budget far inside the instrument's own error is not judged: neither passed nor failed.
    out.length = 0;
    err.length = 0;
    await expect(runCommand([...args, "--budgets", tight], io)).resolves.toBe(3);
    expect(out.join("")).toMatch(/end to end p99 .* NOT JUDGED \(budget below 4 x the instrument's own p99/);
    expect(out.join("")).toContain("Budgets: NOT JUDGED: 1 of 5 checks");
    expect(err.join("")).toContain("gate: not judged: end to end p99");

    // A budget the run missed fails the gate, whatever else could not be judged.
    out.length = 0;
    await expect(runCommand([...args, "--budgets", missed], io)).resolves.toBe(1);
    expect(out.join("")).toMatch(/fallback rate .* FAIL/);

    // Without a calibration no end-to-end latency budget is judged.
    out.length = 0;
    await expect(runCommand([...args.filter((a, i) => a !== "--calibrate" && args[i - 1] !== "--calibrate"), "--calibrate", "0", "--budgets", loose], io)).resolves.toBe(3);
    expect(out.join("")).toContain("not measured");
  });

  it("calibrates against the built-in null server and reports where everything ran", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "loadgen-null-"));
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: () => {} };
    await expect(runCommand(["--target", "null", "--rate", "200", "--duration", "1", "--warmup", "0.2", "--report", dir], io)).resolves.toBe(0);
    const results = JSON.parse(await readFile(path.join(dir, "results.json"), "utf8"));
    expect(results.runs).toEqual([]);
    expect(results.calibration.run.counts).toMatchObject({ scheduled: 200, sent: 200, ok: 200, dropped: 0 });
    expect(results.calibration.run.sendLag.min).toBeGreaterThanOrEqual(0);
    expect(results.placements[1]).toMatchObject({ role: "null server (calibration)", pinned: false });
    expect(out.join("")).toContain("Instrument: the generator's own error at 200/s");
    expect(out.join("")).not.toContain("Budgets:");
  });
});
