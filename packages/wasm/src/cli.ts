#!/usr/bin/env -S npx tsx
import { watToTs } from "./build";

const [watPath, tsPath] = process.argv.slice(2);
if (!watPath || !tsPath) {
  console.error("usage: wat-to-ts <kernel.wat> <kernel-wasm.ts>");
  process.exit(2);
}
await watToTs(watPath, tsPath);
console.error(`wrote ${tsPath}`);
