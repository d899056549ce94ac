import { makeEvent } from "@mlsd/contracts";
import type { FraudDecisionEvent, LabelEvent } from "@mlsd/contracts";
import { buildReference, createDriftReference } from "@mlsd/drift";
import type { DriftReference } from "@mlsd/drift";
import { Rng } from "@mlsd/random";

/**
 * A seeded stream of fraud decisions for tests and the benchmark: `features` numeric features
 * f0.. (standard normal, f1 with 5% missing), a score that depends on f0, and fraud drawn from the
 * score (calibrated by construction). A shift adds `meanShift` standard deviations to one feature.
 */
export interface SyntheticStreamOptions {
  features: number;
  seed: number;
  /** Decision time of the first event and spacing (ms). */
  startMs: number;
  stepMs: number;
}

export interface Shift {
  feature: string;
  meanShift: number;
}

export class SyntheticDecisions {
  readonly names: string[];
  private readonly rng: Rng;
  private seq = 0;

  constructor(private readonly options: SyntheticStreamOptions) {
    this.names = Array.from({ length: options.features }, (_, i) => `f${i}`);
    this.rng = new Rng(options.seed);
  }

  private draw(shift: Shift | null): { features: Record<string, number | null>; score: number } {
    const features: Record<string, number | null> = {};
    for (const name of this.names) {
      const value = this.rng.normal(shift !== null && shift.feature === name ? shift.meanShift : 0, 1);
      features[name] = name === "f1" && this.rng.next() < 0.05 ? null : value;
    }
    const score = 1 / (1 + Math.exp(-(-3 + 1.2 * (features.f0 ?? 0))));
    return { features, score };
  }

  /** A reference built from `size` draws of the unshifted distribution. */
  reference(size: number): DriftReference {
    const rows = Array.from({ length: size }, () => this.draw(null));
    return createDriftReference({
      features: this.names.map((name) => buildReference(name, rows.map((r) => r.features[name]), { kind: "numeric", bins: 10 })),
      score: buildReference("score", rows.map((r) => r.score), { kind: "numeric", bins: 10 }),
      createdAt: "2024-01-01T00:00:00.000Z",
    });
  }

  /** The next decision and, when it turns out to be fraud, its label (known `labelDelayMs` later). */
  next(shift: Shift | null = null, labelDelayMs = 0): { decision: FraudDecisionEvent; label: LabelEvent | null; fraud: boolean } {
    const n = this.seq++;
    const timeMs = this.options.startMs + n * this.options.stepMs;
    const time = new Date(timeMs).toISOString();
    const { features, score } = this.draw(shift);
    const ids = { transactionId: `tx-${n}`, customerId: `c-${n % 97}`, terminalId: `t-${n % 31}` };
    const decision = makeEvent(
      "fraud.decision",
      { ...ids, features, score, threshold: 0.5, decision: score >= 0.5 ? "decline" : "approve", decidedBy: "model", modelVersion: "fraud-gbdt@test", reasonCodes: [] },
      { producer: "synthetic", eventTime: time },
    );
    const fraud = this.rng.next() < score;
    const knownAt = new Date(timeMs + labelDelayMs).toISOString();
    const label = fraud
      ? makeEvent("fraud.label", { ...ids, label: "chargeback", transactionTime: time, knownAt }, { producer: "synthetic", eventTime: knownAt })
      : null;
    return { decision, label, fraud };
  }
}
