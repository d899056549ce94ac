import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { systemClock } from "@mlsd/service-kit";
import { afterEach, describe, expect, it, vi } from "vitest";
import { balancerServerStatus, readTopology, relaunch } from "./cluster-nodes";
import type { ClusterDrillSettings, DrillContext } from "./drill";
import { accountIds, judgeKafkaBrokerKilled, kafkaBrokerKilled } from "./kafka-broker-killed";
import type { ProbeResult } from "./probe";
import { redisDown } from "./redis-faults";
import { choosePrimary, judgeRedisPrimaryKilled, parseClusterSlots, promotedFor, redisPrimaryKilled } from "./redis-primary-killed";
import { judgeReplicaKilled, replicaKilled } from "./replica-killed";
import { DEFAULT_DRILL_OPTIONS } from "./runner";

/** One answer every 100 ms from `fromMs` for `n` answers; `outcome(i)` decides each. */
function answers(target: "fraud" | "recommender", phase: string, fromMs: number, n: number, outcome: (i: number) => { ok?: boolean; status?: number; outcome?: string; ms?: number } = () => ({})): ProbeResult[] {
  return Array.from({ length: n }, (_, i) => {
    const o = outcome(i);
    const ok = o.ok ?? true;
    return { target, phase, at: fromMs + i * 100, ok, status: o.status ?? (ok ? 200 : 503), ms: o.ms ?? 5, outcome: o.outcome ?? (ok ? "model" : "error"), detail: null };
  });
}

const texts = (n: number) => Array.from({ length: n }, (_, i) => `expectation ${i}`);

describe("redis-primary-killed", () => {
  const slots = parseClusterSlots([
    [0, 5460, ["127.0.0.1", 7001, "a"], ["127.0.0.1", 7005, "e"]],
    [5461, 10922, ["127.0.0.1", 7002, "b"], ["127.0.0.1", 7006, "f"]],
    [10923, 16383, ["127.0.0.1", 7003, "c"]],
  ]);

  it("reads CLUSTER SLOTS and kills the primary with the most slots among those that have a replica", () => {
    expect(slots[0]).toEqual({ start: 0, end: 5460, primary: "127.0.0.1:7001", replicas: ["127.0.0.1:7005"] });
    // 7003 serves the most slots (5,461) but has no replica: it could not fail over.
    expect(choosePrimary(slots)).toBe("127.0.0.1:7002");
    expect(choosePrimary(slots.map((r) => ({ ...r, replicas: [] })))).toBeNull();
  });

  it("sees a promotion only once every range of the killed primary has another primary", () => {
    const split = [...slots.slice(0, 1), { start: 5461, end: 8000, primary: "127.0.0.1:7002", replicas: ["127.0.0.1:7006"] }, { start: 8001, end: 10922, primary: "127.0.0.1:7006", replicas: [] }, ...slots.slice(2)];
    expect(promotedFor("127.0.0.1:7002", split, slots)).toBeNull();
    const after = split.map((r) => (r.primary === "127.0.0.1:7002" ? { ...r, primary: "127.0.0.1:7006", replicas: [] } : r));
    expect(promotedFor("127.0.0.1:7002", split, after)).toBe("127.0.0.1:7006");
    expect(promotedFor("127.0.0.1:7009", split, after)).toBeNull();
  });

  // Kill at 10 s, promotion at 12.5 s; answers every 100 ms per design.
  const run = (failover: (i: number) => { ok?: boolean; status?: number; outcome?: string }, after: (i: number) => { outcome?: string } = () => ({})) => [
    ...answers("fraud", "baseline", 0, 100),
    ...answers("recommender", "baseline", 0, 100),
    ...answers("fraud", "failover", 10_000, 25, failover),
    ...answers("recommender", "failover", 10_000, 25, () => ({ outcome: "popularity" })),
    ...answers("fraud", "after", 12_500, 100, after),
    ...answers("recommender", "after", 12_500, 100, (i) => (i < 5 ? { outcome: "popularity" } : {})),
  ];

  it("passes a failover with every answer 200, degraded only while the slots moved", () => {
    const { expectations, recoverMs } = judgeRedisPrimaryKilled(texts(5), { results: run(() => ({ outcome: "degraded" })), promotedMs: 2_500, promotedTo: "127.0.0.1:7005", killAtMs: 10_000, promotedAtMs: 12_500, rejoinedMs: 4_000 });
    expect(expectations.map((e) => e.pass)).toEqual([true, true, true, true, true]);
    // Back to the baseline's mix (all model answers, at most one of 20 not) from the recommender's fifth answer after the promotion: 2.5 s + 0.4 s.
    expect(recoverMs).toBe(2_900);
    expect(expectations[0]?.observed).toBe("450 of 450 answered 200");
    expect(expectations[2]?.observed).toBe("2.9 s after the kill");
  });

  it("fails on a lost answer, a slow promotion, a worse after phase and a node that never rejoins", () => {
    const { expectations } = judgeRedisPrimaryKilled(texts(5), {
      results: run((i) => (i === 3 ? { ok: false, status: 503 } : { outcome: "degraded" }), (i) => (i % 5 === 0 ? { outcome: "degraded" } : {})),
      promotedMs: 12_000,
      promotedTo: "127.0.0.1:7005",
      killAtMs: 10_000,
      promotedAtMs: 12_500,
      rejoinedMs: null,
    });
    // Every fifth fraud answer degraded after the failover: 4 of every 20, never back to the baseline's none.
    expect(expectations.map((e) => e.pass)).toEqual([false, false, false, false, false]);
    expect(expectations[2]?.observed).toBe("not within the drill");
    expect(expectations[0]?.observed).toContain("lost: fraud 503 x1");
    expect(expectations[3]?.observed).toContain("fraud 0.0 % before, 20.0 % after");
    // A loaded machine: a baseline with 40 % fallbacks is the mix to get back to.
    const loaded = run((i) => (i % 2 ? { outcome: "degraded" } : {}), (i) => (i % 5 < 2 ? { outcome: "fallback" } : {})).map((r) => (r.phase === "baseline" && r.target === "fraud" && r.at % 500 < 200 ? { ...r, outcome: "fallback" } : r));
    expect(judgeRedisPrimaryKilled(texts(5), { results: loaded, promotedMs: 2_500, promotedTo: "x", killAtMs: 10_000, promotedAtMs: 12_500, rejoinedMs: 1 }).recoverMs).toBe(2_900);
    expect(judgeRedisPrimaryKilled(texts(5), { results: run(() => ({})), promotedMs: null, promotedTo: null, killAtMs: 10_000, promotedAtMs: null, rejoinedMs: null }).expectations[2]?.pass).toBe(false);
  });
});

describe("kafka-broker-killed", () => {
  it("counts each produced id as stored once, missing or stored more than once", () => {
    expect(accountIds(["a", "b", "c", "d"], ["a", "b", "b", "d", "x"])).toEqual({ produced: 4, storedOnce: 2, missing: ["c"], duplicated: ["b"] });
  });

  const results = (downMs: number) => [...answers("fraud", "baseline", 0, 100, () => ({ ms: 10 })), ...answers("fraud", "broker down", 10_000, 150, () => ({ ms: downMs })), ...answers("fraud", "after", 25_000, 150)];

  it("passes when answers hold, leaders move, every decision is stored once and the broker rejoins", () => {
    const e = judgeKafkaBrokerKilled(texts(5), { results: results(25), leadersMovedMs: 3_200, ledPartitions: 2, accounting: accountIds(["a", "b"], ["a", "b"]), storedAfterMs: 4_000, isrBackMs: 9_000 });
    expect(e.map((x) => x.pass)).toEqual([true, true, true, true, true]);
    expect(e[1]?.observed).toBe("fraud 10 ms -> 25 ms");
    expect(e[3]?.observed).toBe("2 transactions answered 200, 2 decisions stored once, 0 missing, 0 stored twice or more; all there at a lookup 4.0 s after the restart");
  });

  it("fails on a slow p99, leaders that stay, a missing or doubled decision and a broker out of the ISR", () => {
    // 10 ms baseline: the bound is max(2 x 10, 10 + 20) = 30 ms.
    const e = judgeKafkaBrokerKilled(texts(5), { results: results(31), leadersMovedMs: null, ledPartitions: 1, accounting: accountIds(["a", "b"], ["a", "a"]), storedAfterMs: null, isrBackMs: null });
    expect(e.map((x) => x.pass)).toEqual([true, false, false, false, false]);
    expect(e[3]?.observed).toContain("1 missing, 1 stored twice or more (e.g. b)");
  });
});

describe("replica-killed", () => {
  const run = (lostAt: number[]) => [...answers("fraud", "baseline", 0, 100), ...answers("fraud", "replica down", 10_000, 200, (i) => (lostAt.includes(i) ? { ok: false, status: 0 } : {})), ...answers("fraud", "after", 30_000, 100)];

  it("passes with no answer lost, out within the checks and back within the wait", () => {
    const e = judgeReplicaKilled(texts(3), 60, { results: run([]), markedDownMs: 700, restartedMs: 1_200, markedUpMs: 9_800 });
    expect(e.map((x) => x.pass)).toEqual([true, true, true]);
    expect(e[0]?.observed).toBe("0 of 400 answers lost (200 sent while the replica was out); availability 100.0 %");
  });

  it("fails on a lost answer, a replica never marked down, and one not back in time", () => {
    const e = judgeReplicaKilled(texts(3), 5, { results: run([1, 2]), markedDownMs: null, restartedMs: 1_200, markedUpMs: 9_800 });
    expect(e.map((x) => x.pass)).toEqual([false, false, false]);
    expect(e[0]?.observed).toContain("2 of 400 answers lost");
    expect(e[0]?.observed).toContain("timeout/reset");
  });
});

describe("the cluster drills' settings", () => {
  const base = { urls: new Map(), clock: systemClock, logger: undefined as never, redisUrl: null, registryDir: null, pidsFile: "/tmp/pids.json", redisProxyUrl: null, kafkaPidFile: null };
  const cluster: ClusterDrillSettings = { topologyFile: "/x/topology.json", frontUrls: new Map([["fraud", "http://127.0.0.1:8081"], ["recommender", "http://127.0.0.1:8080"]]), loadBalancerStatsUrl: "http://127.0.0.1:9999/stats", offlineStoreDir: "/x/store" };
  const ctx = (c: ClusterDrillSettings | null) => ({ ...base, cluster: c }) as Omit<DrillContext, "say" | "adminToken">;

  it("are unavailable on the single topology, each naming the setting it needs, and available on the cluster", () => {
    expect(redisPrimaryKilled.unavailable(ctx(null))).toMatch(/DRILL_CLUSTER_TOPOLOGY_FILE/);
    expect(kafkaBrokerKilled.unavailable(ctx({ ...cluster, offlineStoreDir: null }))).toMatch(/DRILL_OFFLINE_STORE_DIR/);
    expect(replicaKilled.unavailable(ctx({ ...cluster, loadBalancerStatsUrl: null }))).toMatch(/DRILL_LOAD_BALANCER_STATS_URL/);
    for (const d of [redisPrimaryKilled, kafkaBrokerKilled, replicaKilled]) expect(d.unavailable(ctx(cluster)), d.name).toBeNull();
    // The single topology's Redis faults act on one address, which a cluster client does not use.
    expect(redisDown.unavailable({ ...ctx(cluster), redisUrl: "redis://127.0.0.1:6379" })).toMatch(/Redis Cluster/);
    for (const name of ["redis-primary-killed", "kafka-broker-killed", "replica-killed"]) expect(DEFAULT_DRILL_OPTIONS[name], name).toBeDefined();
  });
});

describe("nodes and the load balancer", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlsd-cluster-drills-"));
  afterEach(() => vi.unstubAllGlobals());

  it("reads a topology file and names what is wrong with a bad one", () => {
    const file = path.join(dir, "topology.json");
    const node = (address: string, name: string) => ({ address, pidFile: `/p/${name}.pid`, command: { argv: ["/usr/bin/redis-server", "--port", "7001"], cwd: `/d/${name}` } });
    fs.writeFileSync(file, JSON.stringify({ redisClusterNodes: "127.0.0.1:7001", kafkaBrokers: "127.0.0.1:19092", redis: [node("127.0.0.1:7001", "redis-7001")], kafka: [node("127.0.0.1:19092", "kafka-1")] }));
    expect(readTopology(file).redis[0]).toMatchObject({ pidFile: "/p/redis-7001.pid", command: { cwd: "/d/redis-7001" } });
    fs.writeFileSync(file, JSON.stringify({ redisClusterNodes: "x", kafkaBrokers: "y", redis: [{ address: "nope", pidFile: "p" }], kafka: [] }));
    expect(() => readTopology(file)).toThrow(/redis\.0\.address: host:port.*redis\.0\.command.*kafka/);
    expect(() => readTopology(path.join(dir, "missing.json"))).toThrow(/services:up -- --topology cluster/);
  });

  it("starts a node again with its recorded command, detached, and records its new pid", async () => {
    const pidFile = path.join(dir, "sleep.pid");
    const sleep = fs.realpathSync("/bin/sleep");
    const pid = relaunch({ argv: [sleep, "30"], cwd: dir }, pidFile);
    try {
      expect(Number(fs.readFileSync(pidFile, "utf8"))).toBe(pid);
      expect(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").slice(1, 2)).toEqual(["30"]);
      expect(fs.readlinkSync(`/proc/${pid}/cwd`)).toBe(fs.realpathSync(dir));
    } finally {
      process.kill(pid, "SIGKILL");
    }
    expect(() => relaunch({ argv: [path.join(dir, "no-such-program")], cwd: dir }, pidFile)).toThrow(/not an executable/);
  });

  it("reads one server's state from HAProxy's CSV statistics", async () => {
    const csv = "# pxname,svname,qcur,status,weight\nfraud,FRONTEND,,OPEN,\nfraud,r1,0,DOWN 1/2,1\nfraud,r2,0,UP,1\nfraud,r1-unready,0,no check,1\n";
    vi.stubGlobal("fetch", vi.fn(async (url: string) => (url === "http://lb/stats;csv" ? new Response(csv) : new Response("", { status: 404 }))));
    expect(await balancerServerStatus("http://lb/stats", "fraud", "r1")).toBe("DOWN 1/2");
    expect(await balancerServerStatus("http://lb/stats", "fraud", "r2")).toBe("UP");
    expect(await balancerServerStatus("http://lb/stats", "recommender", "r1")).toBeNull();
    await expect(balancerServerStatus("http://other/stats", "fraud", "r1")).rejects.toThrow(/answered 404/);
  });
});
