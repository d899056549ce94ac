import type { ServiceDefinition } from "@mlsd/service-kit";
import { createApp } from "./app";
import { RetrainControllerConfigSchema, type RetrainControllerConfig } from "./config";
import { createDeps, createDepsWith, type RetrainControllerDeps, type RetrainControllerOverrides } from "./deps";

export { RetrainControllerConfigSchema, type RetrainControllerConfig } from "./config";
export { DESIGNS, designOf, RetrainController, type TrainingResult, type TrainingRunner, type CandidatePolicy } from "./controller";

/** The retrain controller as data: main.ts runs it, tests start it in-process (optionally with a fake training job). */
export function retrainControllerServiceWith(overrides: RetrainControllerOverrides): ServiceDefinition<RetrainControllerConfig, RetrainControllerDeps> {
  return {
    name: "retrain-controller",
    configSchema: RetrainControllerConfigSchema,
    readiness: [],
    createDeps: overrides.runner || overrides.policy ? createDepsWith(overrides) : createDeps,
    createApp,
    beforeDrain: (deps) => deps.stopConsuming(),
  };
}

export const retrainControllerService = retrainControllerServiceWith({});
