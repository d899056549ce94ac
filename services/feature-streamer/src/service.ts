import type { ServiceDefinition } from "@mlsd/service-kit";
import { createApp } from "./app";
import { FeatureStreamerConfigSchema, type FeatureStreamerConfig } from "./config";
import { createDeps, type FeatureStreamerDeps } from "./deps";

export { FeatureStreamerConfigSchema, type FeatureStreamerConfig } from "./config";

/** The feature streamer as data: main.ts runs it, tests start it in-process. */
export const featureStreamerService: ServiceDefinition<FeatureStreamerConfig, FeatureStreamerDeps> = {
  name: "feature-streamer",
  configSchema: FeatureStreamerConfigSchema,
  readiness: ["redis"],
  createDeps,
  createApp,
  // Stop consuming first: the batch in flight is applied and committed before anything closes.
  beforeDrain: (deps) => deps.stopConsuming(),
};
