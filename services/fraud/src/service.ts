import type { ServiceDefinition } from "@mlsd/service-kit";
import { createApp, type FraudAppDeps } from "./app";
import { FraudConfigSchema, type FraudConfig } from "./config";
export { FraudConfigSchema, type FraudConfig } from "./config";
import { createDeps } from "./deps";

/** The fraud service as data: main.ts runs it, tests start it in-process. */
export const fraudService: ServiceDefinition<FraudConfig, FraudAppDeps> = {
  name: "fraud",
  configSchema: FraudConfigSchema,
  readiness: ["model", "redis", "kafka-producer"],
  roles: { labels: "LABEL_WRITER_TOKEN" },
  createDeps,
  createApp,
};
