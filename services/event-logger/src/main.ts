import { createLogger, loadConfigOrExit, runServiceMain } from "@mlsd/service-kit";
import { createApp } from "./app";
import { EventLoggerConfigSchema } from "./config";
import { createDeps } from "./deps";

const config = loadConfigOrExit("event-logger", EventLoggerConfigSchema);
const logger = createLogger({ service: "event-logger", level: config.LOG_LEVEL });
const deps = await createDeps(config, logger);
logger.info({ topics: config.TOPICS, group: config.CONSUMER_GROUP, store: config.OFFLINE_STORE_DIR }, "logging events to the offline store");
await runServiceMain(config, {
  app: createApp(deps),
  logger,
  readiness: deps.readiness,
  closers: deps.closers,
  // Stop consuming first: the batch in flight is fsynced and committed before HTTP drains.
  beforeDrain: () => deps.stopConsuming(),
});
