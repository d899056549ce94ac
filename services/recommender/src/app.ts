import { ClickRequestSchema, RecommendationsRequestSchema, RecommendationsResponseSchema } from "@mlsd/contracts";
import type { Popularity } from "@mlsd/model-formats/popularity";
import { createServiceApp, defineRoute, modelReloadRoute, stageTimer, type HttpDeps, type RouteSpec, type ServiceApp } from "@mlsd/service-kit";
import { z } from "zod";
import { acceptClick, type ClickDeps } from "./clicks";
import { recommend, type RecommendDeps } from "./recommend";

export interface RecommenderAppDeps extends RecommendDeps, ClickDeps, HttpDeps {
  /** Loads the popularity lists the registry alias points at now. */
  reloadPopularity?: () => Popularity;
}

const ClickAcceptedSchema = z.object({ accepted: z.literal(true), eventId: z.string(), historyUpdated: z.boolean() });

export function createApp(deps: RecommenderAppDeps): ServiceApp {
  const routes: RouteSpec[] = [
    defineRoute({
      method: "POST",
      path: "/v1/recommendations",
      summary: "The two-stage path for one user: retrieval, ranking, filters and diversity, with a fallback at every step",
      body: RecommendationsRequestSchema,
      response: RecommendationsResponseSchema,
      handler: (ctx) => recommend(deps, ctx.body, ctx.requestId, stageTimer(deps.metrics, ctx)),
    }),
    defineRoute({
      method: "POST",
      path: "/v1/events/click",
      summary: "Report a click on an item of a recommendation answer served to that user (click writers)",
      auth: "clicks",
      body: ClickRequestSchema,
      response: ClickAcceptedSchema,
      status: 202,
      handler: ({ body }) => acceptClick(deps, body),
    }),
    defineRoute({
      method: "GET",
      path: "/v1/model",
      summary: "The popularity lists in service (the fallback)",
      handler: () => {
        const popularity = deps.popularity();
        return { popularity: { version: popularity.version, items: popularity.lists.overall.length, description: popularity.lists.description } };
      },
    }),
  ];
  if (deps.reloadPopularity) routes.push(modelReloadRoute(deps.reloadPopularity, (p) => ({ popularity: p.version })));
  return createServiceApp({ ...deps, routes, info: { title: "recommender", description: "Recommendations end to end: Redis features, retrieval, ranking, fallbacks, events" } });
}
