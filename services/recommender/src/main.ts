import { loadConfigOrExit, runService } from "@mlsd/service-kit";
import { createApp } from "./app";
import { RecommenderConfigSchema } from "./config";
import { createRuntime } from "./deps";

const config = loadConfigOrExit("recommender", RecommenderConfigSchema);
const { deps, logger, closers } = await createRuntime(config);
await runService({
  app: createApp(deps),
  port: config.PORT,
  host: config.HOST,
  logger,
  readiness: deps.readiness,
  closers,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  exitProcess: true,
  handleSignals: true,
});
