import { makeEvent, TOPICS, type RetrainDecisionPayload } from "@mlsd/contracts";
import { openModelRegistry } from "@mlsd/model-formats/compatibility";
import type { AliasMove } from "@mlsd/model-registry";
import { clockFromConfig, httpDeps, type HttpDeps, type ServiceContext } from "@mlsd/service-kit";
import { createKafka, startBackgroundConsumer, startEventPublisher } from "@mlsd/service-kit/kafka";
import { Counter, Histogram } from "prom-client";
import type { RetrainControllerConfig } from "./config";
import { designOf, RetrainController, type CandidatePolicy, type TrainingRunner } from "./controller";
import { parseReloadUrls, PromoteIfBetter } from "./policy";
import { loggedUntil } from "./logged-until";
import { ProcessTrainingRunner } from "./runner";

export interface RetrainControllerDeps extends HttpDeps {
  controller: RetrainController;
  stopConsuming(): Promise<void>;
}

/** What tests swap: the training job (a fake that answers at once) and the candidate policy. */
export interface RetrainControllerOverrides {
  runner?: TrainingRunner;
  policy?: CandidatePolicy;
}

/**
 * The controller, fed by one consumer group over retrain requests (the drift monitors publish
 * them) and by its schedule; decisions go out as events. A request for a model this controller
 * does not retrain is logged and skipped, not an error: several controllers may share the topic.
 */
export function createDepsWith(overrides: RetrainControllerOverrides) {
  return async function createDeps(ctx: ServiceContext<RetrainControllerConfig>): Promise<RetrainControllerDeps> {
    const { config, logger, metrics } = ctx;
    const clock = clockFromConfig(config);
    const registry = openModelRegistry(config.MODEL_REGISTRY_DIR);
    const kafka = createKafka("retrain-controller", config.KAFKA_BROKERS);
    const events = await startEventPublisher(ctx, { kafka, journalDir: config.EVENT_JOURNAL_DIR, metricsPrefix: "retrain_controller", topics: [TOPICS.mlRetrainDecisions, TOPICS.mlModelAliases] });

    const runs = new Counter({
      name: "retrain_controller_decisions_total",
      help: "Retrain decisions by model, trigger and outcome (promoted, held, handed-to-rollout, debounced, failed)",
      labelNames: ["model", "trigger", "decision"] as const,
      registers: [metrics.registry],
    });
    const duration = new Histogram({
      name: "retrain_controller_training_seconds",
      help: "Wall time of training runs from the log, by model",
      labelNames: ["model"] as const,
      buckets: [5, 15, 30, 60, 120, 300, 600, 1800],
      registers: [metrics.registry],
    });
    const onDecision = (p: RetrainDecisionPayload) => {
      runs.inc({ model: p.model, trigger: p.trigger, decision: p.decision });
      if (p.decision !== "debounced") duration.observe({ model: p.model }, p.durationMs / 1_000);
    };

    const runner =
      overrides.runner ??
      new ProcessTrainingRunner({
        registryDir: config.MODEL_REGISTRY_DIR,
        storeDir: config.OFFLINE_STORE_DIR,
        windows: { trainDays: config.TRAIN_DAYS, gapDays: config.GAP_DAYS, evalDays: config.EVAL_DAYS, labelHorizonDays: config.LABEL_HORIZON_DAYS },
        timeoutMs: config.TRAINING_TIMEOUT_MS,
      });
    const onMoves = (moves: readonly AliasMove[]) => {
      for (const move of moves) events.publish(makeEvent("ml.model-alias-moved", move, { producer: "retrain-controller" }));
    };
    const policy = overrides.policy ?? new PromoteIfBetter(config.PROMOTION, registry, parseReloadUrls(config.RELOAD_URLS), config.ADMIN_TOKEN, logger, onMoves, config.ROLLOUT_URL?.replace(/\/$/, "") ?? null);
    const controller = new RetrainController({
      designs: config.DESIGNS,
      clock,
      runner,
      policy,
      events,
      logger,
      debounceMs: config.DEBOUNCE_HOURS * 3_600_000,
      scheduleEveryMs: config.SCHEDULE_EVERY_HOURS * 3_600_000,
      onDecision,
      loggedUntil: (design) => loggedUntil(config.OFFLINE_STORE_DIR, design),
    });
    controller.start();
    // Closers run in reverse: the consumer stops first, then the run in progress finishes, then the producer flushes.
    ctx.closers.add("retrain-controller", () => controller.stop());

    const consumer = startBackgroundConsumer(ctx, {
      kafka,
      groupId: config.CONSUMER_GROUP,
      topics: [TOPICS.mlRetrainRequests],
      handleBatch: async (batch) => {
        for (const { event } of batch) {
          if (event.type !== "ml.retrain-request") continue;
          const request = event.payload;
          const design = designOf(request.model);
          if (design === null || !config.DESIGNS.includes(design)) {
            logger.info({ model: request.model }, "retrain request for a model this controller does not retrain");
            continue;
          }
          const outcome = controller.request(design, request.reason);
          logger.info({ model: request.model, reason: request.reason, by: request.requestedBy, outcome }, "retrain request");
        }
      },
      metricsPrefix: "retrain_controller",
      ensureTopics: true,
      requiredForReadiness: true,
      check: "consumer",
    });
    return { ...httpDeps(ctx), controller, stopConsuming: () => consumer.stop() };
  };
}

export const createDeps = createDepsWith({});
