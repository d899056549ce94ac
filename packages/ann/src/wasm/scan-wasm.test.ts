import { readFileSync } from "node:fs";
import { assembleWat } from "@mlsd/wasm/build";
import { describe, expect, it } from "vitest";
import { WASM_BASE64 } from "./scan-wasm";

describe("scan kernel", () => {
  it("is committed as the bytes scan.wat assembles to (npm run build:wasm)", async () => {
    const text = readFileSync(new URL("./scan.wat", import.meta.url), "utf8");
    expect(Buffer.from(await assembleWat("scan.wat", text)).toString("base64")).toBe(WASM_BASE64);
  });
});
