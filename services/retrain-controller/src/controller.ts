import { makeEvent, type RetrainDecision, type RetrainDecisionPayload } from "@mlsd/contracts";
import type { EventPublisher } from "@mlsd/events";
import { FRAUD_MODEL_NAME } from "@mlsd/model-formats/fraud";
import { RANKER_MODEL_NAME } from "@mlsd/model-formats/ranker";
import type { Clock, Logger } from "@mlsd/service-kit";

export type Design = "fraud" | "recs";
export type Trigger = "drift" | "performance" | "schedule" | "manual";

/** What one training run from the log reports (the trainer's `--json` line). */
export interface TrainingResult {
  model: string;
  version: string;
  comparison: {
    candidate: Record<string, unknown> & { version: string };
    baseline: (Record<string, unknown> & { version: string }) | null;
    rows?: Record<string, number>;
  };
}

/** Runs one training job from the log as of a clock time; throws with the job's reason when it fails. */
export interface TrainingRunner {
  train(design: Design, asOfMs: number): Promise<TrainingResult>;
}

/** Why a promotion did not happen (a pinned `current`, a failed compatibility check), or null. */
export interface PromotionOutcome {
  held: string | null;
}

/** What happens to a candidate once trained: promoted, handed to the rollout, or only registered. */
export interface CandidatePolicy {
  readonly mode: "if-better" | "rollout" | "never";
  /** `reason` is the comparison, recorded in the registry's alias history. */
  promote(design: Design, result: TrainingResult, reason: string): Promise<PromotionOutcome>;
}

/** The model each design retrains, and the metric that judges a candidate. */
export const DESIGNS: Record<Design, { model: string; metric: string; better: (candidate: number, baseline: number) => boolean; read: (score: Record<string, unknown>) => number }> = {
  // Fraud decisions become money: the candidate must cost less on the same rows.
  fraud: { model: FRAUD_MODEL_NAME, metric: "cost", better: (c, b) => c < b, read: (s) => s.cost as number },
  recs: { model: RANKER_MODEL_NAME, metric: "ndcgClicks", better: (c, b) => c > b, read: (s) => s.ndcgClicks as number },
};

export function designOf(model: string): Design | null {
  for (const [design, spec] of Object.entries(DESIGNS) as [Design, (typeof DESIGNS)[Design]][]) if (spec.model === model) return design;
  return null;
}

export interface ControllerOptions {
  designs: readonly Design[];
  clock: Clock;
  runner: TrainingRunner;
  policy: CandidatePolicy;
  events: EventPublisher;
  logger: Logger;
  /** Clock ms after a retrain during which further requests for the same model are one episode. */
  debounceMs: number;
  /** Clock ms between scheduled retrains (0: none). */
  scheduleEveryMs: number;
  onDecision?: (payload: RetrainDecisionPayload) => void;
  /**
   * Clock time up to which the offline store holds the design's labels (the newest logged one), or
   * null when unknown. A run trains as of the earlier of it and the clock: trained "as of now" on a
   * store the event logger has not caught up with, frauds whose labels are still in Kafka would be
   * taken for legitimate once past the label horizon.
   */
  loggedUntil?: (design: Design) => Promise<number | null>;
}

interface DesignState {
  /** Clock ms of the last run started (for debounce and schedule). */
  lastRunAt: number | null;
  running: boolean;
  queued: Trigger | null;
}

/**
 * The retraining policy. Triggers (a drift episode's request, the schedule, an operator) become at
 * most one queued run per design; a request within the debounce of the last run is the same
 * episode and is recorded as debounced. Runs go one at a time (training takes the machine). Each
 * run trains from the log, then the candidate policy decides; every outcome is an
 * `ml.retrain-decision` event with its numbers.
 */
export class RetrainController {
  private readonly state = new Map<Design, DesignState>();
  private readonly history: RetrainDecisionPayload[] = [];
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly options: ControllerOptions) {
    for (const design of options.designs) this.state.set(design, { lastRunAt: null, running: false, queued: null });
  }

  /** Starts the schedule (checked every real second; the clock may run faster than real time). */
  start(): void {
    if (this.options.scheduleEveryMs <= 0) return;
    const started = this.options.clock.now();
    for (const s of this.state.values()) s.lastRunAt ??= started;
    this.timer = setInterval(() => this.tick(), 1_000);
    this.timer.unref();
  }

  /** Waits for the run in progress, then stops taking work. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.chain;
  }

  tick(): void {
    const now = this.options.clock.now();
    for (const [design, s] of this.state) {
      if (s.lastRunAt !== null && now - s.lastRunAt >= this.options.scheduleEveryMs && !s.running && s.queued === null) this.request(design, "schedule");
    }
  }

  /** A trigger for one design; returns what happened to it (queued, or debounced with its reason). */
  request(design: Design, trigger: Trigger): "queued" | "debounced" | "already-queued" {
    const s = this.state.get(design);
    if (!s || this.stopped) return "debounced";
    const now = this.options.clock.now();
    if (trigger !== "manual" && trigger !== "schedule" && s.lastRunAt !== null && now - s.lastRunAt < this.options.debounceMs) {
      this.record(design, trigger, "debounced", null, `a retrain started ${Math.round((now - s.lastRunAt) / 3_600_000)} h ago (clock); the debounce is ${Math.round(this.options.debounceMs / 3_600_000)} h`, 0);
      return "debounced";
    }
    // One run in progress and at most one waiting behind it: the waiting one trains on everything logged by then.
    if (s.queued !== null) return "already-queued";
    s.queued = trigger;
    this.chain = this.chain.then(() => this.run(design));
    return "queued";
  }

  get designs(): readonly Design[] {
    return [...this.state.keys()];
  }

  status(): { running: Design[]; queued: Design[] } {
    const all = [...this.state];
    return { running: all.filter(([, s]) => s.running).map(([d]) => d), queued: all.filter(([, s]) => s.queued !== null).map(([d]) => d) };
  }

  recent(): readonly RetrainDecisionPayload[] {
    return [...this.history];
  }

  /** Resolves when every queued run is done (tests). */
  idle(): Promise<void> {
    return this.chain;
  }

  private async run(design: Design): Promise<void> {
    const s = this.state.get(design) as DesignState;
    const trigger = s.queued ?? "manual";
    s.queued = null;
    if (this.stopped) return;
    s.running = true;
    s.lastRunAt = this.options.clock.now();
    const t0 = performance.now();
    try {
      const logged = this.options.loggedUntil ? await this.options.loggedUntil(design) : null;
      const asOf = logged !== null && logged < s.lastRunAt ? logged : s.lastRunAt;
      const capped = asOf < s.lastRunAt ? `; trained as of ${new Date(asOf).toISOString()}, the newest label in the offline store (the clock read ${new Date(s.lastRunAt).toISOString()})` : "";
      const result = await this.options.runner.train(design, asOf);
      const spec = DESIGNS[design];
      const candidate = spec.read(result.comparison.candidate);
      const baseline = result.comparison.baseline ? spec.read(result.comparison.baseline) : null;
      const wins = baseline === null || spec.better(candidate, baseline);
      const compared = baseline === null ? `no model in service to compare with` : `candidate ${spec.metric} ${fmt(candidate)} vs ${fmt(baseline)} in service on the same rows`;
      let decision: RetrainDecision;
      let reason: string;
      if (this.options.policy.mode === "never") {
        decision = "held";
        reason = `${compared}; promotion is off (PROMOTION=never)`;
      } else if (this.options.policy.mode === "rollout") {
        reason = `${compared}; the rollout decides from live traffic`;
        const { held } = await this.options.policy.promote(design, result, reason);
        decision = held === null ? "handed-to-rollout" : "held";
        if (held !== null) reason = `${reason}, but no rollout started: ${held}`;
      } else if (wins) {
        reason = `${compared}: better`;
        const { held } = await this.options.policy.promote(design, result, reason);
        decision = held === null ? "promoted" : "held";
        if (held !== null) reason = `${reason}, but the registry held it: ${held}`;
      } else {
        decision = "held";
        reason = `${compared}: not better, the model in service stays`;
      }
      this.record(design, trigger, decision, result, reason + capped, performance.now() - t0, candidate, baseline);
    } catch (error) {
      this.options.logger.error({ design, err: (error as Error).message }, "retrain failed");
      this.record(design, trigger, "failed", null, (error as Error).message.slice(0, 500), performance.now() - t0);
    } finally {
      s.running = false;
    }
  }

  private record(design: Design, trigger: Trigger, decision: RetrainDecision, result: TrainingResult | null, reason: string, durationMs: number, candidate: number | null = null, baseline: number | null = null): void {
    const spec = DESIGNS[design];
    const payload: RetrainDecisionPayload = {
      model: spec.model,
      trigger,
      decision,
      candidateVersion: result?.version ?? null,
      baselineVersion: result?.comparison.baseline?.version ?? null,
      candidateMetric: Number.isFinite(candidate) ? candidate : null,
      baselineMetric: Number.isFinite(baseline) ? baseline : null,
      metric: result ? spec.metric : null,
      reason,
      durationMs: Math.round(durationMs),
    };
    this.history.push(payload);
    if (this.history.length > 100) this.history.shift();
    this.options.events.publish(makeEvent("ml.retrain-decision", payload, { producer: "retrain-controller", eventTime: new Date(this.options.clock.now()) }));
    this.options.onDecision?.(payload);
    this.options.logger.info({ ...payload }, "retrain decision");
  }
}

function fmt(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(4);
}
