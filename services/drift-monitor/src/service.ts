import type { ServiceDefinition } from "@mlsd/service-kit";
import { createApp } from "./app";
import { DriftMonitorConfigSchema, type DriftMonitorConfig } from "./config";
export { DriftMonitorConfigSchema, type DriftMonitorConfig } from "./config";
import { createDeps, type DriftMonitorDeps } from "./deps";

/** The drift monitor as data: main.ts runs it, tests start it in-process. */
export const driftMonitorService: ServiceDefinition<DriftMonitorConfig, DriftMonitorDeps> = {
  name: "drift-monitor",
  configSchema: DriftMonitorConfigSchema,
  readiness: ["reference"],
  createDeps,
  createApp,
  beforeDrain: (deps) => deps.stopConsuming(),
};
