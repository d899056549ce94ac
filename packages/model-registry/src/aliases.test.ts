import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ModelRegistry, RegistryError, type CompatibilityCheck } from "./index";

const base = { model: "fraud-gbdt", dataWindow: {}, featureSchemaHash: "abc", metrics: {}, extra: {} };
const ops = { by: "admin:alice", reason: "a reason" };

async function registryWith(versions: string[], options: ConstructorParameters<typeof ModelRegistry>[1] = {}) {
  const registry = new ModelRegistry(fs.mkdtempSync(path.join(os.tmpdir(), "registry-")), options);
  for (const version of versions) await registry.publish({ ...base, version }, (dir) => fs.writeFileSync(path.join(dir, "model.json"), version), {});
  return registry;
}

function refusal(fn: () => unknown): RegistryError {
  try {
    fn();
  } catch (error) {
    if (error instanceof RegistryError) return error;
    throw error;
  }
  throw new Error("expected a RegistryError");
}

describe("alias history", () => {
  it("writes one line per alias move for publish, set, promote, rollback, pin and unpin", async () => {
    const registry = await registryWith(["v1", "v2"]);
    await registry.publish({ ...base, version: "v3" }, () => undefined, { alias: "candidate", by: "trainer", reason: "trained from the log" });
    registry.setAlias("fraud-gbdt", "current", "v1", { by: "bootstrap", reason: "first model" });
    registry.setAlias("fraud-gbdt", "challenger", "v2", { by: "admin", reason: "arm for the A/B" });
    const promoted = registry.promote("fraud-gbdt", { ...ops, reason: "cost 9120 vs 9800" });
    expect(promoted.version).toBe("v3");
    expect(registry.aliases("fraud-gbdt")).toEqual({ current: "v3", previous: "v1", challenger: "v2" });
    registry.rollback("fraud-gbdt", { by: "rollout-controller", reason: "CTR down 7 %", automatic: true });
    expect(registry.aliases("fraud-gbdt")).toMatchObject({ current: "v1", previous: "v3" });
    registry.pin("fraud-gbdt", "current", undefined, { ...ops, reason: "holiday freeze" });
    registry.unpin("fraud-gbdt", "current", { ...ops, reason: "freeze over" });

    const lines = registry.history("fraud-gbdt").map(({ alias, from, to, by, reason, action, automatic }) => ({ alias, from, to, by, reason, action, automatic }));
    expect(lines).toEqual([
      { alias: "candidate", from: null, to: "v3", by: "trainer", reason: "trained from the log", action: "publish", automatic: false },
      { alias: "current", from: null, to: "v1", by: "bootstrap", reason: "first model", action: "set", automatic: false },
      { alias: "challenger", from: null, to: "v2", by: "admin", reason: "arm for the A/B", action: "set", automatic: false },
      { alias: "previous", from: null, to: "v1", by: "admin:alice", reason: "cost 9120 vs 9800", action: "promote", automatic: false },
      { alias: "current", from: "v1", to: "v3", by: "admin:alice", reason: "cost 9120 vs 9800", action: "promote", automatic: false },
      { alias: "candidate", from: "v3", to: null, by: "admin:alice", reason: "cost 9120 vs 9800", action: "promote", automatic: false },
      { alias: "current", from: "v3", to: "v1", by: "rollout-controller", reason: "CTR down 7 %", action: "rollback", automatic: true },
      { alias: "previous", from: "v1", to: "v3", by: "rollout-controller", reason: "CTR down 7 %", action: "rollback", automatic: true },
      { alias: "current", from: "v1", to: "v1", by: "admin:alice", reason: "holiday freeze", action: "pin", automatic: false },
      { alias: "current", from: "v1", to: "v1", by: "admin:alice", reason: "freeze over", action: "unpin", automatic: false },
    ]);
    for (const line of registry.history("fraud-gbdt")) expect(Date.parse(line.at)).toBeGreaterThan(Date.now() - 60_000);
    expect(registry.history("fraud-gbdt", { limit: 2 }).map((m) => m.action)).toEqual(["pin", "unpin"]);
    // A second rollback rolls forward again.
    registry.rollback("fraud-gbdt", ops);
    expect(registry.aliases("fraud-gbdt")).toMatchObject({ current: "v3", previous: "v1" });
  });

  it("refuses a move without a reason or a who, a bad alias name, an unknown version and an unknown model", async () => {
    const registry = await registryWith(["v1", "v2"]);
    registry.setAlias("fraud-gbdt", "current", "v1", ops);
    expect(refusal(() => registry.promote("fraud-gbdt", { from: "v2", by: "admin", reason: "  " }))).toMatchObject({ code: "INVALID", message: expect.stringMatching(/^reason/) });
    expect(refusal(() => registry.promote("fraud-gbdt", { from: "v2", by: "", reason: "x" }))).toMatchObject({ code: "INVALID", message: expect.stringMatching(/^by/) });
    expect(refusal(() => registry.setAlias("fraud-gbdt", "Not An Alias", "v1", ops))).toMatchObject({ code: "INVALID" });
    expect(refusal(() => registry.setAlias("fraud-gbdt", "v2", "v1", ops)).message).toMatch(/also a version/);
    expect(refusal(() => registry.promote("fraud-gbdt", { ...ops, from: "v9" }))).toMatchObject({ code: "NOT_FOUND" });
    expect(refusal(() => registry.promote("fraud-gbdt", { ...ops, from: "v1" }))).toMatchObject({ code: "CONFLICT", message: expect.stringMatching(/already current/) });
    expect(refusal(() => registry.rollback("fraud-gbdt", ops))).toMatchObject({ code: "NOT_FOUND" });
    expect(refusal(() => registry.promote("ranker-gbdt", ops))).toMatchObject({ code: "NOT_FOUND" });
    expect(refusal(() => registry.aliases("../etc"))).toMatchObject({ code: "INVALID" });
    // Names that are Object.prototype's own find nothing.
    expect(refusal(() => registry.promote("fraud-gbdt", { ...ops, from: "constructor" }))).toMatchObject({ code: "NOT_FOUND" });
    expect(refusal(() => registry.unpin("fraud-gbdt", "tostring", ops))).toMatchObject({ code: "NOT_FOUND" });
    expect(refusal(() => registry.pin("fraud-gbdt", "constructor", undefined, ops))).toMatchObject({ code: "NOT_FOUND" });
    expect(() => registry.resolve("fraud-gbdt", "hasOwnProperty")).toThrow(/no fraud-gbdt model for "hasOwnProperty"/);
    expect(registry.history("fraud-gbdt")).toHaveLength(1);
  });
});

describe("pins", () => {
  it("refuse automatic moves of the pinned alias and let an operator's explicit move through, saying it overrode the pin", async () => {
    const registry = await registryWith(["v1", "v2", "v3"]);
    registry.setAlias("fraud-gbdt", "current", "v1", ops);
    registry.setAlias("fraud-gbdt", "candidate", "v2", ops);
    registry.pin("fraud-gbdt", "current", undefined, { by: "admin:bob", reason: "audit in progress" });
    expect(registry.pins("fraud-gbdt")).toEqual({ current: { by: "admin:bob", reason: "audit in progress", at: expect.any(String) } });

    const refused = refusal(() => registry.promote("fraud-gbdt", { by: "retrain-controller", reason: "cost 90 vs 100", automatic: true }));
    expect(refused.code).toBe("PINNED");
    expect(refused.message).toMatch(/pinned at v1 by admin:bob \(audit in progress\)/);
    expect(refusal(() => registry.setAlias("fraud-gbdt", "current", "v3", { by: "c", reason: "r", automatic: true })).code).toBe("PINNED");
    expect(registry.aliases("fraud-gbdt")).toEqual({ current: "v1", candidate: "v2" });
    // Automatic moves of other aliases are not held by the pin on current.
    registry.setAlias("fraud-gbdt", "candidate", "v3", { by: "trainer", reason: "newer", automatic: true });

    const explicit = registry.promote("fraud-gbdt", { by: "admin:carol", reason: "audit done early", from: "v2" });
    const current = explicit.moves.find((m) => m.alias === "current");
    expect(current).toMatchObject({ from: "v1", to: "v2", overrodePin: { by: "admin:bob", reason: "audit in progress" } });
    // The pin stays on the alias: automation is still held off until an operator unpins it.
    expect(refusal(() => registry.rollback("fraud-gbdt", { by: "rollout-controller", reason: "guardrail", automatic: true })).code).toBe("PINNED");
    expect(refusal(() => registry.unpin("fraud-gbdt", "current", { by: "rollout-controller", reason: "x", automatic: true })).code).toBe("INVALID");
    registry.unpin("fraud-gbdt", "current", { by: "admin:bob", reason: "audit closed" });
    expect(registry.pins("fraud-gbdt")).toEqual({});
    expect(registry.rollback("fraud-gbdt", { by: "rollout-controller", reason: "guardrail", automatic: true }).version).toBe("v1");
    expect(refusal(() => registry.unpin("fraud-gbdt", "current", ops)).code).toBe("NOT_FOUND");
  });

  it("pin with a version moves the alias there first (current keeps previous)", async () => {
    const registry = await registryWith(["v1", "v2"]);
    registry.setAlias("fraud-gbdt", "current", "v2", ops);
    const pinned = registry.pin("fraud-gbdt", "current", "v1", { ...ops, reason: "v2 under investigation" });
    expect(pinned.moves.map((m) => [m.alias, m.from, m.to, m.action])).toEqual([
      ["previous", null, "v2", "pin"],
      ["current", "v2", "v1", "pin"],
    ]);
    expect(registry.aliases("fraud-gbdt")).toEqual({ current: "v1", previous: "v2" });
  });
});

describe("compatibility and integrity on promotion", () => {
  const onlyV1: CompatibilityCheck = (_registry, model, version) =>
    version === "v1" ? { ok: true, reasons: [], notes: [] } : { ok: false, reasons: [`${model}@${version} needs retrieval r7, current is r8`], notes: [] };

  it("refuses an incompatible version with INCOMPATIBLE, lets an operator force it (recorded), never forces automatically", async () => {
    const registry = await registryWith(["v1", "v2"], { compatibility: onlyV1 });
    registry.setAlias("fraud-gbdt", "current", "v1", ops);
    const refused = refusal(() => registry.promote("fraud-gbdt", { ...ops, from: "v2" }));
    expect(refused.code).toBe("INCOMPATIBLE");
    expect(refused.details).toEqual({ reasons: ["fraud-gbdt@v2 needs retrieval r7, current is r8"] });
    expect(registry.aliases("fraud-gbdt")).toEqual({ current: "v1" });
    expect(refusal(() => registry.promote("fraud-gbdt", { ...ops, from: "v2", force: true, automatic: true })).code).toBe("INVALID");

    const forced = registry.promote("fraud-gbdt", { ...ops, reason: "retrieval r7 returns tomorrow", from: "v2", force: true });
    expect(forced.compatibility).toEqual({ ok: false, reasons: ["fraud-gbdt@v2 needs retrieval r7, current is r8"], notes: [] });
    expect(forced.moves.find((m) => m.alias === "current")?.overrodeChecks).toEqual(["fraud-gbdt@v2 needs retrieval r7, current is r8"]);
    // A rollback is never refused for compatibility, but says what failed.
    const back = registry.rollback("fraud-gbdt", ops);
    expect(back.compatibility?.ok).toBe(true);
    const forward = registry.rollback("fraud-gbdt", ops);
    expect(forward.moves[0]?.overrodeChecks).toEqual(["fraud-gbdt@v2 needs retrieval r7, current is r8"]);
  });

  it("refuses to promote a candidate whose files changed or were truncated, and moves nothing", async () => {
    const registry = await registryWith(["v1"]);
    registry.setAlias("fraud-gbdt", "current", "v1", ops);
    const v2 = await registry.publish({ ...base, version: "v2" }, (dir) => fs.writeFileSync(path.join(dir, "model.json"), "x".repeat(1000)), { alias: "candidate", ...ops });
    fs.truncateSync(v2.file("model.json"), 10);
    expect(refusal(() => registry.promote("fraud-gbdt", ops))).toMatchObject({ code: "CORRUPT", message: expect.stringMatching(/model\.json does not match/) });
    expect(registry.aliases("fraud-gbdt")).toEqual({ current: "v1", candidate: "v2" });
    expect(registry.history("fraud-gbdt").map((m) => m.action)).toEqual(["set", "publish"]);
  });
});

describe("the registry lock", () => {
  it("waits for a live holder and gives up with LOCKED; breaks a lock whose process is gone", async () => {
    const registry = await registryWith(["v1"], { lock: { timeoutMs: 300 } });
    const lock = path.join(registry.root, ".lock");
    fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, host: os.hostname(), token: "other", at: Date.now() }));
    const t0 = Date.now();
    expect(refusal(() => registry.setAlias("fraud-gbdt", "current", "v1", ops))).toMatchObject({ code: "LOCKED", message: expect.stringMatching(new RegExp(`pid ${process.pid}`)) });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(registry.aliases("fraud-gbdt")).toEqual({});

    // A pid far above any pid_max: no such process.
    fs.writeFileSync(lock, JSON.stringify({ pid: 2 ** 30, host: os.hostname(), token: "dead", at: Date.now() }));
    registry.setAlias("fraud-gbdt", "current", "v1", ops);
    expect(registry.aliases("fraud-gbdt")).toEqual({ current: "v1" });
    // An old lock from another host is broken by its age.
    fs.writeFileSync(lock, JSON.stringify({ pid: 1, host: "elsewhere", token: "old", at: Date.now() - 120_000 }));
    registry.setAlias("fraud-gbdt", "candidate", "v1", ops);
    expect(fs.existsSync(lock)).toBe(false);
  });
});
