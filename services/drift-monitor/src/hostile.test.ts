import { createMetrics, Readiness, silentLogger, TokenAuthenticator } from "@mlsd/service-kit";
import { runHostileSuite } from "@mlsd/service-kit/testing";
import { describe, expect, it } from "vitest";
import { createApp } from "./app";
import { createMonitor } from "./deps";
import { SyntheticDecisions } from "./synthetic";

describe("hostile input on every drift-monitor route", () => {
  it("answers every wrong request with a 4xx, never a 5xx, never a hang", async () => {
    const stream = new SyntheticDecisions({ features: 3, seed: 3, startMs: Date.UTC(2024, 3, 1), stepMs: 1_000 });
    const reference = { id: "fraud-gbdt@v1", version: "v1", reference: stream.reference(2_000) };
    const monitor = createMonitor(
      {
        MONITOR: "fraud",
        MODEL_NAME: "fraud-gbdt",
        COUNT_WINDOW_SIZE: 200,
        COUNT_EVALUATE_EVERY: 100,
        TIME_WINDOW_SECONDS: 600,
        TIME_EVALUATE_EVERY: 100,
        PSI_THRESHOLD: 0.1,
        ALPHA: 0.05,
        SUSTAIN: 3,
        CLEAR_AFTER: 3,
        LABEL_HORIZON_MS: 86_400_000,
        PERFORMANCE_BUCKET_MS: 3_600_000,
        PERFORMANCE_MAX_BUCKETS: 24,
        PERFORMANCE_MAX_PENDING: 10_000,
      },
      { logger: silentLogger, metrics: null, reference, retrain: null, alerts: null },
    );
    const app = createApp({
      logger: silentLogger,
      metrics: createMetrics("drift-monitor", { defaultMetrics: false }),
      readiness: new Readiness(),
      auth: new TokenAuthenticator({ admin: "drift-admin-token-0123" }),
      monitor,
      reloadReference: async () => ({ reference: reference.id, switched: false }),
    });
    const route = (method: string, path: string) => app.routes.find((r) => r.method === method && r.path === path)!;
    const { problems } = await runHostileSuite(app, [
      { route: route("GET", "/v1/drift") },
      { route: route("POST", "/v1/reference/reload"), headers: { authorization: "Bearer drift-admin-token-0123" } },
    ]);
    expect(problems).toEqual([]);
  });
});
