import { makeEvent, type ShadowPrediction, type ShadowPredictionPayload } from "@mlsd/contracts";
import type { EventPublisher } from "@mlsd/events";
import type { Logger } from "@mlsd/service-kit";
import type { ArmsMetrics } from "./metrics";

/** What a service knows when it hands a shadow over: the answer it gave, and how to ask the challenger. */
export interface ShadowWork {
  requestId: string;
  entityId: string;
  servingVersion: string;
  shadowVersion: string;
  /** The serving model's compute time for the same work, ms (the shadow's is measured here). */
  servingMs: number;
  /** Runs the challenger and pairs its output with the answer's. */
  predict: () => ShadowPrediction | Promise<ShadowPrediction>;
}

export interface ShadowRunnerOptions {
  model: string;
  events: EventPublisher | null;
  logger: Logger;
  metrics?: ArmsMetrics | null;
  /** Shadows waiting or running at once; past it a shadow is dropped (and counted), never queued without bound. */
  maxPending?: number;
  /** Event time for the shadow events (the service clock). */
  now?: () => number;
  producer: string;
}

/**
 * Runs a shadow challenger after the answer is written: the work is scheduled with setImmediate,
 * which runs after the handler's continuation has ended the response, so the answer never waits
 * for it. Under load the shadow yields: past `maxPending` it is dropped rather than queued.
 */
export class ShadowRunner {
  private pending = 0;
  private readonly maxPending: number;

  constructor(private readonly options: ShadowRunnerOptions) {
    this.maxPending = options.maxPending ?? 64;
  }

  get inFlight(): number {
    return this.pending;
  }

  schedule(work: ShadowWork): void {
    const { metrics, model } = this.options;
    if (this.pending >= this.maxPending) {
      metrics?.shadow.inc({ model, outcome: "dropped" });
      return;
    }
    this.pending++;
    setImmediate(() => {
      void this.run(work).finally(() => this.pending--);
    });
  }

  private async run(work: ShadowWork): Promise<void> {
    const { metrics, model } = this.options;
    const t0 = performance.now();
    let prediction: ShadowPrediction | null = null;
    let error: string | null = null;
    try {
      prediction = await work.predict();
    } catch (e) {
      error = (e as Error).message.slice(0, 300);
    }
    const shadowMs = performance.now() - t0;
    metrics?.shadow.inc({ model, outcome: error === null ? "scored" : "failed" });
    metrics?.shadowSeconds.observe({ model }, shadowMs / 1_000);
    if (error !== null) this.options.logger.warn({ model, shadow: work.shadowVersion, err: error }, "shadow prediction failed");
    const payload: ShadowPredictionPayload = {
      model,
      requestId: work.requestId,
      entityId: work.entityId,
      servingVersion: work.servingVersion,
      shadowVersion: work.shadowVersion,
      shadowMs: round3(shadowMs),
      servingMs: round3(work.servingMs),
      prediction,
      error,
    };
    this.options.events?.publish(makeEvent("ml.shadow-prediction", payload, { producer: this.options.producer, ...(this.options.now ? { eventTime: new Date(this.options.now()) } : {}) }));
  }
}

function round3(x: number): number {
  return Math.round(x * 1_000) / 1_000;
}
