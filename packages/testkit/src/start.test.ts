import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { TestkitError } from "./errors";
import { startKafka, startRedis } from "./start";

const saved = { ...process.env };

beforeEach(() => {
  vi.spyOn(process.stderr, "write").mockImplementation(() => true);
});
afterEach(() => {
  process.env = { ...saved };
  vi.restoreAllMocks();
});

describe("resolution order", () => {
  it("reuses REDIS_URL and KAFKA_BROKERS without starting anything, and says so", async () => {
    process.env.REDIS_URL = "redis://127.0.0.1:6390";
    process.env.KAFKA_BROKERS = "127.0.0.1:9095,127.0.0.1:9096";
    const redis = await startRedis();
    const kafka = await startKafka();
    expect(redis).toMatchObject({ url: "redis://127.0.0.1:6390", host: "127.0.0.1", port: 6390, source: "env" });
    expect(kafka).toMatchObject({ brokers: ["127.0.0.1:9095", "127.0.0.1:9096"], source: "env" });
    const lines = vi.mocked(process.stderr.write).mock.calls.map((c) => String(c[0]));
    expect(lines).toEqual([
      "[testkit] redis: from env REDIS_URL redis://127.0.0.1:6390\n",
      "[testkit] kafka: from env KAFKA_BROKERS 127.0.0.1:9095,127.0.0.1:9096\n",
    ]);
  });

  it("never stops a shared instance and refuses to restart it", async () => {
    process.env.REDIS_URL = "redis://127.0.0.1:6390";
    const redis = await startRedis();
    await expect(redis.stop()).resolves.toBeUndefined();
    await expect(redis.start()).rejects.toMatchObject({ code: "NOT_OWNED", field: "REDIS_URL" });
  });

  it("rejects a malformed URL from the environment, naming the variable", async () => {
    process.env.KAFKA_BROKERS = "kafka";
    const error = await startKafka().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TestkitError);
    expect(error).toMatchObject({ code: "BAD_ENV", field: "KAFKA_BROKERS" });
  });

  it("fails clearly when containers are demanded and no engine answers", async () => {
    process.env.REDIS_URL = "redis://127.0.0.1:6390";
    process.env.MLSD_INFRA = "container";
    process.env.DOCKER_HOST = "unix:///nonexistent/docker.sock";
    // dedicated ignores REDIS_URL, so the Docker check decides.
    await expect(startRedis({ dedicated: true })).rejects.toMatchObject({ code: "MISSING_DEPENDENCY", field: "MLSD_INFRA" });
  });

  it("names the missing binary and how to install it when running locally", async () => {
    process.env.MLSD_INFRA = "local";
    process.env.MLSD_REDIS_SERVER = "/nonexistent/redis-server";
    await expect(startRedis({ dedicated: true })).rejects.toThrow(/redis-server not found: apt-get install -y redis-server/);
  });
});
