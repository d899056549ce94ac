import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { requireBinary } from "./binaries";
import { runCommand } from "./child-command";
import { TestkitError } from "./errors";
import { freePorts } from "./free-port";
import { tailFile } from "./log-tail";
import { waitUntil } from "./probes";
import { spawnManaged, type Lifetime, type ManagedProcess } from "./process-guard";
import { createWorkDir } from "./workdir";

/**
 * Replicas of a service behind Debian's HAProxy (issue 19), from the package registries like the
 * rest of the infrastructure. One front port per service; each replica is health-checked on
 * GET /readyz; a request whose connection failed or got no answer is retried once on another
 * replica (fraud scoring is idempotent by transactionId, so a retry cannot count a transaction twice).
 *
 * Readiness and availability pull in different directions when every replica is unready at once: a
 * shared dependency is down (Redis frozen), and the services still give fast degraded answers with
 * their reasons, which beat a 503 from the balancer. So each replica is also listed as a backup
 * server, without the HTTP check, which HAProxy uses only when no primary is up: readiness removes
 * a sick replica while a healthy one exists, never the whole service.
 *
 * Admission in front of the process (issue 10): with `maxInFlightPerReplica` HAProxy keeps at most
 * that many requests in each replica and queues the rest; past `maxQueued` queued requests it
 * answers 503 with Retry-After itself, in the services' error shape, without touching a replica.
 * The refusal costs HAProxy microseconds, while a refusal inside an overloaded Node process waits
 * its turn on a busy event loop.
 */

export interface LoadBalancedService {
  /** The service's name: letters, digits, `-` and `_` (it names HAProxy sections). */
  name: string;
  /** `host:port` of each replica. */
  replicas: string[];
  /** The front port (default: a free one). */
  port?: number;
  /** Requests in flight per replica; the rest wait in HAProxy's queue (default: no bound). */
  maxInFlightPerReplica?: number;
  /** Queued requests past which the balancer answers 503 at once (needs maxInFlightPerReplica; default: no bound). */
  maxQueued?: number;
}

export interface LoadBalancerOptions {
  services: LoadBalancedService[];
  /** Config, log and stats socket live here (default: a temporary folder removed at exit). */
  dir?: string;
  /** Health-check interval; a replica is down after 2 failed checks and up after 2 good ones. Default 250 ms. */
  checkIntervalMs?: number;
  /** Most a request waits in the queue before the balancer answers 503 (default 1,000 ms). */
  queueTimeoutMs?: number;
  /** `parent` (default): it dies with this process; `detached`: the caller tracks its pid. */
  lifetime?: Lifetime;
  /** Seconds a refused client is told to wait (default 1). */
  retryAfterSeconds?: number;
  /** Address every frontend binds (default 127.0.0.1; 0.0.0.0 inside a container). */
  bindAddress?: string;
  /**
   * A nameserver (`ip:port`) through which replicas addressed by DNS name are resolved again while
   * HAProxy runs, and a name that does not resolve yet leaves its server down instead of failing the
   * start: a container that restarts comes back on a new address (compose: Docker's 127.0.0.11:53).
   * Default: addresses resolved once at start.
   */
  resolver?: string;
}

export interface LoadBalancerHandle {
  /** http://127.0.0.1:<front port> of the service. */
  url(name: string): string;
  pid: number;
  configFile: string;
  /** HAProxy's statistics page (append `;csv` for the machine-readable form). */
  statsUrl: string;
  /** Replicas the health checks count as up. */
  replicasUp(name: string): Promise<number>;
  /** Requests the balancer refused itself (503 from the queue bound) since it started. */
  refused(name: string): Promise<number>;
  stop(): Promise<void>;
}

interface ResolvedService extends LoadBalancedService {
  port: number;
}

const NAME = /^[A-Za-z0-9_-]+$/;
const ADDRESS = /^[^\s:]+:\d{1,5}$/;
const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;

function positiveInteger(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value > 0)) throw new RangeError(`${name}: expected a positive integer, got ${value}`);
}

export function validateLoadBalancerOptions(options: LoadBalancerOptions): void {
  if (options.services.length === 0) throw new RangeError("services: at least one service");
  const names = new Set<string>();
  options.services.forEach((s, i) => {
    if (!NAME.test(s.name)) throw new RangeError(`services[${i}].name: letters, digits, - and _ only, got "${s.name}"`);
    if (names.has(s.name)) throw new RangeError(`services[${i}].name: "${s.name}" appears twice`);
    names.add(s.name);
    if (s.replicas.length === 0) throw new RangeError(`services[${i}].replicas: at least one host:port`);
    s.replicas.forEach((r, j) => {
      if (!ADDRESS.test(r)) throw new RangeError(`services[${i}].replicas[${j}]: expected host:port, got "${r}"`);
    });
    positiveInteger(`services[${i}].port`, s.port);
    positiveInteger(`services[${i}].maxInFlightPerReplica`, s.maxInFlightPerReplica);
    if (s.maxQueued !== undefined && !(Number.isInteger(s.maxQueued) && s.maxQueued >= 0)) throw new RangeError(`services[${i}].maxQueued: expected an integer >= 0, got ${s.maxQueued}`);
    if (s.maxQueued !== undefined && s.maxInFlightPerReplica === undefined) throw new RangeError(`services[${i}].maxQueued: needs maxInFlightPerReplica (without a bound in flight nothing queues)`);
  });
  positiveInteger("checkIntervalMs", options.checkIntervalMs);
  positiveInteger("queueTimeoutMs", options.queueTimeoutMs);
  positiveInteger("retryAfterSeconds", options.retryAfterSeconds);
  if (options.bindAddress !== undefined && !IPV4.test(options.bindAddress)) throw new RangeError(`bindAddress: expected an IPv4 address, got "${options.bindAddress}"`);
  if (options.resolver !== undefined && !(ADDRESS.test(options.resolver) && IPV4.test(options.resolver.split(":")[0] ?? ""))) throw new RangeError(`resolver: expected ip:port, got "${options.resolver}"`);
}

/** The HAProxy configuration for these services (a pure function, so its shape is unit-tested). */
export function haproxyConfig(options: LoadBalancerOptions & { services: ResolvedService[]; statsPort: number }): string {
  const inter = options.checkIntervalMs ?? 250;
  const retryAfter = options.retryAfterSeconds ?? 1;
  const bind = options.bindAddress ?? "127.0.0.1";
  const resolving = options.resolver !== undefined ? " init-addr last,libc,none resolvers dns" : "";
  const lines = [
    "global",
    "  maxconn 4000",
    // One thread: on a small machine the balancer must not compete with the services for every core.
    "  nbthread 1",
    "",
    "defaults",
    "  mode http",
    "  option http-keep-alive",
    "  timeout connect 1s",
    "  timeout client 60s",
    "  timeout server 60s",
    "  timeout http-request 10s",
    "  timeout http-keep-alive 60s",
    `  timeout queue ${options.queueTimeoutMs ?? 1000}ms`,
    `  timeout check ${Math.max(2 * inter, 500)}ms`,
    // A request is retried on another replica when its connection failed or the replica closed it
    // without an answer (killed mid-request); the body is buffered so that it can be sent again.
    "  retries 2",
    "  option redispatch 1",
    "  retry-on conn-failure empty-response",
    "  option http-buffer-request",
    "  unique-id-format lb-%pid-%rt",
    "",
    ...(options.resolver !== undefined ? ["resolvers dns", `  nameserver ns1 ${options.resolver}`, "  hold valid 1s", ""] : []),
    "frontend stats",
    `  bind ${bind}:${options.statsPort}`,
    "  stats enable",
    "  stats uri /stats",
    "  stats refresh 5s",
    "",
  ];
  for (const s of options.services) {
    const refusal = `{"error":{"code":"UNAVAILABLE","message":"overloaded: the load balancer queue for ${s.name} is full; retry after ${retryAfter} s","requestId":"%[unique-id]","details":null}}`;
    lines.push(
      `frontend ${s.name}`,
      `  bind ${bind}:${s.port}`,
      `  default_backend ${s.name}`,
      ...(s.maxQueued !== undefined
        ? [`  http-request return status 503 content-type application/json lf-string '${refusal}' hdr retry-after ${retryAfter} if { be_conn_free(${s.name}) le 0 } { queue(${s.name}) ge ${s.maxQueued} }`]
        : []),
      "",
      `backend ${s.name}`,
      "  balance leastconn",
      "  option httpchk GET /readyz",
      "  http-check expect status 200",
      "  option allbackups",
      `  default-server inter ${inter}ms fastinter ${inter}ms downinter ${inter}ms fall 2 rise 2${s.maxInFlightPerReplica !== undefined ? ` maxconn ${s.maxInFlightPerReplica}` : ""}${resolving}`,
      ...s.replicas.map((r, i) => `  server r${i + 1} ${r} check`),
      // The same replicas without the readiness check: used only when no replica is ready.
      ...s.replicas.map((r, i) => `  server r${i + 1}-unready ${r} backup`),
      "",
    );
  }
  return `${lines.join("\n")}\n`;
}

/** Rows of HAProxy's CSV statistics: `pxname`, `svname`, `status`, ... by column name. */
export function parseStatsCsv(text: string): Record<string, string>[] {
  const [header, ...rows] = text.split("\n").filter((l) => l.trim() !== "");
  if (!header?.startsWith("# ")) throw new Error("not HAProxy CSV statistics");
  const columns = header.slice(2).split(",");
  return rows.map((row) => {
    const cells = row.split(",");
    return Object.fromEntries(columns.map((c, i) => [c, cells[i] ?? ""]));
  });
}

async function stats(statsUrl: string): Promise<Record<string, string>[]> {
  const res = await fetch(`${statsUrl};csv`);
  if (!res.ok) throw new Error(`HAProxy statistics answered ${res.status}`);
  return parseStatsCsv(await res.text());
}

export async function startLoadBalancer(options: LoadBalancerOptions): Promise<LoadBalancerHandle> {
  validateLoadBalancerOptions(options);
  const haproxy = requireBinary("haproxy", "apt-get install haproxy");
  const dir = options.dir ?? createWorkDir("haproxy");
  mkdirSync(dir, { recursive: true });
  const ports = await freePorts(options.services.length + 1);
  const services: ResolvedService[] = options.services.map((s, i) => ({ ...s, port: s.port ?? (ports[i] as number) }));
  const statsPort = ports[services.length] as number;
  const configFile = join(dir, "haproxy.cfg");
  writeFileSync(configFile, haproxyConfig({ ...options, services, statsPort }));
  const check = await runCommand(haproxy, ["-c", "-f", configFile]);
  if (check.code !== 0) throw new TestkitError("START_FAILED", `haproxy rejected ${configFile}:\n${check.output}`);
  const logFile = join(dir, "haproxy.log");
  const proc: ManagedProcess = spawnManaged({ command: haproxy, args: ["-db", "-f", configFile], logFile, lifetime: options.lifetime ?? "parent" });
  const statsUrl = `http://127.0.0.1:${statsPort}/stats`;
  try {
    await waitUntil(() => stats(statsUrl).then(() => true, () => false), {
      what: `haproxy on 127.0.0.1:${statsPort}`,
      timeoutMs: 10_000,
      intervalMs: 50,
      failure: () => (proc.exit ? `exited (${JSON.stringify(proc.exit)}):\n${tailFile(logFile)}` : undefined),
    });
  } catch (error) {
    await proc.stop(1_000);
    throw new TestkitError("START_FAILED", (error as Error).message);
  }
  const byName = new Map(services.map((s) => [s.name, s]));
  const service = (name: string): ResolvedService => {
    const s = byName.get(name);
    if (!s) throw new RangeError(`no service "${name}" behind this load balancer (${[...byName.keys()].join(", ")})`);
    return s;
  };
  return {
    url: (name) => `http://127.0.0.1:${service(name).port}`,
    pid: proc.pid,
    configFile,
    statsUrl,
    async replicasUp(name) {
      service(name);
      const rows = await stats(statsUrl);
      return rows.filter((r) => r.pxname === name && /^r\d+$/.test(r.svname ?? "") && (r.status ?? "").startsWith("UP")).length;
    },
    async refused(name) {
      service(name);
      const rows = await stats(statsUrl);
      // `http-request return` answers count as intercepted requests of the frontend.
      const frontend = rows.find((r) => r.pxname === name && r.svname === "FRONTEND");
      return Number(frontend?.intercepted ?? 0);
    },
    stop: () => proc.stop(2_000),
  };
}
