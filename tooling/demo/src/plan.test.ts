import { describe, expect, it } from "vitest";
import { ConsoleConfigSchema } from "../../../services/console/src/config";
import { DriftMonitorConfigSchema } from "../../../services/drift-monitor/src/config";
import { EventLoggerConfigSchema } from "../../../services/event-logger/src/config";
import { FaultProxyConfigSchema } from "../../../services/fault-proxy/src/config";
import { FeatureStreamerConfigSchema } from "../../../services/feature-streamer/src/config";
import { FraudConfigSchema } from "../../../services/fraud/src/config";
import { RankerConfigSchema } from "../../../services/ranker/src/config";
import { RecommenderConfigSchema } from "../../../services/recommender/src/config";
import { RetrievalConfigSchema } from "../../../services/retrieval/src/config";
import { RetrainControllerConfigSchema } from "../../../services/retrain-controller/src/config";
import { RolloutControllerConfigSchema } from "../../../services/rollout-controller/src/config";
import { replicas, servicePlan, worldMetricsPort } from "./plan";

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

  it("has the rollout controller reload each registry model at the service that serves it", () => {
    const plan = servicePlan(settings);
    const at = (name: string) => `http://127.0.0.1:${plan.find((s) => s.name === name)!.port}`;
    expect(plan.find((s) => s.name === "rollout-controller")!.env.RELOAD_URLS!.split(",")).toEqual([
      `fraud-gbdt=${at("fraud")}`,
      `retrieval=${at("retrieval")}`,
      `ranker-gbdt=${at("ranker")}`,
      `recs-popularity=${at("recommender")}`,
    ]);
  });

  it("starts the console last, watching every other service, with the Redis and registry its drills act on", () => {
    const plan = servicePlan(settings);
    const console = plan.at(-1)!;
    expect(console).toMatchObject({ name: "console", port: 8090 });
    const watched = Object.fromEntries(console.env.SERVICE_URLS!.split(",").map((pair) => pair.split("=")));
    for (const s of plan.slice(0, -1)) expect(watched[s.name], s.name).toBe(`http://127.0.0.1:${s.port}`);
    expect(console.env).toMatchObject({ DRILL_REDIS_URL: settings.redisUrl, MODEL_REGISTRY_DIR: settings.registryDir, ADMIN_TOKEN: settings.tokens.admin });
  });

  it("moves every port with --port-base", () => {
    const plan = servicePlan({ ...settings, portBase: 9100 });
    expect(plan.map((s) => s.port).sort()).toEqual(plan.map((_, i) => 9100 + i));
    for (const s of plan) expect(s.env.PORT).toBe(String(s.port));
  });

  it("gives the world's /metrics a port of its own, after the services' (and the Redis proxy's)", () => {
    const taken = (base?: number) => {
      const plan = servicePlan({ ...settings, ...(base ? { portBase: base } : {}) });
      return new Set([...plan.map((s) => s.port), Number(plan.find((s) => s.name === "fault-proxy")!.env.PROXY_PORT)]);
    };
    expect(worldMetricsPort({})).toBe(8092);
    expect(taken().has(8092)).toBe(false);
    expect(worldMetricsPort({ portBase: 9100 })).toBe(9112);
    expect(taken(9100).has(9112)).toBe(false);
    expect(Math.max(...taken(9100))).toBe(9111);
  });

  it("gives every service the same simulated clock, and the drift monitor week-long windows", () => {
    const clock = { start: "2024-01-31T00:00:00.000Z", originMs: 1_800_000_000_000, speed: 8640 };
    const plan = servicePlan({ ...settings, clock, driftWindow: { events: 13_000, minEvents: 11_700, seconds: 604_800 }, clickAttributionMs: 43_200_000 });
    // The fault proxy forwards bytes and keeps no time.
    for (const s of plan.filter((p) => p.name !== "fault-proxy")) expect(s.env).toMatchObject({ CLOCK_START: clock.start, CLOCK_ORIGIN_MS: "1800000000000", CLOCK_SPEED: "8640" });
    const parsed = FraudConfigSchema.parse(plan.find((s) => s.name === "fraud")!.env);
    expect(parsed).toMatchObject({ CLOCK_START: Date.parse(clock.start), CLOCK_ORIGIN_MS: 1_800_000_000_000, CLOCK_SPEED: 8640 });
    expect(DriftMonitorConfigSchema.parse(plan.find((s) => s.name === "drift-monitor")!.env)).toMatchObject({ COUNT_WINDOW_SIZE: 13_000, MIN_WINDOW_EVENTS: 11_700, TIME_WINDOW_SECONDS: 604_800 });
    expect(RecommenderConfigSchema.parse(plan.find((s) => s.name === "recommender")!.env).CLICK_ATTRIBUTION_MS).toBe(43_200_000);
  });

  it("hands each service an environment its own config schema accepts", () => {
    const plan = servicePlan({ ...settings, clock: { start: "2024-01-31T00:00:00.000Z", originMs: 1_800_000_000_000, speed: 8640 }, driftWindow: { events: 13_000, minEvents: 11_700, seconds: 604_800 } });
    const schemas = {
      fraud: FraudConfigSchema,
      "event-logger": EventLoggerConfigSchema,
      "drift-monitor": DriftMonitorConfigSchema,
      "feature-streamer": FeatureStreamerConfigSchema,
      "retrain-controller": RetrainControllerConfigSchema,
      "rollout-controller": RolloutControllerConfigSchema,
      retrieval: RetrievalConfigSchema,
      ranker: RankerConfigSchema,
      recommender: RecommenderConfigSchema,
      console: ConsoleConfigSchema,
      "fault-proxy": FaultProxyConfigSchema,
    };
    expect(Object.keys(schemas).sort()).toEqual(plan.map((s) => s.name).sort());
    for (const [name, schema] of Object.entries(schemas)) {
      const env = plan.find((s) => s.name === name)!.env;
      const parsed = schema.safeParse(env);
      expect(parsed.success, `${name}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
    }
  });

  it("puts the fault proxy in front of Redis for every service, and hands its admin URL to the console's redis-slow drill", () => {
    const plan = servicePlan(settings);
    const proxy = plan.find((s) => s.name === "fault-proxy")!;
    expect(plan[0]).toBe(proxy);
    expect(proxy.env).toMatchObject({ UPSTREAM: "127.0.0.1:6379", PROXY_PORT: "6380" });
    for (const s of plan.filter((p) => p.env.REDIS_URL !== undefined)) expect(s.env.REDIS_URL, s.name).toBe("redis://127.0.0.1:6380");
    const console = plan.find((s) => s.name === "console")!;
    expect(console.env).toMatchObject({ DRILL_REDIS_PROXY_URL: `http://127.0.0.1:${proxy.port}`, DRILL_REDIS_URL: settings.redisUrl });
    // With --port-base the proxy's Redis port moves too, past the services' ports.
    const moved = servicePlan({ ...settings, portBase: 9100 });
    expect(moved.find((s) => s.name === "fault-proxy")!.env.PROXY_PORT).toBe(String(9100 + moved.length));
  });

  describe("the cluster topology", () => {
    const cluster = { redisClusterNodes: "127.0.0.1:7001,127.0.0.1:7002", topologyFile: "/repo/.data/cluster/topology.json", replicas: 2, loadBalancerStatsUrl: "http://127.0.0.1:40000/stats" };
    const plan = servicePlan({ ...settings, cluster, clock: { start: "2024-01-31T00:00:00.000Z", originMs: 1_800_000_000_000, speed: 8640 } });
    const at = (name: string) => `http://127.0.0.1:${plan.find((s) => s.name === name)!.port}`;

    it("runs fraud and the recommender as replicas on their own ports, each with its own journal, the balancer on the usual ports", () => {
      const names = plan.map((s) => s.name);
      expect(names).toEqual(expect.arrayContaining(["fraud-1", "fraud-2", "recommender-1", "recommender-2"]));
      expect(names).not.toContain("fraud");
      expect(names).not.toContain("recommender");
      expect(new Set(plan.map((s) => s.port)).size).toBe(plan.length);
      expect(plan.map((s) => s.port)).not.toContain(8080);
      expect(plan.map((s) => s.port)).not.toContain(8081);
      expect(replicas({ cluster }, "fraud").map((r) => r.port)).toEqual([8101, 8102]);
      expect(replicas({ cluster, portBase: 9300 }, "recommender").map((r) => r.port)).toEqual([9331, 9332]);
      const journals = plan.filter((s) => s.env.EVENT_JOURNAL_DIR).map((s) => s.env.EVENT_JOURNAL_DIR);
      expect(new Set(journals).size).toBe(journals.length);
      for (const name of ["fraud-1", "fraud-2"]) expect(FraudConfigSchema.parse(plan.find((s) => s.name === name)!.env).PORT).toBe(plan.find((s) => s.name === name)!.port);
    });

    it("points every service at the Redis Cluster, with no fault proxy", () => {
      expect(plan.map((s) => s.name)).not.toContain("fault-proxy");
      for (const s of plan.filter((p) => p.name !== "console")) expect(s.env.REDIS_URL, s.name).toBeUndefined();
      expect(FraudConfigSchema.parse(plan.find((s) => s.name === "fraud-1")!.env).REDIS_CLUSTER_NODES).toEqual(["127.0.0.1:7001", "127.0.0.1:7002"]);
      expect(RecommenderConfigSchema.parse(plan.find((s) => s.name === "recommender-2")!.env).REDIS_CLUSTER_NODES).toEqual(["127.0.0.1:7001", "127.0.0.1:7002"]);
    });

    it("reloads every replica, and tells the console the topology, the balancer and the offline store", () => {
      expect(plan.find((s) => s.name === "retrain-controller")!.env.RELOAD_URLS!.split(",")).toEqual([`fraud=${at("fraud-1")}`, `fraud=${at("fraud-2")}`, `recs=${at("ranker")}`]);
      expect(plan.find((s) => s.name === "rollout-controller")!.env.RELOAD_URLS!.split(",")).toContain(`recs-popularity=${at("recommender-2")}`);
      const console = plan.at(-1)!;
      const parsed = ConsoleConfigSchema.parse(console.env);
      expect(parsed).toMatchObject({ DRILL_CLUSTER_TOPOLOGY_FILE: cluster.topologyFile, DRILL_LOAD_BALANCER_STATS_URL: cluster.loadBalancerStatsUrl, DRILL_OFFLINE_STORE_DIR: "/repo/.data/demo/offline-store" });
      expect(console.env.DRILL_FRONT_URLS).toBe("fraud=http://127.0.0.1:8081,recommender=http://127.0.0.1:8080");
      expect(console.env.DRILL_REDIS_URL).toBeUndefined();
      const watched = Object.fromEntries(console.env.SERVICE_URLS!.split(",").map((pair) => pair.split("=")));
      expect(watched).toMatchObject({ fraud: at("fraud-1"), recommender: at("recommender-1") });
      expect(watched["fault-proxy"]).toBeUndefined();
    });
  });
});
