import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { makeEvent, topicFor, type AnyEvent } from "@mlsd/contracts";
import { fraudFeatureNames, RANKER_FEATURE_NAMES } from "@mlsd/feature-store";
import { loadFraudModel } from "@mlsd/model-formats/fraud";
import { loadDriftReference } from "@mlsd/model-formats/drift-reference";
import { loadRankerModel } from "@mlsd/model-formats/ranker";
import { ModelRegistry } from "@mlsd/model-registry";
import { OfflineStoreWriter } from "@mlsd/offline-store";
import { Rng } from "@mlsd/random";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_RATIO_FEATURES } from "../fraud/selection";
import { trainFraudFromLog } from "./fraud";
import { trainRankerFromLog } from "./recs";
import { logWindows } from "./windows";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "from-log-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const DAY = 86_400_000;
const T0 = Date.UTC(2024, 2, 1);
const iso = (ms: number) => new Date(ms).toISOString();

async function writeStore(dir: string, events: AnyEvent[]): Promise<void> {
  const writer = await OfflineStoreWriter.open({ root: dir });
  await writer.write(events.map((event) => ({ topic: topicFor(event.type), event })));
  await writer.close();
}

describe("windows for training from the log", () => {
  it("run train | gap | evaluation | label horizon, ending at asOf", () => {
    const w = logWindows({ asOf: T0 + 30 * DAY, trainDays: 14, gapDays: 1, evalDays: 3, labelHorizonDays: 7 });
    expect([w.trainFrom, w.trainTo, w.evalFrom, w.evalTo].map((t) => (t - T0) / DAY)).toEqual([5, 19, 20, 23]);
    expect(() => logWindows({ asOf: "yesterday", trainDays: 1, gapDays: 0, evalDays: 1, labelHorizonDays: 0 })).toThrow(/asOf/);
    expect(() => logWindows({ asOf: T0, trainDays: 0, gapDays: 0, evalDays: 1, labelHorizonDays: 0 })).toThrow(/trainDays/);
  });
});

describe("fraud from the log", () => {
  it("trains on logged decisions with the labels known as of the cut-off, and publishes a candidate compared with the model in service", async () => {
    const rng = new Rng(3);
    const names = fraudFeatureNames();
    const events: AnyEvent[] = [];
    // 30 days, 400 decisions a day; fraud when the amount is high. Labels come 2 days late, only for frauds.
    for (let d = 0; d < 30; d++) {
      for (let i = 0; i < 400; i++) {
        const time = T0 + d * DAY + i * 200_000;
        const amount = rng.uniform(1, 300);
        const fraud = rng.bernoulli(amount > 240 ? 0.6 : 0.01);
        const features = Object.fromEntries(names.map((n) => [n, n === "TX_AMOUNT" ? amount : rng.uniform(0, 5)]));
        const id = `tx-${d}-${i}`;
        events.push(
          makeEvent(
            "fraud.decision",
            { transactionId: id, customerId: `c${i % 50}`, terminalId: `t${i % 80}`, features, score: 0.1, threshold: 0.5, decision: "approve", decidedBy: i % 97 === 0 ? "fallback" : "model", modelVersion: "v0", reasonCodes: [] },
            { producer: "fraud", eventTime: iso(time) },
          ),
        );
        if (fraud) events.push(makeEvent("fraud.label", { transactionId: id, customerId: `c${i % 50}`, terminalId: `t${i % 80}`, label: "chargeback", transactionTime: iso(time), knownAt: iso(time + 2 * DAY) }, { producer: "fraud", eventTime: iso(time + 2 * DAY) }));
      }
    }
    const store = path.join(tmp, "fraud-store");
    await writeStore(store, events);
    const registryDir = path.join(tmp, "fraud-registry");
    const first = await trainFraudFromLog({ storeDir: store, registryDir, asOf: T0 + 30 * DAY, trainDays: 14, gapDays: 1, evalDays: 4, labelHorizonDays: 7, alias: "current", log: () => undefined });
    expect(first.comparison.baseline).toBeNull();
    const second = await trainFraudFromLog({ storeDir: store, registryDir, asOf: T0 + 30 * DAY, trainDays: 10, gapDays: 1, evalDays: 4, labelHorizonDays: 7, gbdt: { numRounds: 30 }, log: () => undefined });
    const c = second.comparison;
    expect(c.windows.evaluation).toEqual([iso(T0 + 19 * DAY), iso(T0 + 23 * DAY)]);
    // 4 evaluation days of 400, minus the degraded (fallback) decisions the model never scored in full.
    expect(c.rows.evaluation).toBe(4 * (400 - 5));
    expect(c.candidate.rocAuc).toBeGreaterThan(0.85);
    expect(c.baseline?.version).toBe(first.registered.manifest.version);
    expect(c.baseline?.rocAuc).toBeGreaterThan(0.85);
    // Published as the candidate: the model in service does not change.
    const registry = new ModelRegistry(registryDir);
    expect(registry.aliases("fraud-gbdt")).toMatchObject({ current: first.registered.manifest.version, candidate: second.registered.manifest.version });
    expect(loadFraudModel(registry, "candidate").fallback).not.toBeNull();
    // Trained on the logged features and the ratios it computes from them; the drift reference on the logged ones only.
    expect(loadFraudModel(registry, "candidate").gbdt.featureNames).toEqual([...names, ...DEFAULT_RATIO_FEATURES]);
    expect(loadDriftReference(registry, "fraud-gbdt", second.registered.manifest.version).reference.features.map((f) => f.name)).toEqual(names);
    expect(registry.open("fraud-gbdt", "candidate").manifest.metrics.comparison).toMatchObject({ candidate: { version: second.registered.manifest.version } });
  });

  it("refuses a window with no known frauds, saying which windows it looked at", async () => {
    await expect(trainFraudFromLog({ storeDir: path.join(tmp, "empty-store"), registryDir: path.join(tmp, "r2"), asOf: T0, trainDays: 5, gapDays: 0, evalDays: 1, labelHorizonDays: 1, log: () => undefined })).rejects.toThrow(/not enough logged decisions.*train 2024-02/);
  });
});

describe("the ranker from the log", () => {
  it("trains on the rows it served, labelled by clicks within the attribution window, and beats a ranker that ignores the signal", async () => {
    const rng = new Rng(9);
    const events: AnyEvent[] = [];
    const ctr = RANKER_FEATURE_NAMES.indexOf("item_ctr");
    // 20 days, 150 answers a day of 10 items: the click probability follows item_ctr.
    for (let d = 0; d < 20; d++) {
      for (let r = 0; r < 150; r++) {
        const time = T0 + d * DAY + r * 500_000;
        const requestId = `req-${d}-${r}`;
        const items = Array.from({ length: 10 }, (_, position) => {
          const row = RANKER_FEATURE_NAMES.map((_, j) => (j === ctr ? rng.uniform(0, 0.2) : rng.normal()));
          return { itemId: `i${rng.int(2000)}`, position, score: 10 - position, features: Object.fromEntries(RANKER_FEATURE_NAMES.map((n, j) => [n, row[j] as number])) };
        });
        const distinct = items.filter((item, j) => items.findIndex((x) => x.itemId === item.itemId) === j).map((item, position) => ({ ...item, position }));
        const versions = { retrieval: "retrieval@v1", ranker: "ranker-gbdt@v0" };
        events.push(makeEvent("recs.served", { requestId, userId: `u${r % 40}`, modelVersions: versions, fallback: null, userFeatures: {}, items: distinct }, { producer: "recommender", eventTime: iso(time) }));
        for (const item of distinct) {
          events.push(makeEvent("recs.impression", { requestId, userId: `u${r % 40}`, itemId: item.itemId, position: item.position, modelVersions: versions }, { producer: "recommender", eventTime: iso(time) }));
          if (rng.bernoulli(3 * (item.features.item_ctr as number))) events.push(makeEvent("recs.click", { requestId, userId: `u${r % 40}`, itemId: item.itemId, position: item.position }, { producer: "recommender", eventTime: iso(time + 60_000) }));
        }
      }
    }
    const store = path.join(tmp, "recs-store");
    await writeStore(store, events);
    const registryDir = path.join(tmp, "recs-registry");
    const result = await trainRankerFromLog({ storeDir: store, registryDir, asOf: T0 + 20 * DAY, trainDays: 14, gapDays: 1, evalDays: 4, lambdarank: { numRounds: 60 }, log: () => undefined });
    const c = result.comparison;
    expect(c.answers.evaluation).toBe(4 * 150);
    expect(c.answers.evaluationWithClicks).toBeGreaterThan(400);
    expect(c.candidate.ndcgClicks).toBeGreaterThan(0.6);
    const candidate = loadRankerModel(new ModelRegistry(registryDir), "candidate");
    expect(candidate.extra).toMatchObject({ source: "log", retrievalScorer: "retrieval@v1", requires: { retrieval: ["v1"] } });
  });
});
