import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";

export interface LockOptions {
  /** Give up waiting after this long (default 10 s). */
  timeoutMs?: number;
  /**
   * A lock older than this is taken to be abandoned (default 60 s). Alias moves hold it for
   * milliseconds; a holder on this host whose process is gone is abandoned at once.
   */
  staleMs?: number;
}

interface Holder {
  pid: number;
  host: string;
  token: string;
  at: number;
}

export class LockTimeoutError extends Error {
  override readonly name = "LockTimeoutError";
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread: alias moves are rare admin operations and the lock is held for milliseconds. */
function sleep(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function readHolder(file: string): Holder | null {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<Holder>;
    if (typeof parsed.pid !== "number" || typeof parsed.host !== "string" || typeof parsed.token !== "string" || typeof parsed.at !== "number") return null;
    return parsed as Holder;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function ageMs(file: string): number {
  try {
    return Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function tryCreate(file: string, content: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, "wx");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/**
 * Removes an abandoned lock. Breakers take a second lock (`.break`) and re-read the holder under
 * it, so two processes that both saw the same stale holder cannot remove a fresh lock that one of
 * them has just taken in its place.
 */
function breakStale(file: string, stale: Holder | null): void {
  const breaker = `${file}.break`;
  if (!tryCreate(breaker, String(process.pid))) {
    // A breaker that died holding `.break`: only its age can tell.
    if (ageMs(breaker) > 10_000) fs.rmSync(breaker, { force: true });
    return;
  }
  try {
    const now = readHolder(file);
    const same = stale === null ? now === null : now !== null && now.token === stale.token;
    if (same) fs.rmSync(file, { force: true });
  } finally {
    fs.rmSync(breaker, { force: true });
  }
}

/**
 * Runs `fn` holding an exclusive lock file (created with O_EXCL, so exactly one process holds it,
 * on any local or NFSv3+ filesystem). The file says who holds it; a holder that died (its process
 * gone on this host, or the lock older than `staleMs`) is broken and the wait goes on.
 */
export function withFileLock<T>(file: string, fn: () => T, options: LockOptions = {}): T {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const staleMs = options.staleMs ?? 60_000;
  const me: Holder = { pid: process.pid, host: os.hostname(), token: randomBytes(8).toString("hex"), at: Date.now() };
  const deadline = Date.now() + timeoutMs;
  let wait = 2;
  for (;;) {
    me.at = Date.now();
    if (tryCreate(file, JSON.stringify(me))) break;
    const holder = readHolder(file);
    // An unreadable holder is one still writing its name, unless the file has been there a while.
    const stale = holder === null ? ageMs(file) > staleMs : Date.now() - holder.at > staleMs || (holder.host === me.host && !alive(holder.pid));
    if (stale) {
      breakStale(file, holder);
      continue;
    }
    if (Date.now() > deadline) {
      const who = holder ? `pid ${holder.pid} on ${holder.host} since ${new Date(holder.at).toISOString()}` : "a process still writing its name";
      throw new LockTimeoutError(`${file} is held by ${who}; gave up after ${timeoutMs} ms`);
    }
    sleep(wait + Math.random() * wait);
    wait = Math.min(wait * 2, 50);
  }
  try {
    return fn();
  } finally {
    // Only our own lock: if it was broken as stale meanwhile, another holder's file is not ours to remove.
    if (readHolder(file)?.token === me.token) fs.rmSync(file, { force: true });
  }
}
