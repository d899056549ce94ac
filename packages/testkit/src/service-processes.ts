import fs from "node:fs";
import path from "node:path";
import { Supervisor, type Supervised } from "@mlsd/supervisor";
import { freePort } from "./free-port";
import { waitFor } from "./probes";

export interface ServiceProcess {
  name: string;
  port: number;
  /** The process and its log file. */
  proc: Supervised;
  /** GET a path of the service, e.g. `/metrics`. */
  get(pathname: string): Promise<Response>;
}

/**
 * Services as separate processes, the way a deployment runs replicas: each `node --import tsx
 * src/main.ts` in its folder (one process, so a SIGKILL kills the service itself, not a wrapper),
 * configured by env, on a free port, with its log in a file, never restarted. `start` resolves
 * once the service answers /readyz with 200.
 */
export class ServiceProcesses {
  private readonly supervisor: Supervisor;

  constructor(
    private readonly root: string,
    readonly logDir: string,
  ) {
    fs.mkdirSync(logDir, { recursive: true });
    // The children inherit the test's environment (PATH, the testkit's settings).
    this.supervisor = new Supervisor({ root, baseEnv: process.env, logDir });
  }

  async start(name: string, dir: string, env: Record<string, string>, options: { readyTimeoutMs?: number } = {}): Promise<ServiceProcess> {
    if (!fs.existsSync(path.join(this.root, dir, "src/main.ts"))) throw new Error(`${dir}/src/main.ts not found under ${this.root}`);
    const port = await freePort();
    const proc = this.supervisor.start(name, dir, { ...env, PORT: String(port) }, { restart: false });
    const get = (pathname: string) => fetch(`http://127.0.0.1:${port}${pathname}`);
    await waitFor(
      `${name} to answer /readyz (log: ${proc.logFile})`,
      async () => {
        if (proc.child.exitCode !== null) throw new Error(`${name} exited with code ${proc.child.exitCode}; its log: ${proc.logFile}`);
        return get("/readyz").then((r) => r.status === 200, () => false);
      },
      { timeoutMs: options.readyTimeoutMs ?? 120_000, intervalMs: 250 },
    );
    return { name, port, proc, get };
  }

  /** SIGTERM to every process still running (their graceful shutdown), SIGKILL after the grace period. */
  stopAll(graceMs = 15_000): Promise<void> {
    return this.supervisor.stopAll(graceMs);
  }
}
