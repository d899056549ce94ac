import type { ServiceDefinition } from "@mlsd/service-kit";
import { createApp, type RecommenderAppDeps } from "./app";
import { RecommenderConfigSchema, type RecommenderConfig } from "./config";
export { RecommenderConfigSchema, type RecommenderConfig } from "./config";
import { createDeps } from "./deps";

/** The recommender service as data: main.ts runs it, tests start it in-process. */
export const recommenderService: ServiceDefinition<RecommenderConfig, RecommenderAppDeps> = {
  name: "recommender",
  configSchema: RecommenderConfigSchema,
  readiness: ["popularity", "redis", "kafka-producer"],
  roles: { clicks: "CLICK_WRITER_TOKEN" },
  createDeps,
  createApp,
};
