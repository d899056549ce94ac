import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";

/**
 * What the cluster drills act on: the nodes `services-up --topology cluster` started (its
 * topology.json), their processes (a SIGKILL, then the node's own command started again, as a
 * process manager would), and HAProxy's view of the replicas.
 */

const NodeSchema = z.object({
  address: z.string().regex(/^[^:\s]+:\d+$/, "host:port"),
  pidFile: z.string().min(1),
  /** How services-up started the node: the drill starts it again the same way. */
  command: z.object({ argv: z.array(z.string()).min(1), cwd: z.string().min(1) }),
});
export type NodeCommand = z.infer<typeof NodeSchema>["command"];
export const ClusterTopologySchema = z.object({
  redisClusterNodes: z.string().min(1),
  kafkaBrokers: z.string().min(1),
  redis: z.array(NodeSchema).min(1),
  kafka: z.array(NodeSchema).min(1),
});
export type ClusterTopology = z.infer<typeof ClusterTopologySchema>;

export function readTopology(file: string): ClusterTopology {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message} (run npm run services:up -- --topology cluster)`);
  }
  const parsed = ClusterTopologySchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${file}: not a cluster topology: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return parsed.data;
}

export function readPid(file: string): number {
  const pid = Number(fs.readFileSync(file, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`${file}: not a pid`);
  return pid;
}

/** SIGKILL (a crashed host: no shutdown, no flush) and wait until the process is gone. */
export async function killHard(pid: number, timeoutMs = 10_000): Promise<void> {
  process.kill(pid, "SIGKILL");
  const end = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > end) throw new Error(`process ${pid} still runs ${timeoutMs} ms after SIGKILL`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A killed child of ours that nobody reaped yet is a zombie: gone for every purpose here.
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

/**
 * Starts a node again with the command services-up started it with, detached (it outlives the
 * console, like the node it replaces), its output appended to `restarted.log` in its folder, and
 * writes its pid into `pidFile` so that services-down stops it.
 */
export function relaunch(command: NodeCommand, pidFile: string): number {
  const [program, ...args] = command.argv as [string, ...string[]];
  try {
    fs.accessSync(program, fs.constants.X_OK);
  } catch {
    throw new Error(`cannot start ${program} again: not an executable (from the topology file)`);
  }
  const out = fs.openSync(path.join(command.cwd, "restarted.log"), "a");
  try {
    const child = spawn(program, args, { cwd: command.cwd, detached: true, stdio: ["ignore", out, out] });
    // A spawn failure is reported as an event: unheard, it would take the console down.
    child.on("error", () => {});
    if (child.pid === undefined) throw new Error(`could not start ${program} again`);
    child.unref();
    fs.writeFileSync(pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    fs.closeSync(out);
  }
}

export function splitAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(":");
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
}

export const pct = (x: number | null | undefined) => (x === null || x === undefined ? "no answers" : `${(x * 100).toFixed(1)} %`);
export const seconds = (ms: number | null) => (ms === null ? "not seen" : `${(ms / 1000).toFixed(1)} s`);

/**
 * One server's state as HAProxy's statistics page shows it (`UP`, `DOWN`, `UP 1/2` while a check
 * fails towards down, `DOWN 1/2` while one passes towards up, `MAINT`, `no check`), or null when
 * the page lists no such server.
 */
export async function balancerServerStatus(statsUrl: string, backend: string, server: string): Promise<string | null> {
  const res = await fetch(`${statsUrl};csv`, { signal: AbortSignal.timeout(2_000) });
  if (!res.ok) throw new Error(`HAProxy statistics at ${statsUrl} answered ${res.status}`);
  const [header, ...rows] = (await res.text()).split("\n");
  if (!header?.startsWith("# ")) throw new Error(`${statsUrl};csv is not HAProxy's CSV statistics`);
  const columns = header.slice(2).split(",");
  const [px, sv, st] = ["pxname", "svname", "status"].map((c) => columns.indexOf(c)) as [number, number, number];
  for (const row of rows) {
    const cells = row.split(",");
    if (cells[px] === backend && cells[sv] === server) return cells[st] ?? null;
  }
  return null;
}

export const TOPOLOGY_UNSET = "set DRILL_CLUSTER_TOPOLOGY_FILE (services-up --topology cluster writes .data/cluster/topology.json; npm run demo -- --topology cluster sets it)";

/** The 1-minute load average: the machine is shared, and its load explains latencies a quiet one would not show. */
export const loadAverage = () => (os.loadavg()[0] as number).toFixed(1);
