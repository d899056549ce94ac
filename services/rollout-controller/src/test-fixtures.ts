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
import { createMetrics, Readiness, silentLogger, TokenAuthenticator, type ServiceApp } from "@mlsd/service-kit";
import { createApp } from "./app";
import { RegistryAdmin } from "./registry-admin";

export const ADMIN = "rollout-admin-token-0123";
export const VIEWER = "rollout-viewer-token-0123";
const ops = { by: "fixture", reason: "the state the test starts from" };

/** A service that answers reloads and records who asked. */
export interface ReloadServer {
  url: string;
  calls: { path: string; auth: string | undefined }[];
  close(): Promise<void>;
}

export async function reloadServer(): Promise<ReloadServer> {
  const calls: ReloadServer["calls"] = [];
  const server: Server = createServer((req, res) => {
    calls.push({ path: req.url ?? "", auth: req.headers.authorization });
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ version: "reloaded" }));
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
  events: MemoryEventPublisher;
  metrics: ReturnType<typeof createMetrics>;
  root: string;
}

/**
 * A registry with fraud-gbdt f1 (current), f2 (candidate), f3 (built for other features); retrieval
 * r1 (current), r2; ranker-gbdt k1 (current, trained on r1) and k2 (trained on r2). The app's admin
 * token is ADMIN; VIEWER is a token of another role. Fraud reloads go to `reloadUrls`.
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
  const app = createApp({ logger: silentLogger, metrics, readiness: new Readiness(), auth: new TokenAuthenticator({ admin: ADMIN, viewer: VIEWER }), admin });
  return { app, admin, events, metrics, root };
}
