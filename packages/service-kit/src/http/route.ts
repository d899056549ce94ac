import type { IncomingHttpHeaders } from "node:http";
import type { z } from "zod";
import type { Logger } from "../logger";

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

/**
 * Who may call a route. `public` needs nothing; any other value names a role whose bearer token
 * the service was configured with (`admin`, or a data-plane writer such as `labels`). The admin
 * token holds every role.
 */
export type RouteAuth = "public" | string;

/** What a handler sees: the validated inputs and the request's identity. */
export interface RequestContext<B = unknown, Q = unknown, P = unknown> {
  readonly body: B;
  readonly query: Q;
  readonly params: P;
  readonly requestId: string;
  /** A logger bound to the request id, created on first use. */
  readonly log: Logger;
  /** The role the caller authenticated as, or null on a public route. */
  readonly principal: string | null;
  /**
   * For a public route with a privileged variant (e.g. an expensive query option): checks the
   * request's bearer token against `role` and returns the role it holds, or throws the 401/403.
   */
  authorize(role: string): string;
  readonly headers: IncomingHttpHeaders;
  /** `performance.now()` when the request arrived. */
  readonly receivedAt: number;
  /** Milliseconds spent reading, parsing and validating the inputs before the handler ran. */
  readonly validateMs: number;
}

/** An answer other than a 2xx JSON body: another status, headers, or a body that is not JSON. */
export class Reply {
  private constructor(
    readonly status: number,
    readonly body: unknown,
    readonly contentType: string,
    readonly headers: Record<string, string>,
    readonly raw: boolean,
  ) {}

  static json(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
    return new Reply(status, body, "application/json; charset=utf-8", headers, false);
  }

  static text(status: number, body: string | Buffer, contentType: string, headers: Record<string, string> = {}): Reply {
    return new Reply(status, body, contentType, headers, true);
  }
}

export type RouteResult<R> = R | Reply;

export interface RouteSpec<B = unknown, Q = unknown, P = unknown, R = unknown> {
  method: HttpMethod;
  /** A path template: literal segments and `:name` parameters, e.g. `/v1/models/:model`. */
  path: string;
  /** One line for the API documentation. */
  summary: string;
  /** Default `public`. */
  auth?: RouteAuth;
  /**
   * Counted against the service's in-flight bound and refused with a 503 past it (default true).
   * Health, readiness and metrics are exempt, so an overloaded service can still be observed.
   */
  admitted?: boolean;
  body?: z.ZodType<B, z.ZodTypeDef, unknown>;
  query?: z.ZodType<Q, z.ZodTypeDef, unknown>;
  params?: z.ZodType<P, z.ZodTypeDef, unknown>;
  /** The success body, for the API documentation and the contract tests. */
  response?: z.ZodTypeAny;
  /** Status of a plain (non-Reply) answer; default 200. */
  status?: number;
  /** Documentation only: the content type of a raw answer (e.g. `text/plain` for /metrics). */
  produces?: string;
  handler: (ctx: RequestContext<B, Q, P>) => RouteResult<R> | Promise<RouteResult<R>>;
}

/** Keeps the handler's input types tied to the route's schemas. */
export function defineRoute<B = undefined, Q = undefined, P = undefined, R = unknown>(spec: RouteSpec<B, Q, P, R>): RouteSpec {
  return spec as unknown as RouteSpec;
}
