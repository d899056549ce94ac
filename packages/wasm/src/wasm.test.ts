import { describe, expect, it } from "vitest";
import { assembleWat, generatedSource } from "./build";
import { ensureMemory, instantiateBase64, type WasmMemory } from "./index";

const WAT = `(module
  (memory (export "memory") 1)
  (func (export "sum") (param $p i32) (param $n i32) (result f64) (local $s f64)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $s (f64.add (local.get $s) (f64.load (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 8)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $s)))`;

interface Sum {
  memory: WasmMemory;
  sum(p: number, n: number): number;
}

describe("wasm", () => {
  it("assembles text, instantiates the bytes from base64 and runs them on its own memory", async () => {
    const bytes = await assembleWat("sum.wat", WAT);
    const base64 = /"([A-Za-z0-9+/=]+)"/.exec(generatedSource("sum.wat", bytes))?.[1] as string;
    const a = instantiateBase64<Sum>(base64);
    const b = instantiateBase64<Sum>(base64);
    new Float64Array(a.memory.buffer).set([1.5, 2, 4]);
    expect(a.sum(0, 3)).toBe(7.5);
    expect(b.sum(0, 3)).toBe(0);
    expect(ensureMemory(a.memory, 1000)).toBe(false);
    expect(ensureMemory(a.memory, 65_536 * 3 + 1)).toBe(true);
    expect(a.memory.buffer.byteLength).toBe(65_536 * 4);
    expect(a.sum(0, 3)).toBe(7.5);
  });

  it("rejects invalid text", async () => {
    await expect(assembleWat("bad.wat", "(module (func (result i32)))")).rejects.toThrow();
  });
});
