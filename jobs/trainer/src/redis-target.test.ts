import { Cluster, Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { openRedis } from "./redis-target";

describe("openRedis", () => {
  it("opens one server for a URL and a cluster client for a node list", () => {
    const one = openRedis("redis://127.0.0.1:1");
    const cluster = openRedis("127.0.0.1:7001,127.0.0.1:7002");
    try {
      expect(one).toBeInstanceOf(Redis);
      expect(cluster).toBeInstanceOf(Cluster);
      expect((cluster as Cluster).startupNodes).toEqual([
        { host: "127.0.0.1", port: 7001 },
        { host: "127.0.0.1", port: 7002 },
      ]);
    } finally {
      one.disconnect();
      cluster.disconnect();
    }
  });

  it("names a value that is neither", () => {
    expect(() => openRedis("localhost")).toThrow(/--redis: expected a redis:\/\/ URL or a cluster's host:port.*"localhost"/);
  });
});
