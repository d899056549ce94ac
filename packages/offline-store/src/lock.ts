import { open, readFile, rm } from "node:fs/promises";
import { OfflineStoreError } from "./errors";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

const heldHere = new Set<string>();

/**
 * One writer per store root: deduplication keeps the ids of a partition in this process's memory,
 * so a second writer appending to the same files could duplicate events. A lock left by a dead
 * process is taken over.
 */
export async function acquireLock(path: string): Promise<() => Promise<void>> {
  if (heldHere.has(path)) throw new OfflineStoreError("LOCKED", path, "already held by another writer in this process");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, "wx");
      await handle.writeFile(`${process.pid}\n`);
      await handle.sync();
      await handle.close();
      heldHere.add(path);
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        heldHere.delete(path);
        await rm(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const owner = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
      throw new OfflineStoreError("LOCKED", path, `held by live process ${owner}; stop it (e.g. the event logger) or use another root`);
    }
    await rm(path, { force: true });
  }
  throw new OfflineStoreError("LOCKED", path, "could not take over a stale lock");
}
