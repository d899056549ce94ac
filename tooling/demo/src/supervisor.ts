import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export interface Started {
  name: string;
  child: ChildProcess;
  logFile: string;
}

/**
 * Starts and stops the demo's processes. Each service runs its own `tsx src/main.ts` (the same
 * command as its npm start script) with its log in a file, and is stopped with SIGTERM so its
 * graceful shutdown (drain, flush producers) runs; SIGKILL only after a grace period.
 */
export class Supervisor {
  readonly started: Started[] = [];

  constructor(private readonly root: string, private readonly logDir: string) {
    fs.mkdirSync(logDir, { recursive: true });
  }

  start(name: string, dir: string, env: Record<string, string>): Started {
    const logFile = path.join(this.logDir, `${name}.log`);
    const out = fs.openSync(logFile, "w");
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: path.join(this.root, dir),
      env: { ...process.env, ...env },
      stdio: ["ignore", out, out],
    });
    fs.closeSync(out);
    const started = { name, child, logFile };
    this.started.push(started);
    return started;
  }

  /** Reverse start order: the recommender goes before the services it calls. */
  async stopAll(graceMs = 15_000): Promise<void> {
    for (const s of [...this.started].reverse()) {
      if (s.child.exitCode !== null || s.child.signalCode !== null) continue;
      const exited = new Promise<void>((resolve) => s.child.once("exit", () => resolve()));
      s.child.kill("SIGTERM");
      const timer = setTimeout(() => s.child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    }
    this.started.length = 0;
  }
}

export async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode} before it was ready`);
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) throw new Error(`not ready after ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Runs a command to completion with the demo's output (progress bars stay visible). */
export function run(command: string, args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("exit", (code, signal) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} failed (${signal ?? code})`))));
  });
}
