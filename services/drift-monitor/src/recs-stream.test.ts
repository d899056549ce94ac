import { makeEvent, type AnyEvent } from "@mlsd/contracts";
import { Rng } from "@mlsd/random";
import { silentLogger } from "@mlsd/service-kit";
import { describe, expect, it } from "vitest";
import { createMonitor, WatchedModel, type MonitorConfig } from "./deps";
import { LiveReferenceBuilder } from "./live-reference";
import { recsStream } from "./streams";

const CONFIG: MonitorConfig = {
  MONITOR: "recs",
  MODEL_NAME: undefined,
  COUNT_WINDOW_SIZE: 1_000,
  COUNT_EVALUATE_EVERY: 200,
  TIME_WINDOW_SECONDS: 3_600,
  TIME_EVALUATE_EVERY: 200,
  PSI_THRESHOLD: 0.1,
  ALPHA: 0.05,
  SUSTAIN: 3,
  CLEAR_AFTER: 3,
  LABEL_HORIZON_MS: 30 * 60_000,
  PERFORMANCE_BUCKET_MS: 3_600_000,
  PERFORMANCE_MAX_BUCKETS: 24,
  PERFORMANCE_MAX_PENDING: 100_000,
};

/** Served answers of 10 items each; `shift` moves the item_ctr feature of every item. */
function served(rng: Rng, n: number, startMs: number, shift = 0): AnyEvent[] {
  return Array.from({ length: n }, (_, r) =>
    makeEvent(
      "recs.served",
      {
        requestId: `req-${startMs}-${r}`,
        userId: `u${rng.int(500)}`,
        modelVersions: { ranker: "ranker-gbdt@v1" },
        fallback: null,
        userFeatures: { log_clicks: 1 },
        items: Array.from({ length: 10 }, (_, position) => ({
          itemId: `i${rng.int(5_000)}`,
          position,
          score: rng.normal() - position * 0.1,
          features: { retrieval_score: rng.normal() * 0.5, item_ctr: 0.03 + shift + rng.normal() * 0.01 },
        })),
      },
      { producer: "recommender", eventTime: new Date(startMs + r * 1_000).toISOString() },
    ),
  );
}

describe("drift of the recommender's served rankings", () => {
  it("takes its baseline from the first served predictions, stays quiet on the same traffic, and alarms on a shift", async () => {
    const rng = new Rng(5);
    const t0 = Date.UTC(2024, 0, 10);
    const watched = new WatchedModel((reference) => createMonitor(CONFIG, { logger: silentLogger, metrics: null, reference, retrain: null, alerts: null }), recsStream, "ranker-gbdt", new LiveReferenceBuilder("ranker-gbdt", 2_000));
    // A fallback answer carries no model score: skipped, not part of the baseline.
    watched.handle([makeEvent("recs.served", { requestId: "r-fb", userId: "u1", modelVersions: { popularity: "p@1" }, fallback: "cold-start", userFeatures: {}, items: [] }, { producer: "recommender" })]);
    watched.handle(served(rng, 150, t0));
    expect(watched.report()).toMatchObject({ reference: null, warmingUp: { collected: 1_500, needed: 2_000 } });
    watched.handle(served(rng, 60, t0 + 150_000));
    const active = watched.active!;
    expect(active.referenceId).toBe("ranker-gbdt@live");
    watched.handle(served(rng, 600, t0 + 300_000));
    expect(active.report().episode.episodes).toBe(0);
    watched.handle(served(rng, 600, t0 + 1_000_000, 0.03));
    expect(active.report().episode.active).toBe(true);
    expect(active.alertingFeatures()).toContain("item_ctr");
    expect(active.alertingFeatures()).not.toContain("retrieval_score");
  });

  it("builds the baseline when a feature was null in every prediction of the window, leaving that feature out", () => {
    const builder = new LiveReferenceBuilder("ranker-gbdt", 100);
    let built = null;
    for (let i = 0; i < 100; i++) built = builder.add({ retrieval_score: i / 100, user_days_since_signup: null }, i / 100);
    expect(built?.id).toBe("ranker-gbdt@live");
    expect(built?.reference.features.map((f) => f.name)).toEqual(["retrieval_score"]);
  });

  it("joins a click to the item it was on, in its answer", () => {
    const [click] = recsStream.observe(makeEvent("recs.click", { requestId: "req-9", userId: "u1", itemId: "i4", position: 2 }, { producer: "recommender", eventTime: "2024-01-10T00:00:00Z" }));
    expect(click).toEqual({ kind: "label", id: "req-9:i4", positive: true, knownAt: Date.parse("2024-01-10T00:00:00Z") });
  });
});
