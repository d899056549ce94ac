import http from "node:http";
import type net from "node:net";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createServiceApp } from "../app";
import { defineRoute } from "../http/route";
import { createLogger } from "../logger";
import { createMetrics } from "../metrics";
import type { ServiceApp } from "../app";
import { openApiProblems, runHostileSuite } from "./hostile";

const BodySchema = z.object({ id: z.string().min(1).max(64), amount: z.number().finite().nonnegative(), tags: z.array(z.string().max(20)).max(10).optional() }).strict();

function app(handler: (body: z.infer<typeof BodySchema>) => unknown) {
  return createServiceApp({
    logger: createLogger({ service: "hostile", level: "silent" }),
    metrics: createMetrics("hostile_svc", { defaultMetrics: false }),
    routes: [defineRoute({ method: "POST", path: "/v1/things", summary: "a thing", body: BodySchema, handler: ({ body }) => handler(body) })],
  });
}

describe("the hostile-input suite", () => {
  it("passes a route that validates its input and only refuses with 4xx", async () => {
    const { answers, problems } = await runHostileSuite(app((b) => ({ ok: b.id })), [{ route: app(() => null).routes.find((r) => r.path === "/v1/things")!, validBody: { id: "t1", amount: 5 } }], { runs: 60 });
    expect(problems).toEqual([]);
    expect(answers.length).toBeGreaterThan(120);
    expect(answers.filter((a) => a.status === 400).length).toBeGreaterThan(90);
    expect(answers.some((a) => a.status === 413)).toBe(true);
  });

  it("catches a handler that fails on input it let through", async () => {
    const fragile = app((b) => {
      if (b.amount > 1e300) throw new TypeError("overflow");
      return { ok: true };
    });
    const { problems } = await runHostileSuite(fragile, [{ route: fragile.routes.find((r) => r.path === "/v1/things")!, validBody: { id: "t1", amount: 5 } }], { runs: 20 });
    expect(problems.some((p) => /amount = awkward\[4\].*500/.test(p))).toBe(true);
  });

  it("checks the served OpenAPI document against the registered routes, both ways", async () => {
    const honest = app(() => ({ ok: true }));
    const listen = async (listener: ServiceApp) => {
      const server = http.createServer(listener);
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      return { server, port: (server.address() as net.AddressInfo).port };
    };
    const check = async (listener: ServiceApp) => {
      const { server, port } = await listen(listener);
      try {
        return await openApiProblems(port, listener);
      } finally {
        server.close();
      }
    };
    expect(await check(honest)).toEqual([]);
    // A route the service says it has but the document leaves out.
    const extra = defineRoute({ method: "DELETE", path: "/v1/things/:id", summary: "undocumented", handler: () => null });
    const undocumented = Object.assign((req: http.IncomingMessage, res: http.ServerResponse) => honest(req, res), { routes: [...honest.routes, extra], openapi: () => honest.openapi() }) as unknown as ServiceApp;
    expect(await check(undocumented)).toEqual(["DELETE /v1/things/{id}: registered but not in /openapi.json"]);
    // A document that promises an operation nothing serves.
    const phantom = Object.assign(
      (req: http.IncomingMessage, res: http.ServerResponse) => {
        if (req.url !== "/openapi.json") return honest(req, res);
        const doc = honest.openapi();
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ ...doc, paths: { ...doc.paths, "/v1/ghosts/{id}": { get: { summary: "ghost", responses: {} } } } }));
      },
      { routes: honest.routes, openapi: () => honest.openapi() },
    ) as unknown as ServiceApp;
    const problems = await check(phantom);
    expect(problems).toContain("GET /v1/ghosts/{id}: in /openapi.json but not registered");
    expect(problems.some((p) => p.startsWith("GET /v1/ghosts/{id}: documented, but 404 no route for GET /v1/ghosts/openapi-probe"))).toBe(true);
  });
});
