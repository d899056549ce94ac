import type { ServiceDefinition } from "@mlsd/service-kit";
import { createApp, type ConsoleDeps } from "./app";
import { ConsoleConfigSchema, type ConsoleConfig } from "./config";
import { createDeps } from "./deps";

export { ConsoleConfigSchema, type ConsoleConfig, KNOWN_SERVICES } from "./config";

/** The console as data: main.ts runs it, tests start it in-process beside the services it watches. */
export const consoleService: ServiceDefinition<ConsoleConfig, ConsoleDeps> = {
  name: "console",
  configSchema: ConsoleConfigSchema,
  readiness: [],
  createDeps,
  createApp,
};
