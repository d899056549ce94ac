import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PythonPeerError, readFloat64, readInt32, repoRoot, writeRaw } from "./index";

const dir = mkdtempSync(join(tmpdir(), "python-peers-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("python-peers", () => {
  it("round-trips typed arrays through raw files, bit for bit", () => {
    const f = Float64Array.from([1.5, -0, Number.NaN, 1e-300, -7]);
    writeRaw(join(dir, "f.f64"), f);
    expect(Array.from(readFloat64(join(dir, "f.f64")))).toEqual(Array.from(f));
    const i = Int32Array.from([3, -1, 2 ** 31 - 1]);
    writeRaw(join(dir, "i.i32"), i.subarray(1));
    expect(Array.from(readInt32(join(dir, "i.i32")))).toEqual([-1, 2 ** 31 - 1]);
  });

  it("finds the workspace root from inside a package and refuses a folder outside any", () => {
    expect(repoRoot(join(import.meta.dirname, ".."))).toBe(join(import.meta.dirname, "..", "..", ".."));
    expect(() => repoRoot(dir)).toThrow(PythonPeerError);
  });
});
