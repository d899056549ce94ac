import { loadConfig, runService, type RunningService } from "@mlsd/service-kit";
import { createApp } from "./app";
import { RetrievalConfigSchema } from "./config";
import { createRuntime, type RetrievalRuntime } from "./deps";

export { createApp } from "./app";
export { RetrievalConfigSchema, type RetrievalConfig } from "./config";
export { createRuntime, loadRetriever, type RetrievalRuntime } from "./deps";
export { Retriever, type CandidateQuery, type Candidates, type SearchMode } from "./retriever";
export { CandidatesRequestSchema, CandidatesResponseSchema, type CandidatesRequest, type CandidatesRequestInput, type CandidatesResponse } from "./contract";

/** Starts the service in this process (tests, benchmarks): listen, ready, and a shutdown that does not exit. */
export async function startRetrievalService(env: Record<string, string | undefined>): Promise<RunningService & { runtime: RetrievalRuntime }> {
  const config = loadConfig(RetrievalConfigSchema, env);
  const runtime = await createRuntime(config);
  const running = await runService({
    app: createApp(runtime.deps),
    port: config.PORT,
    host: config.HOST,
    logger: runtime.logger,
    readiness: runtime.readiness,
    closers: runtime.closers,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  });
  return { ...running, runtime };
}
