import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serializeDriftReference } from "@mlsd/drift";
import { ModelRegistry } from "@mlsd/model-registry";
import { createMetrics, Readiness, silentLogger, TokenAuthenticator } from "@mlsd/service-kit";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { createApp } from "./app";
import { loadDriftReference, DriftReferenceError } from "@mlsd/model-formats/drift-reference";
import { createMonitor } from "./deps";
import type { MonitorConfig } from "./deps";
import { createDriftMonitorMetrics } from "./metrics";
import { SyntheticDecisions } from "./synthetic";

const ADMIN_TOKEN = "drift-admin-token-0123";

const CONFIG: MonitorConfig = {
  MONITOR: "fraud",
  MODEL_NAME: "fraud-gbdt",
  COUNT_WINDOW_SIZE: 500,
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
};

async function publishModel(registryDir: string, stream: SyntheticDecisions, withReference = true): Promise<string> {
  const registry = new ModelRegistry(registryDir);
  const registered = await registry.publish({ model: "fraud-gbdt", dataWindow: {}, featureSchemaHash: "test", metrics: {}, extra: {} }, async (dir) => {
    await writeFile(join(dir, "model.json"), "{}");
    if (withReference) await writeFile(join(dir, "drift-reference.json"), serializeDriftReference(stream.reference(5_000)));
  });
  return registered.manifest.version;
}

describe("drift monitor HTTP and reference loading", () => {
  it("serves the drift report and the gauges, and reloads the reference when the alias moves", async () => {
    const registryDir = await mkdtemp(join(tmpdir(), "drift-monitor-registry-"));
    try {
      const stream = new SyntheticDecisions({ features: 3, seed: 3, startMs: Date.UTC(2024, 3, 1), stepMs: 1_000 });
      const v1 = await publishModel(registryDir, stream);
      const reference = loadDriftReference(new ModelRegistry(registryDir), "fraud-gbdt", "current");
      expect(reference.id).toBe(`fraud-gbdt@${v1}`);
      const metrics = createMetrics("drift-monitor", { defaultMetrics: false });
      const monitor = createMonitor(CONFIG, { logger: silentLogger, metrics: createDriftMonitorMetrics(metrics.registry), reference, retrain: null, alerts: null });
      for (let i = 0; i < 600; i++) {
        const { decision, label } = stream.next();
        monitor.handle(label ? [decision, label] : [decision]);
      }
      let reloads = 0;
      const app = createApp({
        logger: silentLogger,
        metrics,
        readiness: new Readiness(),
        auth: new TokenAuthenticator({ admin: ADMIN_TOKEN }),
        monitor,
        reloadReference: async () => {
          reloads++;
          const next = loadDriftReference(new ModelRegistry(registryDir), "fraud-gbdt", "current");
          const switched = next.id !== monitor.referenceId;
          if (switched) monitor.setReference(next);
          return { reference: next.id, switched };
        },
      });
      const res = await request(app).get("/v1/drift").expect(200);
      expect(res.body.reference.id).toBe(`fraud-gbdt@${v1}`);
      expect(res.body.events).toMatchObject({ decisions: 600, monitored: 600 });
      const count = res.body.windows.find((w: { window: string }) => w.window === "count");
      expect(count.windowSize).toBe(500);
      expect(count.features.map((f: { feature: string }) => f.feature)).toEqual(["f0", "f1", "f2", "score"]);
      expect(count.features[0]).toHaveProperty("pValue");
      expect(count.features[0]).toHaveProperty("trend");
      const scrape = await request(app).get("/metrics").expect(200);
      expect(scrape.text).toMatch(/drift_monitor_feature_psi\{model="fraud-gbdt",feature="f0",window="count",service="drift-monitor"\} \d/);
      expect(scrape.text).toMatch(/drift_monitor_score_psi\{model="fraud-gbdt",window="time",service="drift-monitor"\} \d/);
      // Labelled metrics are computed at scrape time from the latest bucket with both classes.
      const auc = /drift_monitor_labelled_auc\{model="fraud-gbdt",service="drift-monitor"\} ([\d.]+)/.exec(scrape.text);
      expect(Number(auc?.[1])).toBeCloseTo(res.body.performance.buckets.at(-1).auc, 6);
      expect(scrape.text).toMatch(/drift_monitor_pending_predictions\{model="fraud-gbdt",service="drift-monitor"\} \d+/);

      await request(app).post("/v1/reference/reload").expect(401);
      const reload = () => request(app).post("/v1/reference/reload").set("authorization", `Bearer ${ADMIN_TOKEN}`);
      expect((await reload().expect(200)).body).toEqual({ reference: `fraud-gbdt@${v1}`, switched: false });
      const v2 = await publishModel(registryDir, stream);
      expect((await reload().expect(200)).body).toEqual({ reference: `fraud-gbdt@${v2}`, switched: true });
      expect((await request(app).get("/v1/drift")).body.windows[0].windowSize).toBe(0);
      expect(reloads).toBe(2);

      // A version without a reference file: the reload fails with a 503 naming the file.
      await publishModel(registryDir, stream, false);
      const failed = await reload().expect(503);
      expect(failed.body.error.message).toMatch(/drift-reference\.json/);
    } finally {
      await rm(registryDir, { recursive: true, force: true });
    }
  });

  it("names what is missing when there is no model to load a reference for", async () => {
    const registry = new ModelRegistry("/nonexistent/registry");
    expect(() => loadDriftReference(registry, "fraud-gbdt", "current")).toThrow(DriftReferenceError);
    expect(() => loadDriftReference(registry, "fraud-gbdt", "current")).toThrow(/^MODEL_REGISTRY_DIR: no fraud-gbdt model/);
  });
});
