import { TOPICS } from "@mlsd/contracts";
import { openModelRegistry } from "@mlsd/model-formats/compatibility";
import { httpDeps, parseKeyedUrls, type ServiceContext } from "@mlsd/service-kit";
import { createKafka, startEventPublisher } from "@mlsd/service-kit/kafka";
import type { RolloutControllerAppDeps } from "./app";
import { RELOAD_URLS_FORMAT, type RolloutControllerConfig } from "./config";
import { RegistryAdmin } from "./registry-admin";

export type RolloutControllerDeps = RolloutControllerAppDeps;

/**
 * The registry (promotions run the formats' compatibility checks) and the event producer of alias
 * moves; the services to reload come from RELOAD_URLS, called with the admin token.
 */
export async function createDeps(ctx: ServiceContext<RolloutControllerConfig>): Promise<RolloutControllerDeps> {
  const { config, logger, metrics } = ctx;
  const kafka = createKafka("rollout-controller", config.KAFKA_BROKERS);
  const events = await startEventPublisher(ctx, { kafka, journalDir: config.EVENT_JOURNAL_DIR, metricsPrefix: "rollout_controller", topics: [TOPICS.mlModelAliases] });
  const admin = new RegistryAdmin({
    registry: openModelRegistry(config.MODEL_REGISTRY_DIR),
    events,
    metrics,
    logger,
    reloadUrls: parseKeyedUrls(config.RELOAD_URLS, RELOAD_URLS_FORMAT),
    adminToken: config.ADMIN_TOKEN,
    reloadTimeoutMs: config.RELOAD_TIMEOUT_MS,
  });
  return { ...httpDeps(ctx), admin };
}
