import { defineRoute, modelReloadRoute, type RouteSpec } from "@mlsd/service-kit";
import { z } from "zod";
import type { ModelArms } from "./arms";

const RefSchema = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/, "an alias or a version id: letters, digits and . _ : -");

/** Default exposure by mode: a canary is a small share, an A/B test an even split. */
export const DEFAULT_SHARE = { canary: 0.05, ab: 0.5, shadow: 0 } as const;

export const ArmsSettingSchema = z
  .object({
    /** A registry alias (`candidate`, a named arm) or a version id. */
    challenger: RefSchema,
    mode: z.enum(["shadow", "canary", "ab"]),
    /** canary / ab: the share of users or cards the challenger answers for (default 0.05 canary, 0.5 A/B). */
    share: z.number().gt(0, "must be > 0").max(1, "must be <= 1").optional(),
  })
  .strict();

export const ArmsStateSchema = z.object({
  model: z.string(),
  current: z.object({ version: z.string(), alias: z.string() }).nullable(),
  challenger: z.object({ version: z.string(), ref: z.string(), mode: z.enum(["shadow", "canary", "ab"]), share: z.number() }).nullable(),
});

/**
 * The arms of one model over HTTP: read by anyone, changed with the admin token. Reload re-reads
 * both from the registry (after a promotion or a rollback) and keeps the models in service when
 * it cannot (409 with the reason).
 */
export function modelArmsRoutes<M extends { readonly version: string }>(arms: ModelArms<M>): RouteSpec[] {
  return [
    defineRoute({
      method: "GET",
      path: "/v1/model/arms",
      summary: "The model in service and the challenger (version, mode, share), if any",
      response: ArmsStateSchema,
      handler: () => arms.state(),
    }),
    defineRoute({
      method: "PUT",
      path: "/v1/model/arms",
      summary: "Load a challenger from the registry and expose it: shadow (off the answer path), canary or A/B (a share by stable hash of the entity)",
      auth: "admin",
      body: ArmsSettingSchema,
      response: ArmsStateSchema,
      handler: async ({ body, log }) => {
        const state = await arms.configure({ challenger: body.challenger, mode: body.mode, share: body.share ?? DEFAULT_SHARE[body.mode] });
        log.info({ ...state.challenger }, "arms changed");
        return state;
      },
    }),
    defineRoute({
      method: "DELETE",
      path: "/v1/model/arms",
      summary: "Remove the challenger: every answer from the model in service",
      auth: "admin",
      response: ArmsStateSchema,
      handler: () => arms.clear(),
    }),
    modelReloadRoute(
      () => arms.reload(),
      (state) => ({ version: state.current?.version ?? null, challenger: state.challenger?.version ?? null }),
    ),
  ];
}
