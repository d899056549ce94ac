import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_LAYOUT, servicesStatus } from "./services";

const dataDir = mkdtempSync(join(tmpdir(), "mlsd-testkit-services-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const layout = { ...DEFAULT_LAYOUT, dataDir };

function writePid(name: string, pid: number): void {
  mkdirSync(join(dataDir, "pids"), { recursive: true });
  writeFileSync(join(dataDir, "pids", `${name}.pid`), `${pid}\n`);
}

describe("servicesStatus", () => {
  it("is stopped without pid files", () => {
    expect(servicesStatus(layout)).toEqual([
      { name: "redis", address: "redis://127.0.0.1:6379", status: "stopped" },
      { name: "kafka", address: "127.0.0.1:9092", status: "stopped" },
    ]);
  });

  it("does not trust a pid file whose process is gone or runs another program", () => {
    writePid("redis", spawnSync("true").pid as number);
    const other = spawn("sleep", ["30"]);
    try {
      writePid("kafka", other.pid as number);
      expect(servicesStatus(layout).map((s) => s.status)).toEqual(["stopped", "stopped"]);
    } finally {
      other.kill("SIGKILL");
    }
  });

  it("reports a process that runs the expected program as running", () => {
    // `sh -c` with the program name in its arguments stands in for the real server's command line.
    const stand = spawn("sh", ["-c", "sleep 30 # redis-server"]);
    try {
      writePid("redis", stand.pid as number);
      expect(servicesStatus(layout)[0]).toEqual({ name: "redis", address: "redis://127.0.0.1:6379", status: "running", pid: stand.pid });
    } finally {
      stand.kill("SIGKILL");
    }
  });
});
