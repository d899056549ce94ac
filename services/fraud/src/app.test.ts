import { DAY_MS, fraudFeatureNames, MemoryFraudFeatureStore, type FraudFeatureStore } from "@mlsd/feature-store";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { LABEL_TOKEN, setup, T0, trainTestModel } from "./test-fixtures";

const tx = (over: Record<string, unknown> = {}) => ({ transactionId: "tx-1", customerId: "C1", terminalId: "T1", amount: 42.5, time: T0, ...over });
const score = (app: ReturnType<typeof setup>["app"], body: object) => request(app).post("/v1/transactions/score").send(body);
const postLabel = (app: ReturnType<typeof setup>["app"], body: object) => request(app).post("/v1/labels").set("authorization", `Bearer ${LABEL_TOKEN}`).send(body);

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
    await store.applyKnownLabel({ transactionId: "old", terminalId: "T9", transactionTimeMs: Date.parse("2018-05-24T09:00:00Z"), knownAtMs: Date.parse(T0) - DAY_MS });
    const after = await request(app).post("/v1/transactions/score").send(tx({ transactionId: "b", terminalId: "T9", time: "2018-06-01T10:00:50Z" }));
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
  const closed = async (): Promise<never> => {
    throw new Error("Connection is closed.");
  };
  const failing: FraudFeatureStore = {
    config: new MemoryFraudFeatureStore().config,
    claim: closed,
    saveAnswer: closed,
    lookup: closed,
    observe: closed,
    applyKnownLabel: async () => undefined,
  };

  it("answers from rules and request features, marked degraded with the reason", async () => {
    const { app, events } = setup({ store: failing });
    const res = await request(app).post("/v1/transactions/score").send(tx());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ degraded: true, decidedBy: "fallback" });
    expect(res.body.degradedReason).toContain("Connection is closed");
    const decision = events.find((e) => e.type === "fraud.decision");
    if (decision?.type !== "fraud.decision") throw new Error("expected a decision");
    expect(decision.payload.features.TX_AMOUNT).toBe(42.5);
    expect(decision.payload.features.CUSTOMER_ID_NB_TX_1DAY_WINDOW).toBeNull();
  });

  it("answers within the feature deadline when Redis hangs, then stops asking once the breaker opens", async () => {
    let calls = 0;
    const hanging: FraudFeatureStore = { ...failing, claim: () => (calls++, new Promise(() => undefined)) };
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
  it("publishes a label for a transaction it scored and answers 202", async () => {
    const { app, events } = setup();
    expect((await score(app, tx())).status).toBe(200);
    events.length = 0;
    const label = { transactionId: "tx-1", customerId: "C1", terminalId: "T1", label: "chargeback", transactionTime: T0, knownAt: "2018-06-01T10:00:30Z" };
    expect((await request(app).post("/v1/labels").send(label)).status).toBe(401);
    expect(events).toHaveLength(0);
    const res = await postLabel(app, label);
    expect(res.status).toBe(202);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "fraud.label", payload: { label: "chargeback", terminalId: "T1" } });
    // Without knownAt the label is known now, by the service clock.
    const { knownAt: _k, ...withoutKnownAt } = label;
    expect((await postLabel(app, withoutKnownAt)).status).toBe(202);
    expect(events[1]).toMatchObject({ payload: { knownAt: "2018-06-01T10:01:00.000Z" } });
  });

  it("refuses a label for a transaction it never scored (404), or one naming another card, terminal or time (400)", async () => {
    const { app, events } = setup();
    await score(app, tx());
    events.length = 0;
    const label = { transactionId: "tx-1", customerId: "C1", terminalId: "T1", label: "fraud_confirmed", transactionTime: T0 };
    const unknown = await postLabel(app, { ...label, transactionId: "never-scored" });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.details).toEqual([{ field: "transactionId", message: "unknown transaction" }]);
    const forged = await postLabel(app, { ...label, terminalId: "T-victim", customerId: "C2", transactionTime: "2018-06-01T09:00:00Z" });
    expect(forged.status).toBe(400);
    expect(forged.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(["customerId", "terminalId", "transactionTime"]);
    expect(events).toHaveLength(0);
  });

  it("refuses a label known in the future, and a transaction time in the future without knownAt, with a 400 not a 500", async () => {
    const { app } = setup();
    await score(app, tx());
    const future = await postLabel(app, { transactionId: "tx-1", customerId: "C1", terminalId: "T1", label: "chargeback", transactionTime: T0, knownAt: "2030-01-01T00:00:00Z" });
    expect(future.status).toBe(400);
    expect(future.body.error.details[0].field).toBe("knownAt");
    const futureTx = await postLabel(app, { transactionId: "tx-1", customerId: "C1", terminalId: "T1", label: "chargeback", transactionTime: "2030-01-01T00:00:00Z" });
    expect(futureTx.status).toBe(400);
    expect(futureTx.body.error.details.map((d: { field: string }) => d.field)).toEqual(["transactionTime"]);
  });

  it("refuses a label known before its transaction, naming knownAt", async () => {
    const { app } = setup();
    const res = await postLabel(app, { transactionId: "tx-1", customerId: "C1", terminalId: "T1", label: "chargeback", transactionTime: T0, knownAt: "2018-05-01T00:00:00Z" });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ field: "knownAt", message: "must not be before transactionTime" }]);
  });

  it("describes the model in service", async () => {
    const { app } = setup();
    const res = await request(app).get("/v1/model");
    expect(res.body).toMatchObject({ version: "test-model-1", thresholds: { review: 0.3, decline: 0.7 } });
    expect(res.body.features).toEqual(fraudFeatureNames());
    // The test model reads the served features alone: no ratio columns.
    expect(res.body.columns).toEqual(fraudFeatureNames());
  });
});

describe("trust boundaries of scoring", () => {
  it("refuses a transaction dated ahead of the service clock or too far behind it, naming time", async () => {
    const { app, events, store } = setup();
    const future = await score(app, tx({ time: "2018-06-01T10:05:00Z" }));
    expect(future.status).toBe(400);
    expect(future.body.error.details[0]).toMatchObject({ field: "time", message: expect.stringMatching(/ahead of the service clock/) });
    const ancient = await score(app, tx({ time: "0001-01-01T00:00:00Z" }));
    expect(ancient.status).toBe(400);
    expect(ancient.body.error.details[0].field).toBe("time");
    expect(events).toHaveLength(0);
    expect(await store.lookup("tx-1")).toBeNull();
    // Within the skew (2 s ahead of the clock at T0 + 60 s) is fine.
    expect((await score(app, tx({ time: "2018-06-01T10:01:01.500Z" }))).status).toBe(200);
  });

  it("answers a retry of the same transaction with the stored answer and changes no state", async () => {
    const { app, events } = setup();
    const first = await score(app, tx());
    await new Promise((resolve) => setImmediate(resolve)); // the answer is saved off the response path
    const published = events.length;
    const retry = await score(app, tx());
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ replayed: true, score: first.body.score, decision: first.body.decision, modelVersion: first.body.modelVersion });
    expect(events).toHaveLength(published);
    const next = await score(app, tx({ transactionId: "tx-2", time: "2018-06-01T10:00:10Z" }));
    expect(next.body.replayed).toBe(false);
    // The card has two transactions, not three: the retry added nothing.
    expect((events.at(-1) as { payload: { features: Record<string, number> } }).payload.features.CUSTOMER_ID_NB_TX_1DAY_WINDOW).toBe(2);
  });

  it("refuses a different transaction under a used id with a 409 naming what differs", async () => {
    const { app, events } = setup();
    await score(app, tx());
    const published = events.length;
    const reused = await score(app, tx({ amount: 999.99, terminalId: "T2" }));
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe("CONFLICT");
    expect(reused.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(["amount", "terminalId"]);
    expect(events).toHaveLength(published);
  });

  it("keeps a rule-declined transaction out of the card's features", async () => {
    const { app, events } = setup();
    await score(app, tx());
    const declined = await score(app, tx({ transactionId: "huge", amount: 1_000_000, time: "2018-06-01T10:00:20Z" }));
    expect(declined.body).toMatchObject({ decision: "decline", decidedBy: "rules" });
    await score(app, tx({ transactionId: "tx-3", amount: 42.5, time: "2018-06-01T10:00:40Z" }));
    const features = (events.at(-1) as { payload: { features: Record<string, number> } }).payload.features;
    expect(features.CUSTOMER_ID_NB_TX_1DAY_WINDOW).toBe(2);
    expect(features.CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW).toBe(42.5);
  });

  it("scores degraded answers with the fallback model over request features when the version has one", async () => {
    const withFallback = trainTestModel(1, true);
    const closed = async (): Promise<never> => {
      throw new Error("Connection is closed.");
    };
    const down: FraudFeatureStore = { config: new MemoryFraudFeatureStore().config, claim: closed, saveAnswer: closed, lookup: closed, observe: closed, applyKnownLabel: async () => undefined };
    const { app, events } = setup({ store: down, model: () => withFallback });
    const res = await score(app, tx({ amount: 280 }));
    expect(res.body).toMatchObject({ degraded: true, decidedBy: "fallback", modelVersion: "test-model-1/fallback", decision: "decline" });
    expect(res.body.thresholds).toEqual({ review: 0.2, decline: 0.6 });
    const decision = events.find((e) => e.type === "fraud.decision") as { payload: { decidedBy: string; modelVersion: string } };
    expect(decision.payload).toMatchObject({ decidedBy: "fallback", modelVersion: "test-model-1/fallback" });
  });
});
