import { Rng } from "@mlsd/random";
import { createFraudWorld, FRAUD_WORLD_PRESETS, resolveFraudWorldOptions, streamTransactionDays, type FraudWorldInput, type FraudWorldPreset } from "@mlsd/synth";
import { transactionAt, type TransactionTable } from "@mlsd/datasets";
import { LoadgenInputError, requireShare } from "../errors";
import { isRecord, numericRecord, type LoadTarget, type PreparedRequest } from "./target";

export interface FraudMixOptions {
  /** The world the model was trained on (default the trainer's "small" preset). */
  world?: FraudWorldPreset | FraudWorldInput;
  /**
   * Days of the world's history to skip before the first request. Default: the world's length,
   * so requests continue in time right after the trainer's history (whose features are in Redis).
   */
  startDay?: number;
  /** Share of requests made invalid on purpose (each kind the contract must refuse). */
  invalidShare?: number;
  /** Seed of the invalid-request draws. */
  seed?: number;
}

/** How long past the training history the stream can run: far more than any load test needs. */
const EXTRA_DAYS = 3650;

export type InvalidKind = "negative-amount" | "missing-customer" | "bad-time" | "unknown-field";
export const INVALID_KINDS: readonly InvalidKind[] = ["negative-amount", "missing-customer", "bad-time", "unknown-field"];

export interface ScoreBody {
  transactionId: string;
  customerId?: string;
  terminalId: string;
  amount: number;
  time: string;
  [extra: string]: unknown;
}

/** Breaks a valid body in one way the score contract refuses. */
export function invalidate(body: ScoreBody, kind: InvalidKind): ScoreBody {
  switch (kind) {
    case "negative-amount":
      return { ...body, amount: -(body.amount + 1) };
    case "missing-customer": {
      const { customerId: _customerId, ...rest } = body;
      return rest;
    }
    case "bad-time":
      return { ...body, time: "yesterday" };
    case "unknown-field":
      return { ...body, merchantCategory: "5411" };
  }
}

/**
 * Transactions of the fraud world in time order, legitimate and fraudulent as the world makes
 * them, each with its own event time, as `POST /v1/transactions/score` bodies. Ids are the
 * trainer's (`String(id)`), so a replay is idempotent in the feature store.
 */
export function fraudTarget(options: FraudMixOptions = {}): LoadTarget {
  const invalidShare = options.invalidShare ?? 0;
  requireShare("invalidShare", invalidShare);
  const base = resolveFraudWorldOptions(typeof options.world === "string" ? FRAUD_WORLD_PRESETS[options.world] : (options.world ?? FRAUD_WORLD_PRESETS.small));
  const startDay = options.startDay ?? base.days;
  if (!Number.isInteger(startDay) || startDay < 0) throw new LoadgenInputError("startDay", `must be an integer >= 0, got ${startDay}`);
  // The same seed with more days: the same customers and terminals, and history that goes on.
  const world = createFraudWorld({ ...base, days: startDay + EXTRA_DAYS });
  const days = streamTransactionDays(world);
  for (let d = 0; d < startDay; d++) days.next();
  const rng = new Rng(options.seed ?? 1);
  let table: TransactionTable | null = null;
  let row = 0;

  const nextValid = (): ScoreBody => {
    while (!table || row >= table.length) {
      const next = days.next();
      if (next.done) throw new RangeError(`the fraud world ran out of transactions after ${startDay + EXTRA_DAYS} days`);
      table = next.value;
      row = 0;
    }
    const tx = transactionAt(table, row++);
    return {
      transactionId: String(tx.transactionId),
      customerId: String(tx.customerId),
      terminalId: String(tx.terminalId),
      amount: tx.amount,
      time: new Date(tx.epochSeconds * 1000).toISOString(),
    };
  };

  return {
    endpoint: "fraud",
    path: "/v1/transactions/score",
    next(): PreparedRequest {
      const body = nextValid();
      if (invalidShare > 0 && rng.bernoulli(invalidShare)) {
        return { body: JSON.stringify(invalidate(body, rng.pick(INVALID_KINDS))), expectRejection: true };
      }
      return { body: JSON.stringify(body), expectRejection: false };
    },
    interpret(_status, body) {
      if (!isRecord(body)) return {};
      const timings = numericRecord(body.timings);
      return { ...(timings ? { timings } : {}), fallback: body.degraded === true };
    },
  };
}
