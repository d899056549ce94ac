import { loadConfigOrExit, runService } from "@mlsd/service-kit";
import { createApp } from "./app";
import { RetrievalConfigSchema } from "./config";
import { createRuntime } from "./deps";

const config = loadConfigOrExit("retrieval", RetrievalConfigSchema);
const { deps, logger, readiness, closers } = await createRuntime(config);
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
