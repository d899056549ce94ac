import { timeSplit, type TimeSplit } from "@mlsd/datasets";
import type { FraudRegime, FraudScenarioOptions, FraudWorldInput } from "@mlsd/synth";
import { fraudData, knownLabels, truth, type FeatureOptions, type FraudData } from "./data";

/** Days of history before any training window, so that the 30-day windows plus the 7-day label shift are full. */
export const WARMUP_DAYS = 35;

export interface WorldSize {
  customers: number;
  trainDays: number;
  validDays: number;
  /** Label delay between the validation window and the test window. */
  delayDays: number;
  testDays: number;
}

/**
 * The lab's fraud world for a seed: the handbook's world scaled down (two terminals per customer,
 * compromised cards and terminals scaled with the population so fraud stays near 1 % of payments),
 * with optional scenario changes and regimes.
 */
export function labWorld(seed: number, customers: number, days: number, extra: { scenarios?: Partial<FraudScenarioOptions>; regimes?: FraudRegime[] } = {}): FraudWorldInput {
  return {
    seed,
    customers,
    terminals: 2 * customers,
    days,
    scenarios: { customersPerDay: Math.max(1, Math.round(customers / 1000)), terminalsPerDay: 1, ...extra.scenarios },
    ...(extra.regimes ? { regimes: extra.regimes } : {}),
  };
}

/** The size most fraud claims run at: eight weeks of traffic from 2,000 cards, two test weeks. */
export const DEFAULT_WORLD: Readonly<WorldSize> = Object.freeze({ customers: 2000, trainDays: 28, validDays: 7, delayDays: 7, testDays: 14 });
/** The CI size: a few hundred cards, one test week. */
export const QUICK_WORLD: Readonly<WorldSize> = Object.freeze({ customers: 400, trainDays: 21, validDays: 7, delayDays: 7, testDays: 7 });

export interface SplitData {
  data: FraudData;
  split: TimeSplit;
  /** Training and validation targets as known when the model is deployed (start of the test window). */
  trainY: Float64Array;
  validY: Float64Array;
  /** Every fraud of the test window, known or not yet: the ground truth a model is judged by. */
  testY: Float64Array;
}

export function worldDays(size: WorldSize): number {
  return WARMUP_DAYS + size.trainDays + size.validDays + size.delayDays + size.testDays;
}

/** A world with warm-up, train, validation, label delay and test windows, in time order. */
export function splitWorld(seed: number, size: WorldSize, extra: { scenarios?: Partial<FraudScenarioOptions>; regimes?: FraudRegime[]; features?: FeatureOptions } = {}): SplitData {
  const data = fraudData(labWorld(seed, size.customers, worldDays(size), extra), extra.features);
  const split = timeSplit(data.table, size);
  return {
    data,
    split,
    trainY: knownLabels(data.table, split.rows.train, split.cutoffMs),
    validY: knownLabels(data.table, split.rows.valid, split.cutoffMs),
    testY: truth(data.table, split.rows.test),
  };
}
