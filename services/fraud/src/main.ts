import { createLogger, loadConfigOrExit, runService } from "@mlsd/service-kit";
import { createApp } from "./app";
import { FraudConfigSchema } from "./config";
import { createDeps } from "./deps";

const config = loadConfigOrExit("fraud", FraudConfigSchema);
const logger = createLogger({ service: "fraud", level: config.LOG_LEVEL });
const runtime = await createDeps(config, logger);
await runService({
  app: createApp(runtime.deps),
  port: config.PORT,
  host: config.HOST,
  logger,
  readiness: runtime.deps.readiness,
  closers: runtime.closers,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  beforeDrain: runtime.beforeDrain,
  exitProcess: true,
  handleSignals: true,
});
