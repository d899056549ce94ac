import { makeEvent, ScoreTransactionRequestSchema, SubmitLabelRequestSchema } from "@mlsd/contracts";
import { createServiceApp, modelReloadHandler, parseBody, stageTimer, type Logger, type Readiness, type ServiceMetrics } from "@mlsd/service-kit";
import type { Express } from "express";
import type { FraudModel } from "./model";
import { scoreTransaction, type ScoringDeps } from "./scoring";

export interface FraudAppDeps extends ScoringDeps {
  logger: Logger;
  metrics: ServiceMetrics;
  readiness: Readiness;
  bodyLimitBytes?: number;
  /** Loads the version the registry alias points at now (switch or roll back without a restart). */
  reloadModel?: () => FraudModel;
  onDecision?: (decision: string, decidedBy: string, score: number | null) => void;
}

export function createApp(deps: FraudAppDeps): Express {
  return createServiceApp({
    logger: deps.logger,
    metrics: deps.metrics,
    readiness: deps.readiness,
    ...(deps.bodyLimitBytes ? { bodyLimitBytes: deps.bodyLimitBytes } : {}),
    routes: (app) => {
      app.post("/v1/transactions/score", async (req, res) => {
        const timer = stageTimer(deps.metrics);
        const request = timer.timeSync("validate", () => parseBody(ScoreTransactionRequestSchema, req));
        const answer = await scoreTransaction(deps, request, timer);
        deps.onDecision?.(answer.decision, answer.decidedBy, answer.score);
        res.json(answer);
      });

      app.post("/v1/labels", (req, res) => {
        const label = parseBody(SubmitLabelRequestSchema, req);
        const knownAt = label.knownAt ?? new Date().toISOString();
        const event = makeEvent("fraud.label", { ...label, knownAt }, { producer: "fraud", eventTime: knownAt });
        // The label reaches Redis through Kafka (the label consumer), like labels from any other source.
        deps.events.publish(event);
        res.status(202).json({ accepted: true, eventId: event.eventId });
      });

      app.get("/v1/model", (_req, res) => {
        const model = deps.model();
        res.json({
          version: model.version,
          featureSchemaHash: model.featureSchemaHash,
          thresholds: model.thresholds,
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
