import { RankRequestSchema } from "@mlsd/contracts";
import { createServiceApp, modelReloadHandler, parseBody, stageTimer, type Logger, type Readiness, type ServiceMetrics } from "@mlsd/service-kit";
import type { Express } from "express";
import { RANKER_MODEL_NAME, type RankerModel } from "./model";
import { rankCandidates, type RankingDeps } from "./ranking";

export interface RankerAppDeps extends RankingDeps {
  logger: Logger;
  metrics: ServiceMetrics;
  readiness: Readiness;
  bodyLimitBytes?: number;
  /** Loads the version the registry alias points at now (switch or roll back without a restart). */
  reloadModel?: () => RankerModel;
}

export function createApp(deps: RankerAppDeps): Express {
  return createServiceApp({
    logger: deps.logger,
    metrics: deps.metrics,
    readiness: deps.readiness,
    ...(deps.bodyLimitBytes ? { bodyLimitBytes: deps.bodyLimitBytes } : {}),
    routes: (app) => {
      app.post("/v1/rank", async (req, res) => {
        const timer = stageTimer(deps.metrics);
        const request = timer.timeSync("validate", () => parseBody(RankRequestSchema, req));
        res.json(await rankCandidates(deps, request, timer));
      });

      app.get("/v1/model", (_req, res) => {
        const model = deps.model();
        res.json({
          name: RANKER_MODEL_NAME,
          version: model.version,
          featureSchemaHash: model.featureSchemaHash,
          objective: model.objective,
          trees: model.trees,
          features: model.featureNames,
        });
      });

      if (deps.reloadModel) {
        const reload = deps.reloadModel;
        app.post("/v1/model/reload", modelReloadHandler(reload, deps.logger, (m) => ({ version: m.version })));
      }
    },
  });
}
