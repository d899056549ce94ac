import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ModelRegistry } from "./index";

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures/move-loop.ts");
const STEPS = 150;

interface LoopReport {
  promoted: number;
  rolledBack: number;
  refused: number;
  started: number;
  ended: number;
}

describe("two processes moving aliases at once", () => {
  it("lose no move: the history is one unbroken chain and aliases.json is where it ends", async () => {
    const registry = new ModelRegistry(fs.mkdtempSync(path.join(os.tmpdir(), "registry-race-")));
    for (const prefix of ["a", "b"]) {
      for (let i = 0; i < 10; i++) await registry.publish({ model: "ranker-gbdt", version: `${prefix}${i}`, dataWindow: {}, featureSchemaHash: "h", metrics: {}, extra: {} }, () => undefined, {});
    }
    // Both start together once both are up (tsx compiles each for a while).
    const barrier = fs.mkdtempSync(path.join(os.tmpdir(), "registry-barrier-"));
    const run = (prefix: string) => promisify(execFile)(process.execPath, ["--import", "tsx", FIXTURE, registry.root, "ranker-gbdt", prefix, String(STEPS), barrier]);
    const outputs = await Promise.all([run("a"), run("b")]);
    const [a, b] = outputs.map((o) => JSON.parse(o.stdout) as LoopReport) as [LoopReport, LoopReport];
    expect(a.started).toBeLessThan(b.ended);
    expect(b.started).toBeLessThan(a.ended);
    expect(a.promoted + a.rolledBack + a.refused).toBe(STEPS);

    const history = registry.history("ranker-gbdt");
    const current = history.filter((m) => m.alias === "current");
    expect(current.filter((m) => m.action === "promote")).toHaveLength(a.promoted + b.promoted);
    expect(current.filter((m) => m.action === "rollback")).toHaveLength(a.rolledBack + b.rolledBack);
    expect(a.promoted + b.promoted).toBeGreaterThan(200);
    expect(new Set(current.map((m) => m.by))).toEqual(new Set(["a-process", "b-process"]));
    // Every move starts where the one before it ended: a lost update would show as a fork.
    for (const alias of ["current", "previous"]) {
      const chain = history.filter((m) => m.alias === alias);
      for (let i = 1; i < chain.length; i++) expect(chain[i]?.from, `${alias} line ${i}`).toBe(chain[i - 1]?.to);
    }
    const replayed: Record<string, string> = {};
    for (const m of history) {
      if (m.to === null) delete replayed[m.alias];
      else replayed[m.alias] = m.to;
    }
    expect(registry.aliases("ranker-gbdt")).toEqual(replayed);
    expect(fs.readdirSync(registry.root).filter((f) => f.startsWith(".lock"))).toEqual([]);
  }, 300_000);
});
