import { randomUUID } from "node:crypto";
import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler } from "express";
import type { z } from "zod";
import { AppError, validationError } from "./errors";
import type { Logger } from "./logger";
import type { ServiceMetrics } from "./metrics";
import { Readiness } from "./readiness";
import { StageTimer } from "./stages";

declare module "express-serve-static-core" {
  interface Request {
    requestId: string;
    log: Logger;
  }
}

export interface ServiceAppOptions {
  logger: Logger;
  metrics: ServiceMetrics;
  readiness?: Readiness;
  /** JSON bodies above this many bytes get a 413. */
  bodyLimitBytes?: number;
  /** Adds the service's routes between the framework's middleware and its error handling. */
  routes: (app: Express) => void;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The express skeleton every service shares: request ids, JSON bodies with a size limit,
 * per-route latency, `/healthz`, `/readyz`, `/metrics`, a 404 and one error handler that always
 * answers `{ error: { code, message, requestId, details } }`.
 */
export function createServiceApp(options: ServiceAppOptions): Express {
  const { logger, metrics } = options;
  const readiness = options.readiness ?? new Readiness();
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);

  app.use((req, res, next) => {
    const incoming = req.get("x-request-id");
    req.requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    req.log = logger.child({ requestId: req.requestId });
    res.setHeader("x-request-id", req.requestId);
    const t0 = performance.now();
    res.on("finish", () => {
      // The route template, not the raw path, so ids in URLs cannot explode label cardinality.
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : "unmatched";
      const seconds = (performance.now() - t0) / 1000;
      metrics.httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      // /readyz answers 503 by design while a dependency is missing: not a failure worth an error line.
      if (res.statusCode >= 500 && route !== "/readyz") req.log.error({ method: req.method, route, status: res.statusCode }, "request failed");
    });
    next();
  });

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", (_req, res) => {
    const report = readiness.report();
    res.status(report.ready ? 200 : 503).json(report);
  });
  app.get("/metrics", async (_req, res) => {
    res.setHeader("content-type", metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });

  app.use(express.json({ limit: options.bodyLimitBytes ?? 64 * 1024, type: ["application/json", "application/*+json"] }));

  options.routes(app);

  app.use((req, _res, next) => {
    next(new AppError("NOT_FOUND", `no route for ${req.method} ${req.path}`));
  });
  app.use(errorHandler);
  return app;
}

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  limit?: number;
}

function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const e = error as BodyParserError;
  switch (e?.type) {
    case "entity.parse.failed":
      return new AppError("MALFORMED_JSON", "request body is not valid JSON", { reason: e.message });
    case "entity.too.large":
      return new AppError("PAYLOAD_TOO_LARGE", `request body exceeds ${e.limit} bytes`, { limit: e.limit });
    case "encoding.unsupported":
    case "charset.unsupported":
      return new AppError("UNSUPPORTED_MEDIA_TYPE", e.message);
    default:
      if (typeof e?.status === "number" && e.status >= 400 && e.status < 500) {
        return new AppError("BAD_REQUEST", e.message);
      }
      return new AppError("INTERNAL", "internal error");
  }
}

const errorHandler: ErrorRequestHandler = (error, req, res, _next) => {
  const appError = toAppError(error);
  if (appError.code === "INTERNAL") req.log?.error({ err: error }, "unhandled error");
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(appError.status).json({
    error: {
      code: appError.code,
      message: appError.message,
      requestId: req.requestId,
      details: appError.details ?? null,
    },
  });
};

/** Parses a request body with a zod schema; a failure is a 400 naming every bad field. */
export function parseBody<S extends z.ZodTypeAny>(schema: S, req: Request): z.infer<S> {
  if (req.body === undefined) {
    throw new AppError("VALIDATION_FAILED", "a JSON body is required (content-type: application/json)", [
      { field: "(body)", message: "missing" },
    ]);
  }
  const result = schema.safeParse(req.body);
  if (!result.success) throw validationError(result.error);
  return result.data;
}

/** A stage timer bound to the service's stage histogram. */
export function stageTimer(metrics: ServiceMetrics): StageTimer {
  return new StageTimer(metrics.stageDuration);
}

/** Express 5 forwards rejected promises; this only narrows the handler type for routes. */
export function route(handler: (req: Request, res: express.Response) => Promise<void> | void): RequestHandler {
  return handler as RequestHandler;
}

/**
 * `POST /v1/model/reload`: switches to what the registry alias points at now. When loading fails
 * the old model keeps serving and the caller gets a 409 saying why.
 */
export function modelReloadHandler<T>(
  reload: () => T | Promise<T>,
  logger: Logger,
  answer: (loaded: T) => object,
): RequestHandler {
  return async (_req, res) => {
    let loaded: T;
    try {
      loaded = await reload();
    } catch (error) {
      throw new AppError("CONFLICT", `reload failed: ${(error as Error).message}`);
    }
    const body = answer(loaded);
    logger.info(body, "model reloaded");
    res.json(body);
  };
}
