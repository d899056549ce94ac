import type { RolloutDecisionPayload } from "@mlsd/contracts";
import type { EvalView } from "@mlsd/online-eval";
import type { ServiceMetrics } from "@mlsd/service-kit";
import { Counter, Gauge } from "prom-client";
import type { Rollout } from "./rollout";

/** What a dashboard needs to watch a rollout: its decisions, its stage, each arm's exposure and the test's p-value. */
export function rolloutMetrics(metrics: ServiceMetrics) {
  const registers = [metrics.registry];
  const decisions = new Counter({ name: "rollout_controller_rollout_decisions_total", help: "Rollout decisions by model, stage and action (started, advance, promote, hold, rollback, aborted, failed)", labelNames: ["model", "stage", "action"] as const, registers });
  const stage = new Gauge({ name: "rollout_controller_rollout_stage", help: "1 for the stage a model's running rollout is in (shadow, canary, ab); 0 otherwise", labelNames: ["model", "stage"] as const, registers });
  const units = new Gauge({ name: "rollout_controller_rollout_arm_units", help: "Units (users, cards; judged answers in shadow) each arm has in the running stage", labelNames: ["model", "arm"] as const, registers });
  const pValue = new Gauge({ name: "rollout_controller_rollout_p_value", help: "Always-valid p-value of the running stage's primary metric (1 before any evidence)", labelNames: ["model"] as const, registers });
  return {
    onDecision(d: RolloutDecisionPayload): void {
      decisions.inc({ model: d.model, stage: d.stage, action: d.action });
      for (const s of ["shadow", "canary", "ab"]) stage.set({ model: d.model, stage: s }, d.nextStage === s ? 1 : 0);
    },
    onView(model: string, view: EvalView, rollout: Rollout): void {
      units.set({ model, arm: "current" }, view.current.units);
      units.set({ model, arm: "challenger" }, view.challenger.units);
      pValue.set({ model }, rollout.latest?.pValue ?? 1);
    },
  };
}
