import { loadConfigOrExit, runService } from "@mlsd/service-kit";
import { createApp } from "./app";
import { RankerConfigSchema } from "./config";
import { createRuntime } from "./deps";

const config = loadConfigOrExit("ranker", RankerConfigSchema);
const { deps, logger, readiness, closers } = createRuntime(config);
await runService({
  app: createApp(deps),
  port: config.PORT,
  host: config.HOST,
  logger,
  readiness,
  closers,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  exitProcess: true,
  handleSignals: true,
});
