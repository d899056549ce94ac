import type { ServiceDefinition } from "@mlsd/service-kit";
import { createApp, type RankerAppDeps } from "./app";
import { RankerConfigSchema, type RankerConfig } from "./config";
export { RankerConfigSchema, type RankerConfig } from "./config";
import { createDeps } from "./deps";

/** The ranker service as data: main.ts runs it, tests start it in-process. */
export const rankerService: ServiceDefinition<RankerConfig, RankerAppDeps> = {
  name: "ranker",
  configSchema: RankerConfigSchema,
  readiness: ["model", "redis"],
  createDeps,
  createApp,
};
