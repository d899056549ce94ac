import wabtFactory from "wabt";

/**
 * The one hot loop of the dense routines, in WebAssembly with 128-bit SIMD (two doubles per
 * instruction): C[i][j] -= sum_t A[i][t] * B[t][j] over a block of rows and columns, optionally
 * only on and below the diagonal. A 4 x 4 register tile keeps eight accumulators; B's row
 * segment is loaded once per t and used by four rows of A. Pointers are byte offsets into the
 * shared memory, strides are in doubles, and every range is a multiple of 4 (callers pad).
 *
 * Kept as text and assembled at start-up by wabt: the source is what is reviewed, no binary
 * is committed, and no compiler is needed to build the project.
 */
const GEMM_WAT = `
(module
  (import "env" "memory" (memory 1 65536))
  (func (export "gemm_sub")
    (param $c i32) (param $ldc i32) (param $i0 i32) (param $i1 i32) (param $j0 i32) (param $j1 i32)
    (param $a i32) (param $lda i32) (param $b i32) (param $ldb i32) (param $kd i32) (param $lower i32)
    (local $i i32) (local $j i32) (local $jend i32) (local $t i32)
    (local $pa0 i32) (local $pa1 i32) (local $pa2 i32) (local $pa3 i32) (local $pb i32) (local $pc i32)
    (local $lda8 i32) (local $ldb8 i32) (local $ldc8 i32)
    (local $y0 v128) (local $y1 v128) (local $w v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $lda8 (i32.shl (local.get $lda) (i32.const 3)))
    (local.set $ldb8 (i32.shl (local.get $ldb) (i32.const 3)))
    (local.set $ldc8 (i32.shl (local.get $ldc) (i32.const 3)))
    (local.set $i (local.get $i0))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $i1)))
        (local.set $jend (local.get $j1))
        (if (i32.and (i32.ne (local.get $lower) (i32.const 0))
                     (i32.lt_u (i32.add (local.get $i) (i32.const 4)) (local.get $jend)))
          (then (local.set $jend (i32.add (local.get $i) (i32.const 4)))))
        (local.set $j (local.get $j0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $j) (local.get $jend)))
            (local.set $c00 (v128.const i64x2 0 0)) (local.set $c01 (v128.const i64x2 0 0))
            (local.set $c10 (v128.const i64x2 0 0)) (local.set $c11 (v128.const i64x2 0 0))
            (local.set $c20 (v128.const i64x2 0 0)) (local.set $c21 (v128.const i64x2 0 0))
            (local.set $c30 (v128.const i64x2 0 0)) (local.set $c31 (v128.const i64x2 0 0))
            (local.set $pa0 (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $lda8))))
            (local.set $pa1 (i32.add (local.get $pa0) (local.get $lda8)))
            (local.set $pa2 (i32.add (local.get $pa1) (local.get $lda8)))
            (local.set $pa3 (i32.add (local.get $pa2) (local.get $lda8)))
            (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 3))))
            (local.set $t (local.get $kd))
            (loop $inner
              (local.set $y0 (v128.load (local.get $pb)))
              (local.set $y1 (v128.load offset=16 (local.get $pb)))
              (local.set $w (v128.load64_splat (local.get $pa0)))
              (local.set $c00 (f64x2.add (local.get $c00) (f64x2.mul (local.get $w) (local.get $y0))))
              (local.set $c01 (f64x2.add (local.get $c01) (f64x2.mul (local.get $w) (local.get $y1))))
              (local.set $w (v128.load64_splat (local.get $pa1)))
              (local.set $c10 (f64x2.add (local.get $c10) (f64x2.mul (local.get $w) (local.get $y0))))
              (local.set $c11 (f64x2.add (local.get $c11) (f64x2.mul (local.get $w) (local.get $y1))))
              (local.set $w (v128.load64_splat (local.get $pa2)))
              (local.set $c20 (f64x2.add (local.get $c20) (f64x2.mul (local.get $w) (local.get $y0))))
              (local.set $c21 (f64x2.add (local.get $c21) (f64x2.mul (local.get $w) (local.get $y1))))
              (local.set $w (v128.load64_splat (local.get $pa3)))
              (local.set $c30 (f64x2.add (local.get $c30) (f64x2.mul (local.get $w) (local.get $y0))))
              (local.set $c31 (f64x2.add (local.get $c31) (f64x2.mul (local.get $w) (local.get $y1))))
              (local.set $pa0 (i32.add (local.get $pa0) (i32.const 8)))
              (local.set $pa1 (i32.add (local.get $pa1) (i32.const 8)))
              (local.set $pa2 (i32.add (local.get $pa2) (i32.const 8)))
              (local.set $pa3 (i32.add (local.get $pa3) (i32.const 8)))
              (local.set $pb (i32.add (local.get $pb) (local.get $ldb8)))
              (local.set $t (i32.sub (local.get $t) (i32.const 1)))
              (br_if $inner (i32.gt_s (local.get $t) (i32.const 0))))
            (local.set $pc (i32.add (local.get $c)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $ldc)) (local.get $j)) (i32.const 3))))
            (v128.store (local.get $pc) (f64x2.sub (v128.load (local.get $pc)) (local.get $c00)))
            (v128.store offset=16 (local.get $pc) (f64x2.sub (v128.load offset=16 (local.get $pc)) (local.get $c01)))
            (local.set $pc (i32.add (local.get $pc) (local.get $ldc8)))
            (v128.store (local.get $pc) (f64x2.sub (v128.load (local.get $pc)) (local.get $c10)))
            (v128.store offset=16 (local.get $pc) (f64x2.sub (v128.load offset=16 (local.get $pc)) (local.get $c11)))
            (local.set $pc (i32.add (local.get $pc) (local.get $ldc8)))
            (v128.store (local.get $pc) (f64x2.sub (v128.load (local.get $pc)) (local.get $c20)))
            (v128.store offset=16 (local.get $pc) (f64x2.sub (v128.load offset=16 (local.get $pc)) (local.get $c21)))
            (local.set $pc (i32.add (local.get $pc) (local.get $ldc8)))
            (v128.store (local.get $pc) (f64x2.sub (v128.load (local.get $pc)) (local.get $c30)))
            (v128.store offset=16 (local.get $pc) (f64x2.sub (v128.load offset=16 (local.get $pc)) (local.get $c31)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $cols)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows)))))
`;

// The WebAssembly API as far as used here (Node has it; the project's TypeScript lib has no DOM types).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export interface GemmKernel {
  readonly memory: WasmMemory;
  /** C[i][j] -= sum_{t < kd} A[i][t] B[t][j] for i in [i0, i1), j in [j0, j1) (and j < i + 4 when `lower`). */
  gemmSub(c: number, ldc: number, i0: number, i1: number, j0: number, j1: number, a: number, lda: number, b: number, ldb: number, kd: number, lower: boolean): void;
}

let compiled: Promise<object> | undefined;

/** Assembles the kernel once per process; each call gets its own memory of `bytes` (rounded up to 64 KiB pages). */
export async function gemmKernel(bytes: number): Promise<GemmKernel> {
  compiled ??= (async () => {
    const wabt = await wabtFactory();
    const parsed = wabt.parseWat("gemm.wat", GEMM_WAT, { simd: true });
    try {
      return new wasm.Module(parsed.toBinary({}).buffer);
    } finally {
      parsed.destroy();
    }
  })();
  const module = await compiled;
  const pages = Math.max(1, Math.ceil(bytes / 65536));
  if (pages > 65536) throw new RangeError(`bytes: ${bytes} exceeds the 4 GiB a WebAssembly memory can address`);
  const memory = new wasm.Memory({ initial: pages, maximum: pages });
  const instance = new wasm.Instance(module, { env: { memory } });
  const fn = instance.exports.gemm_sub as (...args: number[]) => void;
  return {
    memory,
    gemmSub: (c, ldc, i0, i1, j0, j1, a, lda, b, ldb, kd, lower) => fn(c, ldc, i0, i1, j0, j1, a, lda, b, ldb, kd, lower ? 1 : 0),
  };
}
