import { makeEvent, type AnyEvent, type Arm, type FraudDecision, type RolloutDecisionPayload } from "@mlsd/contracts";
import { MemoryEventPublisher } from "@mlsd/events";
import { stableUnit } from "@mlsd/model-arms";
import { FraudOnlineEval } from "@mlsd/online-eval";
import { Rng } from "@mlsd/random";
import { ManualClock, silentLogger } from "@mlsd/service-kit";
import { describe, expect, it } from "vitest";
import { RolloutController, type ArmsControl, type RegistryMoves, type RolloutPolicy } from "./rollout";

const T0 = Date.UTC(2024, 5, 1);
const iso = (ms: number) => new Date(ms).toISOString();

/** A fraud model as a detector: it declines a fraud with probability `catches`, a good transaction with `falseDeclines`. */
interface Detector {
  catches: number;
  falseDeclines: number;
}

const GOOD: Detector = { catches: 0.6, falseDeclines: 0.03 };

/** The services' arms, as the controller sets them; the simulation serves by them. */
class FakeArms implements ArmsControl {
  setting: { challenger: string; mode: "shadow" | "canary" | "ab"; share: number } | null = null;
  calls: string[] = [];
  async expose(_model: string, setting: { challenger: string; mode: "shadow" | "canary" | "ab"; share: number }) {
    this.setting = setting;
    this.calls.push(`expose ${setting.mode} ${setting.share}`);
  }
  async withdraw() {
    this.setting = null;
    this.calls.push("withdraw");
  }
  async settle() {
    this.setting = null;
    this.calls.push("settle");
  }
}

class FakeRegistry implements RegistryMoves {
  current = "v1";
  promoted: string[] = [];
  currentVersion() {
    return this.current;
  }
  resolve(_model: string, ref: string) {
    if (ref === "candidate") return "v2";
    if (ref === "v1" || ref === "v2") return ref;
    throw new Error(`no fraud-gbdt model for "${ref}"`);
  }
  promote(_model: string, version: string) {
    this.promoted.push(version);
    this.current = version;
  }
}

const POLICY: RolloutPolicy = {
  canaryShare: 0.2,
  abShare: 0.5,
  alpha: 0.05,
  minSamples: 300,
  maxSamples: 4_000,
  maxStageMs: 30 * 86_400_000,
  guardrails: { latency: { maxRatio: 2, slackMs: 5, minCount: 200 }, primaryDrop: { maxRelativeDrop: 0.25 } },
  onBudgetExhausted: "rollback",
};

/**
 * Card holders transact (5 % fraud, amounts 10-300); the arms decide by the detectors; labels come
 * back an hour later. Runs until the rollout ends or `maxBatches` batches of 200 transactions.
 */
async function simulate(challenger: Detector, options: { seed: number; maxBatches?: number; stages?: ("shadow" | "canary" | "ab")[]; challengerLatencyMs?: number; policy?: Partial<RolloutPolicy> }) {
  const clock = new ManualClock(T0);
  const arms = new FakeArms();
  const registry = new FakeRegistry();
  const events = new MemoryEventPublisher();
  const controller = new RolloutController({
    targets: [{ model: "fraud-gbdt", stages: options.stages ?? ["shadow", "canary"], evaluator: (since) => new FraudOnlineEval({ model: "fraud-gbdt", costs: { declineFriction: 10, reviewCost: 2 }, labelHorizonMs: 7 * 86_400_000, since }), defaultVariance: { split: 400, shadow: 400 } }],
    policy: { ...POLICY, ...options.policy },
    arms,
    registry,
    events,
    clock,
    logger: silentLogger,
  });
  const rng = new Rng(options.seed);
  let n = 0;
  const decide = (d: Detector, fraud: boolean): FraudDecision => (rng.bernoulli(fraud ? d.catches : d.falseDeclines) ? "decline" : "approve");
  const batch = (size: number) => {
    const out: AnyEvent[] = [];
    for (let i = 0; i < size; i++) {
      const id = `tx${n++}`;
      const card = `card${rng.int(5_000)}`;
      const t = clock.now();
      const fraud = rng.bernoulli(0.05);
      const amount = Math.round(rng.uniform(10, 300));
      const s = arms.setting;
      const arm: Arm = s && s.mode !== "shadow" && stableUnit(card, "exp") < s.share ? "challenger" : "current";
      const served = decide(arm === "challenger" ? challenger : GOOD, fraud);
      out.push(makeEvent("fraud.transaction", { transactionId: id, customerId: card, terminalId: "T", amount, time: iso(t) }, { producer: "sim", eventTime: iso(t) }));
      out.push(
        makeEvent(
          "fraud.decision",
          { transactionId: id, customerId: card, terminalId: "T", features: {}, score: served === "decline" ? 0.9 : 0.1, threshold: 0.7, decision: served, decidedBy: "model", modelVersion: arm === "current" ? "v1" : "v2", reasonCodes: [], arm, latencyMs: (arm === "challenger" ? (options.challengerLatencyMs ?? 2) : 2) + rng.uniform(0, 1) },
          { producer: "sim", eventTime: iso(t) },
        ),
      );
      if (s?.mode === "shadow") {
        const mine = decide(challenger, fraud);
        out.push(
          makeEvent(
            "ml.shadow-prediction",
            {
              model: "fraud-gbdt",
              requestId: id,
              entityId: card,
              servingVersion: "v1",
              shadowVersion: "v2",
              servingMs: 0.2,
              shadowMs: 0.25,
              prediction: { kind: "fraud", serving: { probability: served === "decline" ? 0.9 : 0.1, decision: served }, shadow: { probability: mine === "decline" ? 0.9 : 0.1, decision: mine } },
              error: null,
            },
            { producer: "sim", eventTime: iso(t) },
          ),
        );
      }
      out.push(makeEvent("fraud.label", { transactionId: id, customerId: card, terminalId: "T", label: fraud ? "chargeback" : "legitimate", transactionTime: iso(t), knownAt: iso(t + 3_600_000) }, { producer: "sim", eventTime: iso(t + 3_600_000) }));
      clock.advance(1_000);
    }
    return out;
  };
  // Before the rollout: the model in service alone (the variance the stages are planned with).
  for (const e of batch(1_000)) controller.observe(e);
  await controller.start("fraud-gbdt", "candidate", "test", "a new candidate");
  for (let b = 0; b < (options.maxBatches ?? 400) && controller.list().running.length > 0; b++) {
    for (const e of batch(200)) controller.observe(e);
    await controller.tick();
  }
  const decisions = events.ofType("ml.rollout-decision").map((e) => e.payload);
  return { decisions, arms, registry, rollout: controller.get("fraud-gbdt") };
}

const actions = (ds: RolloutDecisionPayload[]) => ds.map((d) => `${d.stage}:${d.action}`);

describe("rollout of a fraud model", () => {
  it("takes a better candidate through shadow and canary to current", async () => {
    const { decisions, arms, registry, rollout } = await simulate({ catches: 0.9, falseDeclines: 0.01 }, { seed: 1 });
    expect(actions(decisions)).toEqual(["shadow:started", "shadow:advance", "canary:promote"]);
    expect(arms.calls).toEqual(["expose shadow 0", "expose canary 0.2", "settle"]);
    expect(registry.promoted).toEqual(["v2"]);
    expect(rollout?.status).toBe("promoted");
    const promote = decisions.at(-1)!;
    expect(promote.numbers.relativeEstimate).toBeLessThan(0);
    expect(promote.exposure.stageUnits).toBeGreaterThanOrEqual(POLICY.minSamples);
  });

  it("rolls back in shadow a candidate whose decisions cost more on the same labelled transactions", async () => {
    const { decisions, arms, registry } = await simulate({ catches: 0.2, falseDeclines: 0.2 }, { seed: 2 });
    expect(actions(decisions)).toEqual(["shadow:started", "shadow:rollback"]);
    expect(arms.setting).toBeNull();
    expect(registry.promoted).toEqual([]);
    expect(decisions.at(-1)!.reasons.join(" ")).toMatch(/treatment is worse/);
    // Shadow exposes no card to the candidate.
    expect(decisions.at(-1)!.exposure).toMatchObject({ stageRequests: 0, stageUnits: 0 });
  });

  it("rolls a worse candidate back in canary and says how many requests and cards it answered", async () => {
    const { decisions, arms, registry } = await simulate({ catches: 0.3, falseDeclines: 0.1 }, { seed: 3, stages: ["canary"] });
    expect(actions(decisions)).toEqual(["canary:started", "canary:rollback"]);
    expect(arms.calls).toEqual(["expose canary 0.2", "withdraw"]);
    expect(registry.promoted).toEqual([]);
    const rollback = decisions.at(-1)!;
    expect(rollback.reasons.join(" ")).toMatch(/worse|primary-drop/);
    expect(rollback.numbers.relativeEstimate).toBeGreaterThan(0.2);
    // About a fifth of the cards, and far fewer than the stage's budget: a worse arm is stopped early.
    expect(rollback.exposure.stageRequests).toBeGreaterThan(0);
    expect(rollback.exposure.stageUnits).toBeLessThan(POLICY.maxSamples);
    expect(rollback.exposure.totalUnits).toBe(rollback.exposure.stageUnits);
    expect(rollback.stageElapsedMs).toBeGreaterThan(0);
  });

  it("rolls back a candidate as good as current once the budget is spent (no evidence of improvement)", async () => {
    const { decisions } = await simulate(GOOD, { seed: 4, stages: ["canary"], policy: { maxSamples: 1_500 } });
    expect(actions(decisions)).toEqual(["canary:started", "canary:rollback"]);
    expect(decisions.at(-1)!.reasons[0]).toMatch(/budget exhausted[^]*no evidence of improvement/);
  });

  it("rolls back a better but slower candidate on the latency guardrail", async () => {
    const { decisions } = await simulate({ catches: 0.9, falseDeclines: 0.01 }, { seed: 5, stages: ["canary"], challengerLatencyMs: 40 });
    expect(actions(decisions)).toEqual(["canary:started", "canary:rollback"]);
    const latency = decisions.at(-1)!.guardrails.find((g) => g.name === "latency");
    expect(latency?.status).toBe("breached");
  });
});
