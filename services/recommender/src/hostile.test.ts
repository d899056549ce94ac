import { runHostileSuite } from "@mlsd/service-kit/testing";
import { describe, expect, it } from "vitest";
import { createApp } from "./app";
import { CLICK_TOKEN, testDeps } from "./test-fixtures";

describe("hostile input on every recommender route", () => {
  it("answers every wrong request with a 4xx naming the field, never a 5xx, never a hang", async () => {
    const { deps } = await testDeps();
    const app = createApp({ ...deps, reloadPopularity: () => deps.popularity() });
    const route = (method: string, path: string) => app.routes.find((r) => r.method === method && r.path === path)!;
    const { problems } = await runHostileSuite(app, [
      { route: route("POST", "/v1/recommendations"), validBody: { userId: "u1", k: 5, context: { device: "mobile", category: 2 }, excludeItemIds: ["i1"] } },
      { route: route("POST", "/v1/events/click"), validBody: { requestId: "r1", userId: "u1", itemId: "i1", position: 0 }, headers: { authorization: `Bearer ${CLICK_TOKEN}` } },
      { route: route("POST", "/v1/model/reload") },
      { route: route("GET", "/v1/model") },
    ]);
    expect(problems).toEqual([]);
  });
});
