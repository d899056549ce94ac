import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createServiceApp } from "../app";
import { defineRoute } from "../http/route";
import { createLogger } from "../logger";
import { createMetrics } from "../metrics";
import { runHostileSuite } from "./hostile";

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
});
