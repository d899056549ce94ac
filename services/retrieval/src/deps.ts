import { ModelRegistry } from "@mlsd/model-registry";
import { AppError, Closers, createLogger, createMetrics, Readiness, type Logger } from "@mlsd/service-kit";
import { Counter } from "prom-client";
import type { RetrievalAppDeps } from "./app";
import { loadRetrievalArtifact, RETRIEVAL_FEATURE_SCHEMA, RETRIEVAL_MODEL_NAME } from "./artifact";
import type { RetrievalConfig } from "./config";
import { Retriever } from "./retriever";

export interface RetrievalRuntime {
  deps: RetrievalAppDeps;
  logger: Logger;
  readiness: Readiness;
  closers: Closers;
}

/** Loads the version `alias` points at: the user tower, the item embeddings and the HNSW index built for them. */
export async function loadRetriever(registry: ModelRegistry, alias: string, ef?: number): Promise<Retriever> {
  const entry = registry.open(RETRIEVAL_MODEL_NAME, alias, RETRIEVAL_FEATURE_SCHEMA);
  const artifact = await loadRetrievalArtifact(entry.dir);
  return new Retriever(artifact, ef !== undefined ? { ef } : {});
}

/**
 * Loads the model; the service stays unready (and answers 503) until one loads, and a model whose
 * index is refused still serves through exact search, marked degraded.
 */
export async function createRuntime(config: RetrievalConfig, logger: Logger = createLogger({ service: "retrieval", level: config.LOG_LEVEL })): Promise<RetrievalRuntime> {
  const metrics = createMetrics("retrieval");
  const readiness = new Readiness(["model"]);
  const closers = new Closers();
  const registry = new ModelRegistry(config.MODEL_REGISTRY_DIR);
  let retriever: Retriever | null = null;
  const reloadModel = async (): Promise<Retriever> => {
    const loaded = await loadRetriever(registry, config.MODEL_ALIAS, config.SEARCH_EF);
    retriever = loaded;
    readiness.set("model", true, loaded.version);
    if (loaded.artifact.indexError) logger.error({ version: loaded.version, err: loaded.artifact.indexError }, "HNSW index refused; serving with exact search");
    if (config.SEARCH === "exact") loaded.exact();
    return loaded;
  };
  try {
    const loaded = await reloadModel();
    logger.info({ version: loaded.version, items: loaded.artifact.itemIds.size, search: config.SEARCH }, "retrieval model loaded");
  } catch (error) {
    readiness.set("model", false, (error as Error).message);
    logger.error({ err: error }, "no retrieval model: train one (npm run train:recs -w @mlsd/trainer) and reload");
  }
  const answers = new Counter({
    name: "retrieval_answers_total",
    help: "Candidate answers by search method and whether they were degraded",
    labelNames: ["source", "degraded"] as const,
    registers: [metrics.registry],
  });
  const deps: RetrievalAppDeps = {
    logger,
    metrics,
    readiness,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    search: config.SEARCH,
    retriever: () => {
      if (!retriever) throw new AppError("UNAVAILABLE", "no retrieval model loaded");
      return retriever;
    },
    reloadModel,
    onAnswer: (source, degraded) => answers.inc({ source, degraded: String(degraded) }),
  };
  return { deps, logger, readiness, closers };
}
