import { describe, expect, it } from "vitest";
import { DriftMonitorConfigSchema } from "../../../services/drift-monitor/src/config";
import { EventLoggerConfigSchema } from "../../../services/event-logger/src/config";
import { FeatureStreamerConfigSchema } from "../../../services/feature-streamer/src/config";
import { FraudConfigSchema } from "../../../services/fraud/src/config";
import { RankerConfigSchema } from "../../../services/ranker/src/config";
import { RecommenderConfigSchema } from "../../../services/recommender/src/config";
import { RetrievalConfigSchema } from "../../../services/retrieval/src/config";
import { RetrainControllerConfigSchema } from "../../../services/retrain-controller/src/config";
import { servicePlan } from "./plan";

const settings = { root: "/repo", redisUrl: "redis://127.0.0.1:6379", kafkaBrokers: "127.0.0.1:9092", registryDir: "/repo/artifacts/registry", dataDir: "/repo/.data/demo", tokens: { admin: "admin-token-0123456789", labels: "labels-token-0123456789", clicks: "clicks-token-0123456789" } };

describe("demo plan", () => {
  it("gives every service its own port and starts dependencies before the recommender", () => {
    const plan = servicePlan(settings);
    expect(new Set(plan.map((s) => s.port)).size).toBe(plan.length);
    const names = plan.map((s) => s.name);
    expect(names.indexOf("retrieval")).toBeLessThan(names.indexOf("recommender"));
    expect(names.indexOf("ranker")).toBeLessThan(names.indexOf("recommender"));
    const recommender = plan.find((s) => s.name === "recommender")!;
    expect(recommender.env.RETRIEVAL_URL).toBe(`http://127.0.0.1:${plan.find((s) => s.name === "retrieval")!.port}`);
  });

  it("moves every port with --port-base", () => {
    const plan = servicePlan({ ...settings, portBase: 9100 });
    expect(plan.map((s) => s.port).sort()).toEqual(plan.map((_, i) => 9100 + i));
    for (const s of plan) expect(s.env.PORT).toBe(String(s.port));
  });

  it("hands each service an environment its own config schema accepts", () => {
    const plan = servicePlan(settings);
    const schemas = {
      fraud: FraudConfigSchema,
      "event-logger": EventLoggerConfigSchema,
      "drift-monitor": DriftMonitorConfigSchema,
      "feature-streamer": FeatureStreamerConfigSchema,
      "retrain-controller": RetrainControllerConfigSchema,
      retrieval: RetrievalConfigSchema,
      ranker: RankerConfigSchema,
      recommender: RecommenderConfigSchema,
    };
    expect(Object.keys(schemas).sort()).toEqual(plan.map((s) => s.name).sort());
    for (const [name, schema] of Object.entries(schemas)) {
      const env = plan.find((s) => s.name === name)!.env;
      const parsed = schema.safeParse(env);
      expect(parsed.success, `${name}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
    }
  });
});
