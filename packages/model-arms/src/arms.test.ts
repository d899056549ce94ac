import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { MemoryEventPublisher } from "@mlsd/events";
import { createMetrics, createServiceApp, defineRoute, silentLogger, TokenAuthenticator } from "@mlsd/service-kit";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { ModelArms } from "./arms";
import { stableUnit } from "./assignment";
import { createArmsMetrics } from "./metrics";
import { modelArmsRoutes } from "./routes";
import { ShadowRunner } from "./shadow";

interface Fake {
  version: string;
  schema: string;
}

/** A registry double: aliases and versions by name, some of them broken like a tampered artifact. */
function registry() {
  const aliases: Record<string, string> = { current: "v1", candidate: "v2" };
  const broken = new Set<string>();
  const schemas: Record<string, string> = { v1: "s", v2: "s", v3: "s", v9: "other" };
  const load = (ref: string): Fake => {
    const version = aliases[ref] ?? ref;
    if (!(version in schemas)) throw Object.assign(new Error(`no version ${ref}`), { code: "NOT_FOUND" });
    if (broken.has(version)) throw Object.assign(new Error(`${version}: model.json does not match its manifest checksum`), { code: "CORRUPT" });
    return { version, schema: schemas[version] as string };
  };
  return { aliases, broken, load };
}

async function arms(reg = registry()) {
  const metrics = createMetrics("svc", { defaultMetrics: false });
  const armsMetrics = createArmsMetrics(metrics.registry, "svc");
  const served: string[] = [];
  const a = new ModelArms<Fake>({
    model: "fraud-gbdt",
    load: reg.load,
    currentAlias: "current",
    logger: silentLogger,
    metrics: armsMetrics,
    incompatible: (c, x) => (c.schema === x.schema ? null : `feature schema ${x.schema}, the service computes ${c.schema}`),
    onCurrent: (m) => served.push(m.version),
  });
  await a.loadCurrent();
  return { arms: a, reg, metrics, served };
}

async function metricValue(metrics: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return (value?.value as number | undefined) ?? 0;
}

describe("stable assignment", () => {
  it("spreads ids evenly and keeps each on its side, and a new salt reshuffles", () => {
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 20_000; i++) counts[Math.floor(stableUnit(`u${i}`, "exp-1") * 10)]++;
    for (const c of counts) expect(Math.abs(c - 2_000)).toBeLessThan(200);
    expect(stableUnit("u42", "exp-1")).toBe(stableUnit("u42", "exp-1"));
    // Independent salts: P(both under 0.2) ~ 0.04, not 0.2.
    let both = 0;
    for (let i = 0; i < 20_000; i++) if (stableUnit(`u${i}`, "exp-1") < 0.2 && stableUnit(`u${i}`, "exp-2") < 0.2) both++;
    expect(both / 20_000).toBeGreaterThan(0.03);
    expect(both / 20_000).toBeLessThan(0.05);
  });
});

describe("model arms", () => {
  it("answers with current alone until a challenger is set", async () => {
    const { arms: a } = await arms();
    expect(a.route("u1")).toEqual({ arm: "current", model: { version: "v1", schema: "s" }, shadow: null });
    expect(a.state()).toEqual({ model: "fraud-gbdt", current: { version: "v1", alias: "current" }, challenger: null });
  });

  it("sends a stable share of entities to a canary, the same entity always to the same arm", async () => {
    const { arms: a } = await arms();
    await a.configure({ challenger: "candidate", mode: "canary", share: 0.2 });
    const first = new Map<string, string>();
    let challenger = 0;
    for (let i = 0; i < 5_000; i++) {
      const r = a.route(`card-${i}`);
      first.set(`card-${i}`, r.arm);
      if (r.arm === "challenger") {
        challenger++;
        expect(r.model.version).toBe("v2");
      }
      expect(r.shadow).toBeNull();
    }
    expect(challenger / 5_000).toBeGreaterThan(0.18);
    expect(challenger / 5_000).toBeLessThan(0.22);
    for (let i = 0; i < 5_000; i += 7) expect(a.route(`card-${i}`).arm).toBe(first.get(`card-${i}`));
  });

  it("in shadow mode answers with current and hands the challenger over as the shadow", async () => {
    const { arms: a } = await arms();
    await a.configure({ challenger: "candidate", mode: "shadow", share: 0 });
    for (let i = 0; i < 100; i++) {
      const r = a.route(`u${i}`);
      expect(r.arm).toBe("current");
      expect(r.model.version).toBe("v1");
      expect(r.shadow?.version).toBe("v2");
    }
  });

  it("refuses a tampered, unknown or incompatible challenger with the reason, and keeps serving", async () => {
    const { arms: a, reg, metrics } = await arms();
    reg.broken.add("v2");
    await expect(a.configure({ challenger: "candidate", mode: "canary", share: 0.1 })).rejects.toThrow(/checksum/);
    await expect(a.configure({ challenger: "v7", mode: "canary", share: 0.1 })).rejects.toThrow(/no version v7/);
    await expect(a.configure({ challenger: "v9", mode: "canary", share: 0.1 })).rejects.toThrow(/feature schema other/);
    await expect(a.configure({ challenger: "v1", mode: "canary", share: 0.1 })).rejects.toThrow(/is the version in service/);
    await expect(a.configure({ challenger: "v3", mode: "canary", share: 0 })).rejects.toThrow(/share/);
    expect(a.state().challenger).toBeNull();
    expect(a.route("u1").model.version).toBe("v1");
    expect(await metricValue(metrics, "svc_model_load_failures_total", { arm: "challenger", reason: "corrupt" })).toBe(1);
    expect(await metricValue(metrics, "svc_model_load_failures_total", { arm: "challenger", reason: "incompatible" })).toBe(1);
  });

  it("reloads all or nothing: a tampered new current keeps both models in service", async () => {
    const { arms: a, reg, metrics, served } = await arms();
    await a.configure({ challenger: "candidate", mode: "canary", share: 0.5 });
    reg.aliases.current = "v3";
    reg.broken.add("v3");
    await expect(a.reload()).rejects.toThrow(/checksum/);
    expect(a.state()).toMatchObject({ current: { version: "v1" }, challenger: { version: "v2" } });
    expect(await metricValue(metrics, "svc_model_load_failures_total", { arm: "current", reason: "corrupt" })).toBe(1);
    reg.broken.delete("v3");
    expect(await a.reload()).toMatchObject({ current: { version: "v3" }, challenger: { version: "v2", mode: "canary" } });
    expect(served).toEqual(["v1", "v3"]);
  });

  it("drops the challenger once it has been promoted to current", async () => {
    const { arms: a, reg } = await arms();
    await a.configure({ challenger: "candidate", mode: "ab", share: 0.5 });
    reg.aliases.previous = "v1";
    reg.aliases.current = "v2";
    expect(await a.reload()).toEqual({ model: "fraud-gbdt", current: { version: "v2", alias: "current" }, challenger: null });
  });
});

describe("arms over HTTP", () => {
  it("reads openly, changes only with the admin token, and names the field on bad input", async () => {
    const { arms: a, metrics } = await arms();
    const app = createServiceApp({ logger: silentLogger, metrics, auth: new TokenAuthenticator({ admin: "admin-token-0123456789" }), routes: modelArmsRoutes(a) });
    const admin = { authorization: "Bearer admin-token-0123456789" };
    await request(app).put("/v1/model/arms").send({ challenger: "candidate", mode: "canary" }).expect(401);
    await request(app).put("/v1/model/arms").set({ authorization: "Bearer wrong-token-000000000" }).send({ challenger: "candidate", mode: "canary" }).expect(401);
    const bad = await request(app).put("/v1/model/arms").set(admin).send({ challenger: "candidate", mode: "canary", share: 2 }).expect(400);
    expect(JSON.stringify(bad.body)).toMatch(/share/);
    const set = await request(app).put("/v1/model/arms").set(admin).send({ challenger: "candidate", mode: "canary" }).expect(200);
    expect(set.body.challenger).toEqual({ version: "v2", ref: "candidate", mode: "canary", share: 0.05 });
    expect((await request(app).get("/v1/model/arms").expect(200)).body.challenger.version).toBe("v2");
    const refused = await request(app).put("/v1/model/arms").set(admin).send({ challenger: "v9", mode: "ab" }).expect(409);
    expect(refused.body.error.message).toMatch(/feature schema/);
    expect((await request(app).delete("/v1/model/arms").set(admin).expect(200)).body.challenger).toBeNull();
    expect((await request(app).post("/v1/model/reload").set(admin).expect(200)).body).toEqual({ version: "v1", challenger: null });
  });
});

describe("shadow runner", () => {
  it("runs the challenger after the answer has been written, and logs both predictions", async () => {
    const events = new MemoryEventPublisher();
    const { metrics } = await arms();
    const runner = new ShadowRunner({ model: "fraud-gbdt", events, logger: silentLogger, metrics: createArmsMetrics(metrics.registry, "svc"), producer: "test" });
    const order: string[] = [];
    const app = createServiceApp({
      logger: silentLogger,
      metrics,
      routes: [
        defineRoute({
          method: "POST",
          path: "/score",
          summary: "test",
          handler: async () => {
            await new Promise((r) => setTimeout(r, 1));
            runner.schedule({
              requestId: "tx-1",
              entityId: "c-1",
              servingVersion: "v1",
              shadowVersion: "v2",
              servingMs: 0.2,
              predict: () => {
                order.push("shadow");
                return { kind: "fraud", serving: { probability: 0.1, decision: "approve" }, shadow: { probability: 0.7, decision: "decline" } };
              },
            });
            order.push("handler returned");
            return { ok: true };
          },
        }),
      ],
    });
    const server = createServer((req, res: ServerResponse) => {
      const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
      res.end = ((...args: unknown[]) => {
        order.push("response ended");
        return end(...args);
      }) as typeof res.end;
      app(req, res);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/score`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      expect(res.status).toBe(200);
      await new Promise((r) => setTimeout(r, 20));
      expect(order).toEqual(["handler returned", "response ended", "shadow"]);
      const [event] = events.ofType("ml.shadow-prediction");
      expect(event?.payload).toMatchObject({ model: "fraud-gbdt", requestId: "tx-1", entityId: "c-1", servingVersion: "v1", shadowVersion: "v2", servingMs: 0.2, error: null, prediction: { kind: "fraud", shadow: { decision: "decline" } } });
    } finally {
      server.close();
    }
  });

  it("drops shadows past the pending bound instead of queueing them, and logs failures", async () => {
    const events = new MemoryEventPublisher();
    const { metrics } = await arms();
    const m = createArmsMetrics(metrics.registry, "svc");
    const runner = new ShadowRunner({ model: "ranker-gbdt", events, logger: silentLogger, metrics: m, producer: "test", maxPending: 3 });
    for (let i = 0; i < 5; i++) {
      runner.schedule({
        requestId: `r${i}`,
        entityId: "u1",
        servingVersion: "v1",
        shadowVersion: "v2",
        servingMs: 0,
        predict: () => {
          if (i === 1) throw new Error("challenger exploded");
          return { kind: "ranking", items: [{ itemId: "i1", serving: 1, shadow: 2 }] };
        },
      });
    }
    expect(runner.inFlight).toBe(3);
    await new Promise((r) => setTimeout(r, 10));
    expect(runner.inFlight).toBe(0);
    expect(events.ofType("ml.shadow-prediction").map((e) => e.payload.error)).toEqual([null, "challenger exploded", null]);
    expect(await metricValue(metrics, "svc_shadow_predictions_total", { outcome: "dropped" })).toBe(2);
    expect(await metricValue(metrics, "svc_shadow_predictions_total", { outcome: "failed" })).toBe(1);
  });
});
