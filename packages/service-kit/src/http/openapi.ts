import type { z } from "zod";
import { zodToJsonSchema } from "zod-to-json-schema";
import { ERROR_STATUS } from "../errors";
import type { RouteSpec } from "./route";

export interface OpenApiInfo {
  title: string;
  version?: string;
  description?: string;
}

/** The subset of OpenAPI 3.0 this generator writes. */
export interface OpenApiDocument {
  openapi: "3.0.3";
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
}

export interface OpenApiOperation {
  summary: string;
  operationId: string;
  parameters?: { name: string; in: "path" | "query"; required: boolean; schema: unknown; description?: string }[];
  requestBody?: { required: true; content: Record<string, { schema: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
  security?: Record<string, string[]>[];
  "x-auth-role"?: string;
}

type JsonSchema = { type?: string; properties?: Record<string, JsonSchema>; required?: string[]; description?: string } & Record<string, unknown>;

function toJsonSchema(schema: z.ZodTypeAny, io: "input" | "output"): JsonSchema {
  const converted = zodToJsonSchema(schema, { target: "openApi3", $refStrategy: "none", effectStrategy: io === "input" ? "input" : "any", pipeStrategy: io }) as JsonSchema;
  delete converted.$schema;
  return converted;
}

/** `/v1/models/:model` -> `/v1/models/{model}`. */
export function openApiPath(template: string): string {
  return template.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, "{$1}");
}

function parametersOf(schema: z.ZodTypeAny | undefined, where: "path" | "query", template: string): NonNullable<OpenApiOperation["parameters"]> {
  const names = where === "path" ? [...template.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] as string) : [];
  if (!schema) return names.map((name) => ({ name, in: "path" as const, required: true, schema: { type: "string" } }));
  const json = toJsonSchema(schema, "input");
  const properties = json.properties ?? {};
  const required = new Set(json.required ?? []);
  const all = new Set([...names, ...Object.keys(properties)]);
  return [...all].map((name) => {
    const property = properties[name] ?? { type: "string" };
    const { description, ...rest } = property;
    return {
      name,
      in: where,
      required: where === "path" || required.has(name),
      schema: rest,
      ...(typeof description === "string" ? { description } : {}),
    };
  });
}

const ERROR_BODY = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message", "requestId", "details"],
      properties: {
        code: { type: "string", enum: Object.keys(ERROR_STATUS) },
        message: { type: "string" },
        requestId: { type: "string" },
        details: { nullable: true, description: "For VALIDATION_FAILED: a list of { field, message }, one per bad field" },
      },
    },
  },
};

/**
 * The service's OpenAPI document, generated from the same route list and zod schemas the server
 * validates with, so the document cannot drift from what is served.
 */
export function buildOpenApi(info: OpenApiInfo, routes: readonly RouteSpec[]): OpenApiDocument {
  const paths: OpenApiDocument["paths"] = {};
  for (const route of routes) {
    const path = openApiPath(route.path);
    const protectedRoute = route.auth !== undefined && route.auth !== "public";
    const okStatus = String(route.status ?? 200);
    const responses: OpenApiOperation["responses"] = {
      [okStatus]: {
        description: "success",
        ...(route.response
          ? { content: { "application/json": { schema: toJsonSchema(route.response, "output") } } }
          : route.produces
            ? { content: { [route.produces]: { schema: { type: "string" } } } }
            : {}),
      },
    };
    const errors = new Set<number>([500]);
    if (route.body || route.query || route.params) errors.add(400);
    if (route.body) [413, 415].forEach((s) => errors.add(s));
    if (protectedRoute) [401, 403].forEach((s) => errors.add(s));
    if (route.admitted !== false) errors.add(503);
    for (const status of [...errors].sort()) responses[String(status)] = { description: "error", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
    const parameters = [...parametersOf(route.params, "path", route.path), ...(route.query ? parametersOf(route.query, "query", route.path) : [])];
    const operation: OpenApiOperation = {
      summary: route.summary,
      operationId: `${route.method.toLowerCase()}${route.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ""))}`,
      ...(parameters.length ? { parameters } : {}),
      ...(route.body ? { requestBody: { required: true as const, content: { "application/json": { schema: toJsonSchema(route.body, "input") } } } } : {}),
      responses,
      ...(protectedRoute ? { security: [{ bearerAuth: [] }], "x-auth-role": route.auth as string } : {}),
    };
    (paths[path] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: "3.0.3",
    info: { title: info.title, version: info.version ?? "1", ...(info.description ? { description: info.description } : {}) },
    paths,
    components: {
      schemas: { Error: ERROR_BODY },
      securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", description: "A role's token from the service's configuration (ADMIN_TOKEN, or a writer token)" } },
    },
  };
}
