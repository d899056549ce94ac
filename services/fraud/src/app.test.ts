import type { AnyEvent } from "@mlsd/contracts";
import { DAY_MS, MemoryFraudFeatureStore, type FraudFeatureStore } from "@mlsd/feature-store";
import { CircuitBreaker, createLogger, createMetrics, Readiness, TokenAuthenticator } from "@mlsd/service-kit";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { createApp, type FraudAppDeps } from "./app";
import { trainTestModel } from "./test-fixtures";

const model = trainTestModel();
const LABEL_TOKEN = "label-writer-token-0123";
const ADMIN_TOKEN = "admin-token-0123456789";

function setup(overrides: Partial<FraudAppDeps> = {}) {
  const events: AnyEvent[] = [];
  const store = new MemoryFraudFeatureStore();
  const deps: FraudAppDeps = {
    logger: createLogger({ service: "fraud", level: "silent" }),
    metrics: createMetrics("fraud", { defaultMetrics: false }),
    readiness: new Readiness(),
    auth: new TokenAuthenticator({ admin: ADMIN_TOKEN, labels: LABEL_TOKEN }),
    store,
    storeBreaker: new CircuitBreaker("redis", { failureThreshold: 3, cooldownMs: 60_000 }),
    featureDeadlineMs: 20,
    model: () => model,
    rules: { maxAmount: 10_000, blockedTerminals: new Set(["T-BLOCKED"]) },
    events: { publish: (e) => events.push(e) },
    reasonCount: 3,
    ...overrides,
  };
  return { app: createApp(deps), events, store, deps };
}

const T0 = "2018-06-01T10:00:00Z";
const tx = (over: Record<string, unknown> = {}) => ({ transactionId: "tx-1", customerId: "C1", terminalId: "T1", amount: 42.5, time: T0, ...over });

describe("POST /v1/transactions/score", () => {
  it("approves an ordinary transaction with the score, thresholds, model version and stage timings", async () => {
    const { app, events } = setup();
    const res = await request(app).post("/v1/transactions/score").send(tx());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ transactionId: "tx-1", decision: "approve", decidedBy: "model", degraded: false, modelVersion: "test-model-1", thresholds: { review: 0.3, decline: 0.7 } });
    expect(res.body.score).toBeLessThan(0.3);
    expect(Object.keys(res.body.timings)).toEqual(expect.arrayContaining(["validate", "rules", "features", "model", "publish", "total"]));
    // The transaction and the decision with the exact served features go out as events.
    expect(events.map((e) => e.type)).toEqual(["fraud.transaction", "fraud.decision"]);
    const decision = events[1]!;
    if (decision.type !== "fraud.decision") throw new Error("expected a decision");
    expect(decision.payload.features.TX_AMOUNT).toBe(42.5);
    expect(decision.payload.features.CUSTOMER_ID_NB_TX_1DAY_WINDOW).toBe(1);
    expect(decision.key).toBe("C1");
  });

  it("declines a large amount with reason codes led by the amount", async () => {
    const { app } = setup();
    const res = await request(app).post("/v1/transactions/score").send(tx({ amount: 280 }));
    expect(res.body.decision).toBe("decline");
    expect(res.body.score).toBeGreaterThanOrEqual(0.7);
    expect(res.body.reasons[0]).toMatchObject({ feature: "TX_AMOUNT", value: 280 });
    expect(res.body.reasons[0].contribution).toBeGreaterThan(0);
  });

  it("applies hard rules before the model", async () => {
    const { app } = setup();
    const blocked = await request(app).post("/v1/transactions/score").send(tx({ terminalId: "T-BLOCKED" }));
    expect(blocked.body).toMatchObject({ decision: "decline", decidedBy: "rules", rule: "blocked-terminal", score: null });
    const huge = await request(app).post("/v1/transactions/score").send(tx({ transactionId: "tx-2", amount: 50_000 }));
    expect(huge.body).toMatchObject({ decision: "decline", decidedBy: "rules", rule: "amount-over-limit" });
  });

  it("uses the terminal risk that labels create", async () => {
    const { app, store } = setup();
    await request(app).post("/v1/transactions/score").send(tx({ transactionId: "old", terminalId: "T9", time: "2018-05-24T09:00:00Z" }));
    const before = await request(app).post("/v1/transactions/score").send(tx({ transactionId: "a", terminalId: "T9" }));
    await store.applyLabel({ transactionId: "old", knownAtMs: Date.parse(T0) - DAY_MS });
    const after = await request(app).post("/v1/transactions/score").send(tx({ transactionId: "b", terminalId: "T9", time: "2018-06-01T10:05:00Z" }));
    expect(after.body.score).toBeGreaterThan(before.body.score);
    expect(after.body.decision).not.toBe("approve");
  });

  it.each([
    ["a negative amount", { amount: -5 }, "amount"],
    ["a non-numeric amount", { amount: "12.50" }, "amount"],
    ["an unknown field", { cardNumber: "4111" }, "cardNumber"],
    ["a missing id", { customerId: undefined }, "customerId"],
    ["a bad date", { time: "yesterday" }, "time"],
    ["an empty terminal id", { terminalId: "" }, "terminalId"],
  ])("refuses %s with a 400 naming the field", async (_name, change, field) => {
    const { app, events } = setup();
    const res = await request(app).post("/v1/transactions/score").send(tx(change));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_FAILED");
    expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    expect(events).toHaveLength(0);
  });
});

describe("degraded answers when Redis fails", () => {
  const failing: FraudFeatureStore = {
    config: new MemoryFraudFeatureStore().config,
    observe: async () => {
      throw new Error("Connection is closed.");
    },
    applyLabel: async () => false,
    applyKnownLabel: async () => undefined,
  };

  it("answers from rules and request features, marked degraded with the reason", async () => {
    const { app, events } = setup({ store: failing });
    const res = await request(app).post("/v1/transactions/score").send(tx());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ degraded: true, decidedBy: "model" });
    expect(res.body.degradedReason).toContain("Connection is closed");
    const decision = events.find((e) => e.type === "fraud.decision");
    if (decision?.type !== "fraud.decision") throw new Error("expected a decision");
    expect(decision.payload.features.TX_AMOUNT).toBe(42.5);
    expect(decision.payload.features.CUSTOMER_ID_NB_TX_1DAY_WINDOW).toBeNull();
  });

  it("answers within the feature deadline when Redis hangs, then stops asking once the breaker opens", async () => {
    let calls = 0;
    const hanging: FraudFeatureStore = { ...failing, observe: () => (calls++, new Promise(() => undefined)) };
    const { app } = setup({ store: hanging });
    for (let i = 0; i < 3; i++) {
      const res = await request(app).post("/v1/transactions/score").send(tx({ transactionId: `h${i}` }));
      expect(res.body.degradedReason).toContain("did not answer within 20 ms");
      expect(res.body.timings.features).toBeLessThan(200);
    }
    const open = await request(app).post("/v1/transactions/score").send(tx({ transactionId: "h3" }));
    expect(open.body.degradedReason).toContain("circuit open");
    expect(calls).toBe(3);
  });
});

describe("labels and model", () => {
  it("publishes a label event and answers 202", async () => {
    const { app, events } = setup();
    const label = { transactionId: "tx-1", customerId: "C1", terminalId: "T1", label: "chargeback", transactionTime: T0, knownAt: "2018-06-05T00:00:00Z" };
    expect((await request(app).post("/v1/labels").send(label)).status).toBe(401);
    expect(events).toHaveLength(0);
    const res = await request(app).post("/v1/labels").set("authorization", `Bearer ${LABEL_TOKEN}`).send(label);
    expect(res.status).toBe(202);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "fraud.label", payload: { label: "chargeback", terminalId: "T1" } });
  });

  it("refuses a label known before its transaction, naming knownAt", async () => {
    const { app } = setup();
    const res = await request(app)
      .post("/v1/labels")
      .set("authorization", `Bearer ${LABEL_TOKEN}`)
      .send({ transactionId: "tx-1", customerId: "C1", terminalId: "T1", label: "chargeback", transactionTime: T0, knownAt: "2018-05-01T00:00:00Z" });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ field: "knownAt", message: "must not be before transactionTime" }]);
  });

  it("describes the model in service", async () => {
    const { app } = setup();
    const res = await request(app).get("/v1/model");
    expect(res.body).toMatchObject({ version: "test-model-1", thresholds: { review: 0.3, decline: 0.7 } });
    expect(res.body.features).toHaveLength(19);
  });
});
