import { CandidatesRequestSchema, CandidatesResponseSchema } from "@mlsd/contracts";
import { RETRIEVAL_MODEL_NAME } from "@mlsd/model-formats/retrieval";
import { modelArmsRoutes, type ModelArms, type Routed, type ShadowRunner } from "@mlsd/model-arms";
import { AppError, createServiceApp, defineRoute, StageTimer, stageTimer, type HttpDeps, type RouteSpec, type ServiceApp } from "@mlsd/service-kit";
import { z } from "zod";
import { candidateQuery, candidatesAnswer, FeatureValueError, type Retriever, type SearchMode } from "@mlsd/retrieval";

export interface RetrievalAppDeps extends HttpDeps {
  retriever: () => Retriever;
  /** What `POST /v1/candidates` searches with (SEARCH); an admin may ask for the other with `?search=`. */
  search: SearchMode;
  /** Which model answers for a user (current, or a canary / A-B challenger) and the shadow to run; default: `retriever()` alone. */
  route?: (userId: string) => Routed<Retriever>;
  shadow?: ShadowRunner | null;
  /** The model in service and a challenger: admin routes to change them and to reload from the registry. */
  arms?: ModelArms<Retriever>;
  onAnswer?: (source: SearchMode, degraded: boolean) => void;
}

const CandidatesQuerySchema = z
  .object({
    /** The search method; anything but the configured one needs the admin token (an exact scan over 1M items costs ~45 ms of CPU). */
    search: z.enum(["hnsw", "ivf", "exact"]).optional(),
  })
  .strict();

export function createApp(deps: RetrievalAppDeps): ServiceApp {
  const routes: RouteSpec[] = [
    defineRoute({
      method: "POST",
      path: "/v1/candidates",
      summary: "The retrieval stage: encode the user, search the item index, return the top candidates",
      body: CandidatesRequestSchema,
      query: CandidatesQuerySchema,
      response: CandidatesResponseSchema,
      handler: (ctx) => {
        const timer = stageTimer(deps.metrics, ctx);
        const request = ctx.body;
        const mode = ctx.query.search ?? deps.search;
        if (mode !== deps.search) ctx.authorize("admin");
        const routed = deps.route ? deps.route(request.userId) : { arm: "current" as const, model: deps.retriever(), shadow: null };
        const retriever = routed.model;
        const query = candidateQuery(request);
        let found;
        try {
          found = retriever.candidates(query, mode, timer);
        } catch (error) {
          if (error instanceof FeatureValueError) throw new AppError("VALIDATION_FAILED", `invalid request body: ${error.field}`, [{ field: error.field, message: error.reason }]);
          throw error;
        }
        deps.onAnswer?.(found.source, found.degradedReason !== null);
        const answer = candidatesAnswer(request.userId, retriever, routed.arm, found, timer);
        const shadow = routed.shadow;
        if (shadow && deps.shadow && request.requestId) {
          const serving = found.itemIds;
          deps.shadow.schedule({
            requestId: request.requestId,
            entityId: request.userId,
            servingVersion: retriever.version,
            shadowVersion: shadow.version,
            servingMs: (answer.timings.encode ?? 0) + (answer.timings[found.source === "exact" ? "exact" : "ann"] ?? 0),
            predict: () => ({ kind: "candidates", serving: [...serving], shadow: [...shadow.candidates(query, mode, new StageTimer()).itemIds] }),
          });
        }
        return answer;
      },
    }),
    defineRoute({
      method: "GET",
      path: "/v1/model",
      summary: "The model in service: version, sizes, the index's kind, parameters and search knob, the user tower's inputs",
      handler: () => {
        const retriever = deps.retriever();
        const { artifact } = retriever;
        const search = retriever.search;
        return {
          name: RETRIEVAL_MODEL_NAME,
          version: artifact.version,
          dim: artifact.dim,
          items: artifact.itemIds.size,
          users: artifact.userIds.size,
          search: deps.search,
          index: artifact.index && search ? { kind: artifact.index.kind, size: artifact.index.size, params: artifact.index.params, [search.effort]: search.value } : null,
          indexError: artifact.indexError,
          userFeatures: { numeric: artifact.users.numericNames, categorical: artifact.users.categoricalNames },
          historyLength: artifact.users.historyLength,
        };
      },
    }),
  ];
  if (deps.arms) routes.push(...modelArmsRoutes(deps.arms));
  return createServiceApp({ ...deps, routes, info: { title: "retrieval", description: "The retrieval stage: a two-tower user encoder and an HNSW or IVF index over the item embeddings" } });
}
