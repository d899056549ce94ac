import fs from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { MemoryEventPublisher } from "@mlsd/events";
import { fraudFeatureSchemaHash, rankerFeatureSchemaHash } from "@mlsd/feature-store";
import { FRAUD_MODEL_NAME } from "@mlsd/model-formats/fraud";
import { openModelRegistry } from "@mlsd/model-formats/compatibility";
import { RANKER_MODEL_NAME } from "@mlsd/model-formats/ranker";
import { RETRIEVAL_FEATURE_SCHEMA, RETRIEVAL_MODEL_NAME } from "@mlsd/model-formats/retrieval";
import { FraudOnlineEval } from "@mlsd/online-eval";
import { createMetrics, ManualClock, Readiness, silentLogger, TokenAuthenticator, type ServiceApp } from "@mlsd/service-kit";
import { createApp } from "./app";
import { HttpArmsControl } from "./http-arms";
import { RegistryAdmin } from "./registry-admin";
import { registryMoves } from "./registry-moves";
import { RolloutController } from "./rollout";

export const ADMIN = "rollout-admin-token-0123";
export const VIEWER = "rollout-viewer-token-0123";
const ops = { by: "fixture", reason: "the state the test starts from" };

/** A service that answers reloads and records who asked. */
export interface ReloadServer {
  url: string;
  calls: { method: string; path: string; auth: string | undefined; body: string }[];
  close(): Promise<void>;
}

export async function reloadServer(): Promise<ReloadServer> {
  const calls: ReloadServer["calls"] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      calls.push({ method: req.method ?? "", path: req.url ?? "", auth: req.headers.authorization, body });
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ version: "reloaded" }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls, close: () => new Promise((r) => server.close(() => r())) };
}

/** An address nothing listens on (a port just freed). */
export async function closedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  await new Promise((r) => server.close(r));
  return `http://127.0.0.1:${port}`;
}

export interface RegistryFixture {
  app: ServiceApp;
  admin: RegistryAdmin;
  rollouts: RolloutController;
  events: MemoryEventPublisher;
  metrics: ReturnType<typeof createMetrics>;
  root: string;
}

/**
 * A registry with fraud-gbdt f1 (current), f2 (candidate), f3 (built for other features); retrieval
 * r1 (current), r2; ranker-gbdt k1 (current, trained on r1) and k2 (trained on r2). The app's admin
 * token is ADMIN; VIEWER is a token of another role. Fraud reloads and arms go to `reloadUrls`;
 * only fraud-gbdt can be rolled out.
 */
export async function registryFixture(reloadUrls: string[] = []): Promise<RegistryFixture> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "rollout-registry-"));
  const registry = openModelRegistry(root);
  const publish = (model: string, version: string, featureSchemaHash: string, alias: string | undefined, extra: Record<string, unknown> = {}) =>
    registry.publish({ model, version, dataWindow: { test: true }, featureSchemaHash, metrics: { auc: 0.9, cost: 9120 }, extra }, (dir) => fs.writeFileSync(path.join(dir, "model.bin"), `${model}@${version}`), alias ? { alias, ...ops } : {});
  await publish(FRAUD_MODEL_NAME, "f1", fraudFeatureSchemaHash(), "current");
  await publish(FRAUD_MODEL_NAME, "f2", fraudFeatureSchemaHash(), "candidate");
  await publish(FRAUD_MODEL_NAME, "f3", "other-features", undefined);
  await publish(RETRIEVAL_MODEL_NAME, "r1", RETRIEVAL_FEATURE_SCHEMA, "current");
  await publish(RETRIEVAL_MODEL_NAME, "r2", RETRIEVAL_FEATURE_SCHEMA, undefined);
  const ranker = (retrieval: string) => ({ objective: "lambdarank", k: 10, retrievalScorer: `two-tower ${retrieval}`, features: [], requires: { [RETRIEVAL_MODEL_NAME]: [retrieval] } });
  await publish(RANKER_MODEL_NAME, "k1", rankerFeatureSchemaHash(), "current", ranker("r1"));
  await publish(RANKER_MODEL_NAME, "k2", rankerFeatureSchemaHash(), "candidate", ranker("r2"));

  const events = new MemoryEventPublisher();
  const metrics = createMetrics("rollout-controller", { defaultMetrics: false });
  const admin = new RegistryAdmin({ registry, events, metrics, logger: silentLogger, reloadUrls: new Map([[FRAUD_MODEL_NAME, reloadUrls]]), adminToken: ADMIN, reloadTimeoutMs: 5_000 });
  const urls = new Map([[FRAUD_MODEL_NAME, reloadUrls]]);
  const rollouts = new RolloutController({
    targets: [{ model: FRAUD_MODEL_NAME, stages: ["shadow", "canary"], evaluator: (since) => new FraudOnlineEval({ model: FRAUD_MODEL_NAME, costs: { declineFriction: 10, reviewCost: 2 }, labelHorizonMs: 7 * 86_400_000, since }), defaultVariance: { split: 400, shadow: 400 } }],
    policy: { canaryShare: 0.1, abShare: 0.5, alpha: 0.05, minSamples: 500, maxSamples: 20_000, maxStageMs: 72 * 3_600_000, guardrails: { primaryDrop: { maxRelativeDrop: 0.05 } }, onBudgetExhausted: "rollback" },
    arms: new HttpArmsControl(urls, ADMIN, 5_000),
    registry: registryMoves(admin),
    events,
    clock: new ManualClock(Date.UTC(2024, 0, 1)),
    logger: silentLogger,
  });
  const app = createApp({ logger: silentLogger, metrics, readiness: new Readiness(), auth: new TokenAuthenticator({ admin: ADMIN, viewer: VIEWER }), admin, rollouts });
  return { app, admin, rollouts, events, metrics, root };
}
