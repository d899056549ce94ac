import { TOPICS } from "@mlsd/contracts";
import { openModelRegistry } from "@mlsd/model-formats/compatibility";
import { clockFromConfig, httpDeps, parseKeyedUrls, type ServiceContext } from "@mlsd/service-kit";
import { createKafka, startBackgroundConsumer, startEventPublisher } from "@mlsd/service-kit/kafka";
import type { RolloutControllerAppDeps } from "./app";
import { RELOAD_URLS_FORMAT, type RolloutControllerConfig } from "./config";
import { HttpArmsControl } from "./http-arms";
import { RegistryAdmin } from "./registry-admin";
import { registryMoves } from "./registry-moves";
import { RolloutController } from "./rollout";
import { rolloutMetrics } from "./rollout-metrics";
import { rolloutPolicy, rolloutTargets } from "./targets";

export type RolloutControllerDeps = RolloutControllerAppDeps;

/** What the online evaluation reads: answers, outcomes, labels, shadow predictions (and the world's truth when it runs). */
export const EVALUATION_TOPICS = [
  TOPICS.fraudTransactions,
  TOPICS.fraudDecisions,
  TOPICS.fraudLabels,
  TOPICS.recsServed,
  TOPICS.recsClicks,
  TOPICS.mlShadowPredictions,
  TOPICS.worldRecsOutcomes,
];

/**
 * The registry (promotions run the formats' compatibility checks), the event producer of alias
 * moves and rollout decisions, the rollout controller reading the log from Kafka and looking at
 * its rollouts every tick; the services come from RELOAD_URLS, called with the admin token.
 */
export async function createDeps(ctx: ServiceContext<RolloutControllerConfig>): Promise<RolloutControllerDeps> {
  const { config, logger, metrics } = ctx;
  const kafka = createKafka("rollout-controller", config.KAFKA_BROKERS);
  const events = await startEventPublisher(ctx, { kafka, journalDir: config.EVENT_JOURNAL_DIR, metricsPrefix: "rollout_controller", topics: [TOPICS.mlModelAliases, TOPICS.mlRolloutDecisions] });
  const urls = parseKeyedUrls(config.RELOAD_URLS, RELOAD_URLS_FORMAT);
  const admin = new RegistryAdmin({
    registry: openModelRegistry(config.MODEL_REGISTRY_DIR),
    events,
    metrics,
    logger,
    reloadUrls: urls,
    adminToken: config.ADMIN_TOKEN,
    reloadTimeoutMs: config.RELOAD_TIMEOUT_MS,
  });
  const hooks = rolloutMetrics(metrics);
  const controller = new RolloutController({
    targets: rolloutTargets(config, new Set(urls.keys())),
    policy: rolloutPolicy(config),
    arms: new HttpArmsControl(urls, config.ADMIN_TOKEN, config.RELOAD_TIMEOUT_MS),
    registry: registryMoves(admin),
    events,
    clock: clockFromConfig(config),
    logger,
    onDecision: hooks.onDecision,
    onView: hooks.onView,
  });
  // From where the group stands (the latest offsets on its first start): the evaluation needs what
  // happens from a rollout on, and the log since start-up plans the first stage's test.
  startBackgroundConsumer(ctx, {
    kafka,
    groupId: config.CONSUMER_GROUP,
    topics: EVALUATION_TOPICS,
    handleBatch: async (batch) => {
      for (const c of batch) controller.observe(c.event);
    },
    metricsPrefix: "rollout_controller",
    ensureTopics: config.ENSURE_TOPICS,
    fromBeginning: false,
    check: "consumer",
  });
  const timer = setInterval(() => {
    controller.tick().catch((error: unknown) => logger.error({ err: (error as Error).message }, "rollout tick failed"));
  }, config.ROLLOUT_TICK_SECONDS * 1000);
  timer.unref();
  ctx.closers.add("rollout-ticks", async () => clearInterval(timer));
  return { ...httpDeps(ctx), admin, rollouts: controller };
}
