import { RolloutDecisionPayloadSchema } from "@mlsd/contracts";
import { defineRoute, type RouteSpec } from "@mlsd/service-kit";
import { z } from "zod";
import type { Rollout, RolloutController } from "./rollout";

const ModelParamsSchema = z.object({ model: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, "not a model name") });
const ReasonSchema = z.string().trim().min(3, "say why (at least 3 characters)").max(1000);
const ActorSchema = z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, "letters, digits and . _ @ - (at most 64)");

const StartBodySchema = z
  .object({
    model: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, "not a model name"),
    /** An alias or a version (default `candidate`). */
    candidate: z.string().min(1).max(200).default("candidate"),
    /** The stages for this rollout, in order (default: the model's, ROLLOUT_STAGES). */
    stages: z.array(z.enum(["shadow", "canary", "ab"])).min(1).max(3).optional(),
    reason: ReasonSchema,
    actor: ActorSchema.optional(),
  })
  .strict();
const AbortBodySchema = z.object({ reason: ReasonSchema, actor: ActorSchema.optional() }).strict();

const SideSchema = z.object({ requests: z.number(), units: z.number(), summary: z.record(z.number().nullable()) });
export const RolloutSchema = z.object({
  id: z.string(),
  model: z.string(),
  candidateVersion: z.string(),
  currentVersion: z.string(),
  stage: z.enum(["shadow", "canary", "ab"]),
  status: z.enum(["running", "promoted", "rolled-back", "held", "aborted", "failed"]),
  startedAt: z.number(),
  stageStartedAt: z.number(),
  stageStartedReal: z.number(),
  decisions: z.array(RolloutDecisionPayloadSchema),
  exposure: z.object({ totalRequests: z.number(), totalUnits: z.number() }),
  latest: z
    .object({ mode: z.enum(["split", "shadow"]), primaryMetric: z.string(), current: SideSchema, challenger: SideSchema, pValue: z.number().nullable(), estimate: z.number().nullable() })
    .nullable(),
});

const operator = (principal: string | null, actor: string | undefined) => (actor ? `${principal ?? "anonymous"}:${actor}` : (principal ?? "anonymous"));

/**
 * Rollouts over HTTP: anyone may read them (stage, the latest numbers, every decision); starting
 * and aborting need the admin token and a reason, recorded in the decision events.
 */
export function rolloutRoutes(controller: RolloutController): RouteSpec[] {
  return [
    defineRoute({
      method: "GET",
      path: "/v1/rollouts",
      summary: "Running rollouts and the last finished ones, each with its stage, exposure, latest arm numbers and decisions",
      response: z.object({ running: z.array(RolloutSchema), finished: z.array(RolloutSchema) }),
      handler: () => controller.list(),
    }),
    defineRoute({
      method: "GET",
      path: "/v1/rollouts/:model",
      summary: "The running (or else the last) rollout of a model",
      params: ModelParamsSchema,
      response: RolloutSchema,
      handler: ({ params }) => controller.getOrThrow(params.model),
    }),
    defineRoute({
      method: "POST",
      path: "/v1/rollouts",
      summary: "Start rolling out a candidate (an alias or a version): its first stage is exposed at once; every tick then advances, promotes or rolls it back",
      auth: "admin",
      status: 201,
      body: StartBodySchema,
      response: RolloutSchema,
      handler: ({ body, principal }): Promise<Rollout> => controller.start(body.model, body.candidate, operator(principal, body.actor), body.reason, body.stages),
    }),
    defineRoute({
      method: "POST",
      path: "/v1/rollouts/:model/abort",
      summary: "Stop a running rollout: the challenger is withdrawn at once, current keeps serving",
      auth: "admin",
      params: ModelParamsSchema,
      body: AbortBodySchema,
      response: RolloutSchema,
      handler: ({ params, body, principal }) => controller.abort(params.model, operator(principal, body.actor), body.reason),
    }),
  ];
}
