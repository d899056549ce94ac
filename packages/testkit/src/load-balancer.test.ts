import { describe, expect, it } from "vitest";
import { haproxyConfig, parseStatsCsv, validateLoadBalancerOptions } from "./load-balancer";

describe("the HAProxy configuration", () => {
  const config = haproxyConfig({
    services: [
      { name: "fraud", replicas: ["127.0.0.1:9001", "127.0.0.1:9002"], port: 8001, maxInFlightPerReplica: 8, maxQueued: 16 },
      { name: "recommender", replicas: ["127.0.0.1:9101"], port: 8002 },
    ],
    statsPort: 8999,
    checkIntervalMs: 200,
    queueTimeoutMs: 300,
  });
  const section = (name: string) => {
    const lines = config.split("\n");
    const at = lines.indexOf(name);
    const end = lines.indexOf("", at);
    return lines.slice(at + 1, end).map((l) => l.trim());
  };

  it("checks every replica's readiness and lists it again as a backup without the check", () => {
    const backend = section("backend fraud");
    expect(backend).toContain("option httpchk GET /readyz");
    expect(backend).toContain("option allbackups");
    expect(backend).toContain("default-server inter 200ms fastinter 200ms downinter 200ms fall 2 rise 2 maxconn 8");
    expect(backend.filter((l) => l.startsWith("server "))).toEqual([
      "server r1 127.0.0.1:9001 check",
      "server r2 127.0.0.1:9002 check",
      "server r1-unready 127.0.0.1:9001 backup",
      "server r2-unready 127.0.0.1:9002 backup",
    ]);
  });

  it("refuses past the queue bound in the services' error shape, with Retry-After, only where a bound is set", () => {
    const refusal = section("frontend fraud").find((l) => l.startsWith("http-request return status 503"));
    expect(refusal).toContain("if { be_conn_free(fraud) le 0 } { queue(fraud) ge 16 }");
    expect(refusal).toContain("hdr retry-after 1");
    expect(refusal).toContain('"code":"UNAVAILABLE"');
    expect(section("frontend recommender").some((l) => l.startsWith("http-request return"))).toBe(false);
    expect(section("backend recommender")).toContain("default-server inter 200ms fastinter 200ms downinter 200ms fall 2 rise 2");
  });

  it("retries a failed connection or an empty answer on another replica, and bounds the queue wait", () => {
    const defaults = section("defaults");
    expect(defaults).toContain("retry-on conn-failure empty-response");
    expect(defaults).toContain("option redispatch 1");
    expect(defaults).toContain("timeout queue 300ms");
    expect(section("frontend fraud")).toContain("bind 127.0.0.1:8001");
    expect(section("frontend stats")).toContain("bind 127.0.0.1:8999");
  });

  it("binds another address and resolves replicas through a nameserver only when asked (the compose profile's container)", () => {
    expect(config).not.toContain("resolvers");
    const inContainer = haproxyConfig({ services: [{ name: "fraud", replicas: ["fraud:8081", "fraud-2:8081"], port: 8081 }], statsPort: 8404, bindAddress: "0.0.0.0", resolver: "127.0.0.11:53" });
    const lines = inContainer.split("\n").map((l) => l.trim());
    expect(lines).toContain("bind 0.0.0.0:8081");
    expect(lines).toContain("bind 0.0.0.0:8404");
    expect(lines.slice(lines.indexOf("resolvers dns"), lines.indexOf("resolvers dns") + 2)).toEqual(["resolvers dns", "nameserver ns1 127.0.0.11:53"]);
    expect(lines).toContain("default-server inter 250ms fastinter 250ms downinter 250ms fall 2 rise 2 init-addr last,libc,none resolvers dns");
    expect(lines).toContain("server r2 fraud-2:8081 check");
  });
});

describe("options", () => {
  const one = (extra: object) => ({ services: [{ name: "fraud", replicas: ["127.0.0.1:9001"], ...extra }] });
  it.each([
    [{ services: [] }, "services: at least one service"],
    [one({ name: "fraud service" }), "services[0].name"],
    [one({ replicas: [] }), "services[0].replicas: at least one"],
    [one({ replicas: ["localhost"] }), "services[0].replicas[0]: expected host:port"],
    [one({ maxQueued: 4 }), "services[0].maxQueued: needs maxInFlightPerReplica"],
    [one({ maxInFlightPerReplica: 0 }), "services[0].maxInFlightPerReplica"],
    [{ ...one({}), checkIntervalMs: 1.5 }, "checkIntervalMs"],
    [{ ...one({}), bindAddress: "localhost" }, 'bindAddress: expected an IPv4 address, got "localhost"'],
    [{ ...one({}), resolver: "dns:53" }, 'resolver: expected ip:port, got "dns:53"'],
  ])("refuses %j naming the field", (options, message) => {
    expect(() => validateLoadBalancerOptions(options as never)).toThrow(message);
  });
  it("refuses a name used twice", () => {
    expect(() => validateLoadBalancerOptions({ services: [{ name: "a", replicas: ["h:1"] }, { name: "a", replicas: ["h:2"] }] })).toThrow('services[1].name: "a" appears twice');
  });
});

describe("statistics", () => {
  it("reads HAProxy's CSV by column name", () => {
    const rows = parseStatsCsv("# pxname,svname,status,intercepted\nfraud,FRONTEND,OPEN,7\nfraud,r1,UP,\nfraud,r2,DOWN 1/2,\n");
    expect(rows.map((r) => [r.pxname, r.svname, r.status])).toEqual([["fraud", "FRONTEND", "OPEN"], ["fraud", "r1", "UP"], ["fraud", "r2", "DOWN 1/2"]]);
    expect(rows[0]?.intercepted).toBe("7");
    expect(() => parseStatsCsv("<html>")).toThrow("not HAProxy CSV");
  });
});
