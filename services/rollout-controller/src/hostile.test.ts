import { runHostileSuite } from "@mlsd/service-kit/testing";
import { describe, expect, it } from "vitest";
import { ADMIN, registryFixture, reloadServer } from "./test-fixtures";

describe("rollout controller HTTP", () => {
  it("answers every wrong request with a 4xx, never a 5xx, never a hang", async () => {
    const service = await reloadServer();
    const { app } = await registryFixture([service.url]);
    const route = (method: string, path: string) => app.routes.find((r) => r.method === method && r.path === path)!;
    const headers = { authorization: `Bearer ${ADMIN}` };
    const { problems, answers } = await runHostileSuite(
      app,
      [
        { route: route("GET", "/v1/rollouts") },
        { route: route("GET", "/v1/rollouts/:model"), path: "/v1/rollouts/fraud-gbdt" },
        { route: route("POST", "/v1/rollouts"), headers, validBody: { model: "fraud-gbdt", candidate: "f2", reason: "hostile suite", actor: "fuzz" } },
        { route: route("POST", "/v1/rollouts/:model/abort"), path: "/v1/rollouts/fraud-gbdt/abort", headers, validBody: { reason: "hostile suite" } },
        { route: route("GET", "/v1/models") },
        { route: route("GET", "/v1/models/:model"), path: "/v1/models/fraud-gbdt" },
        { route: route("GET", "/v1/models/:model/history"), path: "/v1/models/fraud-gbdt/history" },
        { route: route("POST", "/v1/models/:model/promote"), path: "/v1/models/fraud-gbdt/promote", headers, validBody: { from: "f2", reason: "hostile suite", actor: "fuzz", force: false } },
        { route: route("POST", "/v1/models/:model/rollback"), path: "/v1/models/fraud-gbdt/rollback", headers, validBody: { reason: "hostile suite" } },
        { route: route("POST", "/v1/models/:model/pin"), path: "/v1/models/fraud-gbdt/pin", headers, validBody: { alias: "current", version: "f1", reason: "hostile suite" } },
        { route: route("POST", "/v1/models/:model/unpin"), path: "/v1/models/fraud-gbdt/unpin", headers, validBody: { alias: "current", reason: "hostile suite" } },
        { route: route("POST", "/v1/models/:model/alias"), path: "/v1/models/fraud-gbdt/alias", headers, validBody: { alias: "challenger", version: "f3", reason: "hostile suite" } },
      ],
      { runs: 40 },
    );
    await service.close();
    expect(problems).toEqual([]);
    // The valid bodies did get through: the suite exercised moves, not only refusals.
    expect(answers.filter((a) => a.status === 200 && a.name.includes("/v1/models/fraud-gbdt/")).length).toBeGreaterThan(10);
    // Eight routes, each move fsynced: minutes on a loaded 2-core machine.
  }, 300_000);
});
