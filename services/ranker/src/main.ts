import { loadConfigOrExit, runServiceMain } from "@mlsd/service-kit";
import { createApp } from "./app";
import { RankerConfigSchema } from "./config";
import { createRuntime } from "./deps";

const config = loadConfigOrExit("ranker", RankerConfigSchema);
const { deps, logger, readiness, closers } = createRuntime(config);
await runServiceMain(config, {
  app: createApp(deps),
  logger,
  readiness,
  closers,
});
