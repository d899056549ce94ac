import { describe, expect, it } from "vitest";
import { z } from "zod";
import { BaseConfigSchema, ConfigError, keyedEntries, loadConfig } from "./config";

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

describe("keyedEntries", () => {
  it("groups repeated keys in order", () => {
    const got = keyedEntries(["fraud=http://a", "ranker=http://r", "fraud=http://b"], "ARMS_URLS");
    expect([...got.entries()]).toEqual([
      ["fraud", ["http://a", "http://b"]],
      ["ranker", ["http://r"]],
    ]);
  });

  it("names the setting and the entry when one is not key=value", () => {
    expect(() => keyedEntries(["fraud"], "ARMS_URLS")).toThrow(/ARMS_URLS: "fraud" is not key=value/);
    expect(() => keyedEntries(["=http://a"], "ARMS_URLS")).toThrow(ConfigError);
  });

  it("refuses keys outside the allowed set", () => {
    expect(() => keyedEntries(["frod=http://a"], "ARMS_URLS", ["fraud", "ranker"])).toThrow(/"frod" is not one of fraud, ranker/);
  });
});
