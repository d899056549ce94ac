import { createLogger, loadConfigOrExit, runServiceMain } from "@mlsd/service-kit";
import { createApp } from "./app";
import { DriftMonitorConfigSchema } from "./config";
import { createDeps } from "./deps";

const config = loadConfigOrExit("drift-monitor", DriftMonitorConfigSchema);
const logger = createLogger({ service: "drift-monitor", level: config.LOG_LEVEL });
const deps = await createDeps(config, logger);
logger.info({ reference: deps.monitor.referenceId, webhook: config.ALERT_WEBHOOK_URL ?? null }, "monitoring served decisions for drift");
await runServiceMain(config, {
  app: createApp(deps),
  logger,
  readiness: deps.readiness,
  closers: deps.closers,
  beforeDrain: () => deps.stopConsuming(),
});
