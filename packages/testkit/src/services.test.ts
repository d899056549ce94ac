import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { clusterStatus, clusterTopology, DEFAULT_CLUSTER_LAYOUT, DEFAULT_LAYOUT, servicesStatus } from "./services";

const dataDir = mkdtempSync(join(tmpdir(), "mlsd-testkit-services-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const layout = { ...DEFAULT_LAYOUT, dataDir };

function writePid(name: string, pid: number): void {
  mkdirSync(join(dataDir, "pids"), { recursive: true });
  writeFileSync(join(dataDir, "pids", `${name}.pid`), `${pid}\n`);
}

describe("servicesStatus", () => {
  it("is stopped without pid files", () => {
    expect(servicesStatus(layout)).toEqual([
      { name: "redis", address: "redis://127.0.0.1:6379", status: "stopped" },
      { name: "kafka", address: "127.0.0.1:9092", status: "stopped" },
    ]);
  });

  it("does not trust a pid file whose process is gone or runs another program", () => {
    writePid("redis", spawnSync("true").pid as number);
    const other = spawn("sleep", ["30"]);
    try {
      writePid("kafka", other.pid as number);
      expect(servicesStatus(layout).map((s) => s.status)).toEqual(["stopped", "stopped"]);
    } finally {
      other.kill("SIGKILL");
    }
  });

  it("reports a process that runs the expected program as running", () => {
    // `sh -c` with the program name in its arguments stands in for the real server's command line.
    const stand = spawn("sh", ["-c", "sleep 30 # redis-server"]);
    try {
      writePid("redis", stand.pid as number);
      expect(servicesStatus(layout)[0]).toEqual({ name: "redis", address: "redis://127.0.0.1:6379", status: "running", pid: stand.pid });
    } finally {
      stand.kill("SIGKILL");
    }
  });
});

describe("the cluster topology (services-up --topology cluster)", () => {
  const cluster = { ...DEFAULT_CLUSTER_LAYOUT, dataDir };
  const bins = { redisServer: "/usr/bin/redis-server", java: "/usr/bin/java", kafkaLibsDir: "/libs" };

  it("lists every node with its pid file and the command that starts it, for the demo and the drills", () => {
    const t = clusterTopology(cluster, bins);
    expect(t.redisClusterNodes).toBe("127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003,127.0.0.1:7004,127.0.0.1:7005,127.0.0.1:7006");
    expect(t.kafkaBrokers).toBe("127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094");
    expect(t.redis[0]).toMatchObject({ address: "127.0.0.1:7001", pidFile: join(dataDir, "pids", "redis-7001.pid"), command: { cwd: join(dataDir, "cluster", "redis-7001") } });
    const redisArgv = t.redis[0]!.command.argv;
    expect(redisArgv[0]).toBe("/usr/bin/redis-server");
    // Its cluster bus on port + 10000, as Redis would choose by default.
    expect(redisArgv.join(" ")).toContain("--port 7001 --bind 127.0.0.1");
    expect(redisArgv.join(" ")).toContain("--cluster-enabled yes --cluster-config-file nodes.conf --cluster-port 17001");
    const kafkaArgv = t.kafka[2]!.command.argv;
    expect(t.kafka[2]).toMatchObject({ address: "127.0.0.1:19094", pidFile: join(dataDir, "pids", "kafka-3.pid"), command: { cwd: join(dataDir, "cluster", "kafka-3") } });
    expect(kafkaArgv.slice(-4)).toEqual(["-cp", "/libs/*", "kafka.Kafka", join(dataDir, "cluster", "kafka-3", "server.properties")]);
  });

  it("reports every node stopped without pid files, and trusts a pid file only for the right program", () => {
    expect(clusterStatus(cluster).map((n) => [n.name, n.pid])).toEqual([
      ["redis-7001", null], ["redis-7002", null], ["redis-7003", null], ["redis-7004", null], ["redis-7005", null], ["redis-7006", null],
      ["kafka-1", null], ["kafka-2", null], ["kafka-3", null],
    ]);
    const stand = spawn("sh", ["-c", "sleep 30 # kafka.Kafka"]);
    try {
      writePid("kafka-2", stand.pid as number);
      writePid("redis-7003", stand.pid as number);
      const status = clusterStatus(cluster);
      expect(status.find((n) => n.name === "kafka-2")?.pid).toBe(stand.pid);
      expect(status.find((n) => n.name === "redis-7003")?.pid).toBeNull();
    } finally {
      stand.kill("SIGKILL");
    }
  });
});
