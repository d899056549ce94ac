import type { ServiceDefinition } from "@mlsd/service-kit";
import { createApp } from "./app";
import { EventLoggerConfigSchema, type EventLoggerConfig } from "./config";
export { EventLoggerConfigSchema, type EventLoggerConfig } from "./config";
import { createDeps, type EventLoggerDeps } from "./deps";

/** The event logger as data: main.ts runs it, tests start it in-process. */
export const eventLoggerService: ServiceDefinition<EventLoggerConfig, EventLoggerDeps> = {
  name: "event-logger",
  configSchema: EventLoggerConfigSchema,
  readiness: ["store"],
  createDeps,
  createApp,
  // Stop consuming first: the batch in flight is fsynced and committed before HTTP drains.
  beforeDrain: (deps) => deps.stopConsuming(),
};
