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

export interface ReloadOutcome {
  url: string;
  ok: boolean;
  /** The HTTP status, or null when the service could not be reached. */
  status: number | null;
  /** The service's answer (its version on success, its error otherwise), or why it could not be reached. */
  body: unknown;
  ms: number;
}

/**
 * Tells one service to reload its model (`POST <url>/v1/model/reload` with the admin token) and
 * says what happened; never throws. A service that refuses keeps its model: the registry is the
 * truth, and the service catches up on its next reload.
 */
export async function requestModelReload(url: string, adminToken: string | undefined, timeoutMs = 30_000): Promise<ReloadOutcome> {
  const t0 = performance.now();
  try {
    const res = await fetch(`${url.replace(/\/$/, "")}/v1/model/reload`, { method: "POST", headers: adminToken ? { authorization: `Bearer ${adminToken}` } : {}, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let body: unknown = text.slice(0, 500);
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: kept as (the start of) the text
    }
    return { url, ok: res.ok, status: res.status, body, ms: performance.now() - t0 };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message;
    return { url, ok: false, status: null, body: why ? `${(error as Error).message} (${why})` : (error as Error).message, ms: performance.now() - t0 };
  }
}
