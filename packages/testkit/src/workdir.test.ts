import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createWorkDir, sweepStale } from "./workdir";

const root = mkdtempSync(join(tmpdir(), "mlsd-testkit-sweep-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("sweepStale", () => {
  it("removes folders of dead runs and keeps those of live ones", () => {
    const dead = spawnSync("true").pid;
    const live = process.ppid;
    for (const name of [`${dead}-kafka-abc`, `${live}-redis-def`, `${process.pid}-redis-own`, "notes"]) {
      mkdirSync(join(root, name));
    }
    expect(sweepStale(root)).toEqual([`${dead}-kafka-abc`]);
    expect(existsSync(join(root, `${live}-redis-def`))).toBe(true);
    expect(existsSync(join(root, `${process.pid}-redis-own`))).toBe(true);
    expect(existsSync(join(root, "notes"))).toBe(true);
  });
});

describe("createWorkDir", () => {
  it("makes a fresh folder named after this process", () => {
    const a = createWorkDir("redis");
    const b = createWorkDir("redis");
    expect(a).not.toBe(b);
    expect(existsSync(a)).toBe(true);
    expect(a.split("/").at(-1)).toMatch(new RegExp(`^${process.pid}-redis-`));
  });
});
