import { describe, expect, it } from "vitest";
import { z } from "zod";
import { BaseConfigSchema, ConfigError, ensureTopicsConfig, kafkaConfig, loadConfig, parseKeyedUrls, redisConfig } from "./config";

describe("loadConfig", () => {
  const Schema = BaseConfigSchema.extend({ REDIS_URL: z.string().url(), MODEL_DIR: z.string().min(1) });

  it("parses, applies defaults, coerces numbers and freezes", () => {
    const config = loadConfig(Schema, { PORT: "8080", REDIS_URL: "redis://127.0.0.1:6379", MODEL_DIR: "/m" });
    expect(config).toMatchObject({ PORT: 8080, HOST: "127.0.0.1", LOG_LEVEL: "info", SHUTDOWN_TIMEOUT_MS: 10_000 });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("lists every problem, not only the first", () => {
    try {
      loadConfig(Schema, { PORT: "http", LOG_LEVEL: "loud", REDIS_URL: "nope" });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const fields = (error as ConfigError).problems.map((p) => p.split(":")[0]);
      expect(fields.sort()).toEqual(["LOG_LEVEL", "MODEL_DIR", "PORT", "REDIS_URL"]);
    }
  });
});

describe("kafkaConfig", () => {
  const Schema = BaseConfigSchema.extend(kafkaConfig);

  it("chooses the event producer's client: platformatic unless EVENTS_CLIENT says kafkajs, and nothing else", () => {
    expect(loadConfig(Schema, { PORT: "1", KAFKA_BROKERS: "a:9092" }).EVENTS_CLIENT).toBe("platformatic");
    expect(loadConfig(Schema, { PORT: "1", KAFKA_BROKERS: "a:9092", EVENTS_CLIENT: "kafkajs" }).EVENTS_CLIENT).toBe("kafkajs");
    expect(() => loadConfig(Schema, { PORT: "1", KAFKA_BROKERS: "a:9092", EVENTS_CLIENT: "librdkafka" })).toThrow(/EVENTS_CLIENT/);
  });
});

describe("parseKeyedUrls", () => {
  const options = { setting: "RELOAD_URLS", key: "model" };

  it("groups key=url entries by key, trailing slashes off", () => {
    expect([...parseKeyedUrls(["fraud-gbdt=http://a:8081/", "ranker-gbdt=http://b:8083", "fraud-gbdt=https://c:1"], options)]).toEqual([
      ["fraud-gbdt", ["http://a:8081", "https://c:1"]],
      ["ranker-gbdt", ["http://b:8083"]],
    ]);
  });

  it("names the setting and the entry that is not key=url, or whose key is not allowed", () => {
    expect(() => parseKeyedUrls(["http://x:1"], options)).toThrow('RELOAD_URLS: "http://x:1" is not model=url');
    expect(() => parseKeyedUrls(["fraud=ftp://x"], options)).toThrow(/"fraud=ftp:\/\/x" is not model=url/);
    expect(() => parseKeyedUrls(["ads=http://x:1"], { ...options, keys: ["fraud", "recs"] })).toThrow('RELOAD_URLS: "ads=http://x:1" is not model=url (fraud or recs)');
  });
});

describe("ensureTopicsConfig", () => {
  it('reads "false" as false (z.coerce.boolean would read it as true) and defaults to true', () => {
    const schema = z.object(ensureTopicsConfig);
    expect(schema.parse({}).ENSURE_TOPICS).toBe(true);
    expect(schema.parse({ ENSURE_TOPICS: "false" }).ENSURE_TOPICS).toBe(false);
    expect(schema.safeParse({ ENSURE_TOPICS: "no" }).success).toBe(false);
  });
});

describe("redisConfig", () => {
  const schema = z.object(redisConfig);
  it("reads an empty REDIS_CLUSTER_NODES (compose's `${VAR:-}` unset) as one Redis, and a list as the cluster's nodes", () => {
    expect(schema.parse({ REDIS_CLUSTER_NODES: "" }).REDIS_CLUSTER_NODES).toEqual([]);
    expect(schema.parse({}).REDIS_CLUSTER_NODES).toEqual([]);
    expect(schema.parse({ REDIS_CLUSTER_NODES: "redis-node-1:6379, redis-node-2:6379" }).REDIS_CLUSTER_NODES).toEqual(["redis-node-1:6379", "redis-node-2:6379"]);
    expect(schema.safeParse({ REDIS_CLUSTER_NODES: "redis-node-1" }).success).toBe(false);
  });
});
