import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { registerTempPath } from "./cleanup";
import { isAlive } from "./process-guard";

const ROOT = join(tmpdir(), "mlsd-testkit");
let swept = false;

/** Removes folders of runs whose process died without cleaning up (SIGKILL skips exit hooks). */
export function sweepStale(root: string): string[] {
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return removed;
  }
  for (const entry of entries) {
    const owner = Number(entry.split("-")[0]);
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && !isAlive(owner)) {
      rmSync(join(root, entry), { recursive: true, force: true });
      removed.push(entry);
    }
  }
  return removed;
}

/** A fresh folder for one server, deleted when this process exits. */
export function createWorkDir(kind: string): string {
  mkdirSync(ROOT, { recursive: true });
  if (!swept) {
    swept = true;
    sweepStale(ROOT);
  }
  const dir = mkdtempSync(join(ROOT, `${process.pid}-${kind}-`));
  registerTempPath(dir);
  return dir;
}
