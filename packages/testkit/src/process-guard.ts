import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import { registerKiller } from "./cleanup";

/**
 * How a server is tied to the process that started it:
 * - `parent`: it dies with us, even on SIGKILL. Linux's parent-death signal (util-linux `setpriv
 *   --pdeathsig`) when available, else a shell watchdog polling our pid; plus exit/signal hooks.
 * - `detached`: it outlives us (scripts/services-up), tracked through a pid file by the caller.
 */
export type Lifetime = "parent" | "detached";
export type GuardKind = "pdeathsig" | "watchdog";

export interface SpawnOptions {
  command: string;
  args: string[];
  cwd?: string;
  /** stdout and stderr of the server are appended here. */
  logFile: string;
  lifetime: Lifetime;
  /** Force a guard (tests exercise both); default: pdeathsig when setpriv exists. */
  guard?: GuardKind;
  env?: NodeJS.ProcessEnv;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly pid: number;
  /** undefined while running. */
  readonly exit: Exit | undefined;
  readonly exited: Promise<Exit>;
  /** SIGTERM to the process group, SIGKILL after graceMs, resolves once it has exited. */
  stop(graceMs: number): Promise<void>;
}

const SETPRIV = "/usr/bin/setpriv";

export function defaultGuard(): GuardKind {
  return existsSync(SETPRIV) ? "pdeathsig" : "watchdog";
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** Polls both pids each second; when ours disappears first, kills the server's process group. */
const WATCHDOG_SCRIPT =
  'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; ' +
  'kill -0 "$2" 2>/dev/null && { kill -9 -"$2" 2>/dev/null || kill -9 "$2"; }; exit 0';

function startWatchdog(serverPid: number): void {
  const watchdog = spawn("sh", ["-c", WATCHDOG_SCRIPT, "mlsd-testkit-watchdog", String(process.pid), String(serverPid)], {
    detached: true,
    stdio: "ignore",
  });
  watchdog.unref();
}

export function spawnManaged(options: SpawnOptions): ManagedProcess {
  const guard = options.lifetime === "parent" ? (options.guard ?? defaultGuard()) : undefined;
  const [command, args] =
    guard === "pdeathsig"
      ? [SETPRIV, ["--pdeathsig", "KILL", "--", options.command, ...options.args]]
      : [options.command, options.args];
  const log = openSync(options.logFile, "a");
  let child: ChildProcess;
  try {
    // Own process group in both cases: Ctrl-C in a terminal reaches the runner, which then stops
    // servers in order, instead of every server at once.
    child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ["ignore", log, log],
    });
  } finally {
    closeSync(log);
  }
  // A missing binary surfaces as an 'error' event after spawn() returns, with no pid.
  child.once("error", () => {});
  const pid = child.pid;
  if (pid === undefined) {
    throw new Error(`could not start ${options.command}: is it installed and on PATH?`);
  }
  child.unref();

  let exit: Exit | undefined;
  const exited = new Promise<Exit>((resolve) => {
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
  });
  let unregister: () => void = () => {};
  if (options.lifetime === "parent") {
    unregister = registerKiller(() => signalGroup(pid, "SIGKILL"));
    void exited.then(unregister);
    if (guard === "watchdog") startWatchdog(pid);
  }

  return {
    pid,
    get exit() {
      return exit;
    },
    exited,
    async stop(graceMs: number) {
      if (exit) return;
      signalGroup(pid, "SIGTERM");
      const timer = setTimeout(() => signalGroup(pid, "SIGKILL"), graceMs);
      try {
        await exited;
      } finally {
        clearTimeout(timer);
        unregister();
      }
    },
  };
}

/** Whether a pid (from a pid file) still names a live process. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
