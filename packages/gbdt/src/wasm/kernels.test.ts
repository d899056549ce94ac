import { readFileSync } from "node:fs";
import { assembleWat } from "@mlsd/wasm/build";
import { describe, expect, it } from "vitest";
import { WASM_BASE64 as HISTOGRAM } from "./histogram-wasm";
import { WASM_BASE64 as PREDICT } from "./predict-wasm";

describe("WebAssembly kernels", () => {
  it.each([
    ["histogram.wat", HISTOGRAM],
    ["predict.wat", PREDICT],
  ])("%s is committed as the bytes it assembles to (npm run build:wasm)", async (file, committed) => {
    const text = readFileSync(new URL(`./${file}`, import.meta.url), "utf8");
    expect(Buffer.from(await assembleWat(file, text)).toString("base64")).toBe(committed);
  });
});
