import { loadConfigOrExit, runServiceMain } from "@mlsd/service-kit";
import { createApp } from "./app";
import { RecommenderConfigSchema } from "./config";
import { createRuntime } from "./deps";

const config = loadConfigOrExit("recommender", RecommenderConfigSchema);
const { deps, logger, closers } = await createRuntime(config);
await runServiceMain(config, {
  app: createApp(deps),
  logger,
  readiness: deps.readiness,
  closers,
});
