/**
 * Hand-written WebAssembly kernels are kept as text (.wat) next to the code that calls them, and
 * committed as generated TypeScript (the module's bytes in base64) so that the libraries load
 * them synchronously with no build step and no runtime dependency. `assembleWat` is the one
 * assembler (wabt); each package's test re-assembles its .wat and checks the committed bytes.
 */
import { readFile, writeFile } from "node:fs/promises";
import wabtInit from "wabt";

export async function assembleWat(name: string, text: string): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const module = wabt.parseWat(name, text, { simd: true });
  try {
    module.validate();
    return Uint8Array.from(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}

export function generatedSource(watFile: string, bytes: Uint8Array): string {
  return (
    `// Generated from ${watFile} by \`npx wat-to-ts\` (@mlsd/wasm); do not edit.\n` +
    `export const WASM_BASE64 =\n  "${Buffer.from(bytes).toString("base64")}";\n`
  );
}

/** Assembles `watPath` and writes the generated module to `tsPath`. */
export async function watToTs(watPath: string, tsPath: string): Promise<void> {
  const bytes = await assembleWat(watPath, await readFile(watPath, "utf8"));
  const name = watPath.split("/").pop() as string;
  await writeFile(tsPath, generatedSource(name, bytes));
}
