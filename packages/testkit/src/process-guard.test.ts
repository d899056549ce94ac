import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { mkdtempSync, rmSync } from "node:fs";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { isAlive, spawnManaged, type GuardKind } from "./process-guard";

const FIXTURE = fileURLToPath(new URL("./fixtures/guarded-parent.ts", import.meta.url));
const leftovers: number[] = [];
const logDir = mkdtempSync(join(tmpdir(), "mlsd-testkit-guard-"));
afterAll(() => rmSync(logDir, { recursive: true, force: true }));

afterEach(() => {
  for (const pid of leftovers.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
});

async function eventually(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

/** Starts the fixture parent and returns it with the pid of the `sleep` it guards. */
async function startParent(guard: GuardKind, lifetime: "parent" | "detached", then = "wait") {
  const parent = spawn(process.execPath, ["--import", "tsx", FIXTURE, guard, lifetime, logDir, then], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const childPid = await new Promise<number>((resolve, reject) => {
    let out = "";
    parent.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n") && line) resolve(Number(line));
    });
    parent.once("exit", (code) => reject(new Error(`fixture exited early (${code})`)));
  });
  leftovers.push(childPid);
  return { parent, childPid };
}

describe("spawnManaged lifetimes", () => {
  it.each(["pdeathsig", "watchdog"] as const)("a %s-guarded server dies when its parent is SIGKILLed", async (guard) => {
    const { parent, childPid } = await startParent(guard, "parent");
    expect(isAlive(childPid)).toBe(true);
    parent.kill("SIGKILL");
    expect(await eventually(() => !isAlive(childPid), 5_000)).toBe(true);
  });

  it("a parent-lifetime server dies when its parent exits normally", async () => {
    const { childPid } = await startParent("pdeathsig", "parent", "exit");
    expect(await eventually(() => !isAlive(childPid), 5_000)).toBe(true);
  });

  it("a detached server outlives its parent", async () => {
    const { parent, childPid } = await startParent("pdeathsig", "detached");
    parent.kill("SIGKILL");
    await new Promise((r) => parent.once("exit", r));
    await new Promise((r) => setTimeout(r, 300));
    expect(isAlive(childPid)).toBe(true);
  });
});

describe("ManagedProcess.stop", () => {
  const logFile = join(logDir, "stop.log");

  it("ends a server with SIGTERM and reports the exit", async () => {
    const proc = spawnManaged({ command: "sleep", args: ["300"], logFile, lifetime: "parent" });
    leftovers.push(proc.pid);
    expect(proc.exit).toBeUndefined();
    await proc.stop(5_000);
    expect(proc.exit).toEqual({ code: null, signal: "SIGTERM" });
    expect(isAlive(proc.pid)).toBe(false);
  });

  it("escalates to SIGKILL when SIGTERM is ignored", async () => {
    const proc = spawnManaged({ command: "sh", args: ["-c", "trap '' TERM; sleep 300 & wait; sleep 300"], logFile, lifetime: "parent" });
    leftovers.push(proc.pid);
    await new Promise((r) => setTimeout(r, 200));
    await proc.stop(300);
    expect(proc.exit?.signal).toBe("SIGKILL");
  });
});
