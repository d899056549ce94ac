import { loadConfig, runService, type RunningService } from "@mlsd/service-kit";
import { createApp } from "./app";
import { RecommenderConfigSchema } from "./config";
import { createRuntime, type RecommenderRuntime } from "./deps";

export { createApp, type RecommenderAppDeps } from "./app";
export { RecommenderConfigSchema, type RecommenderConfig } from "./config";
export { createRuntime, type RecommenderRuntime } from "./deps";
export { RecommendationsRequestSchema, RecommendationsResponseSchema, type RecommendationsRequest, type RecommendationsResponse } from "./contract";

/** Starts the service in this process (tests, benchmarks): listen, ready, and a shutdown that does not exit. */
export async function startRecommenderService(env: Record<string, string | undefined>): Promise<RunningService & { runtime: RecommenderRuntime }> {
  const config = loadConfig(RecommenderConfigSchema, env);
  const runtime = await createRuntime(config);
  const running = await runService({
    app: createApp(runtime.deps),
    port: config.PORT,
    host: config.HOST,
    logger: runtime.logger,
    readiness: runtime.deps.readiness,
    closers: runtime.closers,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  });
  return { ...running, runtime };
}
