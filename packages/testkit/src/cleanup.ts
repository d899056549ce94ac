import { rmSync } from "node:fs";

/**
 * Last-resort cleanup when the process that started servers goes away: kill what is still running,
 * then delete temporary folders (in that order, so no server writes into a deleted folder).
 * Orderly shutdown goes through each handle's stop(); this only covers exits that skip it.
 */
const killers = new Set<() => void>();
const paths = new Set<string>();
let installed = false;

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

function runAll(): void {
  for (const kill of killers) {
    try {
      kill();
    } catch {
      // Already gone.
    }
  }
  killers.clear();
  for (const path of paths) rmSync(path, { recursive: true, force: true });
  paths.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  // Another listener owns the shutdown (with-infra stops its child first); the exit hook and the
  // parent-death signal still cover the servers when that owner exits.
  if (process.listenerCount(signal) > 1) return;
  runAll();
  // Our listener replaced the default action (exit); restore it unless someone else handles it.
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", runAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

export function registerKiller(kill: () => void): () => void {
  install();
  killers.add(kill);
  return () => killers.delete(kill);
}

export function registerTempPath(path: string): () => void {
  install();
  paths.add(path);
  return () => paths.delete(path);
}
