import type { ServiceDefinition } from "@mlsd/service-kit";
import { createApp } from "./app";
import { RolloutControllerConfigSchema, type RolloutControllerConfig } from "./config";
import { createDeps, type RolloutControllerDeps } from "./deps";

export { RolloutControllerConfigSchema, type RolloutControllerConfig } from "./config";

/** The rollout controller as data: main.ts runs it, tests start it in-process. */
export const rolloutControllerService: ServiceDefinition<RolloutControllerConfig, RolloutControllerDeps> = {
  name: "rollout-controller",
  configSchema: RolloutControllerConfigSchema,
  readiness: [],
  createDeps,
  createApp,
};
