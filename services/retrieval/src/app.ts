import { CandidatesRequestSchema, RECS_DEVICE_NAMES_FOR_RETRIEVAL, type CandidatesResponse } from "./contract";
import { AppError, createServiceApp, modelReloadHandler, parseBody, stageTimer, type Logger, type Readiness, type ServiceMetrics } from "@mlsd/service-kit";
import type { Express } from "express";
import { RETRIEVAL_MODEL_NAME } from "./artifact";
import { FeatureValueError, type Retriever, type SearchMode } from "./retriever";

export interface RetrievalAppDeps {
  logger: Logger;
  metrics: ServiceMetrics;
  readiness: Readiness;
  bodyLimitBytes?: number;
  retriever: () => Retriever;
  /** What `POST /v1/candidates` searches with unless the query string says `?search=`. */
  search: SearchMode;
  /** Loads the version the registry alias points at now (switch or roll back without a restart). */
  reloadModel?: () => Promise<Retriever>;
  onAnswer?: (source: SearchMode, degraded: boolean) => void;
}

function searchMode(value: unknown, fallback: SearchMode): SearchMode {
  if (value === undefined) return fallback;
  if (value === "hnsw" || value === "exact") return value;
  throw new AppError("VALIDATION_FAILED", "invalid query string: search", [{ field: "search", message: "must be hnsw or exact" }]);
}

export function createApp(deps: RetrievalAppDeps): Express {
  return createServiceApp({
    logger: deps.logger,
    metrics: deps.metrics,
    readiness: deps.readiness,
    ...(deps.bodyLimitBytes ? { bodyLimitBytes: deps.bodyLimitBytes } : {}),
    routes: (app) => {
      app.post("/v1/candidates", (req, res) => {
        const timer = stageTimer(deps.metrics);
        const request = timer.timeSync("validate", () => parseBody(CandidatesRequestSchema, req));
        const mode = searchMode(req.query.search, deps.search);
        const retriever = deps.retriever();
        let found;
        try {
          found = retriever.candidates(
            {
              userId: request.userId,
              k: request.k,
              ...(request.history ? { history: request.history } : {}),
              ...(request.features ? { features: request.features } : {}),
              device: request.context?.device ? RECS_DEVICE_NAMES_FOR_RETRIEVAL.indexOf(request.context.device) : null,
              ...(request.excludeItemIds ? { exclude: request.excludeItemIds } : {}),
            },
            mode,
            timer,
          );
        } catch (error) {
          if (error instanceof FeatureValueError) throw new AppError("VALIDATION_FAILED", `invalid request body: ${error.field}`, [{ field: error.field, message: error.reason }]);
          throw error;
        }
        deps.onAnswer?.(found.source, found.degradedReason !== null);
        const answer: CandidatesResponse = {
          userId: request.userId,
          candidates: found.itemIds.map((itemId, j) => ({ itemId, score: found.scores[j] as number, category: found.categories[j] ?? null })),
          modelVersion: retriever.version,
          source: found.source,
          degraded: found.degradedReason !== null,
          degradedReason: found.degradedReason,
          userKnown: found.userKnown,
          historyUsed: found.historyUsed,
          ignoredFeatures: found.ignoredFeatures,
          timings: timer.snapshot(),
        };
        res.json(answer);
      });

      app.get("/v1/model", (_req, res) => {
        const { artifact } = deps.retriever();
        res.json({
          name: RETRIEVAL_MODEL_NAME,
          version: artifact.version,
          dim: artifact.dim,
          items: artifact.itemIds.size,
          users: artifact.userIds.size,
          search: deps.search,
          index: artifact.index ? { size: artifact.index.size, params: artifact.index.params } : null,
          indexError: artifact.indexError,
          userFeatures: { numeric: artifact.users.numericNames, categorical: artifact.users.categoricalNames },
          historyLength: artifact.users.historyLength,
        });
      });

      if (deps.reloadModel) {
        const reload = deps.reloadModel;
        app.post("/v1/model/reload", modelReloadHandler(reload, deps.logger, (r) => ({ version: r.version })));
      }
    },
  });
}
