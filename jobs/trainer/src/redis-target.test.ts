import { Cluster, Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { clusterNodes, openRedis } from "./redis-target";

describe("--redis: one server or a cluster", () => {
  it("reads a node list as a cluster's start-up nodes and a URL as one server", () => {
    expect(clusterNodes("127.0.0.1:7001, 127.0.0.1:7002")).toEqual([
      { host: "127.0.0.1", port: 7001 },
      { host: "127.0.0.1", port: 7002 },
    ]);
    expect(clusterNodes("redis://127.0.0.1:6379")).toBeNull();
    const one = openRedis("redis://127.0.0.1:1");
    const cluster = openRedis("127.0.0.1:1,127.0.0.1:2");
    try {
      expect(one).toBeInstanceOf(Redis);
      expect(cluster).toBeInstanceOf(Cluster);
    } finally {
      one.disconnect();
      cluster.disconnect();
    }
  });

  it("names a value that is neither", () => {
    expect(() => clusterNodes("localhost")).toThrow(/--redis: expected a redis:\/\/ URL or a cluster's host:port.*"localhost"/);
  });
});
