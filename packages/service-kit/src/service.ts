import type { z } from "zod";
import type { AdmissionOptions, ServiceApp } from "./app";
import { ConfigError, loadConfig, type BaseConfig } from "./config";
import { TokenAuthenticator } from "./http/auth";
import { Closers, runService, type RunningService } from "./lifecycle";
import { createLogger, type Logger } from "./logger";
import { createMetrics, type ServiceMetrics } from "./metrics";
import { Readiness } from "./readiness";

/**
 * What a service's deps factory gets: its frozen config and the runtime pieces every service has.
 * Every connection a factory opens registers its closer here as it opens, so a start-up that fails
 * half way closes exactly what it had opened.
 */
export interface ServiceContext<C extends BaseConfig = BaseConfig> {
  readonly name: string;
  readonly config: Readonly<C>;
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
  readonly readiness: Readiness;
  readonly closers: Closers;
  /** Bearer tokens by role (`admin` from ADMIN_TOKEN, plus the service's writer roles). */
  readonly auth: TokenAuthenticator;
}

/** A service as data: config -> context -> deps -> app. main.ts runs it; tests start it in-process. */
export interface ServiceDefinition<C extends BaseConfig, D> {
  /** Also the metric prefix and the logger's `service` field. */
  name: string;
  configSchema: z.ZodType<C, z.ZodTypeDef, unknown>;
  /** Readiness checks that start out false (each dependency sets its own when it is there). */
  readiness?: readonly string[];
  /** Writer roles besides admin and the config keys holding their tokens, e.g. `{ labels: "LABEL_WRITER_TOKEN" }`. */
  roles?: Readonly<Record<string, keyof C & string>>;
  createDeps(ctx: ServiceContext<C>): Promise<D> | D;
  createApp(deps: D): ServiceApp;
  /** Runs first on shutdown, before HTTP drains: stop consumers, stop accepting queued work. */
  beforeDrain?(deps: D): Promise<void> | void;
}

export interface StartedService<C extends BaseConfig, D> extends RunningService {
  ctx: ServiceContext<C>;
  deps: D;
  app: ServiceApp;
}

/** Builds the context for a parsed config; `logger` overrides the one built from LOG_LEVEL. */
export function createServiceContext<C extends BaseConfig>(definition: Pick<ServiceDefinition<C, unknown>, "name" | "readiness" | "roles">, config: Readonly<C>, options: { logger?: Logger } = {}): ServiceContext<C> {
  const tokens: Record<string, string | undefined> = { admin: config.ADMIN_TOKEN };
  for (const [role, key] of Object.entries(definition.roles ?? {})) tokens[role] = config[key as keyof C] as string | undefined;
  return {
    name: definition.name,
    config,
    logger: options.logger ?? createLogger({ service: definition.name, level: config.LOG_LEVEL }),
    metrics: createMetrics(definition.name),
    readiness: new Readiness(definition.readiness ?? []),
    closers: new Closers(),
    auth: new TokenAuthenticator(tokens),
  };
}

/** Runs the deps factory; if it throws, closes whatever it had opened before rethrowing. */
export async function createServiceDeps<C extends BaseConfig, D>(definition: ServiceDefinition<C, D>, ctx: ServiceContext<C>): Promise<D> {
  try {
    return await definition.createDeps(ctx);
  } catch (error) {
    ctx.logger.error({ err: error }, "start-up failed; closing what was opened");
    await ctx.closers.closeAll(ctx.logger);
    throw error;
  }
}

export interface StartOptions {
  logger?: Logger;
  /** Exit the process at the end of shutdown and handle SIGINT/SIGTERM (main.ts); tests leave both off. */
  main?: boolean;
}

export interface ServiceInstance<C extends BaseConfig, D> {
  ctx: ServiceContext<C>;
  deps: D;
  app: ServiceApp;
  /** Runs the closers (what shutdown does after draining). */
  close(): Promise<void>;
}

/** Parses the config from `env` and builds deps and app without listening: for tests that drive the app with supertest. */
export async function buildService<C extends BaseConfig, D>(definition: ServiceDefinition<C, D>, env: Record<string, string | undefined>, options: { logger?: Logger } = {}): Promise<ServiceInstance<C, D>> {
  const config = loadConfig(definition.configSchema, env) as Readonly<C>;
  const ctx = createServiceContext(definition, config, options);
  const deps = await createServiceDeps(definition, ctx);
  try {
    return { ctx, deps, app: definition.createApp(deps), close: () => ctx.closers.closeAll(ctx.logger) };
  } catch (error) {
    await ctx.closers.closeAll(ctx.logger);
    throw error;
  }
}

/** Parses the config from `env`, builds deps and app, listens. */
export async function startService<C extends BaseConfig, D>(definition: ServiceDefinition<C, D>, env: Record<string, string | undefined>, options: StartOptions = {}): Promise<StartedService<C, D>> {
  const config = loadConfig(definition.configSchema, env) as Readonly<C>;
  const ctx = createServiceContext(definition, config, options.logger ? { logger: options.logger } : {});
  const deps = await createServiceDeps(definition, ctx);
  let app: ServiceApp;
  try {
    app = definition.createApp(deps);
  } catch (error) {
    await ctx.closers.closeAll(ctx.logger);
    throw error;
  }
  const running = await runService({
    app,
    port: config.PORT,
    host: config.HOST,
    logger: ctx.logger,
    readiness: ctx.readiness,
    closers: ctx.closers,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    maxConnections: config.MAX_CONNECTIONS,
    headersTimeoutMs: config.HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: config.KEEP_ALIVE_TIMEOUT_MS,
    ...(definition.beforeDrain ? { beforeDrain: () => definition.beforeDrain?.(deps) } : {}),
    exitProcess: options.main ?? false,
    handleSignals: options.main ?? false,
  });
  return { ...running, ctx, deps, app };
}

/**
 * What every main.ts does: every configuration problem listed then exit 2; start; on SIGINT or
 * SIGTERM drain and exit within SHUTDOWN_TIMEOUT_MS. A start-up failure exits 1 with the reason.
 */
// The one place a service reads its environment: it is parsed here, once, by the service's schema.
// eslint-disable-next-line no-restricted-properties
export async function runServiceMain<C extends BaseConfig, D>(definition: ServiceDefinition<C, D>, env: Record<string, string | undefined> = process.env): Promise<StartedService<C, D>> {
  try {
    return await startService(definition, env, { main: true });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${definition.name}: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`${definition.name}: start-up failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  }
}

/** What every service's app needs besides its own dependencies; service deps interfaces extend it. */
export interface HttpDeps {
  logger: Logger;
  metrics: ServiceMetrics;
  readiness: Readiness;
  auth?: TokenAuthenticator;
  bodyLimitBytes?: number;
  admission?: AdmissionOptions;
}

/** The HttpDeps a running service takes from its context (tokens, body limit and in-flight bound from the base config). */
export function httpDeps(ctx: ServiceContext): HttpDeps {
  return {
    logger: ctx.logger,
    metrics: ctx.metrics,
    readiness: ctx.readiness,
    auth: ctx.auth,
    bodyLimitBytes: ctx.config.BODY_LIMIT_BYTES,
    admission: { maxInFlight: ctx.config.MAX_IN_FLIGHT, maxEventLoopLagMs: ctx.config.MAX_EVENT_LOOP_LAG_MS, maxEventLoopUtilization: ctx.config.MAX_EVENT_LOOP_UTILIZATION },
  };
}

/** `StartedService` of a definition, e.g. `StartedServiceOf<typeof fraudService>`. */
export type StartedServiceOf<S> = S extends ServiceDefinition<infer C, infer D> ? StartedService<C, D> : never;
/** `ServiceInstance` of a definition, e.g. `ServiceInstanceOf<typeof rankerService>`. */
export type ServiceInstanceOf<S> = S extends ServiceDefinition<infer C, infer D> ? ServiceInstance<C, D> : never;
