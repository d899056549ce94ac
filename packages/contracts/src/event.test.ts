import { Rng } from "@mlsd/random";
import { describe, expect, it } from "vitest";
import {
  ALL_TOPICS,
  DEAD_LETTER_TOPIC,
  EVENT_CATALOG,
  EVENT_TYPES,
  EXAMPLE_PAYLOADS,
  EventValidationError,
  makeEvent,
  parseEvent,
  topicFor,
  validateEvent,
} from "./index";
import type { EventType, TransactionPayload } from "./index";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function issuesOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof EventValidationError) return error.issues;
    throw error;
  }
  throw new Error("expected an EventValidationError");
}

describe("catalog", () => {
  it("maps every event type to a <domain>.<event>.v1 topic and a key field present in its example", () => {
    expect([...EVENT_TYPES].sort()).toEqual(Object.keys(EXAMPLE_PAYLOADS).sort());
    for (const type of EVENT_TYPES) {
      const spec = EVENT_CATALOG[type];
      expect(spec.topic).toMatch(/^[a-z]+\.[a-z-]+\.v\d+$/);
      expect(spec.topic.split(".")[0]).toBe(type.split(".")[0]);
      const example = EXAMPLE_PAYLOADS[type] as Record<string, unknown>;
      expect(typeof example[spec.keyField]).toBe("string");
    }
    const used = new Set(EVENT_TYPES.map(topicFor));
    expect([...used].sort()).toEqual(ALL_TOPICS.filter((t) => t !== DEAD_LETTER_TOPIC).sort());
    expect(DEAD_LETTER_TOPIC).toBe("dlq.events.v1");
  });

  it("keys fraud events by customer, recommendation events by user, retrain requests by model", () => {
    expect(EVENT_CATALOG["fraud.transaction"].keyField).toBe("customerId");
    expect(EVENT_CATALOG["fraud.decision"].keyField).toBe("customerId");
    expect(EVENT_CATALOG["fraud.label"].keyField).toBe("customerId");
    expect(EVENT_CATALOG["recs.impression"].keyField).toBe("userId");
    expect(EVENT_CATALOG["recs.served"].keyField).toBe("userId");
    expect(EVENT_CATALOG["ml.retrain-request"].keyField).toBe("model");
    expect(EVENT_CATALOG["world.recs-outcome"].keyField).toBe("userId");
    expect(EVENT_CATALOG["world.fraud-outcome"].keyField).toBe("customerId");
    expect(EVENT_CATALOG["ml.model-alias-moved"].keyField).toBe("model");
  });
});

describe("additive schema versions", () => {
  it("reads a v1 fraud.decision and recs.served (before arms and latency were logged) with the v2 defaults", () => {
    const { arm: _arm, latencyMs: _latency, ...v1Decision } = EXAMPLE_PAYLOADS["fraud.decision"];
    const decision = parseEvent(JSON.stringify({ ...makeEvent("fraud.decision", EXAMPLE_PAYLOADS["fraud.decision"], { producer: "old" }), schemaVersion: 1, payload: v1Decision }));
    expect(decision.ok && decision.event.type === "fraud.decision" && [decision.event.payload.arm, decision.event.payload.latencyMs]).toEqual(["current", null]);
    const { arms: _arms, latencyMs: _l, ...v1Served } = EXAMPLE_PAYLOADS["recs.served"];
    const served = parseEvent(JSON.stringify({ ...makeEvent("recs.served", EXAMPLE_PAYLOADS["recs.served"], { producer: "old" }), schemaVersion: 1, payload: v1Served }));
    expect(served.ok && served.event.type === "recs.served" && [served.event.payload.arms, served.event.payload.latencyMs]).toEqual([{}, null]);
  });

  it("reads a v2 recs.served (before applied offsets were logged) with the offsets absent, and refuses a negative offset", () => {
    const { userApplied: _u, rowsUserApplied: _r, ...v2Served } = EXAMPLE_PAYLOADS["recs.served"];
    const v2 = { ...v2Served, items: v2Served.items.map(({ applied: _a, ...item }) => item) };
    const served = parseEvent(JSON.stringify({ ...makeEvent("recs.served", EXAMPLE_PAYLOADS["recs.served"], { producer: "old" }), schemaVersion: 2, payload: v2 }));
    expect(served.ok && served.event.type === "recs.served" && [served.event.payload.userApplied, served.event.payload.items[0]?.applied]).toEqual([undefined, undefined]);
    const valid = makeEvent("recs.served", EXAMPLE_PAYLOADS["recs.served"], { producer: "new" });
    const bad = parseEvent(JSON.stringify({ ...valid, payload: { ...valid.payload, userApplied: { i1: -1 } } }));
    expect(bad.ok).toBe(false);
  });
});

describe("makeEvent", () => {
  it.each(EVENT_TYPES)("wraps a valid %s payload in an envelope that parses back unchanged", (type: EventType) => {
    const event = makeEvent(type, EXAMPLE_PAYLOADS[type], { producer: "test", eventTime: "2024-04-01T00:00:00.000Z" });
    expect(event.eventId).toMatch(UUID_V4);
    expect(event.type).toBe(type);
    expect(event.schemaVersion).toBe(EVENT_CATALOG[type].schemaVersion);
    expect(event.eventTime).toBe("2024-04-01T00:00:00.000Z");
    expect(event.key).toBe((EXAMPLE_PAYLOADS[type] as Record<string, unknown>)[EVENT_CATALOG[type].keyField]);
    expect(event.payload).toEqual(EXAMPLE_PAYLOADS[type]);
    const parsed = parseEvent(JSON.stringify(event));
    expect(parsed).toEqual({ ok: true, event });
  });

  it("gives every event a fresh id and defaults eventTime to now", () => {
    const before = Date.now();
    const a = makeEvent("recs.click", EXAMPLE_PAYLOADS["recs.click"], { producer: "recommender" });
    const b = makeEvent("recs.click", EXAMPLE_PAYLOADS["recs.click"], { producer: "recommender" });
    expect(a.eventId).not.toBe(b.eventId);
    expect(Date.parse(a.eventTime)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(a.eventTime)).toBeLessThanOrEqual(Date.now());
  });

  it("accepts a key override and a Date eventTime", () => {
    const event = makeEvent("fraud.transaction", EXAMPLE_PAYLOADS["fraud.transaction"], {
      producer: "fraud",
      key: "t-305",
      eventTime: new Date(Date.UTC(2024, 3, 1, 12)),
    });
    expect(event.key).toBe("t-305");
    expect(event.eventTime).toBe("2024-04-01T12:00:00.000Z");
  });

  it("strips fields the schema does not know", () => {
    const payload = { ...EXAMPLE_PAYLOADS["recs.click"], secret: "x" };
    const event = makeEvent("recs.click", payload, { producer: "recommender" });
    expect(Object.keys(event.payload).sort()).toEqual(["itemId", "position", "requestId", "userId"]);
  });

  it("names every offending field", () => {
    const bad = { ...EXAMPLE_PAYLOADS["fraud.transaction"], amount: -3, time: "yesterday" } as TransactionPayload;
    const issues = issuesOf(() => makeEvent("fraud.transaction", bad, { producer: "", eventTime: "soon" }));
    expect(issues.map((i) => i.path).sort()).toEqual(["eventTime", "payload.amount", "payload.time", "producer"]);
  });

  it("puts the field in the error message", () => {
    const bad = { ...EXAMPLE_PAYLOADS["recs.impression"], position: 1.5 };
    expect(() => makeEvent("recs.impression", bad, { producer: "recommender" })).toThrow(/payload\.position/);
  });

  it("rejects a label known before its transaction, naming knownAt", () => {
    const bad = { ...EXAMPLE_PAYLOADS["fraud.label"], knownAt: "2024-03-01T00:00:00.000Z" };
    const issues = issuesOf(() => makeEvent("fraud.label", bad, { producer: "labels" }));
    expect(issues).toEqual([{ path: "payload.knownAt", message: "must not be before transactionTime" }]);
  });

  it("requires a drift summary when a retrain is requested for drift", () => {
    const bad = { ...EXAMPLE_PAYLOADS["ml.retrain-request"], driftSummary: null };
    const issues = issuesOf(() => makeEvent("ml.retrain-request", bad, { producer: "drift-monitor" }));
    expect(issues.map((i) => i.path)).toEqual(["payload.driftSummary"]);
    const scheduled = { ...bad, reason: "schedule" as const };
    expect(makeEvent("ml.retrain-request", scheduled, { producer: "cron" }).payload.driftSummary).toBeNull();
  });

  it("rejects an alias move without a reason or with an action the registry does not know", () => {
    const bad = { ...EXAMPLE_PAYLOADS["ml.model-alias-moved"], reason: "", action: "teleport" } as unknown as (typeof EXAMPLE_PAYLOADS)["ml.model-alias-moved"];
    const issues = issuesOf(() => makeEvent("ml.model-alias-moved", bad, { producer: "rollout-controller" }));
    expect(issues.map((i) => i.path).sort()).toEqual(["payload.action", "payload.reason"]);
  });

  it("rejects a decision score outside [0, 1] and a NaN feature", () => {
    const bad = { ...EXAMPLE_PAYLOADS["fraud.decision"], score: 1.2, features: { amount: Number.NaN } };
    const issues = issuesOf(() => makeEvent("fraud.decision", bad, { producer: "fraud" }));
    expect(issues.map((i) => i.path).sort()).toEqual(["payload.features.amount", "payload.score"]);
  });

  it("rejects an unknown type", () => {
    const issues = issuesOf(() => makeEvent("recs.like" as EventType, EXAMPLE_PAYLOADS["recs.click"], { producer: "x" }));
    expect(issues[0]?.path).toBe("type");
  });
});

describe("parseEvent", () => {
  const valid = makeEvent("fraud.transaction", EXAMPLE_PAYLOADS["fraud.transaction"], { producer: "fraud" });

  it("reads UTF-8 bytes as well as text", () => {
    const result = parseEvent(Buffer.from(JSON.stringify(valid)));
    expect(result.ok && result.event.type === "fraud.transaction" && result.event.payload.amount).toBe(57.16);
  });

  it("accepts a ULID as event id", () => {
    const result = validateEvent({ ...valid, eventId: "01HV4Z2Y8K3M5N7P9Q1R3S5T7V" });
    expect(result.ok).toBe(true);
  });

  it("reports each kind of failure as a value", () => {
    const cases: [string | Uint8Array, string, string[]][] = [
      ["{not json", "invalid_json", []],
      [new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), "invalid_json", []],
      [JSON.stringify({ ...valid, eventId: "42" }), "invalid_envelope", ["eventId"]],
      [JSON.stringify({ ...valid, eventTime: "yesterday", key: "" }), "invalid_envelope", ["eventTime", "key"]],
      [JSON.stringify([1, 2]), "invalid_envelope", [""]],
      [JSON.stringify({ ...valid, type: "fraud.refund" }), "unknown_type", ["type"]],
      [JSON.stringify({ ...valid, schemaVersion: 2 }), "unsupported_version", ["schemaVersion"]],
      [JSON.stringify({ ...valid, payload: { ...valid.payload, terminalId: 7 } }), "invalid_payload", ["payload.terminalId"]],
    ];
    for (const [input, reason, paths] of cases) {
      const result = parseEvent(input);
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error.reason).toBe(reason);
        expect(result.error.issues.map((i) => i.path).sort()).toEqual(paths);
      }
    }
  });

  it("never throws on mangled input", () => {
    const rng = new Rng(7);
    const text = JSON.stringify(valid);
    let failures = 0;
    for (let i = 0; i < 500; i++) {
      const chars = text.split("");
      const edits = 1 + rng.int(4);
      for (let e = 0; e < edits; e++) chars[rng.int(chars.length)] = String.fromCharCode(32 + rng.int(95));
      const result = parseEvent(chars.join(""));
      if (!result.ok) failures++;
      else expect(result.event.type).toBe("fraud.transaction");
    }
    // Most single-character edits break the JSON, an id, a time or a type; some land inside free text.
    expect(failures).toBeGreaterThan(300);
  });
});
