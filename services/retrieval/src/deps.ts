import { loadRetrievalModel, RETRIEVAL_MODEL_NAME } from "@mlsd/model-formats/retrieval";
import { ModelRegistry } from "@mlsd/model-registry";
import { AppError, httpDeps, setModelVersion, type ServiceContext } from "@mlsd/service-kit";
import { Counter, Gauge } from "prom-client";
import type { RetrievalAppDeps } from "./app";
import type { RetrievalConfig } from "./config";
import { Retriever } from "./retriever";

/** Loads the version `alias` points at: the user tower, the item embeddings and the HNSW index built for them. */
export async function loadRetriever(registry: ModelRegistry, alias: string, ef?: number): Promise<Retriever> {
  return new Retriever(await loadRetrievalModel(registry, alias), ef !== undefined ? { ef } : {});
}

/**
 * Loads the model; the service stays unready (and answers 503) until one loads. An index that
 * fails to load is never silent: at start-up, with nothing better to serve, exact search answers
 * and every answer says it is degraded (readiness and a gauge say so too); on a reload, the new
 * version is refused and the one in service keeps serving. Reloads run one at a time, so two
 * overlapping requests cannot finish out of order and leave the older model installed.
 */
export async function createDeps(ctx: ServiceContext<RetrievalConfig>): Promise<RetrievalAppDeps> {
  const { config, logger, metrics, readiness } = ctx;
  const registry = new ModelRegistry(config.MODEL_REGISTRY_DIR);
  const answers = new Counter({ name: "retrieval_answers_total", help: "Candidate answers by search method and whether they were degraded", labelNames: ["source", "degraded"] as const, registers: [metrics.registry] });
  const indexFallback = new Gauge({ name: "retrieval_index_fallback", help: "1 while the model in service has no usable HNSW index and exact search answers (degraded)", registers: [metrics.registry] });

  let retriever: Retriever | null = null;
  const install = (loaded: Retriever) => {
    retriever = loaded;
    const indexError = loaded.artifact.indexError;
    indexFallback.set(indexError ? 1 : 0);
    readiness.set("model", true, indexError ? `${loaded.version}: HNSW index refused (${indexError}); exact search answers, degraded` : loaded.version);
    setModelVersion(metrics, RETRIEVAL_MODEL_NAME, loaded.version);
    if (config.SEARCH === "exact") loaded.exact();
  };
  let queue: Promise<unknown> = Promise.resolve();
  const reloadModel = (): Promise<Retriever> => {
    const next = queue.then(async () => {
      const loaded = await loadRetriever(registry, config.MODEL_ALIAS, config.SEARCH_EF);
      if (loaded.artifact.indexError && config.SEARCH === "hnsw" && retriever) {
        throw new Error(`${RETRIEVAL_MODEL_NAME}@${loaded.version}: HNSW index refused (${loaded.artifact.indexError}); ${retriever.version} keeps serving`);
      }
      install(loaded);
      return loaded;
    });
    queue = next.catch(() => undefined);
    return next;
  };
  try {
    const loaded = await reloadModel();
    if (loaded.artifact.indexError) logger.error({ version: loaded.version, err: loaded.artifact.indexError }, "HNSW index refused; exact search answers, degraded");
    logger.info({ version: loaded.version, items: loaded.artifact.itemIds.size, search: config.SEARCH }, "retrieval model loaded");
  } catch (error) {
    readiness.set("model", false, (error as Error).message);
    logger.error({ err: error }, "no retrieval model: train one (npm run train:recs) and reload");
  }
  return {
    ...httpDeps(ctx),
    search: config.SEARCH,
    retriever: () => {
      if (!retriever) throw new AppError("UNAVAILABLE", "no retrieval model loaded");
      return retriever;
    },
    reloadModel,
    onAnswer: (source, degraded) => answers.inc({ source, degraded: String(degraded) }),
  };
}
