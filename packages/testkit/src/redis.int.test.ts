import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisHandle } from "./index";

function connect(url: string): Redis {
  // No retries or offline queue: a stopped server must show up as an error, not as a hang.
  return new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
}

describe("startRedis (shared)", () => {
  let redis: RedisHandle;
  let client: Redis;

  beforeAll(async () => {
    redis = await startRedis();
    client = connect(redis.url);
    await client.connect();
  });
  afterAll(async () => {
    client.disconnect();
    await redis.stop();
  });

  it("writes and reads a hash", async () => {
    const key = `testkit:user:${process.pid}`;
    await client.hset(key, { clicks: "12", country: "PT", score: "0.375" });
    await client.hincrby(key, "clicks", 3);
    expect(await client.hgetall(key)).toEqual({ clicks: "15", country: "PT", score: "0.375" });
    expect(redis.url).toBe(`redis://${redis.host}:${redis.port}`);
  });
});

describe("startRedis({ dedicated: true })", () => {
  let redis: RedisHandle;
  beforeAll(async () => {
    redis = await startRedis({ dedicated: true });
  });
  afterAll(() => redis.stop());

  it("stops, refuses connections, and starts again on the same URL with its data", async () => {
    expect(redis.source).not.toBe("env");
    const url = redis.url;
    const before = connect(url);
    await before.connect();
    await before.hset("features:user:7", { recency: "3", frequency: "11" });
    before.disconnect();

    await redis.stop();
    const during = connect(url);
    during.on("error", () => {});
    await expect(during.connect()).rejects.toThrow();
    during.disconnect();

    await redis.start();
    expect(redis.url).toBe(url);
    const after = connect(url);
    await after.connect();
    expect(await after.ping()).toBe("PONG");
    expect(await after.hgetall("features:user:7")).toEqual({ recency: "3", frequency: "11" });
    after.disconnect();
  });
});
