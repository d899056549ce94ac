import { createMetrics, Readiness, silentLogger } from "@mlsd/service-kit";
import { runHostileSuite } from "@mlsd/service-kit/testing";
import { describe, expect, it } from "vitest";
import { createApp } from "./app";

describe("hostile input on every event-logger route", () => {
  it("answers every wrong request with a 4xx, never a 5xx, never a hang", async () => {
    const stats = { written: 0, duplicates: 0, byTopic: {}, partitionsScanned: 0, cachedPartitions: 0, tornBytesRepaired: 0, unreadableLines: 0 };
    const app = createApp({ logger: silentLogger, metrics: createMetrics("event-logger", { defaultMetrics: false }), readiness: new Readiness(), writer: { stats: () => stats }, lag: async () => [] });
    const route = (method: string, path: string) => app.routes.find((r) => r.method === method && r.path === path)!;
    const { problems } = await runHostileSuite(app, [{ route: route("GET", "/v1/stats") }, { route: route("GET", "/healthz") }]);
    expect(problems).toEqual([]);
  });
});
