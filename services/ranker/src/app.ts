import { RankRequestSchema, RankResponseSchema } from "@mlsd/contracts";
import { RANKER_MODEL_NAME } from "@mlsd/model-formats/ranker";
import { modelArmsRoutes, type ModelArms } from "@mlsd/model-arms";
import { createServiceApp, defineRoute, stageTimer, type HttpDeps, type RouteSpec, type ServiceApp } from "@mlsd/service-kit";
import { rankCandidates, type RankerModel, type RankingDeps } from "@mlsd/ranking";

export interface RankerAppDeps extends RankingDeps, HttpDeps {
  /** The model in service and a challenger (shadow, canary, A/B): admin routes to change them and to reload from the registry. */
  arms?: ModelArms<RankerModel>;
}

export function createApp(deps: RankerAppDeps): ServiceApp {
  const routes: RouteSpec[] = [
    defineRoute({
      method: "POST",
      path: "/v1/rank",
      summary: "Order one user's candidates with the ranker (features from Redis); by retrieval score when degraded",
      body: RankRequestSchema,
      response: RankResponseSchema,
      handler: (ctx) => rankCandidates(deps, ctx.body, stageTimer(deps.metrics, ctx)),
    }),
    defineRoute({
      method: "GET",
      path: "/v1/model",
      summary: "The model in service: version, feature schema, objective, trees, features",
      handler: () => {
        const model = deps.model();
        return { name: RANKER_MODEL_NAME, version: model.version, featureSchemaHash: model.featureSchemaHash, objective: model.objective, trees: model.trees, features: model.featureNames };
      },
    }),
  ];
  if (deps.arms) routes.push(...modelArmsRoutes(deps.arms));
  return createServiceApp({ ...deps, routes, info: { title: "ranker", description: "The ranking stage: a GBDT over user, item and context features read from Redis" } });
}
