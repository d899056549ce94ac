/**
 * The fraud floor: the least a server can do and still do the fraud service's work per
 * transaction, for bench/fraud-floor-bench.ts to run beside the service. `node:http`, the body
 * parsed with JSON.parse, then the service's own code for the work: the hard rules, the claim and
 * the card and terminal Lua scripts of the feature store (under the same deadline, so a late Redis
 * degrades the answer here too), the model with its reason codes and the decision
 * (@mlsd/fraud-model), the same two events through the same producer and journal (@mlsd/events),
 * the answer stored for retries, the feature store's breaker. No service skeleton, no zod
 * validation, no logger, no metrics, no model arms: what those cost is the service's overhead over this.
 *
 *   node --import tsx bench/fraud-floor.ts --port P --redis URL --kafka HOST:PORT --registry DIR --journal DIR
 *
 * Its settings are the service's defaults (FraudConfigSchema): the feature deadline, the breaker, the
 * rules, the number of reason codes, the model alias.
 *
 * GET /readyz answers 200 once it listens, GET /scored how many transactions it scored (the bench
 * divides CPU by it); SIGTERM flushes the events and exits.
 */
import type { ScoreTransactionRequest, ScoreTransactionResponse } from "@mlsd/contracts";
import { ensureTopics, EventProducer, KafkaRecordSender } from "@mlsd/events";
import { assembleFraudFeatures, RedisFraudFeatureStore, toCents, type FraudAggregates, type TransactionInput } from "@mlsd/feature-store";
import { applyRules, decide, fraudEvents, loadGbdtFraudModel, requestOnlyFeatures } from "@mlsd/fraud-model";
import { ModelRegistry } from "@mlsd/model-registry";
import { FraudConfigSchema } from "@mlsd/fraud-service";
import { breakerOptions, CircuitBreaker, withDeadline } from "@mlsd/service-kit";
import { createKafka } from "@mlsd/service-kit/kafka";
import { Redis } from "ioredis";
import { Registry } from "prom-client";
import { floorArgs, FloorHttpError as HttpError, serveFloor } from "./floor-server";

const { redisUrl, brokers, registryDir, journal, port } = floorArgs("fraud-floor.ts");
// The service's own settings and defaults (deadline, breaker, rules, reason codes), parsed once at start.
const config = FraudConfigSchema.parse({ REDIS_URL: redisUrl, KAFKA_BROKERS: brokers, MODEL_REGISTRY_DIR: registryDir, EVENT_JOURNAL_DIR: journal });
const deadlineMs = config.FEATURE_DEADLINE_MS;
const reasonCount = config.REASON_CODES;
const rules = { maxAmount: config.RULE_MAX_AMOUNT, blockedTerminals: new Set(config.BLOCKED_TERMINALS) };
// As in the service: after repeated late answers Redis is not asked for a while, so an overloaded
// Redis costs both servers the same.
const breaker = new CircuitBreaker("redis", breakerOptions(config, "FEATURE_BREAKER_"));

const model = loadGbdtFraudModel(new ModelRegistry(registryDir), config.MODEL_ALIAS);
// The service's Redis policy: no offline queue, no retries; the deadline decides.
const redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 1_000 });
const store = new RedisFraudFeatureStore(redis);
const kafka = createKafka("fraud-floor", brokers.split(","));
const events = new EventProducer({ sender: new KafkaRecordSender(kafka), journalDir: journal, registry: new Registry(), metricsPrefix: "fraud_floor" });
await events.start();
await ensureTopics(kafka, { timeoutMs: 30_000 });
await new Promise<void>((resolve) => (redis.status === "ready" ? resolve() : redis.once("ready", () => resolve())));

async function score(request: ScoreTransactionRequest): Promise<ScoreTransactionResponse> {
  const t0 = performance.now();
  const timeMs = request.time === undefined ? Date.now() : Date.parse(request.time);
  if (Number.isNaN(timeMs)) throw new HttpError(400, "time is not a date");
  const tx: TransactionInput = { transactionId: request.transactionId, customerId: request.customerId, terminalId: request.terminalId, timeMs, amount: request.amount };
  const rule = applyRules(request, rules);
  let aggregates: FraudAggregates | null = null;
  let degradedReason: string | null = null;
  if (!rule && !breaker.allow()) degradedReason = "feature store circuit open after repeated failures";
  else if (!rule) {
    const result = await withDeadline(deadlineMs, async () => {
      const claim = await store.claim(tx.transactionId, { customerId: tx.customerId, terminalId: tx.terminalId, timeMs, cents: toCents(tx.amount) });
      if (claim.kind === "conflict" || (claim.kind === "retry" && claim.answer !== null)) return claim;
      return { kind: "observed" as const, aggregates: await store.observe(tx) };
    });
    if (result.ok) breaker.success();
    else breaker.failure();
    if (!result.ok) degradedReason = result.reason === "timeout" ? `feature store did not answer within ${deadlineMs} ms` : "feature store unavailable";
    else if (result.value.kind === "conflict") throw new HttpError(409, `transaction id ${tx.transactionId} was already used for another transaction`);
    else if (result.value.kind === "retry") return { ...(JSON.parse(result.value.answer as string) as ScoreTransactionResponse), replayed: true };
    else aggregates = result.value.aggregates;
  }
  const features = aggregates ? assembleFraudFeatures(tx, aggregates) : requestOnlyFeatures(tx, model.featureNames.length);
  const scored = rule ? null : aggregates ? model.score(features, reasonCount) : model.scoreDegraded(features, reasonCount);
  const thresholds = scored?.thresholds ?? model.thresholds;
  const decision = rule ? rule.decision : decide((scored as { probability: number }).probability, thresholds);
  const decidedBy: ScoreTransactionResponse["decidedBy"] = rule ? "rules" : aggregates ? "model" : "fallback";
  const modelVersion = scored?.modelVersion ?? model.version;
  const reasonCodes = rule ? [rule.rule] : (scored?.reasons ?? []).map((r) => r.feature);
  const record = { tx, featureNames: model.featureNames, features, score: scored?.probability ?? null, thresholds, decision, decidedBy, modelVersion, reasonCodes, arm: "current" as const };
  for (const event of fraudEvents({ ...record, latencyMs: performance.now() - t0 }, "fraud")) events.publish(event);
  const answer: ScoreTransactionResponse = {
    transactionId: tx.transactionId,
    score: scored?.probability ?? null,
    decision,
    decidedBy,
    rule: rule?.rule ?? null,
    thresholds: { ...thresholds },
    reasons: scored?.reasons ?? [],
    modelVersion,
    arm: "current",
    degraded: degradedReason !== null,
    degradedReason,
    replayed: false,
    // The service reports its stage times here; the floor keeps no stage timer.
    timings: {},
  };
  if (aggregates) store.saveAnswer(tx.transactionId, JSON.stringify(answer)).catch(() => undefined);
  return answer;
}

serveFloor<ScoreTransactionRequest>({
  port,
  path: "/v1/transactions/score",
  count: "scored",
  answer: score,
  clients: { events, redis },
});
