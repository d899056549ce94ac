import { ModelAliasMovedPayloadSchema } from "@mlsd/contracts";
import { ALIAS_NAME_PATTERN, MODEL_NAME_PATTERN, RegistryError, type Manifest, type ModelRegistry } from "@mlsd/model-registry";
import { AppError, defineRoute, type RouteSpec } from "@mlsd/service-kit";
import { z } from "zod";
import type { AdminOutcome, RegistryAdmin } from "./registry-admin";

const ModelParamsSchema = z.object({ model: z.string().regex(MODEL_NAME_PATTERN, "not a model name") });
const AliasNameSchema = z.string().regex(ALIAS_NAME_PATTERN, "lower case letters, digits and dashes, starting with a letter, at most 40 characters");
const VersionSchema = z.string().min(1).max(200);
/** Every move says why: the history is only as useful as its reasons. */
const ReasonSchema = z.string().trim().min(3, "say why the alias moves (at least 3 characters)").max(1000);
/** The operator behind the token, recorded as `<role>:<actor>`. */
const ActorSchema = z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, "letters, digits and . _ @ - (at most 64)");

const PromoteBodySchema = z
  .object({
    /** An alias or a version (default `candidate`). */
    from: z.string().min(1).max(200).optional(),
    reason: ReasonSchema,
    actor: ActorSchema.optional(),
    /** Promote although the compatibility checks failed (recorded in the history). */
    force: z.boolean().optional(),
  })
  .strict();
const RollbackBodySchema = z.object({ reason: ReasonSchema, actor: ActorSchema.optional() }).strict();
const PinBodySchema = z
  .object({ alias: AliasNameSchema, version: VersionSchema.optional(), reason: ReasonSchema, actor: ActorSchema.optional(), force: z.boolean().optional() })
  .strict();
const UnpinBodySchema = z.object({ alias: AliasNameSchema, reason: ReasonSchema, actor: ActorSchema.optional() }).strict();
const AliasBodySchema = z
  .object({
    alias: AliasNameSchema.refine((a) => a !== "current" && a !== "previous", "current and previous move with promote, rollback and pin"),
    version: VersionSchema,
    reason: ReasonSchema,
    actor: ActorSchema.optional(),
  })
  .strict();
const HistoryQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(100_000).optional() });

const PinSchema = z.object({ by: z.string(), reason: z.string(), at: z.string() });
const CompatibilitySchema = z.object({ ok: z.boolean(), reasons: z.array(z.string()), notes: z.array(z.string()) });
const ReloadSchema = z.object({ url: z.string(), ok: z.boolean(), status: z.number().nullable(), body: z.unknown(), ms: z.number() });
const MoveResponseSchema = z.object({
  model: z.string(),
  version: z.string(),
  moves: z.array(ModelAliasMovedPayloadSchema),
  compatibility: CompatibilitySchema.nullable(),
  reloads: z.array(ReloadSchema),
});
const ModelSummarySchema = z.object({ model: z.string(), versions: z.number(), latest: z.string().nullable(), aliases: z.record(z.string()), pins: z.record(PinSchema) });
const VersionSummarySchema = z.object({
  version: z.string(),
  aliases: z.array(z.string()),
  createdAt: z.string().nullable(),
  featureSchemaHash: z.string().nullable(),
  dataWindow: z.record(z.unknown()).nullable(),
  metrics: z.record(z.unknown()).nullable(),
  files: z.number().nullable(),
  /** Set when the manifest cannot be read. */
  error: z.string().nullable(),
});

/** The registry's refusals in the service's error contract: what is missing is 404, what is refused 409. */
export function registryError(error: unknown): unknown {
  if (!(error instanceof RegistryError)) return error;
  const details = { registryCode: error.code, ...(typeof error.details === "object" && error.details !== null ? error.details : {}) };
  switch (error.code) {
    case "NOT_FOUND":
      return new AppError("NOT_FOUND", error.message, details);
    case "INVALID":
      return new AppError("BAD_REQUEST", error.message, details);
    case "LOCKED":
      return new AppError("UNAVAILABLE", error.message, details);
    default:
      return new AppError("CONFLICT", error.message, details);
  }
}

async function guarded<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw registryError(error);
  }
}

function requireModel(registry: ModelRegistry, model: string): void {
  if (registry.versions(model).length === 0) throw new AppError("NOT_FOUND", `no model ${model} in the registry (known: ${registry.models().join(", ") || "none"})`);
}

function summary(registry: ModelRegistry, model: string): z.infer<typeof ModelSummarySchema> {
  const versions = registry.versions(model);
  return { model, versions: versions.length, latest: versions.at(-1) ?? null, aliases: { ...registry.aliases(model) }, pins: { ...registry.pins(model) } };
}

function versionSummary(registry: ModelRegistry, model: string, version: string, aliases: Record<string, string>): z.infer<typeof VersionSummarySchema> {
  const names = Object.keys(aliases).filter((a) => aliases[a] === version);
  let manifest: Manifest;
  try {
    manifest = registry.manifest(model, version);
  } catch (error) {
    return { version, aliases: names, createdAt: null, featureSchemaHash: null, dataWindow: null, metrics: null, files: null, error: (error as Error).message };
  }
  return { version, aliases: names, createdAt: manifest.createdAt, featureSchemaHash: manifest.featureSchemaHash, dataWindow: manifest.dataWindow, metrics: manifest.metrics, files: Object.keys(manifest.files).length, error: null };
}

/** `admin` or `admin:alice`. */
function operator(principal: string | null, body: { reason: string; actor?: string | undefined }): { by: string; reason: string } {
  const role = principal ?? "anonymous";
  return { by: body.actor ? `${role}:${body.actor}` : role, reason: body.reason };
}

/**
 * The registry's admin API: reading is public (models, versions with their metrics, the alias
 * history); every move needs the admin token and a reason, is recorded with who made it, becomes
 * an event, and makes the services serving the model reload (their answers are in the response).
 */
export function registryRoutes(admin: RegistryAdmin): RouteSpec[] {
  const registry = admin.registry;
  const move = <B extends { reason: string; actor?: string | undefined }>(path: string, summaryText: string, body: z.ZodType<B, z.ZodTypeDef, unknown>, run: (model: string, body: B, op: { by: string; reason: string }) => Promise<AdminOutcome>) =>
    defineRoute({
      method: "POST",
      path: `/v1/models/:model/${path}`,
      summary: summaryText,
      auth: "admin",
      params: ModelParamsSchema,
      body,
      response: MoveResponseSchema,
      handler: ({ params, body: b, principal }) =>
        guarded(() => {
          requireModel(registry, params.model);
          return run(params.model, b, operator(principal, b));
        }),
    });

  return [
    defineRoute({
      method: "GET",
      path: "/v1/models",
      summary: "Every model in the registry: how many versions, its aliases and pins",
      response: z.object({ models: z.array(ModelSummarySchema) }),
      handler: () => guarded(() => ({ models: registry.models().map((m) => summary(registry, m)) })),
    }),
    defineRoute({
      method: "GET",
      path: "/v1/models/:model",
      summary: "One model: its aliases, pins and every version with its manifest summary and offline metrics (oldest first)",
      params: ModelParamsSchema,
      response: ModelSummarySchema.omit({ versions: true }).extend({ versions: z.array(VersionSummarySchema) }),
      handler: ({ params }) =>
        guarded(() => {
          requireModel(registry, params.model);
          const { versions: _count, ...rest } = summary(registry, params.model);
          return { ...rest, versions: registry.versions(params.model).map((v) => versionSummary(registry, params.model, v, rest.aliases)) };
        }),
    }),
    defineRoute({
      method: "GET",
      path: "/v1/models/:model/history",
      summary: "The model's alias history, oldest first (the last `limit` moves when given): who moved what, when and why",
      params: ModelParamsSchema,
      query: HistoryQuerySchema,
      response: z.object({ model: z.string(), moves: z.array(ModelAliasMovedPayloadSchema) }),
      handler: ({ params, query }) =>
        guarded(() => {
          requireModel(registry, params.model);
          return { model: params.model, moves: registry.history(params.model, query.limit === undefined ? {} : { limit: query.limit }) };
        }),
    }),
    move(
      "promote",
      "Promote the candidate (or `from`: an alias or a version) to current, the one it replaces to previous; refused when pinned, corrupt or incompatible (unless `force`)",
      PromoteBodySchema,
      (model, b, op) => admin.promote(model, { ...op, ...(b.from ? { from: b.from } : {}), ...(b.force ? { force: true } : {}) }),
    ),
    move("rollback", "Swap current and previous (a second rollback rolls forward again)", RollbackBodySchema, (model, _b, op) => admin.rollback(model, op)),
    move("pin", "Pin an alias (at `version`, or where it points): automatic moves of it are refused until it is unpinned", PinBodySchema, (model, b, op) => admin.pin(model, b.alias, b.version, { ...op, ...(b.force ? { force: true } : {}) })),
    move("unpin", "Remove a pin: automatic moves of the alias are allowed again", UnpinBodySchema, (model, b, op) => admin.unpin(model, b.alias, op)),
    move("alias", "Point a candidate or a named arm (e.g. challenger) at a version; current and previous move with promote, rollback and pin", AliasBodySchema, (model, b, op) => admin.setAlias(model, b.alias, b.version, op)),
  ];
}
