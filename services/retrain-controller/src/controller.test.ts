import { createServer } from "node:http";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { MemoryEventPublisher } from "@mlsd/events";
import { fraudFeatureSchemaHash } from "@mlsd/feature-store";
import { openModelRegistry } from "@mlsd/model-formats/compatibility";
import { ModelRegistry, type AliasMove } from "@mlsd/model-registry";
import { ManualClock, silentLogger } from "@mlsd/service-kit";
import { describe, expect, it } from "vitest";
import { RetrainController, type CandidatePolicy, type Design, type PromotionOutcome, type TrainingResult, type TrainingRunner } from "./controller";
import { parseReloadUrls, PromoteIfBetter } from "./policy";

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 4, 1);

/** A training job that answers at once with the costs it is given, or fails; counts its runs. */
class FakeRunner implements TrainingRunner {
  runs: { design: Design; asOfMs: number }[] = [];
  next: { candidate: number; baseline: number | null } | Error = { candidate: 90, baseline: 100 };
  gate: Promise<void> = Promise.resolve();

  async train(design: Design, asOfMs: number): Promise<TrainingResult> {
    this.runs.push({ design, asOfMs });
    await this.gate;
    const n = this.next;
    if (n instanceof Error) throw n;
    const version = `v${this.runs.length}`;
    const key = design === "fraud" ? "cost" : "ndcgClicks";
    return {
      model: design === "fraud" ? "fraud-gbdt" : "ranker-gbdt",
      version,
      comparison: { candidate: { version, [key]: n.candidate }, baseline: n.baseline === null ? null : { version: "v0", [key]: n.baseline } },
    };
  }
}

class RecordingPolicy implements CandidatePolicy {
  promoted: string[] = [];
  constructor(readonly mode: CandidatePolicy["mode"] = "if-better") {}
  async promote(_design: Design, result: TrainingResult): Promise<PromotionOutcome> {
    this.promoted.push(result.version);
    return { held: null };
  }
}

function setup(options: { debounceHours?: number; scheduleHours?: number; mode?: CandidatePolicy["mode"]; loggedUntil?: (design: Design) => Promise<number | null> } = {}) {
  const clock = new ManualClock(T0);
  const runner = new FakeRunner();
  const policy = new RecordingPolicy(options.mode);
  const events = new MemoryEventPublisher();
  const controller = new RetrainController({
    designs: ["fraud", "recs"],
    clock,
    runner,
    policy,
    events,
    logger: silentLogger,
    debounceMs: (options.debounceHours ?? 24) * HOUR,
    scheduleEveryMs: (options.scheduleHours ?? 0) * HOUR,
    ...(options.loggedUntil ? { loggedUntil: options.loggedUntil } : {}),
  });
  const decisions = () => events.ofType("ml.retrain-decision").map((e) => e.payload);
  return { clock, runner, policy, events, controller, decisions };
}

describe("retrain controller", () => {
  it("retrains on a drift request and promotes a candidate that costs less on the same rows", async () => {
    const { controller, runner, policy, decisions } = setup();
    expect(controller.request("fraud", "drift")).toBe("queued");
    await controller.idle();
    expect(runner.runs).toEqual([{ design: "fraud", asOfMs: T0 }]);
    expect(policy.promoted).toEqual(["v1"]);
    expect(decisions()).toEqual([
      expect.objectContaining({ model: "fraud-gbdt", trigger: "drift", decision: "promoted", candidateVersion: "v1", baselineVersion: "v0", candidateMetric: 90, baselineMetric: 100, metric: "cost" }),
    ]);
  });

  it("trains as of the newest logged label when the event logger lags the clock, and says so", async () => {
    const asked: Design[] = [];
    const lagging = setup({ loggedUntil: async (design) => (asked.push(design), T0 - 5 * HOUR) });
    lagging.controller.request("fraud", "drift");
    await lagging.controller.idle();
    expect(asked).toEqual(["fraud"]);
    expect(lagging.runner.runs).toEqual([{ design: "fraud", asOfMs: T0 - 5 * HOUR }]);
    expect(lagging.decisions()[0]!.reason).toMatch(/trained as of 2024-04-30T19:00:00.000Z, the newest label in the offline store \(the clock read 2024-05-01T00:00:00.000Z\)/);
    // A store that is up to date (or empty) leaves the clock's time.
    for (const logged of [T0 + HOUR, null]) {
      const current = setup({ loggedUntil: async () => logged });
      current.controller.request("fraud", "drift");
      await current.controller.idle();
      expect(current.runner.runs[0]!.asOfMs).toBe(T0);
      expect(current.decisions()[0]!.reason).not.toMatch(/trained as of/);
    }
  });

  it("holds a candidate that is not better (for the ranker, higher NDCG wins)", async () => {
    const { controller, runner, policy, decisions } = setup();
    runner.next = { candidate: 0.31, baseline: 0.33 };
    controller.request("recs", "drift");
    await controller.idle();
    expect(policy.promoted).toEqual([]);
    expect(decisions()[0]).toMatchObject({ model: "ranker-gbdt", decision: "held", metric: "ndcgClicks", candidateMetric: 0.31, baselineMetric: 0.33 });
    expect(decisions()[0]!.reason).toMatch(/not better/);
  });

  it("promotes the first model when nothing is in service", async () => {
    const { controller, runner, policy, decisions } = setup();
    runner.next = { candidate: 500, baseline: null };
    controller.request("fraud", "manual");
    await controller.idle();
    expect(policy.promoted).toEqual(["v1"]);
    expect(decisions()[0]).toMatchObject({ decision: "promoted", baselineVersion: null, baselineMetric: null });
  });

  it("makes one drift episode one retrain: requests within the debounce are recorded as debounced", async () => {
    const { controller, clock, runner, decisions } = setup({ debounceHours: 24 });
    controller.request("fraud", "drift");
    await controller.idle();
    for (let h = 1; h <= 5; h++) {
      clock.advance(HOUR);
      expect(controller.request("fraud", "drift")).toBe("debounced");
    }
    await controller.idle();
    expect(runner.runs).toHaveLength(1);
    expect(decisions().map((d) => d.decision)).toEqual(["promoted", "debounced", "debounced", "debounced", "debounced", "debounced"]);
    // The other design is not debounced by this one's run.
    expect(controller.request("recs", "drift")).toBe("queued");
    // After the debounce, drift again is a new episode.
    clock.advance(20 * HOUR);
    expect(controller.request("fraud", "drift")).toBe("queued");
    await controller.idle();
    expect(runner.runs.map((r) => r.design)).toEqual(["fraud", "recs", "fraud"]);
  });

  it("queues at most one run per design behind the one in progress", async () => {
    const { controller, runner } = setup({ debounceHours: 0 });
    let release!: () => void;
    runner.gate = new Promise((r) => (release = r));
    expect(controller.request("fraud", "manual")).toBe("queued");
    await new Promise((r) => setImmediate(r));
    expect(controller.status()).toEqual({ running: ["fraud"], queued: [] });
    expect(controller.request("fraud", "manual")).toBe("queued");
    expect(controller.request("fraud", "drift")).toBe("already-queued");
    expect(controller.request("fraud", "manual")).toBe("already-queued");
    release();
    await controller.idle();
    expect(runner.runs).toHaveLength(2);
  });

  it("records a failed run with the job's reason and keeps going", async () => {
    const { controller, runner, policy, decisions } = setup();
    runner.next = new Error("not enough labelled rows in the training window: 12 (need 200)");
    controller.request("fraud", "manual");
    await controller.idle();
    expect(policy.promoted).toEqual([]);
    expect(decisions()[0]).toMatchObject({ decision: "failed", candidateVersion: null, metric: null });
    expect(decisions()[0]!.reason).toMatch(/not enough labelled rows/);
    runner.next = { candidate: 1, baseline: 2 };
    controller.request("fraud", "manual");
    await controller.idle();
    expect(decisions()[1]).toMatchObject({ decision: "promoted" });
  });

  it("retrains on the schedule in clock time", async () => {
    const { controller, clock, runner } = setup({ scheduleHours: 24 });
    controller.start();
    clock.advance(23 * HOUR);
    controller.tick();
    await controller.idle();
    expect(runner.runs).toHaveLength(0);
    clock.advance(HOUR);
    controller.tick();
    await controller.idle();
    expect(runner.runs.map((r) => r.design).sort()).toEqual(["fraud", "recs"]);
    controller.tick();
    await controller.idle();
    expect(runner.runs).toHaveLength(2);
    await controller.stop();
  });

  it("hands every candidate to the rollout in rollout mode, and only registers in never mode", async () => {
    const rollout = setup({ mode: "rollout" });
    rollout.runner.next = { candidate: 200, baseline: 100 };
    rollout.controller.request("fraud", "manual");
    await rollout.controller.idle();
    expect(rollout.decisions()[0]).toMatchObject({ decision: "handed-to-rollout" });
    expect(rollout.policy.promoted).toEqual(["v1"]);
    const never = setup({ mode: "never" });
    never.controller.request("fraud", "manual");
    await never.controller.idle();
    expect(never.decisions()[0]).toMatchObject({ decision: "held" });
    expect(never.policy.promoted).toEqual([]);
  });
});

describe("promotion", () => {
  it("moves current to the candidate and tells the design's services to reload with the admin token", async () => {
    const dir = await mkdtemp(join(tmpdir(), "retrain-registry-"));
    const calls: { url: string; auth: string | undefined }[] = [];
    const server = createServer((req, res) => {
      calls.push({ url: req.url ?? "", auth: req.headers.authorization });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const registry = new ModelRegistry(dir);
      const publish = (alias: string) => registry.publish({ model: "fraud-gbdt", dataWindow: {}, featureSchemaHash: "h", metrics: {}, extra: {} }, async (d) => writeFile(join(d, "model.json"), "{}"), { alias });
      const first = await publish("current");
      const second = await publish("candidate");
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const policy = new PromoteIfBetter("if-better", registry, parseReloadUrls([`fraud=${url}/`]), "admin-token-0123456", silentLogger);
      await policy.promote("fraud", { model: "fraud-gbdt", version: second.manifest.version, comparison: { candidate: { version: second.manifest.version }, baseline: null } }, "cost 90 vs 100");
      expect(registry.resolve("fraud-gbdt", "current")).toBe(second.manifest.version);
      expect(registry.aliases("fraud-gbdt")).toEqual({ current: second.manifest.version, previous: first.manifest.version });
      expect(registry.history("fraud-gbdt").find((m) => m.alias === "current" && m.action === "promote")).toMatchObject({ to: second.manifest.version, by: "retrain-controller", reason: "cost 90 vs 100", automatic: true });
      expect(calls).toEqual([{ url: "/v1/model/reload", auth: "Bearer admin-token-0123456" }]);
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("holds a better candidate while current is pinned or the candidate fails its compatibility check, with the registry's reason", async () => {
    const dir = await mkdtemp(join(tmpdir(), "retrain-registry-"));
    try {
      const registry = openModelRegistry(dir);
      // The FakeRunner's candidates are v1, v2, ...: v1 and v2 are built for the features the fraud service computes, v3 is not.
      for (const [version, hash] of [["v0", fraudFeatureSchemaHash()], ["v1", fraudFeatureSchemaHash()], ["v2", fraudFeatureSchemaHash()], ["v3", "other-features"]] as const) {
        await registry.publish({ model: "fraud-gbdt", version, dataWindow: {}, featureSchemaHash: hash, metrics: {}, extra: {} }, async (d) => writeFile(join(d, "model.json"), version), {});
      }
      registry.setAlias("fraud-gbdt", "current", "v0", { by: "test", reason: "the model in service" });
      registry.pin("fraud-gbdt", "current", undefined, { by: "admin:ops", reason: "quarter close" });
      const moves: AliasMove[] = [];
      const events = new MemoryEventPublisher();
      const runner = new FakeRunner();
      const controller = new RetrainController({
        designs: ["fraud"],
        clock: new ManualClock(T0),
        runner,
        policy: new PromoteIfBetter("if-better", registry, new Map(), undefined, silentLogger, (m) => moves.push(...m)),
        events,
        logger: silentLogger,
        debounceMs: 0,
        scheduleEveryMs: 0,
      });
      const decide = async () => {
        controller.request("fraud", "manual");
        await controller.idle();
        return events.ofType("ml.retrain-decision").at(-1)!.payload;
      };

      const pinned = await decide();
      expect(pinned).toMatchObject({ decision: "held", candidateVersion: "v1" });
      expect(pinned.reason).toBe("candidate cost 90.0000 vs 100 in service on the same rows: better, but the registry held it: fraud-gbdt \"current\" is pinned at v0 by admin:ops (quarter close); automatic moves are refused until an operator unpins it");
      expect(registry.aliases("fraud-gbdt").current).toBe("v0");
      expect(moves).toEqual([]);

      registry.unpin("fraud-gbdt", "current", { by: "admin:ops", reason: "quarter closed" });
      expect(await decide()).toMatchObject({ decision: "promoted", candidateVersion: "v2" });
      expect(registry.aliases("fraud-gbdt")).toMatchObject({ current: "v2", previous: "v0" });
      expect(moves.map((m) => [m.alias, m.from, m.to, m.by, m.automatic])).toEqual([
        ["previous", null, "v0", "retrain-controller", true],
        ["current", "v0", "v2", "retrain-controller", true],
      ]);

      const incompatible = await decide();
      expect(incompatible).toMatchObject({ decision: "held", candidateVersion: "v3" });
      expect(incompatible.reason).toMatch(/held it: fraud-gbdt@v3 is not compatible with what is current: fraud-gbdt@v3 was trained on feature schema other-features; serving computes [0-9a-f]+$/);
      expect(registry.aliases("fraud-gbdt").current).toBe("v2");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("in rollout mode starts a rollout of the candidate with the admin token, and holds it with the answer when the rollout controller refuses", async () => {
    const dir = await mkdtemp(join(tmpdir(), "retrain-registry-"));
    const calls: { url: string; auth: string | undefined; body: string }[] = [];
    let status = 201;
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        calls.push({ url: req.url ?? "", auth: req.headers.authorization, body });
        res.writeHead(status, { "content-type": "application/json" }).end(status === 201 ? "{}" : JSON.stringify({ error: { message: "a rollout of fraud-gbdt is running" } }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const registry = new ModelRegistry(dir);
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const policy = new PromoteIfBetter("rollout", registry, new Map(), "admin-token-0123456", silentLogger, () => undefined, url);
      const result = { model: "fraud-gbdt", version: "v7", comparison: { candidate: { version: "v7" }, baseline: null } };
      expect(await policy.promote("fraud", result, "cost 90 vs 100")).toEqual({ held: null });
      expect(calls).toEqual([{ url: "/v1/rollouts", auth: "Bearer admin-token-0123456", body: JSON.stringify({ model: "fraud-gbdt", candidate: "v7", reason: "cost 90 vs 100", actor: "retrain-controller" }) }]);
      status = 409;
      expect((await policy.promote("fraud", result, "cost 90 vs 100")).held).toMatch(/^the rollout controller answered 409: .*a rollout of fraud-gbdt is running/);
      // Nothing moved in the registry: the rollout decides.
      expect(registry.models()).toEqual([]);
      const unset = new PromoteIfBetter("rollout", registry, new Map(), undefined, silentLogger);
      expect((await unset.promote("fraud", result, "x")).held).toBe("PROMOTION=rollout but ROLLOUT_URL is not set");
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("rejects reload targets that are not design=url", () => {
    expect(() => parseReloadUrls(["http://x:1"])).toThrow(/design=url/);
    expect(() => parseReloadUrls(["ads=http://x:1"])).toThrow(/fraud or recs/);
    expect([...parseReloadUrls(["fraud=http://a:1", "recs=http://b:2", "fraud=http://c:3"])]).toEqual([
      ["fraud", ["http://a:1", "http://c:3"]],
      ["recs", ["http://b:2"]],
    ]);
  });
});
