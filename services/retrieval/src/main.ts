import { loadConfigOrExit, runServiceMain } from "@mlsd/service-kit";
import { createApp } from "./app";
import { RetrievalConfigSchema } from "./config";
import { createRuntime } from "./deps";

const config = loadConfigOrExit("retrieval", RetrievalConfigSchema);
const { deps, logger, readiness, closers } = await createRuntime(config);
await runServiceMain(config, {
  app: createApp(deps),
  logger,
  readiness,
  closers,
});
