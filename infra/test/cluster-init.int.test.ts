import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts, parseClusterNodes } from "@mlsd/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCompose, REPO } from "./stack";

/**
 * infra/redis/cluster-init.sh, the cluster profile's `redis-cluster-init`, run against six local
 * redis-servers started with the profile's node command (the container's redis.conf path swapped
 * for the repository's, and the local ports and data folders added, as testkit does): it forms
 * three primaries with one replica each, and a second run (a later `docker compose up`) leaves the
 * formed cluster alone and still exits 0.
 */

const compose = readCompose({ cluster: true });
const nodeCommand = compose.services["redis-node-1"]?.command ?? [];
const dir = mkdtempSync(join(tmpdir(), "mlsd-cluster-init-"));
const servers: ChildProcess[] = [];
let ports: number[] = [];

function cli(port: number, ...args: string[]): string {
  const r = spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], { encoding: "utf8" });
  if (r.error) throw new Error(`redis-cli is not installed (bash scripts/ensure-deps): ${r.error.message}`);
  return r.stdout;
}

function runInit(): { status: number | null; output: string } {
  const r = spawnSync("sh", [join(REPO, "infra/redis/cluster-init.sh")], {
    encoding: "utf8",
    env: { PATH: process.env.PATH, REDIS_CLUSTER_NODES: ports.map((p) => `127.0.0.1:${p}`).join(","), CLUSTER_READY_TIMEOUT_S: "30" },
    timeout: 60_000,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

beforeAll(async () => {
  expect(nodeCommand.slice(0, 2)).toEqual(["redis-server", "/usr/local/etc/redis/redis.conf"]);
  const all = await freePorts(12, "127.0.0.1");
  ports = all.slice(0, 6);
  for (const [i, port] of ports.entries()) {
    const data = join(dir, `node-${i + 1}`);
    mkdirSync(data);
    const args = [join(REPO, "infra/redis/redis.conf"), ...nodeCommand.slice(2), "--port", String(port), "--bind", "127.0.0.1", "--cluster-port", String(all[6 + i]), "--dir", data];
    // setpriv: the node dies with this test process even when afterAll never runs.
    servers.push(spawn("setpriv", ["--pdeathsig", "TERM", "redis-server", ...args], { stdio: "ignore" }));
  }
  const deadline = Date.now() + 20_000;
  while (!ports.every((p) => cli(p, "ping").trim() === "PONG")) {
    if (Date.now() > deadline) throw new Error("the six redis-servers did not answer PING within 20 s");
    await new Promise((r) => setTimeout(r, 100));
  }
});

afterAll(async () => {
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.exitCode !== null || s.signalCode !== null) return resolve();
          s.once("exit", () => resolve());
          s.kill("SIGTERM");
        }),
    ),
  );
  rmSync(dir, { recursive: true, force: true });
});

describe("redis-cluster-init", () => {
  it("joins the six nodes into three primaries serving every slot and three replicas", () => {
    const first = runInit();
    expect(first.status, first.output).toBe(0);
    expect(first.output).toContain("cluster_state ok, 16384 slots served by 3 primaries, 3 replicas in sync");
    const nodes = parseClusterNodes(cli(ports[0] as number, "cluster", "nodes"));
    const primaries = nodes.filter((n) => n.role === "primary");
    expect(primaries.map((n) => n.slots).reduce((a, b) => a + b, 0)).toBe(16384);
    expect(primaries).toHaveLength(3);
    expect(nodes.filter((n) => n.role === "replica" && n.primaryPort !== null)).toHaveLength(3);
    expect(nodes.map((n) => n.port).sort()).toEqual([...ports].sort());
  });

  it("leaves a formed cluster alone on a later run, and exits 0", () => {
    const before = cli(ports[0] as number, "cluster", "myid").trim();
    const again = runInit();
    expect(again.status, again.output).toBe(0);
    expect(again.output).toContain("already knows all 6 nodes; not creating again");
    expect(again.output).not.toContain("Performing hash slots allocation");
    expect(cli(ports[0] as number, "cluster", "myid").trim()).toBe(before);
    expect(parseClusterNodes(cli(ports[0] as number, "cluster", "nodes"))).toHaveLength(6);
  });
});
