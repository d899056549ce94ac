import { createLogger, loadConfigOrExit, runServiceMain } from "@mlsd/service-kit";
import { createApp } from "./app";
import { FraudConfigSchema } from "./config";
import { createDeps } from "./deps";

const config = loadConfigOrExit("fraud", FraudConfigSchema);
const logger = createLogger({ service: "fraud", level: config.LOG_LEVEL });
const runtime = await createDeps(config, logger);
await runServiceMain(config, {
  app: createApp(runtime.deps),
  logger,
  readiness: runtime.deps.readiness,
  closers: runtime.closers,
  beforeDrain: runtime.beforeDrain,
});
