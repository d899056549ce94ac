import http from "node:http";
import net from "node:net";
import fc from "fast-check";
import type { ServiceApp } from "../app";
import type { RouteSpec } from "../http/route";

/**
 * The hostile-input suite every service runs in CI: for each route, requests that are wrong in
 * every way a client (or an attacker) can make them wrong, sent over a real socket to the
 * service's app. The service must answer each with a 4xx in the error contract (never a 5xx),
 * name the bad field when it is a validation error, never hang, and stay healthy.
 */

export interface HostileRoute {
  route: RouteSpec;
  /** A valid body (for routes with one): mutations start from it. */
  validBody?: Record<string, unknown>;
  /** A concrete path for templated routes (`/v1/models/fraud-gbdt`). */
  path?: string;
  /** Headers every request to this route carries (e.g. the writer's token). */
  headers?: Record<string, string>;
}

export interface HostileAnswer {
  name: string;
  status: number | null;
  body: unknown;
  ms: number;
}

/** A value of every shape JSON can carry, including the awkward ones. */
const awkward: unknown[] = [
  null,
  true,
  0,
  -1,
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER + 2,
  0.1 + 0.2,
  "",
  " ",
  "NaN",
  "Infinity",
  "1e309",
  "\u0000",
  "\ud83d\ude00".repeat(200),
  "x".repeat(70_000),
  "<script>alert(1)</script>",
  "'; DROP TABLE users; --",
  "../../../etc/passwd",
  [],
  [[[[[[[[[[]]]]]]]]]],
  Array.from({ length: 50_000 }, (_, i) => i),
  {},
  { __proto__: { polluted: true } },
  JSON.parse('{"__proto__":{"polluted":true}}'),
  { constructor: { prototype: { polluted: true } } },
];

function deepNesting(depth: number, array: boolean): string {
  return array ? "[".repeat(depth) + "]".repeat(depth) : '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
}

/** Systematic mutations of a valid body: each field removed and set to each awkward value, plus unknown keys. */
function fieldMutations(valid: Record<string, unknown>): { name: string; body: unknown }[] {
  const out: { name: string; body: unknown }[] = [];
  for (const key of Object.keys(valid)) {
    const { [key]: _removed, ...without } = valid;
    out.push({ name: `without ${key}`, body: without });
    awkward.forEach((value, i) => out.push({ name: `${key} = awkward[${i}]`, body: { ...valid, [key]: value } }));
  }
  out.push({ name: "an unknown field", body: { ...valid, unexpectedField: 1 } });
  out.push({ name: "a __proto__ key", body: JSON.parse(JSON.stringify(valid).replace(/^\{/, '{"__proto__":{"isAdmin":true},')) });
  out.push({ name: "constructor and prototype keys", body: { ...valid, constructor: {}, prototype: {} } });
  out.push({ name: "the body is an array", body: [valid] });
  out.push({ name: "the body is a string", body: "valid" });
  out.push({ name: "the body is null", body: null });
  return out;
}

interface RawCase {
  name: string;
  bytes: Buffer;
}

/** Requests whose framing is wrong: they never reach a handler as JSON. */
function framingCases(method: string, path: string, headers: Record<string, string>): RawCase[] {
  const head = (extra: string) => `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")}${extra}`;
  const json = (text: string | Buffer, type = "application/json") => {
    const body = typeof text === "string" ? Buffer.from(text) : text;
    return Buffer.concat([Buffer.from(head(`content-type: ${type}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`)), body]);
  };
  return [
    { name: "truncated JSON", bytes: json('{"a": [1, 2,') },
    { name: "invalid UTF-8", bytes: json(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d])) },
    { name: "JSON with a BOM and trailing garbage", bytes: json('\ufeff{"a":1} trailing') },
    { name: "deeply nested arrays", bytes: json(deepNesting(20_000, true)) },
    { name: "deeply nested objects", bytes: json(deepNesting(5_000, false)) },
    { name: "a body over the size limit", bytes: json(`{"a":"${"x".repeat(3 * 1024 * 1024)}"}`) },
    { name: "text/plain", bytes: json('{"a":1}', "text/plain") },
    { name: "a latin1 charset", bytes: json('{"a":1}', "application/json; charset=latin1") },
    { name: "no content-type", bytes: Buffer.from(head(`content-length: 7\r\nconnection: close\r\n\r\n{"a":1}`)) },
    { name: "content-length shorter than the body", bytes: Buffer.from(head(`content-type: application/json\r\ncontent-length: 3\r\nconnection: close\r\n\r\n{"a":1,"b":2}`)) },
    { name: "a negative content-length", bytes: Buffer.from(head(`content-type: application/json\r\ncontent-length: -5\r\nconnection: close\r\n\r\n{}`)) },
    { name: "two content-lengths", bytes: Buffer.from(head(`content-type: application/json\r\ncontent-length: 2\r\ncontent-length: 7\r\nconnection: close\r\n\r\n{"a":1}`)) },
    { name: "broken chunked encoding", bytes: Buffer.from(head(`content-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`)) },
    { name: "a huge header", bytes: Buffer.from(head(`x-filler: ${"y".repeat(64 * 1024)}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`)) },
    { name: "a bad request id", bytes: Buffer.from(head(`x-request-id: ${"<>".repeat(300)}\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}`)) },
  ];
}

function sendRaw(port: number, bytes: Buffer, timeoutMs: number): Promise<{ status: number | null; body: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("data", (c: Buffer) => chunks.push(c));
    // The server may close on us mid-send (an oversized body): that is an answer too.
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("utf8");
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text);
      const bodyStart = text.indexOf("\r\n\r\n");
      let body: unknown = null;
      try {
        body = bodyStart >= 0 ? JSON.parse(text.slice(bodyStart + 4)) : null;
      } catch {
        body = text.slice(bodyStart + 4, bodyStart + 204);
      }
      resolve({ status: status ? Number(status[1]) : null, body });
    });
    socket.end(bytes);
  });
}

function sendJson(port: number, method: string, path: string, headers: Record<string, string>, body: unknown, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body) ?? "null";
    const req = http.request(
      { host: "127.0.0.1", port, method, path, agent: false, headers: { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(text) }, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const raw = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = raw;
          try {
            parsed = JSON.parse(raw);
          } catch {
            // left as text: the check below reports it
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(text);
  });
}

/** What is wrong with one answer, or null when it is a proper refusal (or a success). */
export function problemWith(answer: HostileAnswer): string | null {
  if (answer.status === null) return null; // the connection was closed on a framing error: fine
  if (answer.status >= 500) return `${answer.name}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`;
  if (answer.status >= 400) {
    const error = (answer.body as { error?: { code?: string; details?: unknown } } | null)?.error;
    // Node's own parser answers some framing errors before the app sees them, without a body.
    if (error === undefined) return answer.status === 400 || answer.status === 413 || answer.status === 431 ? null : `${answer.name}: ${answer.status} outside the error contract`;
    if (error.code === "VALIDATION_FAILED") {
      const details = error.details as { field?: unknown }[] | null;
      if (!Array.isArray(details) || details.length === 0 || details.some((d) => typeof d.field !== "string" || d.field.length === 0)) {
        return `${answer.name}: VALIDATION_FAILED without the bad field named (${JSON.stringify(details)})`;
      }
    }
  }
  return null;
}

/** `{model}` -> a value no route resolves to a resource, so a templated path still reaches its handler. */
function concretePath(documented: string): string {
  return documented.replace(/\{[^}]+\}/g, "openapi-probe");
}

/**
 * The service's OpenAPI document, as served at /openapi.json, against the routes it registers:
 * every registered route is documented (method and path), and every documented operation reaches
 * a handler over the socket (anything but the router's own "no route" 404 or a 405).
 */
export async function openApiProblems(port: number, app: ServiceApp, timeoutMs = 10_000): Promise<string[]> {
  const problems: string[] = [];
  const served = await sendJson(port, "GET", "/openapi.json", {}, undefined, timeoutMs);
  const document = served.body as { openapi?: string; paths?: Record<string, Record<string, unknown>> } | null;
  if (served.status !== 200 || typeof document?.openapi !== "string" || !document.paths) return [`GET /openapi.json: ${served.status}, not an OpenAPI document`];
  const documented = new Set(Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`)));
  const registered = new Set(app.routes.map((r) => `${r.method} ${r.path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, "{$1}")}`));
  for (const route of registered) if (!documented.has(route)) problems.push(`${route}: registered but not in /openapi.json`);
  for (const operation of documented) {
    if (!registered.has(operation)) problems.push(`${operation}: in /openapi.json but not registered`);
    const [method, path] = operation.split(" ") as [string, string];
    const answer = await sendJson(port, method, concretePath(path), {}, method === "GET" || method === "HEAD" ? undefined : {}, timeoutMs);
    const error = (answer.body as { error?: { code?: string; message?: string } } | null)?.error;
    if (answer.status === 405 || (answer.status === 404 && error?.message?.startsWith("no route for"))) problems.push(`${operation}: documented, but ${answer.status} ${error?.message ?? ""}`);
  }
  return problems;
}

/**
 * Sends every systematic and framing case, then `runs` random ones per route (fast-check,
 * seeded), to `app` listening on a loopback port. Returns every answer and every problem.
 */
export async function runHostileSuite(app: ServiceApp, routes: readonly HostileRoute[], options: { runs?: number; seed?: number; timeoutMs?: number } = {}): Promise<{ answers: HostileAnswer[]; problems: string[] }> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const server = http.createServer({ headersTimeout: 5_000, requestTimeout: 10_000 }, app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  const answers: HostileAnswer[] = [];
  const problems: string[] = [];
  const record = (answer: HostileAnswer) => {
    answers.push(answer);
    const problem = problemWith(answer);
    if (problem) problems.push(`${answer.name}: ${problem}`);
  };
  const timed = async (name: string, send: () => Promise<{ status: number | null; body: unknown }>) => {
    const t0 = performance.now();
    try {
      const answer = await send();
      record({ name, ...answer, ms: performance.now() - t0 });
    } catch (error) {
      problems.push(`${name}: ${(error as Error).message}`);
    }
  };
  try {
    for (const { route, validBody, path, headers = {} } of routes) {
      const url = path ?? route.path;
      const label = `${route.method} ${url}`;
      for (const c of framingCases(route.method, url, headers)) await timed(`${label}, ${c.name}`, () => sendRaw(port, c.bytes, timeoutMs));
      await timed(`${label}, a query full of junk`, () => sendJson(port, route.method, `${url}?search=%FF%FE&k=-1&__proto__=1&x=${"y".repeat(2000)}`, headers, validBody ?? {}, timeoutMs));
      if (!validBody) continue;
      for (const m of fieldMutations(validBody)) await timed(`${label}, ${m.name}`, () => sendJson(port, route.method, url, headers, m.body, timeoutMs));
      const keys = Object.keys(validBody);
      const mutation = fc.record({
        key: fc.constantFrom(...keys, "extra"),
        value: fc.oneof(fc.anything({ maxDepth: 4, withObjectString: true, withNullPrototype: true, withBigInt: false }), fc.constantFrom(...awkward)),
        drop: fc.subarray(keys),
      });
      await fc.assert(
        fc.asyncProperty(mutation, async ({ key, value, drop }) => {
          const body: Record<string, unknown> = { ...validBody, [key]: value };
          for (const d of drop) delete body[d];
          const t0 = performance.now();
          const answer = await sendJson(port, route.method, url, headers, body, timeoutMs);
          const result = { name: `${label}, random ${key}`, ...answer, ms: performance.now() - t0 };
          answers.push(result);
          const problem = problemWith(result);
          if (problem) throw new Error(`${problem}; body ${JSON.stringify(body)?.slice(0, 300)}`);
        }),
        { numRuns: options.runs ?? 100, seed: options.seed ?? 42, endOnFailure: true },
      ).catch((error: Error) => problems.push(error.message.split("\n").slice(0, 6).join(" ")));
    }
    problems.push(...(await openApiProblems(port, app, timeoutMs)));
    // Still serving after all of it.
    await timed("health after the suite", () => sendJson(port, "GET", "/healthz", {}, undefined, timeoutMs));
    const last = answers.at(-1);
    if (last?.name !== "health after the suite" || last.status !== 200) problems.push("the service did not answer /healthz after the suite");
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return { answers, problems };
}
