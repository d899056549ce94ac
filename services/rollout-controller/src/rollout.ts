import { makeEvent, type AnyEvent, type RolloutDecisionPayload } from "@mlsd/contracts";
import type { EventPublisher } from "@mlsd/events";
import type { EvalView } from "@mlsd/online-eval";
import { decideStage, evaluateGuardrails, sequentialTest, tau2ForHorizon, type GuardrailSpec, type SequentialResult, type Stage } from "@mlsd/rollout-stats";
import { AppError, type Clock, type Logger } from "@mlsd/service-kit";

/** What the rollout reads a model's arms from: fed every event, asked for a view. */
export interface Evaluator {
  observe(event: AnyEvent): void;
  view(mode: "split" | "shadow"): EvalView;
}

/** Changes what the services serve: the challenger's exposure. */
export interface ArmsControl {
  expose(model: string, setting: { challenger: string; mode: Stage; share: number }): Promise<void>;
  withdraw(model: string): Promise<void>;
  /** After a promotion (the services reloaded the new current): no challenger may remain. */
  settle(model: string): Promise<void>;
}

/**
 * Moves the registry's aliases; refuses (throws with the reason) when `current` is pinned or the
 * candidate is incompatible. A promotion tells the services serving the model to reload.
 */
export interface RegistryMoves {
  currentVersion(model: string): string;
  resolve(model: string, ref: string): string;
  promote(model: string, version: string, reason: string): Promise<void> | void;
}

export interface RolloutTarget {
  model: string;
  /** The stages a candidate goes through; passing the last one promotes it. */
  stages: readonly Stage[];
  /** A fresh evaluator counting from `since` (clock ms). */
  evaluator: (since: number) => Evaluator;
  /** Per-unit variance of the primary metric assumed when the log before the rollout has too little (by view mode). */
  defaultVariance: { split: number; shadow: number };
}

export interface RolloutPolicy {
  canaryShare: number;
  abShare: number;
  alpha: number;
  /** Units (users, cards; labelled transactions or judged answers in shadow) each arm needs before the candidate may advance. */
  minSamples: number;
  /** The stage ends without a decision once the smaller arm has this many units... */
  maxSamples: number;
  /** ...or after this long on the clock. */
  maxStageMs: number;
  guardrails: GuardrailSpec;
  /** What an exhausted budget means: roll back (no evidence of improvement) or hold for an operator. */
  onBudgetExhausted: "rollback" | "hold";
}

export type RolloutStatus = "running" | "promoted" | "rolled-back" | "held" | "aborted" | "failed";

export interface Rollout {
  id: string;
  model: string;
  candidateVersion: string;
  currentVersion: string;
  stage: Stage;
  status: RolloutStatus;
  startedAt: number;
  stageStartedAt: number;
  /** Real (wall) time the stage started: detection time in the report is both. */
  stageStartedReal: number;
  decisions: RolloutDecisionPayload[];
  exposure: { totalRequests: number; totalUnits: number };
  latest: EvalSummary | null;
}

export interface EvalSummary {
  mode: "split" | "shadow";
  primaryMetric: string;
  current: { requests: number; units: number; summary: Record<string, number | null> };
  challenger: { requests: number; units: number; summary: Record<string, number | null> };
  pValue: number | null;
  estimate: number | null;
}

interface Running {
  rollout: Rollout;
  target: RolloutTarget;
  evaluator: Evaluator;
  tau2: number;
  previous: SequentialResult | null;
}

export interface RolloutControllerOptions {
  targets: readonly RolloutTarget[];
  policy: RolloutPolicy;
  arms: ArmsControl;
  registry: RegistryMoves;
  events: EventPublisher;
  clock: Clock;
  logger: Logger;
  onDecision?: (payload: RolloutDecisionPayload) => void;
  onView?: (model: string, view: EvalView, rollout: Rollout) => void;
}

const PRODUCER = "rollout-controller";

/**
 * Safe rollout of a candidate: shadow, then canary, then (optionally) A/B, then promotion, each
 * step only when its checks pass. Every tick reads the arms from the log, runs the sequential test
 * on the primary metric (always valid, so looking every tick does not inflate false alarms) and
 * the guardrails, and acts: advance, promote, hold, or roll back (the challenger is withdrawn at
 * once; `current` was never touched). The test's mixing variance is fixed when a stage starts, from
 * the log before it (the models in service alone), never from the stage's own data.
 */
export class RolloutController {
  private readonly running = new Map<string, Running>();
  private readonly finished: Rollout[] = [];
  /** Each model's evaluator over the traffic before any rollout: the variance the next stage is planned with. */
  private readonly baselines = new Map<string, Evaluator>();
  private ticking = false;

  constructor(private readonly options: RolloutControllerOptions) {
    for (const t of options.targets) this.baselines.set(t.model, t.evaluator(options.clock.now()));
  }

  observe(event: AnyEvent): void {
    for (const b of this.baselines.values()) b.observe(event);
    for (const r of this.running.values()) r.evaluator.observe(event);
  }

  list(): { running: Rollout[]; finished: Rollout[] } {
    return { running: [...this.running.values()].map((r) => r.rollout), finished: [...this.finished] };
  }

  get(model: string): Rollout | null {
    return this.running.get(model)?.rollout ?? [...this.finished].reverse().find((r) => r.model === model) ?? null;
  }

  getOrThrow(model: string): Rollout {
    const r = this.get(model);
    if (!r) throw new AppError("NOT_FOUND", `no rollout of ${model} yet`, [{ field: "model", message: "no rollout" }]);
    return r;
  }

  /**
   * Starts a rollout of `ref` (an alias such as `candidate`, or a version) for one model, through
   * the target's stages or the ones given (an operator may skip shadow, or add A/B).
   */
  async start(model: string, ref: string, by: string, reason: string, stages?: readonly Stage[]): Promise<Rollout> {
    let target = this.options.targets.find((t) => t.model === model);
    if (!target) throw new AppError("NOT_FOUND", `no rollout target for ${model}: this controller rolls out ${this.options.targets.map((t) => t.model).join(", ")}`, [{ field: "model", message: "unknown model" }]);
    if (this.running.has(model)) throw new AppError("CONFLICT", `a rollout of ${model} is running (${this.running.get(model)?.rollout.candidateVersion}); abort it first`);
    let candidateVersion: string;
    let currentVersion: string;
    try {
      candidateVersion = this.options.registry.resolve(model, ref);
      currentVersion = this.options.registry.currentVersion(model);
    } catch (error) {
      throw new AppError("NOT_FOUND", (error as Error).message, [{ field: "candidate", message: "not in the registry" }]);
    }
    if (candidateVersion === currentVersion) throw new AppError("CONFLICT", `${model}@${candidateVersion} is already current`, [{ field: "candidate", message: "already current" }]);
    if (stages !== undefined) {
      const order: readonly Stage[] = ["shadow", "canary", "ab"];
      const valid = stages.length > 0 && stages.every((x, i) => order.includes(x) && (i === 0 || order.indexOf(x) > order.indexOf(stages[i - 1] as Stage)));
      if (!valid) throw new AppError("BAD_REQUEST", `stages must be a non-empty ordered subset of ${order.join(", ")}, got ${stages.join(", ")}`, [{ field: "stages", message: "an ordered subset of shadow, canary, ab" }]);
      target = { ...target, stages: [...stages] };
    }
    const now = this.options.clock.now();
    const stage = target.stages[0] as Stage;
    const rollout: Rollout = {
      id: `${model}-${candidateVersion}-${now}`,
      model,
      candidateVersion,
      currentVersion,
      stage,
      status: "running",
      startedAt: now,
      stageStartedAt: now,
      stageStartedReal: Date.now(),
      decisions: [],
      exposure: { totalRequests: 0, totalUnits: 0 },
      latest: null,
    };
    const running: Running = { rollout, target, evaluator: target.evaluator(now), tau2: this.plannedTau2(target, stage), previous: null };
    try {
      await this.options.arms.expose(model, this.exposure(candidateVersion, stage));
    } catch (error) {
      // Some replicas may have taken the challenger: take it back everywhere before saying no.
      await this.options.arms.withdraw(model).catch(() => undefined);
      throw new AppError("UNAVAILABLE", `could not expose ${model}@${candidateVersion}: ${(error as Error).message}`);
    }
    this.running.set(model, running);
    this.record(running, { action: "started", nextStage: stage, reasons: [`${by}: ${reason}`], numbers: { tau2: running.tau2 }, guardrails: [] }, by);
    return rollout;
  }

  /** Withdraws the challenger of a running rollout (an operator's stop). */
  async abort(model: string, by: string, reason: string): Promise<Rollout> {
    const r = this.running.get(model);
    if (!r) throw new AppError("NOT_FOUND", `no rollout of ${model} is running`, [{ field: "model", message: "no running rollout" }]);
    await this.options.arms.withdraw(model);
    this.finish(r, "aborted");
    this.record(r, { action: "aborted", nextStage: null, reasons: [`${by}: ${reason}`], numbers: {}, guardrails: [] }, by);
    return r.rollout;
  }

  /** One look at every running rollout. Looks never overlap (a slow service call delays the next). */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      for (const r of [...this.running.values()]) await this.look(r);
    } finally {
      this.ticking = false;
    }
  }

  private async look(r: Running): Promise<void> {
    const { policy } = this.options;
    const { rollout, target } = r;
    const view = r.evaluator.view(rollout.stage === "shadow" ? "shadow" : "split");
    const primary = sequentialTest({ control: view.current.primary, treatment: view.challenger.primary, tau2: r.tau2, alpha: policy.alpha, direction: view.direction, minCount: Math.min(policy.minSamples, 100), previous: r.previous });
    r.previous = primary;
    const guardrails = evaluateGuardrails({
      control: { latency: view.current.latency, errors: view.current.errors },
      treatment: { latency: view.challenger.latency, errors: view.challenger.errors },
      primary,
      spec: policy.guardrails,
    });
    const elapsedMs = this.options.clock.now() - rollout.stageStartedAt;
    const decision = decideStage({
      stage: rollout.stage,
      primary,
      guardrails,
      minSamples: policy.minSamples,
      maxSamples: policy.maxSamples,
      maxDurationMs: policy.maxStageMs,
      elapsedMs,
      onBudgetExhausted: policy.onBudgetExhausted,
      stages: target.stages,
    });
    rollout.latest = {
      mode: view.mode,
      primaryMetric: view.primaryMetric,
      current: { requests: view.current.requests, units: view.current.units, summary: view.current.summary },
      challenger: { requests: view.challenger.requests, units: view.challenger.units, summary: view.challenger.summary },
      pValue: primary.pValue,
      estimate: primary.estimate,
    };
    this.options.onView?.(rollout.model, view, rollout);
    const numbers = { ...decision.numbers, ...prefixed("current", view.current.summary), ...prefixed("challenger", view.challenger.summary), tau2: r.tau2 };
    const gr = guardrails.map((g) => ({ name: g.name, status: g.status, value: finite(g.value), threshold: finite(g.threshold), detail: g.detail }));
    const stageExposure = view.mode === "split" ? { requests: view.challenger.requests, units: view.challenger.units } : { requests: 0, units: 0 };

    try {
      switch (decision.action) {
        case "hold":
          // An exhausted budget under the hold policy ends the automatic rollout; otherwise keep looking.
          if (decision.reasons.some((x) => x.startsWith("budget exhausted"))) {
            this.finish(r, "held");
            this.record(r, { action: "hold", nextStage: null, reasons: decision.reasons, numbers, guardrails: gr }, PRODUCER, stageExposure);
          }
          return;
        case "rollback":
          await this.options.arms.withdraw(rollout.model);
          this.finish(r, "rolled-back");
          this.record(r, { action: "rollback", nextStage: null, reasons: decision.reasons, numbers, guardrails: gr }, PRODUCER, stageExposure);
          return;
        case "advance": {
          const next = decision.nextStage as Stage;
          this.record(r, { action: "advance", nextStage: next, reasons: decision.reasons, numbers, guardrails: gr }, PRODUCER, stageExposure);
          await this.options.arms.expose(rollout.model, this.exposure(rollout.candidateVersion, next));
          const now = this.options.clock.now();
          rollout.stage = next;
          rollout.stageStartedAt = now;
          rollout.stageStartedReal = Date.now();
          r.evaluator = target.evaluator(now);
          r.previous = null;
          r.tau2 = this.plannedTau2(target, next);
          return;
        }
        case "promote":
          await this.options.registry.promote(rollout.model, rollout.candidateVersion, `rollout ${rollout.id}: ${decision.reasons.join("; ")}`.slice(0, 1_000));
          await this.options.arms.settle(rollout.model);
          this.finish(r, "promoted");
          this.record(r, { action: "promote", nextStage: null, reasons: decision.reasons, numbers, guardrails: gr }, PRODUCER, stageExposure);
          this.baselines.set(rollout.model, target.evaluator(this.options.clock.now()));
          return;
      }
    } catch (error) {
      // A refused promotion (a pinned alias) or a service that cannot be reached: the challenger is withdrawn, current keeps serving.
      this.options.logger.error({ model: rollout.model, action: decision.action, err: (error as Error).message }, "rollout step failed");
      await this.options.arms.withdraw(rollout.model).catch(() => undefined);
      this.finish(r, "failed");
      this.record(r, { action: "failed", nextStage: null, reasons: [`${decision.action} failed: ${(error as Error).message}`, ...decision.reasons], numbers, guardrails: gr }, PRODUCER, stageExposure);
    }
  }

  /**
   * tau^2 for a stage, fixed before its data: the primary metric's per-unit variance in the log
   * before the rollout (both arms were the model in service then), or the target's default when
   * that log is too short; tuned to be most powerful at the end of the stage's budget.
   */
  private plannedTau2(target: RolloutTarget, stage: Stage): number {
    const mode = stage === "shadow" ? "shadow" : "split";
    const baseline = this.baselines.get(target.model)?.view("split").current.primary;
    const variance = baseline && baseline.count >= 100 && baseline.variance > 0 ? baseline.variance : target.defaultVariance[mode];
    const { policy } = this.options;
    const share = stage === "canary" ? policy.canaryShare : stage === "ab" ? policy.abShare : 0.5;
    const treatment = policy.maxSamples;
    const control = stage === "shadow" ? treatment : Math.max(treatment, Math.round((treatment * (1 - share)) / share));
    return tau2ForHorizon({ alpha: policy.alpha, perUnitVariance: variance, controlCount: control, treatmentCount: treatment });
  }

  private exposure(version: string, stage: Stage): { challenger: string; mode: Stage; share: number } {
    const share = stage === "canary" ? this.options.policy.canaryShare : stage === "ab" ? this.options.policy.abShare : 0;
    return { challenger: version, mode: stage, share };
  }

  private addExposure(rollout: Rollout, stage: { requests: number; units: number }): void {
    rollout.exposure.totalRequests += stage.requests;
    rollout.exposure.totalUnits += stage.units;
  }

  private finish(r: Running, status: RolloutStatus): void {
    r.rollout.status = status;
    this.running.delete(r.rollout.model);
    this.finished.push(r.rollout);
    if (this.finished.length > 50) this.finished.shift();
  }

  private record(
    r: Running,
    d: Pick<RolloutDecisionPayload, "action" | "nextStage" | "reasons" | "numbers" | "guardrails">,
    by: string,
    stageExposure: { requests: number; units: number } = { requests: 0, units: 0 },
  ): void {
    const { rollout } = r;
    this.addExposure(rollout, stageExposure);
    const payload: RolloutDecisionPayload = {
      rolloutId: rollout.id,
      model: rollout.model,
      candidateVersion: rollout.candidateVersion,
      currentVersion: rollout.currentVersion,
      stage: rollout.stage,
      action: d.action,
      nextStage: d.nextStage,
      primaryMetric: rollout.latest?.primaryMetric ?? "",
      reasons: d.reasons,
      numbers: Object.fromEntries(Object.entries(d.numbers).map(([k, v]) => [k, finite(v)])),
      guardrails: d.guardrails,
      exposure: { stageRequests: stageExposure.requests, stageUnits: stageExposure.units, totalRequests: rollout.exposure.totalRequests, totalUnits: rollout.exposure.totalUnits },
      stageElapsedMs: Math.max(0, this.options.clock.now() - rollout.stageStartedAt),
      by,
    };
    rollout.decisions.push(payload);
    this.options.events.publish(makeEvent("ml.rollout-decision", payload, { producer: PRODUCER, eventTime: new Date(this.options.clock.now()) }));
    this.options.onDecision?.(payload);
    this.options.logger.info({ model: payload.model, stage: payload.stage, action: payload.action, reasons: payload.reasons }, "rollout decision");
  }
}

function finite(x: number | null | undefined): number | null {
  return typeof x === "number" && Number.isFinite(x) ? x : null;
}

function prefixed(prefix: string, summary: Record<string, number | null>): Record<string, number | null> {
  return Object.fromEntries(Object.entries(summary).map(([k, v]) => [`${prefix}.${k}`, v]));
}
