import { AppError } from "../errors";
import { defineRoute, type RouteSpec } from "./route";

/**
 * `POST /v1/model/reload` (admin): switches to what the registry alias points at now. When loading
 * fails (a missing version, a checksum mismatch, another feature schema) the model in service keeps
 * serving and the caller gets a 409 saying why.
 */
export function modelReloadRoute<T>(reload: () => T | Promise<T>, answer: (loaded: T) => Record<string, unknown>): RouteSpec {
  return defineRoute({
    method: "POST",
    path: "/v1/model/reload",
    summary: "Switch to the version the registry alias points at now; on failure the model in service keeps serving (409 with the reason)",
    auth: "admin",
    handler: async ({ log }) => {
      let loaded: T;
      try {
        loaded = await reload();
      } catch (error) {
        log.warn({ err: (error as Error).message }, "model reload refused");
        throw new AppError("CONFLICT", `reload failed: ${(error as Error).message}`);
      }
      const body = answer(loaded);
      log.info(body, "model reloaded");
      return body;
    },
  });
}
