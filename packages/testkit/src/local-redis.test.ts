import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { redisServerArgs } from "./local-redis";
import { REDIS_CONF } from "./paths";

describe("redisServerArgs", () => {
  it("starts from the shared redis.conf and overrides port, bind address and folders", () => {
    const args = redisServerArgs({ host: "127.0.0.1", port: 40123, dir: "/tmp/r" });
    expect(args[0]).toBe(REDIS_CONF);
    const flags = new Map<string, string>();
    for (let i = 1; i < args.length; i += 2) flags.set(args[i] as string, args[i + 1] as string);
    expect(Object.fromEntries(flags)).toEqual({
      "--port": "40123",
      "--bind": "127.0.0.1",
      "--dir": "/tmp/r",
      "--logfile": "/tmp/r/redis.log",
      "--daemonize": "no",
    });
  });

  it("keeps data across restarts through the append-only file set in redis.conf", () => {
    const conf = readFileSync(REDIS_CONF, "utf8");
    expect(conf).toMatch(/^appendonly yes$/m);
    expect(conf).toMatch(/^maxmemory-policy noeviction$/m);
  });
});
