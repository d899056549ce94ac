import { FAULT_MODES } from "@mlsd/fault-proxy";
import { AppError, createServiceApp, defineRoute, type ServiceApp } from "@mlsd/service-kit";
import { z } from "zod";
import type { FaultProxyDeps } from "./deps";

export const FaultRequestSchema = z
  .object({
    mode: z.enum(FAULT_MODES),
    /** delay: ms added to every chunk, each direction. */
    delayMs: z.number().min(0).max(60_000).optional(),
    /** The fault lifts itself after this long. */
    seconds: z.number().positive(),
  })
  .strict()
  .superRefine((body, ctx) => {
    if (body.mode === "delay" && body.delayMs === undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["delayMs"], message: "required for a delay" });
    if (body.mode !== "delay" && body.delayMs !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["delayMs"], message: "only for a delay" });
  });

export function createApp(deps: FaultProxyDeps): ServiceApp {
  const state = () => ({ ...deps.proxy.stats(), until: deps.until(), listen: deps.address() });
  return createServiceApp({
    ...deps,
    info: { title: "fault-proxy", description: "A fault-injecting TCP proxy in front of one dependency; faults lift themselves" },
    routes: [
      defineRoute({ method: "GET", path: "/v1/fault", summary: "The fault in force, until when, and the proxy's connections and bytes", handler: state }),
      defineRoute({
        method: "PUT",
        path: "/v1/fault",
        summary: "Set the fault for every connection, open and new: delay (ms per chunk, each way), blackhole (held), reset (cut and refused), pass; it lifts itself after `seconds`",
        auth: "admin",
        body: FaultRequestSchema,
        handler: ({ body }) => {
          if (body.seconds > deps.maxFaultSeconds) throw new AppError("VALIDATION_FAILED", `seconds: at most ${deps.maxFaultSeconds}`, [{ field: "seconds", message: `at most ${deps.maxFaultSeconds} (MAX_FAULT_SECONDS)` }]);
          deps.setFault(body.mode === "delay" ? { mode: "delay", delayMs: body.delayMs as number } : { mode: body.mode }, body.seconds);
          return state();
        },
      }),
      defineRoute({ method: "DELETE", path: "/v1/fault", summary: "Lift the fault now: every byte passes", auth: "admin", handler: () => (deps.clearFault(), state()) }),
    ],
  });
}
