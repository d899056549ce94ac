import type { ServiceDefinition } from "@mlsd/service-kit";
import { createApp, type RetrievalAppDeps } from "./app";
import { CheckedRetrievalConfig, type RetrievalConfig } from "./config";
export { RetrievalConfigSchema, type RetrievalConfig } from "./config";
import { createDeps } from "./deps";


/** The retrieval service as data: main.ts runs it, tests and benches start it in-process. */
export const retrievalService: ServiceDefinition<RetrievalConfig, RetrievalAppDeps> = {
  name: "retrieval",
  configSchema: CheckedRetrievalConfig,
  readiness: ["model"],
  createDeps,
  createApp,
};
