import { RetrainDecisionPayloadSchema } from "@mlsd/contracts";
import { AppError, createServiceApp, defineRoute, type ServiceApp } from "@mlsd/service-kit";
import { z } from "zod";
import type { RetrainControllerDeps } from "./deps";

const RetrainBodySchema = z.object({
  design: z.enum(["fraud", "recs"]),
});

export function createApp(deps: RetrainControllerDeps): ServiceApp {
  const { controller } = deps;
  return createServiceApp({
    ...deps,
    info: { title: "retrain-controller", description: "Drift-triggered and scheduled retraining from the log, debounced; each candidate compared with the model in service" },
    routes: [
      defineRoute({
        method: "POST",
        path: "/v1/retrain",
        summary: "Retrain one design now (an operator's trigger: never debounced, queued behind a run in progress)",
        auth: "admin",
        body: RetrainBodySchema,
        status: 202,
        response: z.object({ design: z.enum(["fraud", "recs"]), outcome: z.enum(["queued", "already-queued", "debounced"]) }),
        handler: ({ body }) => {
          if (!controller.designs.includes(body.design)) {
            throw new AppError("VALIDATION_FAILED", `this controller retrains ${controller.designs.join(", ")}; set DESIGNS to add ${body.design}`, [{ field: "design", message: "not retrained here" }]);
          }
          return { design: body.design, outcome: controller.request(body.design, "manual") };
        },
      }),
      defineRoute({
        method: "GET",
        path: "/v1/history",
        summary: "The latest decisions (newest last) and what is running or queued now",
        response: z.object({ decisions: z.array(RetrainDecisionPayloadSchema), running: z.array(z.string()), queued: z.array(z.string()) }),
        handler: () => ({ decisions: [...controller.recent()], ...controller.status() }),
      }),
    ],
  });
}
