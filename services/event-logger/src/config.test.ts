import { loadConfig } from "@mlsd/service-kit";
import { describe, expect, it } from "vitest";
import { DEFAULT_LOGGED_TOPICS, EventLoggerConfigSchema } from "./config";

describe("EventLoggerConfigSchema", () => {
  it("logs every event topic but the dead-letter one by default", () => {
    const config = loadConfig(EventLoggerConfigSchema, { KAFKA_BROKERS: "127.0.0.1:9092" });
    expect(config.TOPICS).toEqual(DEFAULT_LOGGED_TOPICS);
    expect(config.TOPICS).not.toContain("dlq.events.v1");
    expect(config.TOPICS).toContain("fraud.decisions.v1");
    expect(config.ENSURE_TOPICS).toBe(true);
  });

  it("refuses to log the dead-letter topic", () => {
    expect(() => loadConfig(EventLoggerConfigSchema, { KAFKA_BROKERS: "127.0.0.1:9092", TOPICS: "fraud.labels.v1,dlq.events.v1" })).toThrow(
      /TOPICS: must not include the dead-letter topic/,
    );
  });

  it("lists every bad setting at once", () => {
    expect(() => loadConfig(EventLoggerConfigSchema, { KAFKA_BROKERS: "", TOPICS: "ok.v1,bad topic", STORE_CACHED_PARTITIONS: "0" })).toThrow(
      /KAFKA_BROKERS[\s\S]*TOPICS\.1[\s\S]*STORE_CACHED_PARTITIONS/,
    );
  });
});
