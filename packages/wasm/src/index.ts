/**
 * Runtime side of the project's hand-written WebAssembly kernels: compile a module from the
 * base64 bytes a package commits (generated from its .wat by `wat-to-ts`, see ./build) and
 * instantiate it, synchronously. @types/node does not declare the WebAssembly global, so the few
 * members used here are typed below.
 */

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, unknown>) => { exports: Record<string, unknown> };
}

const api = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
const modules = new Map<string, object>();

export const WASM_PAGE_BYTES = 65_536;

/** A fresh instance (own memory) of the module in `base64`; the compiled module is cached. */
export function instantiateBase64<T>(base64: string): T {
  let module = modules.get(base64);
  if (!module) {
    module = new api.Module(Buffer.from(base64, "base64"));
    modules.set(base64, module);
  }
  return new api.Instance(module, {}).exports as T;
}

/** Grows `memory` so that it holds at least `bytes`; true when it grew (old views are detached). */
export function ensureMemory(memory: WasmMemory, bytes: number): boolean {
  const have = memory.buffer.byteLength;
  if (bytes <= have) return false;
  memory.grow(Math.ceil((bytes - have) / WASM_PAGE_BYTES));
  return true;
}
