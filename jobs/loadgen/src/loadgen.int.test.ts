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
      // Keep-alive: the sockets opened are the concurrency reached, not one per request.
      expect(service.connections() - before).toBeLessThanOrEqual(result.maxInFlightSeen + 5);
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

  it("runs the CLI end to end: report files, and a gate that fails only when the budget is missed", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "loadgen-cli-"));
    const writeBudget = async (name: string, p99: number) => {
      const file = path.join(dir, name);
      await writeFile(file, JSON.stringify({ endpoints: { fraud: { rate: 100, latency: { p99 }, stages: { features: { p99: 1000 } }, maxErrorRate: 0.01, maxFallbackRate: 0.1 } } }));
      return file;
    };
    const loose = await writeBudget("loose.json", 1000);
    const strict = await writeBudget("strict.json", 0.001);
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: () => {} };
    const args = ["--target", "fraud", "--url", service.url, "--rate", "100", "--duration", "1", "--warmup", "0.2", "--gate"];

    const reportDir = path.join(dir, "report");
    await expect(runCommand([...args, "--budgets", loose, "--report", reportDir, "--ramp", "50,100", "--step-duration", "0.5", "--step-warmup", "0.1", "--settle", "0.2", "--note", "integration test"], io)).resolves.toBe(0);
    expect(out.join("")).toContain("Budgets: PASS: every budget met");
    const md = await readFile(path.join(reportDir, "report.md"), "utf8");
    expect(md).toContain("- integration test");
    expect(md).toMatch(/\| fraud \| end to end p99 \| [\d.]+ ms \| <= 1000 ms \| PASS \|/);
    expect(md).toContain("Highest offered rate within budget: 100/s.");
    const svg = await readFile(path.join(reportDir, "latency-vs-load-fraud.svg"), "utf8");
    expect(svg).toContain("p99 budget 1000 ms");
    const results = JSON.parse(await readFile(path.join(reportDir, "results.json"), "utf8"));
    expect(results.runs[0].counts.scheduled).toBe(100);
    expect(results.ramps[0].steps.map((s: { offeredRate: number }) => s.offeredRate)).toEqual([50, 100]);

    out.length = 0;
    await expect(runCommand([...args, "--budgets", strict], io)).resolves.toBe(1);
    expect(out.join("")).toMatch(/end to end p99 .* FAIL/);
  });
});
