import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { isUtf8 } from "node:buffer";
import type { z } from "zod";
import { AppError, validationError } from "./errors";
import { TokenAuthenticator } from "./http/auth";
import { buildOpenApi, type OpenApiDocument, type OpenApiInfo } from "./http/openapi";
import { Reply, type RequestContext, type RouteSpec } from "./http/route";
import { Router } from "./http/router";
import type { Logger } from "./logger";
import type { ServiceMetrics } from "./metrics";
import { Readiness } from "./readiness";
import { StageTimer } from "./stages";

export interface AdmissionOptions {
  /**
   * Admitted requests allowed in flight at once; the next one is answered 503 with Retry-After at
   * once instead of queueing behind them. Bounds the work (and the latency) an overload can pile up.
   */
  maxInFlight: number;
  /**
   * Refuse new work while the event loop runs this many milliseconds late (0: off). A CPU-bound
   * overload queues requests in the socket buffers, where no in-flight count sees them; the
   * loop's lag does. Refusing is cheap (no body parsed, no work done), so the loop catches up.
   */
  maxEventLoopLagMs?: number;
  /**
   * Refuse new work while the event loop is busy more than this share of the time, recently
   * (0 or unset: off). Lag shows only once the loop is saturated and requests already wait; by
   * then even a refusal waits behind them. Utilization rises before that, so shedding on it keeps
   * the loop some slack: admitted and refused requests alike are read soon after they arrive.
   */
  maxEventLoopUtilization?: number;
  /** Seconds a refused client is told to wait (Retry-After). */
  retryAfterSeconds?: number;
}

const UTILIZATION_TIME_CONSTANT_MS = 50;

/**
 * How loaded the event loop is, read by a timer that asks to fire every `intervalMs`: its lag
 * (how late the timer fired) and its utilization (the share of the time the loop ran callbacks,
 * from `performance.eventLoopUtilization`). The lag reading decays by a fifth per tick rather than
 * dropping to the last tick's, so one on-time tick inside a saturated stretch does not reopen the
 * doors; the utilization is an exponential moving average with a 50 ms time constant. Unref'd.
 */
export class EventLoopLoad {
  private lagMs = 0;
  private busy = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 10) {
    let expected = performance.now() + intervalMs;
    let last = performance.eventLoopUtilization();
    this.timer = setInterval(() => {
      const now = performance.now();
      this.lagMs = Math.max(now - expected, this.lagMs * 0.8, 0);
      expected = now + intervalMs;
      const since = performance.eventLoopUtilization(last);
      last = performance.eventLoopUtilization();
      // Weighted by the time the reading spans: one long blocked stretch counts for what it lasted.
      const spanMs = since.idle + since.active;
      if (spanMs > 0) {
        const weight = 1 - Math.exp(-spanMs / UTILIZATION_TIME_CONSTANT_MS);
        this.busy += weight * (since.utilization - this.busy);
      }
    }, intervalMs);
    this.timer.unref();
  }

  /** Milliseconds the loop runs late, recently (decaying). */
  get lag(): number {
    return this.lagMs;
  }

  /** Share of the recent time the loop was busy, 0 to 1 (moving average). */
  get utilization(): number {
    return this.busy;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

export interface ServiceAppOptions {
  logger: Logger;
  metrics: ServiceMetrics;
  readiness?: Readiness;
  /** JSON bodies above this many bytes get a 413. */
  bodyLimitBytes?: number;
  routes: readonly RouteSpec[];
  /** Bearer tokens by role; routes with `auth` other than public need one. None: those routes answer 403. */
  auth?: TokenAuthenticator;
  admission?: AdmissionOptions;
  /** Title and description of the service's OpenAPI document. */
  info?: OpenApiInfo;
}

/** A node:http request listener (so supertest and `http.createServer` take it) that knows its routes. */
export interface ServiceApp {
  (req: IncomingMessage, res: ServerResponse): void;
  readonly routes: readonly RouteSpec[];
  /** The OpenAPI 3 document generated from the routes' zod schemas (also served at /openapi.json). */
  openapi(): OpenApiDocument;
  /** Admitted requests in flight now. */
  inFlight(): number;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i;
const DEFAULT_BODY_LIMIT = 64 * 1024;

class BadKeyError extends Error {}

/**
 * The HTTP skeleton every service shares, on node:http with no framework: routes declared as data
 * (method, path template, zod schemas for body, query and params, auth role, handler), request
 * ids, JSON bodies with a size limit, bearer-token auth, a bound on admitted work in flight,
 * per-route latency, `/healthz`, `/readyz`, `/metrics`, `/openapi.json`, and one error contract:
 * `{ error: { code, message, requestId, details } }`.
 */
export function createServiceApp(options: ServiceAppOptions): ServiceApp {
  const { logger, metrics } = options;
  const readiness = options.readiness ?? new Readiness();
  const auth = options.auth ?? new TokenAuthenticator({});
  const bodyLimit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT;
  const maxInFlight = options.admission?.maxInFlight ?? Infinity;
  const maxLag = options.admission?.maxEventLoopLagMs ?? 0;
  const maxBusy = options.admission?.maxEventLoopUtilization ?? 0;
  if (!(maxBusy >= 0 && maxBusy <= 1)) throw new RangeError(`admission.maxEventLoopUtilization must be in [0, 1], got ${maxBusy}`);
  // Decided once: a request checks only the signals that are on (a share of 1 can never be exceeded).
  const shedOnLag = maxLag > 0;
  const shedOnBusy = maxBusy > 0 && maxBusy < 1;
  const loop = shedOnLag || shedOnBusy ? new EventLoopLoad() : null;
  const retryAfter = String(options.admission?.retryAfterSeconds ?? 1);
  const router = new Router();
  let inFlight = 0;
  let document: OpenApiDocument | undefined;

  const builtins: RouteSpec[] = [
    { method: "GET", path: "/healthz", summary: "Liveness: the process answers", admitted: false, handler: () => ({ status: "ok" }) },
    {
      method: "GET",
      path: "/readyz",
      summary: "Readiness: every dependency this service needs is there (503 with the missing ones otherwise)",
      admitted: false,
      handler: () => {
        const report = readiness.report();
        return Reply.json(report.ready ? 200 : 503, report);
      },
    },
    {
      method: "GET",
      path: "/metrics",
      summary: "Prometheus metrics of this service",
      admitted: false,
      produces: "text/plain",
      handler: async () => Reply.text(200, await metrics.registry.metrics(), metrics.registry.contentType),
    },
    {
      method: "GET",
      path: "/openapi.json",
      summary: "This document",
      admitted: false,
      handler: () => openapi(),
    },
  ];
  for (const route of [...builtins, ...options.routes]) router.add(route);

  function openapi(): OpenApiDocument {
    document ??= buildOpenApi(options.info ?? { title: metrics.service }, router.routes);
    return document;
  }

  const sendJson = (res: ServerResponse, status: number, body: unknown, requestId: string, headers: Record<string, string> = {}): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { ...headers, "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), "x-request-id": requestId });
    res.end(text);
  };

  const sendError = (res: ServerResponse, error: unknown, requestId: string, log: () => Logger): void => {
    const appError = toAppError(error);
    if (appError.code === "INTERNAL") log().error({ err: error }, "unhandled error");
    if (res.headersSent) {
      res.end();
      return;
    }
    const headers: Record<string, string> = {};
    if (appError.code === "UNAVAILABLE" || appError.code === "TOO_MANY_REQUESTS") headers["retry-after"] = retryAfter;
    if (appError.code === "METHOD_NOT_ALLOWED") headers.allow = ((appError.details as { allowed?: string[] } | undefined)?.allowed ?? []).join(", ");
    if (appError.code === "PAYLOAD_TOO_LARGE") headers.connection = "close";
    sendJson(res, appError.status, { error: { code: appError.code, message: appError.message, requestId, details: appError.details ?? null } }, requestId, headers);
  };

  const app = ((req: IncomingMessage, res: ServerResponse): void => {
    const t0 = performance.now();
    const incoming = req.headers["x-request-id"];
    const requestId = typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    let requestLog: Logger | undefined;
    const log = (): Logger => (requestLog ??= logger.child({ requestId }));

    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    const match = router.match(req.method ?? "GET", path);
    const route = match.kind === "found" ? match.route : null;
    const template = route ? route.path : "unmatched";
    let admitted = false;

    res.once("close", () => {
      if (admitted) inFlight--;
      const status = res.statusCode;
      metrics.httpDuration.observe({ method: req.method ?? "GET", route: template, status: String(status) }, (performance.now() - t0) / 1000);
      // /readyz answers 503 by design while a dependency is missing: not a failure worth an error line.
      if (status >= 500 && template !== "/readyz" && status !== 503) log().error({ method: req.method, route: template, status }, "request failed");
    });

    if (match.kind !== "found") {
      req.resume();
      const error =
        match.kind === "method-not-allowed"
          ? new AppError("METHOD_NOT_ALLOWED", `${req.method} is not allowed on ${path}`, { allowed: match.allowed })
          : new AppError("NOT_FOUND", `no route for ${req.method} ${path}`);
      sendError(res, error, requestId, log);
      return;
    }
    const spec = match.route;

    let principal: string | null = null;
    try {
      if (spec.auth !== undefined && spec.auth !== "public") principal = auth.authorize(header(req, "authorization"), spec.auth);
    } catch (error) {
      req.resume();
      sendError(res, error, requestId, log);
      return;
    }

    if (spec.admitted !== false) {
      const overloaded =
        inFlight >= maxInFlight
          ? `${inFlight} requests in flight`
          : shedOnLag && loop !== null && loop.lag > maxLag
            ? `the event loop runs ${Math.round(loop.lag)} ms late`
            : shedOnBusy && loop !== null && loop.utilization > maxBusy
              ? `the event loop is busy ${Math.round(loop.utilization * 100)} % of the time`
              : null;
      if (overloaded !== null) {
        req.resume();
        metrics.shed.inc({ route: template });
        sendError(res, new AppError("UNAVAILABLE", `overloaded: ${overloaded}; retry after ${retryAfter} s`), requestId, log);
        return;
      }
      inFlight++;
      admitted = true;
    }

    const handle = async (): Promise<void> => {
      const body = spec.body ? validate(spec.body, await readJsonBody(req, bodyLimit), "request body") : undefined;
      const query = spec.query ? validate(spec.query, parseQuery(q < 0 ? "" : url.slice(q + 1)), "query") : undefined;
      const params = spec.params ? validate(spec.params, match.params, "path") : match.params;
      if (!spec.body) req.resume();
      const validateMs = performance.now() - t0;
      const ctx: RequestContext = {
        body,
        query,
        params,
        requestId,
        get log() {
          return log();
        },
        principal,
        authorize: (role) => auth.authorize(header(req, "authorization"), role),
        headers: req.headers,
        receivedAt: t0,
        validateMs,
      };
      const result = await spec.handler(ctx);
      if (result instanceof Reply) {
        if (result.raw) {
          const payload = result.body as string | Buffer;
          res.writeHead(result.status, { ...result.headers, "content-type": result.contentType, "content-length": Buffer.byteLength(payload), "x-request-id": requestId });
          res.end(req.method === "HEAD" ? undefined : payload);
        } else {
          sendJson(res, result.status, result.body, requestId, result.headers);
        }
        return;
      }
      sendJson(res, spec.status ?? 200, result, requestId);
    };
    handle().catch((error: unknown) => sendError(res, error, requestId, log));
  }) as ServiceApp;

  Object.defineProperties(app, {
    routes: { value: router.routes },
    openapi: { value: openapi },
    inFlight: { value: () => inFlight },
  });
  return app;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function validate<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(result.error, what);
  return result.data;
}

function parseQuery(text: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  if (text.length === 0) return out;
  for (const [key, value] of new URLSearchParams(text)) {
    if (key === "__proto__") continue;
    const existing = out[key];
    out[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return out;
}

/** Reads a UTF-8 JSON body of at most `limit` bytes; every way it can be wrong is a 4xx. */
function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > limit) {
    req.resume();
    return Promise.reject(new AppError("PAYLOAD_TOO_LARGE", `request body exceeds ${limit} bytes`, { limit }));
  }
  const type = header(req, "content-type");
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on("data", (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(new AppError("PAYLOAD_TOO_LARGE", `request body exceeds ${limit} bytes`, { limit }));
        return;
      }
      chunks.push(chunk);
    });
    req.on("error", (error) => {
      if (!failed) reject(new AppError("BAD_REQUEST", `request body could not be read: ${error.message}`));
      failed = true;
    });
    req.on("end", () => {
      if (failed) return;
      if (size === 0) {
        reject(new AppError("VALIDATION_FAILED", "a JSON body is required (content-type: application/json)", [{ field: "(body)", message: "missing" }]));
        return;
      }
      if (type === undefined || !JSON_TYPE.test(type)) {
        reject(new AppError("UNSUPPORTED_MEDIA_TYPE", `content-type must be application/json, got ${type ?? "none"}`));
        return;
      }
      const charset = CHARSET.exec(type)?.[1]?.toLowerCase();
      if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") {
        reject(new AppError("UNSUPPORTED_MEDIA_TYPE", `charset must be utf-8, got ${charset}`));
        return;
      }
      const buffer = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      if (!isUtf8(buffer)) {
        reject(new AppError("MALFORMED_JSON", "request body is not valid UTF-8"));
        return;
      }
      const text = buffer.toString("utf8");
      try {
        // `__proto__` as a key would reach an object's prototype setter in code that copies keys.
        resolve(text.includes('"__proto__"') ? JSON.parse(text, rejectProtoKey) : JSON.parse(text));
      } catch (error) {
        if (error instanceof BadKeyError) {
          reject(new AppError("VALIDATION_FAILED", "invalid request body: __proto__", [{ field: "__proto__", message: "this key is not allowed" }]));
        } else {
          reject(new AppError("MALFORMED_JSON", "request body is not valid JSON", { reason: (error as Error).message }));
        }
      }
    });
  });
}

function rejectProtoKey(key: string, value: unknown): unknown {
  if (key === "__proto__") throw new BadKeyError();
  return value;
}

function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new AppError("INTERNAL", "internal error");
}

/**
 * A stage timer bound to the service's stage histogram. Given the request context, it counts from
 * the request's arrival and starts with a `validate` stage (reading, parsing and checking the body).
 */
export function stageTimer(metrics: ServiceMetrics, request?: Pick<RequestContext, "receivedAt" | "validateMs">): StageTimer {
  const timer = new StageTimer(metrics.stageDuration, request?.receivedAt);
  if (request) timer.record("validate", request.validateMs);
  return timer;
}
