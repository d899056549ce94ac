import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ModelRegistry, RegistryError } from "./index";

const base = { model: "fraud-gbdt", dataWindow: { from: "2018-04-01", to: "2018-07-01" }, featureSchemaHash: "abc", metrics: { auc: 0.9 }, extra: {} };

describe("ModelRegistry", () => {
  it("publishes versions with file hashes, moves current, keeps previous for rollback", async () => {
    const registry = new ModelRegistry(fs.mkdtempSync(path.join(os.tmpdir(), "registry-")));
    const v1 = await registry.publish({ ...base, version: "v1" }, (dir) => fs.writeFileSync(path.join(dir, "model.json"), "{}"));
    expect(v1.manifest.files["model.json"]).toMatch(/^[0-9a-f]{64}$/);
    await registry.publish({ ...base, version: "v2" }, (dir) => fs.writeFileSync(path.join(dir, "model.json"), "[]"));
    expect(registry.aliases("fraud-gbdt")).toEqual({ current: "v2", previous: "v1" });
    expect(registry.open("fraud-gbdt").manifest.version).toBe("v2");
    expect(registry.rollback("fraud-gbdt")).toBe("v1");
    expect(registry.open("fraud-gbdt").manifest.version).toBe("v1");
    expect(fs.readFileSync(registry.open("fraud-gbdt", "v2").file("model.json"), "utf8")).toBe("[]");
  });

  it("refuses unknown versions, duplicate versions and a model built for other features", async () => {
    const registry = new ModelRegistry(fs.mkdtempSync(path.join(os.tmpdir(), "registry-")));
    expect(() => registry.open("fraud-gbdt")).toThrow(RegistryError);
    await registry.publish({ ...base, version: "v1" }, () => undefined);
    await expect(registry.publish({ ...base, version: "v1" }, () => undefined)).rejects.toMatchObject({ code: "CONFLICT" });
    expect(() => registry.open("fraud-gbdt", "current", "other")).toThrow(/feature schema/);
    expect(registry.versions("fraud-gbdt")).toEqual(["v1"]);
  });

  it("leaves nothing behind when writing the artifact fails", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "registry-"));
    const registry = new ModelRegistry(root);
    await expect(
      registry.publish({ ...base, version: "v9" }, () => {
        throw new Error("disk full");
      }),
    ).rejects.toThrow("disk full");
    expect(fs.readdirSync(path.join(root, "fraud-gbdt"))).toEqual([]);
  });
});

describe("artifact integrity", () => {
  it("refuses a byte-changed, truncated or missing file, and opens the intact version", async () => {
    const registry = new ModelRegistry(fs.mkdtempSync(path.join(os.tmpdir(), "registry-")));
    const v1 = await registry.publish({ ...base, version: "v1" }, (dir) => {
      fs.writeFileSync(path.join(dir, "model.json"), JSON.stringify({ leaves: [0.5, -0.25] }));
      fs.writeFileSync(path.join(dir, "index.bin"), Buffer.alloc(4096, 7));
    });
    expect(registry.open("fraud-gbdt").manifest.version).toBe("v1");

    fs.writeFileSync(v1.file("model.json"), JSON.stringify({ leaves: [-0.5, 0.25] }));
    expect(() => registry.open("fraud-gbdt")).toThrow(/model\.json does not match its manifest checksum/);
    expect(() => registry.open("fraud-gbdt", "current", { verify: false })).not.toThrow();
    fs.writeFileSync(v1.file("model.json"), JSON.stringify({ leaves: [0.5, -0.25] }));

    fs.truncateSync(v1.file("index.bin"), 1000);
    expect(() => registry.open("fraud-gbdt")).toThrow(expect.objectContaining({ code: "CORRUPT" }));
    fs.rmSync(v1.file("index.bin"));
    expect(() => registry.open("fraud-gbdt")).toThrow(/index\.bin is missing/);
  });
});
