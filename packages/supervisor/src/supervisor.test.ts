import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readPids, Supervisor } from "./supervisor";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "supervisor-"));
fs.mkdirSync(path.join(root, "svc"));
// A "service" that runs until told to stop, and says when it started.
fs.writeFileSync(path.join(root, "svc", "main.cjs"), 'console.log("started", process.pid); process.on("SIGTERM", () => { console.log("graceful"); process.exit(0); }); setInterval(() => {}, 1000);');
const node = { command: process.execPath, args: ["main.cjs"] };

async function until<T>(probe: () => T | null | undefined | false, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 25));
  }
}

let supervisor: Supervisor | undefined;
afterEach(async () => {
  await supervisor?.stopAll(2000);
});

describe("the supervisor", () => {
  it("restarts a service killed with SIGKILL, with backoff, and keeps the pids file current", async () => {
    const pidsFile = path.join(root, "run-1", "pids.json");
    const events: string[] = [];
    supervisor = new Supervisor({ baseEnv: {}, root, logDir: path.join(root, "run-1", "logs"), pidsFile, backoffMs: 50, onEvent: (l) => events.push(l) });
    const s = supervisor.start("svc", "svc", {}, node);
    const first = s.child.pid as number;
    expect(readPids(pidsFile).services.svc).toEqual({ pid: first, restarts: 0 });
    await until(() => fs.readFileSync(s.logFile, "utf8").includes("started"));

    process.kill(first, "SIGKILL");
    const second = await until(() => readPids(pidsFile).services.svc?.restarts === 1 && readPids(pidsFile).services.svc?.pid);
    expect(second).not.toBe(first);
    expect(s.child.pid).toBe(second);
    expect(events[0]).toMatch(/^svc exited \(SIGKILL\) after [\d.]+ s; restarting in 50 ms$/);
    // The second crash within the healthy period waits twice as long.
    process.kill(second, "SIGKILL");
    await until(() => s.restarts === 2);
    expect(events.filter((e) => e.includes("restarting in"))).toEqual([expect.stringContaining("in 50 ms"), expect.stringContaining("in 100 ms")]);
    // One log across restarts.
    const log = await until(() => {
      const text = fs.readFileSync(s.logFile, "utf8");
      return (text.match(/^started/gm)?.length ?? 0) >= 2 && text;
    });
    expect(log).toContain("[supervisor] exited (SIGKILL)");
  });

  it("stops with SIGTERM (the graceful path) and does not restart what it stopped, or what asked not to be", async () => {
    const pidsFile = path.join(root, "run-2", "pids.json");
    supervisor = new Supervisor({ baseEnv: {}, root, logDir: path.join(root, "run-2", "logs"), pidsFile, backoffMs: 20 });
    const kept = supervisor.start("kept", "svc", {}, node);
    const once = supervisor.start("once", "svc", {}, { ...node, restart: false });
    await until(() => fs.readFileSync(kept.logFile, "utf8").includes("started") && fs.readFileSync(once.logFile, "utf8").includes("started"));
    process.kill(once.child.pid as number, "SIGKILL");
    await until(() => readPids(pidsFile).services.once?.pid === null);
    await new Promise((r) => setTimeout(r, 100));
    expect(once.restarts).toBe(0);
    await supervisor.stopAll(2000);
    expect(fs.readFileSync(kept.logFile, "utf8")).toContain("graceful");
    expect(kept.restarts).toBe(0);
    expect(readPids(pidsFile).services).toEqual({});
    supervisor = undefined;
  });

  it("reads only a well-formed pids file", () => {
    const bad = path.join(root, "bad.json");
    fs.writeFileSync(bad, JSON.stringify({ services: { a: { pid: -3 } } }));
    expect(() => readPids(bad)).toThrow(/services\.a\.pid is not a pid/);
    fs.writeFileSync(bad, "[]");
    expect(() => readPids(bad)).toThrow(/not a pids file/);
  });
});
