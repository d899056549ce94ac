import { ClickRequestSchema, makeEvent } from "@mlsd/contracts";
import { createServiceApp, modelReloadHandler, parseBody, stageTimer, withDeadline, type Logger, type Readiness, type ServiceMetrics } from "@mlsd/service-kit";
import type { Express } from "express";
import { RecommendationsRequestSchema, type RecommendationsResponse } from "./contract";
import type { Popularity } from "./popularity";
import { recommend, type RecommendDeps } from "./recommend";

export interface RecommenderAppDeps extends RecommendDeps {
  logger: Logger;
  metrics: ServiceMetrics;
  readiness: Readiness;
  bodyLimitBytes?: number;
  /** Loads the popularity lists the registry alias points at now. */
  reloadPopularity?: () => Popularity;
  onClickHistoryFailure?: () => void;
}

export function createApp(deps: RecommenderAppDeps): Express {
  return createServiceApp({
    logger: deps.logger,
    metrics: deps.metrics,
    readiness: deps.readiness,
    ...(deps.bodyLimitBytes ? { bodyLimitBytes: deps.bodyLimitBytes } : {}),
    routes: (app) => {
      app.post("/v1/recommendations", async (req, res) => {
        const timer = stageTimer(deps.metrics);
        const request = timer.timeSync("validate", () => parseBody(RecommendationsRequestSchema, req));
        const answer: RecommendationsResponse = await recommend(deps, request, req.requestId, timer);
        res.json(answer);
      });

      app.post("/v1/events/click", async (req, res) => {
        const click = parseBody(ClickRequestSchema, req);
        const event = makeEvent(
          "recs.click",
          { requestId: click.requestId, userId: click.userId, itemId: click.itemId, position: click.position },
          { producer: "recommender", ...(click.time ? { eventTime: click.time } : {}) },
        );
        deps.events.publish(event);
        // The clicked item joins the user's history at once, so the next answer excludes it.
        // The event is already on its way to Kafka, so a Redis failure here loses nothing.
        const appended = deps.breakers.redis.allow()
          ? await withDeadline(deps.deadlines.redisMs, () => deps.history.append(click.userId, click.itemId))
          : null;
        if (appended?.ok) deps.breakers.redis.success();
        else {
          if (appended) deps.breakers.redis.failure();
          deps.onClickHistoryFailure?.();
        }
        res.status(202).json({ accepted: true, eventId: event.eventId, historyUpdated: appended?.ok ?? false });
      });

      app.get("/v1/model", (_req, res) => {
        const popularity = deps.popularity();
        res.json({ popularity: { version: popularity.version, items: popularity.lists.overall.length, description: popularity.lists.description } });
      });

      if (deps.reloadPopularity) {
        const reload = deps.reloadPopularity;
        app.post("/v1/model/reload", modelReloadHandler(reload, deps.logger, (p) => ({ popularity: p.version })));
      }
    },
  });
}
