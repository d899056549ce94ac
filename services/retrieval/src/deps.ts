import { RETRIEVAL_MODEL_NAME } from "@mlsd/model-formats/retrieval";
import { ModelRegistry } from "@mlsd/model-registry";
import { TOPICS } from "@mlsd/contracts";
import { createArmsMetrics, ModelArms, ShadowRunner } from "@mlsd/model-arms";
import { httpDeps, metricPrefix, setModelVersion, type ServiceContext } from "@mlsd/service-kit";
import { createKafka, startEventPublisherOnDemand } from "@mlsd/service-kit/kafka";
import { Counter, Gauge } from "prom-client";
import type { RetrievalAppDeps } from "./app";
import type { RetrievalConfig } from "./config";
import { describeLoaded, loadRetriever, type Retriever, type SearchEfforts } from "@mlsd/retrieval";

/**
 * Loads the model; the service stays unready (and answers 503) until one loads. An index that
 * fails to load is never silent: at start-up, with nothing better to serve, exact search answers
 * and every answer says it is degraded (readiness and a gauge say so too); on a reload, the new
 * version is refused and the one in service keeps serving. Reloads run one at a time (ModelArms),
 * so two overlapping requests cannot finish out of order and leave the older model installed.
 * Kafka is opened only when a shadow challenger's predictions are first logged.
 */
export async function createDeps(ctx: ServiceContext<RetrievalConfig>): Promise<RetrievalAppDeps> {
  const { config, logger, metrics, readiness } = ctx;
  const registry = new ModelRegistry(config.MODEL_REGISTRY_DIR);
  const answers = new Counter({ name: "retrieval_answers_total", help: "Candidate answers by search method and whether they were degraded", labelNames: ["source", "degraded"] as const, registers: [metrics.registry] });
  const indexFallback = new Gauge({ name: "retrieval_index_fallback", help: "1 while the model in service has no usable index of the configured kind (HNSW or IVF) and exact search answers (degraded)", registers: [metrics.registry] });
  const efforts: SearchEfforts = { ...(config.SEARCH_EF !== undefined ? { ef: config.SEARCH_EF } : {}), ...(config.SEARCH_NPROBE !== undefined ? { nprobe: config.SEARCH_NPROBE } : {}) };

  const install = (loaded: Retriever) => {
    indexFallback.set(loaded.artifact.indexError && config.SEARCH !== "exact" ? 1 : 0);
    readiness.set("model", true, describeLoaded(loaded, config.SEARCH));
    setModelVersion(metrics, RETRIEVAL_MODEL_NAME, loaded.version);
  };
  const armsMetrics = createArmsMetrics(metrics.registry, metricPrefix(ctx.name));
  let serving = false;
  const arms: ModelArms<Retriever> = new ModelArms<Retriever>({
    model: RETRIEVAL_MODEL_NAME,
    load: async (ref) => {
      const loaded = await loadRetriever(registry, ref, efforts, config.SEARCH);
      // With a model in service, a version whose index is refused is refused too: exact search over it would be a silent slowdown.
      if (loaded.artifact.indexError && config.SEARCH !== "exact" && serving) {
        throw new Error(`${RETRIEVAL_MODEL_NAME}@${loaded.version}: ${config.SEARCH.toUpperCase()} index refused (${loaded.artifact.indexError}); the models in service keep serving`);
      }
      if (config.SEARCH === "exact") loaded.exact();
      return loaded;
    },
    currentAlias: config.MODEL_ALIAS,
    logger,
    metrics: armsMetrics,
    onCurrent: (loaded) => {
      serving = true;
      install(loaded);
    },
  });
  try {
    const loaded = await arms.loadCurrent();
    if (loaded.artifact.indexError && config.SEARCH !== "exact") logger.error({ version: loaded.version, err: loaded.artifact.indexError }, `${config.SEARCH.toUpperCase()} index refused; exact search answers, degraded`);
    logger.info({ version: loaded.version, items: loaded.artifact.itemIds.size, search: config.SEARCH, index: loaded.search }, "retrieval model loaded");
  } catch (error) {
    readiness.set("model", false, (error as Error).message);
    logger.error({ err: error }, "no retrieval model: train one (npm run train:recs) and reload");
  }
  const events = config.KAFKA_BROKERS.length > 0 ? startEventPublisherOnDemand(ctx, { kafka: createKafka("retrieval", config.KAFKA_BROKERS), journalDir: config.EVENT_JOURNAL_DIR, topics: [TOPICS.mlShadowPredictions] }) : null;
  const shadow = new ShadowRunner({ model: RETRIEVAL_MODEL_NAME, events, logger, metrics: armsMetrics, producer: "retrieval" });
  return {
    ...httpDeps(ctx),
    search: config.SEARCH,
    retriever: () => arms.current(),
    route: (userId) => arms.route(userId),
    shadow,
    arms,
    onAnswer: (source, degraded) => answers.inc({ source, degraded: String(degraded) }),
  };
}
