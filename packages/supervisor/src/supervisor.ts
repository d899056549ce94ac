import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export interface SupervisorOptions {
  /** The repository root: each service's `dir` is relative to it. */
  root: string;
  /** The environment every service inherits (the caller's, usually), under each one's own settings. */
  baseEnv: Readonly<Record<string, string | undefined>>;
  /** One log file per service, appended to across restarts. */
  logDir: string;
  /**
   * Where the pid of every running service is kept (JSON, rewritten on each start, restart and
   * exit): the drills that kill or freeze a process read it. Unset: not written.
   */
  pidsFile?: string;
  /** The first restart waits this long; each further one twice as long, up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** A run that lasted this long resets the backoff. */
  healthyAfterMs?: number;
  /** Told of each unexpected exit and each restart. */
  onEvent?: (line: string) => void;
}

export interface StartOptions {
  /** Restart when the process exits while it should be running (a crash, kill -9). Default true. */
  restart?: boolean;
  /** The command in the service's folder. Default: `node --import tsx src/main.ts`, as its npm start script. */
  command?: string;
  args?: string[];
}

export interface Supervised {
  name: string;
  logFile: string;
  /** The process running now (a new one after each restart). */
  readonly child: ChildProcess;
  readonly restarts: number;
}

/** The pids file: each supervised service's pid now, and how often it was restarted. */
export interface PidsFile {
  updatedAt: string;
  services: Record<string, { pid: number | null; restarts: number }>;
}

interface Entry extends Supervised {
  child: ChildProcess;
  restarts: number;
  stopping: boolean;
  timer: NodeJS.Timeout | null;
  spawn: () => ChildProcess;
}

/**
 * Starts, restarts and stops the services as child processes. Each runs its own command with its
 * log in a file, is restarted with backoff when it dies unexpectedly (what a process manager or a
 * pod's restart policy does, so a killed service comes back by itself), and is stopped with
 * SIGTERM so its graceful shutdown (drain, flush producers) runs; SIGKILL only after a grace period.
 */
export class Supervisor {
  private readonly entries: Entry[] = [];
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly healthyAfterMs: number;

  constructor(private readonly options: SupervisorOptions) {
    fs.mkdirSync(options.logDir, { recursive: true });
    this.backoffMs = options.backoffMs ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.healthyAfterMs = options.healthyAfterMs ?? 60_000;
  }

  get started(): readonly Supervised[] {
    return this.entries;
  }

  start(name: string, dir: string, env: Record<string, string>, start: StartOptions = {}): Supervised {
    const logFile = path.join(this.options.logDir, `${name}.log`);
    fs.writeFileSync(logFile, "");
    const command = start.command ?? process.execPath;
    const args = start.args ?? ["--import", "tsx", "src/main.ts"];
    const launch = (): ChildProcess => {
      const out = fs.openSync(logFile, "a");
      const child = spawn(command, args, { cwd: path.join(this.options.root, dir), env: { ...this.options.baseEnv, ...env }, stdio: ["ignore", out, out] });
      fs.closeSync(out);
      return child;
    };
    const entry: Entry = { name, logFile, child: launch(), restarts: 0, stopping: false, timer: null, spawn: launch };
    this.entries.push(entry);
    this.watch(entry, start.restart ?? true, Date.now(), this.backoffMs);
    this.writePids();
    return entry;
  }

  private watch(entry: Entry, restart: boolean, startedAt: number, backoff: number): void {
    entry.child.once("exit", (code, signal) => {
      this.writePids();
      if (entry.stopping || !restart) return;
      const ranMs = Date.now() - startedAt;
      const wait = ranMs >= this.healthyAfterMs ? this.backoffMs : backoff;
      this.options.onEvent?.(`${entry.name} exited (${signal ?? `code ${code}`}) after ${(ranMs / 1000).toFixed(1)} s; restarting in ${wait} ms`);
      fs.appendFileSync(entry.logFile, `\n[supervisor] exited (${signal ?? `code ${code}`}); restarting in ${wait} ms\n`);
      entry.timer = setTimeout(() => {
        entry.timer = null;
        if (entry.stopping) return;
        entry.child = entry.spawn();
        entry.restarts++;
        this.options.onEvent?.(`${entry.name} restarted (pid ${entry.child.pid}, restart ${entry.restarts})`);
        this.watch(entry, restart, Date.now(), Math.min(this.maxBackoffMs, wait * 2));
        this.writePids();
      }, wait);
    });
  }

  private writePids(): void {
    if (!this.options.pidsFile) return;
    const body: PidsFile = {
      updatedAt: new Date().toISOString(),
      services: Object.fromEntries(this.entries.map((e) => [e.name, { pid: e.child.exitCode === null && e.child.signalCode === null ? (e.child.pid ?? null) : null, restarts: e.restarts }])),
    };
    fs.mkdirSync(path.dirname(this.options.pidsFile), { recursive: true });
    // Written aside and renamed: a reader never sees half a file.
    const tmp = `${this.options.pidsFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(body, null, 2));
    fs.renameSync(tmp, this.options.pidsFile);
  }

  /** Reverse start order: the recommender goes before the services it calls. */
  async stopAll(graceMs = 15_000): Promise<void> {
    // All marked first: a service that dies because one it calls was stopped is not restarted.
    for (const e of this.entries) {
      e.stopping = true;
      if (e.timer) clearTimeout(e.timer);
    }
    for (const e of [...this.entries].reverse()) {
      const child = e.child;
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    }
    this.entries.length = 0;
    this.writePids();
  }
}

/** Reads a pids file the supervisor wrote; throws naming what is wrong with it. */
export function readPids(file: string): PidsFile {
  const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
  const services = (parsed as { services?: unknown } | null)?.services;
  if (typeof services !== "object" || services === null) throw new Error(`${file}: not a pids file (no services)`);
  for (const [name, s] of Object.entries(services)) {
    const pid = (s as { pid?: unknown }).pid;
    if (pid !== null && !(typeof pid === "number" && Number.isInteger(pid) && pid > 0)) throw new Error(`${file}: services.${name}.pid is not a pid`);
  }
  return parsed as PidsFile;
}
