import { ScoreTransactionRequestSchema, ScoreTransactionResponseSchema, SubmitLabelRequestSchema } from "@mlsd/contracts";
import { modelArmsRoutes, type ModelArms } from "@mlsd/model-arms";
import { createServiceApp, defineRoute, stageTimer, type HttpDeps, type ServiceApp } from "@mlsd/service-kit";
import { z } from "zod";
import { submitLabel, type LabelDeps } from "./labels";
import type { FraudModel } from "@mlsd/fraud-model";
import { scoreTransaction, type ScoringDeps } from "./scoring";

export interface FraudAppDeps extends ScoringDeps, LabelDeps, HttpDeps {
  /** The model in service and a challenger (shadow, canary, A/B): admin routes to change them and to reload from the registry. */
  arms?: ModelArms<FraudModel>;
  onDecision?: (decision: string, decidedBy: string, score: number | null) => void;
}

const LabelAcceptedSchema = z.object({ accepted: z.literal(true), eventId: z.string() });
const ModelInfoSchema = z.object({ version: z.string(), featureSchemaHash: z.string(), thresholds: z.object({ review: z.number(), decline: z.number() }), features: z.array(z.string()), columns: z.array(z.string()) });

export function createApp(deps: FraudAppDeps): ServiceApp {
  const routes = [
    defineRoute({
      method: "POST",
      path: "/v1/transactions/score",
      summary: "Score one transaction: rules, features, model, decision, reason codes",
      body: ScoreTransactionRequestSchema,
      response: ScoreTransactionResponseSchema,
      handler: async (request) => {
        const timer = stageTimer(deps.metrics, request);
        const body = request.body;
        const answer = await scoreTransaction(deps, body, timer);
        deps.onDecision?.(answer.decision, answer.decidedBy, answer.score);
        return answer;
      },
    }),
    defineRoute({
      method: "POST",
      path: "/v1/labels",
      summary: "Submit a chargeback or a confirmed label for a transaction this system scored (label writers)",
      auth: "labels",
      body: SubmitLabelRequestSchema,
      response: LabelAcceptedSchema,
      status: 202,
      handler: ({ body }) => submitLabel(deps, body),
    }),
    defineRoute({
      method: "GET",
      path: "/v1/model",
      summary: "The model in service: version, feature schema, thresholds, the served features it takes and the columns it reads (those and the ratios it computes from them)",
      response: ModelInfoSchema,
      handler: () => {
        const model = deps.model();
        return { version: model.version, featureSchemaHash: model.featureSchemaHash, thresholds: model.thresholds, features: [...model.featureNames], columns: [...model.columns] };
      },
    }),
  ];
  if (deps.arms) routes.push(...modelArmsRoutes(deps.arms));
  return createServiceApp({ ...deps, routes, info: { title: "fraud", description: "Real-time fraud scoring: rules, streaming features, a GBDT, cost-based decisions" } });
}
