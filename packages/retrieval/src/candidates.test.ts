import { StageTimer } from "@mlsd/service-kit";
import { describe, expect, it } from "vitest";
import { candidateQuery, candidatesAnswer } from "./candidates";
import type { Retriever } from "./retriever";

describe("the retrieval stage's request and answer", () => {
  it("maps a request to the retriever's query: the device's index, history, features and exclusions as given", () => {
    expect(candidateQuery({ userId: "7", k: 50, history: ["i1"], features: { log_clicks: 1 }, context: { device: "tablet" }, excludeItemIds: ["i2"] })).toEqual({
      userId: "7",
      k: 50,
      history: ["i1"],
      features: { log_clicks: 1 },
      device: 2,
      exclude: ["i2"],
    });
    expect(candidateQuery({ userId: "7", k: 5 })).toEqual({ userId: "7", k: 5, device: null });
  });

  it("answers with the candidates in order, their categories, the version and arm, and the stage timings", () => {
    const timer = new StageTimer();
    timer.record("encode", 0.5);
    const found = { itemIds: ["a", "b"], scores: [0.9, 0.4], categories: [3, null], source: "hnsw" as const, degradedReason: null, userKnown: true, historyUsed: 1, ignoredFeatures: ["x"] };
    const answer = candidatesAnswer("7", { version: "v1" } as Retriever, "challenger", found, timer);
    expect(answer).toMatchObject({
      userId: "7",
      candidates: [
        { itemId: "a", score: 0.9, category: 3 },
        { itemId: "b", score: 0.4, category: null },
      ],
      modelVersion: "v1",
      arm: "challenger",
      source: "hnsw",
      degraded: false,
      userKnown: true,
      historyUsed: 1,
      ignoredFeatures: ["x"],
    });
    expect(Object.keys(answer.timings).sort()).toEqual(["encode", "total"]);
  });
});
