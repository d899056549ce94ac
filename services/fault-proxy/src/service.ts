import type { ServiceDefinition } from "@mlsd/service-kit";
import { createApp } from "./app";
import { FaultProxyConfigSchema, type FaultProxyConfig } from "./config";
import { createDeps, type FaultProxyDeps } from "./deps";

export { FaultProxyConfigSchema, type FaultProxyConfig } from "./config";

/** The fault proxy as data: main.ts runs it, tests start it in-process. */
export const faultProxyService: ServiceDefinition<FaultProxyConfig, FaultProxyDeps> = {
  name: "fault-proxy",
  configSchema: FaultProxyConfigSchema,
  createDeps,
  createApp,
};
