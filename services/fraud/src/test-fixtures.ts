import type { AnyEvent } from "@mlsd/contracts";
import { DAY_MS, fraudFeatureNames, fraudFeatureSchemaHash, MemoryFraudFeatureStore } from "@mlsd/feature-store";
import { Dataset, train, type GbdtModel } from "@mlsd/gbdt";
import { ModelArms } from "@mlsd/model-arms";
import { publishFraudModel } from "@mlsd/model-formats/fraud";
import { ModelRegistry } from "@mlsd/model-registry";
import { buildReference, createDriftReference } from "@mlsd/drift";
import { Rng } from "@mlsd/random";
import { CircuitBreaker, createLogger, createMetrics, ManualClock, Readiness, TimeBounds, TokenAuthenticator } from "@mlsd/service-kit";
import { createApp, type FraudAppDeps } from "./app";
import { GbdtFraudModel, type FraudModel } from "@mlsd/fraud-model";

/**
 * A small real GBDT for tests: fraud is likely when the amount is high or the terminal's 7-day
 * risk is high, so decisions move with inputs the tests control. `firstFeatures` trains it on the
 * first n features only (a fallback over the request's own features).
 */
export function trainTestGbdt(seed = 1, firstFeatures?: number): GbdtModel {
  const names = fraudFeatureNames();
  const amount = names.indexOf("TX_AMOUNT");
  const risk = names.indexOf("TERMINAL_ID_RISK_7DAY_WINDOW");
  const rng = new Rng(seed);
  const rows: Float64Array[] = [];
  const labels: number[] = [];
  for (let i = 0; i < 4000; i++) {
    const row = new Float64Array(names.length);
    for (let f = 0; f < names.length; f++) row[f] = rng.uniform(0, 10);
    row[amount] = rng.uniform(0, 300);
    row[risk] = rng.bernoulli(0.1) ? rng.uniform(0.3, 1) : 0;
    rows.push(row);
    const p = (row[amount] as number) > 220 ? 0.95 : (row[risk] as number) > 0.25 ? 0.8 : 0.02;
    labels.push(rng.bernoulli(p) ? 1 : 0);
  }
  const used = firstFeatures ?? names.length;
  const data = Dataset.fromRows(
    rows.map((r) => r.subarray(0, used)),
    { labels, featureNames: names.slice(0, used), seed },
  );
  return train(data, { objective: "binary", numRounds: 40, maxDepth: 4, learningRate: 0.3, seed }).model;
}

export const TEST_THRESHOLDS = { review: 0.3, decline: 0.7 };

/** The model the unit tests serve; `withFallback` adds a fallback over the request's own features (amount, weekend, night). */
export function trainTestModel(seed = 1, withFallback = false): GbdtFraudModel {
  const gbdt = trainTestGbdt(seed);
  const fallback = withFallback ? { gbdt: trainTestGbdt(seed, 3), thresholds: { review: 0.2, decline: 0.6 } } : null;
  return new GbdtFraudModel(gbdt, "test-model-1", TEST_THRESHOLDS, fraudFeatureSchemaHash(), fallback);
}

export const LABEL_TOKEN = "label-writer-token-0123";
export const ADMIN_TOKEN = "admin-token-0123456789";
/** The unit tests' transactions happen at T0; the service clock stands a minute later. */
export const T0 = "2018-06-01T10:00:00Z";

const served = trainTestModel();
/** What the tests' registry double holds: `current`, and a challenger trained on another seed. */
export const TEST_MODELS = { current: served, candidate: new GbdtFraudModel(trainTestGbdt(7), "test-model-2", TEST_THRESHOLDS, fraudFeatureSchemaHash()) };

function missing(ref: string): never {
  throw Object.assign(new Error(`no fraud-gbdt model for "${ref}"`), { code: "NOT_FOUND" });
}

/** The app on in-memory twins: a real model, the memory feature store, events into an array, a manual clock. */
export function setup(overrides: Partial<FraudAppDeps> = {}) {
  const events: AnyEvent[] = [];
  const store = new MemoryFraudFeatureStore();
  const logger = createLogger({ service: "fraud", level: "silent" });
  const arms = new ModelArms<FraudModel>({ model: "fraud-gbdt", load: (ref) => TEST_MODELS[ref as keyof typeof TEST_MODELS] ?? missing(ref), currentAlias: "current", logger, initial: served });
  // Requests may be 2 s ahead of the clock and 30 days behind it.
  const clock = new ManualClock(Date.parse(T0) + 60_000);
  const deps: FraudAppDeps = {
    logger,
    metrics: createMetrics("fraud", { defaultMetrics: false }),
    readiness: new Readiness(),
    auth: new TokenAuthenticator({ admin: ADMIN_TOKEN, labels: LABEL_TOKEN }),
    store,
    storeBreaker: new CircuitBreaker("redis", { failureRate: 1, minimumCalls: 3, windowSize: 3, cooldownMs: 60_000 }),
    featureDeadlineMs: 20,
    model: () => arms.current(),
    route: (customerId) => arms.route(customerId),
    arms,
    rules: { maxAmount: 10_000, blockedTerminals: new Set(["T-BLOCKED"]) },
    events: { publish: (e) => events.push(e) },
    reasonCount: 3,
    timeBounds: new TimeBounds(clock, 2_000, 30 * DAY_MS),
    labelCheckDeadlineMs: 50,
    ...overrides,
  };
  // A test that swaps the model serves that model alone.
  if (overrides.model && !overrides.route) delete deps.route;
  return { app: createApp(deps), events, store, deps, clock, arms };
}

/** Publishes the test GBDT as `version` in the registry at `registryDir`: the model the integration tests serve. */
export async function publishTestFraudModel(registryDir: string, version: string): Promise<void> {
  await publishFraudModel(new ModelRegistry(registryDir), {
    gbdt: trainTestGbdt(),
    version,
    thresholds: TEST_THRESHOLDS,
    driftReference: createDriftReference({ features: [buildReference("TX_AMOUNT", [1, 2, 3, 4], { kind: "numeric", bins: 2 })] }),
    dataWindow: { test: true },
    metrics: {},
  });
}
