import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";

/**
 * Versioned model artifacts on disk:
 *
 *   <root>/<model>/<version>/manifest.json   what the version is, its data window, metrics
 *   <root>/<model>/<version>/...             the artifact files themselves
 *   <root>/<model>/aliases.json              { "current": "<version>", "previous": ... }
 *
 * Services load the version an alias points at and can switch or roll back without a restart.
 * A version folder is written under a temporary name and renamed into place, so a reader never
 * sees half a model.
 */
export const ManifestSchema = z.object({
  model: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  version: z.string().min(1),
  createdAt: z.string(),
  /** The data the model was trained on, e.g. `{ from, to }` or a dataset name and seed. */
  dataWindow: z.record(z.unknown()),
  /** Hash of the feature list and semantics; a service refuses a model built for other features. */
  featureSchemaHash: z.string().min(1),
  metrics: z.record(z.unknown()).default({}),
  files: z.record(z.string()).default({}),
  /** Anything the serving side needs besides the files: thresholds, parameters. */
  extra: z.record(z.unknown()).default({}),
});
export type Manifest = z.infer<typeof ManifestSchema>;

const AliasesSchema = z.record(z.string());

export class RegistryError extends Error {
  constructor(
    readonly code: "NOT_FOUND" | "BAD_MANIFEST" | "SCHEMA_MISMATCH" | "CONFLICT" | "CORRUPT",
    message: string,
  ) {
    super(message);
    this.name = "RegistryError";
  }
}

export interface OpenOptions {
  /** Refuse a version trained on another feature schema. */
  featureSchemaHash?: string;
  /**
   * Check every file against the sha256 its manifest recorded (default true): a byte-changed or
   * truncated artifact is refused instead of served under a version that promises other bytes.
   */
  verify?: boolean;
}

/** The sha256 of a file, read in chunks (artifacts may be hundreds of MB). */
export function fileSha256(file: string): string {
  const hash = createHash("sha256");
  const fd = fs.openSync(file, "r");
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest("hex");
}

export interface RegisteredModel {
  manifest: Manifest;
  dir: string;
  file(name: string): string;
}

/** A version id that sorts by time and does not collide between two trainers. */
export function newVersion(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `${stamp}-${randomBytes(3).toString("hex")}`;
}

export class ModelRegistry {
  constructor(readonly root: string) {}

  private modelDir(model: string): string {
    return path.join(this.root, model);
  }

  /**
   * Writes a new version: `write(dir)` puts the artifact files into a fresh folder, then the
   * manifest (with a sha256 of each file) is written and the folder renamed into place.
   */
  async publish(
    manifest: Omit<Manifest, "createdAt" | "files" | "version"> & { version?: string },
    write: (dir: string) => Promise<void> | void,
    options: { alias?: string } = { alias: "current" },
  ): Promise<RegisteredModel> {
    const version = manifest.version ?? newVersion();
    const finalDir = path.join(this.modelDir(manifest.model), version);
    if (fs.existsSync(finalDir)) throw new RegistryError("CONFLICT", `${manifest.model}@${version} already exists`);
    const tmpDir = `${finalDir}.tmp-${randomBytes(4).toString("hex")}`;
    fs.mkdirSync(tmpDir, { recursive: true });
    try {
      await write(tmpDir);
      const files: Record<string, string> = {};
      for (const name of fs.readdirSync(tmpDir).sort()) files[name] = fileSha256(path.join(tmpDir, name));
      const full = ManifestSchema.parse({ ...manifest, version, createdAt: new Date().toISOString(), files });
      fs.writeFileSync(path.join(tmpDir, "manifest.json"), JSON.stringify(full, null, 2) + "\n");
      fs.renameSync(tmpDir, finalDir);
      if (options.alias) this.setAlias(manifest.model, options.alias, version);
      return this.open(full.model, version);
    } catch (error) {
      fs.rmSync(tmpDir, { recursive: true, force: true });
      throw error;
    }
  }

  versions(model: string): string[] {
    const dir = this.modelDir(model);
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !d.name.includes(".tmp-"))
      .map((d) => d.name)
      .sort();
  }

  aliases(model: string): Record<string, string> {
    const file = path.join(this.modelDir(model), "aliases.json");
    if (!fs.existsSync(file)) return {};
    return AliasesSchema.parse(JSON.parse(fs.readFileSync(file, "utf8")));
  }

  /** Points an alias at a version; the alias it replaces is kept as `previous` for rollback. */
  setAlias(model: string, alias: string, version: string): void {
    if (!this.versions(model).includes(version)) throw new RegistryError("NOT_FOUND", `${model}@${version} does not exist`);
    const aliases = this.aliases(model);
    if (alias === "current" && aliases.current && aliases.current !== version) aliases.previous = aliases.current;
    aliases[alias] = version;
    const file = path.join(this.modelDir(model), "aliases.json");
    const tmp = `${file}.tmp-${randomBytes(4).toString("hex")}`;
    fs.writeFileSync(tmp, JSON.stringify(aliases, null, 2) + "\n");
    fs.renameSync(tmp, file);
  }

  /** Swaps `current` back to `previous`. */
  rollback(model: string): string {
    const aliases = this.aliases(model);
    if (!aliases.previous) throw new RegistryError("NOT_FOUND", `${model} has no previous version to roll back to`);
    this.setAlias(model, "current", aliases.previous);
    return aliases.previous;
  }

  resolve(model: string, aliasOrVersion = "current"): string {
    const aliases = this.aliases(model);
    const version = aliases[aliasOrVersion] ?? aliasOrVersion;
    if (!this.versions(model).includes(version)) {
      throw new RegistryError("NOT_FOUND", `no ${model} model for "${aliasOrVersion}" in ${this.root} (train one first)`);
    }
    return version;
  }

  /**
   * Opens a version by alias or id: checks the manifest, the feature schema when one is expected,
   * and (unless told not to) every file's checksum.
   */
  open(model: string, aliasOrVersion = "current", options: OpenOptions | string = {}): RegisteredModel {
    const { featureSchemaHash: expectedFeatureSchemaHash, verify = true } = typeof options === "string" ? { featureSchemaHash: options } : options;
    const version = this.resolve(model, aliasOrVersion);
    const dir = path.join(this.modelDir(model), version);
    let manifest: Manifest;
    try {
      manifest = ManifestSchema.parse(JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")));
    } catch (error) {
      throw new RegistryError("BAD_MANIFEST", `${model}@${version}: unreadable manifest (${(error as Error).message})`);
    }
    if (expectedFeatureSchemaHash && manifest.featureSchemaHash !== expectedFeatureSchemaHash) {
      throw new RegistryError(
        "SCHEMA_MISMATCH",
        `${model}@${version} was trained on feature schema ${manifest.featureSchemaHash}, this service computes ${expectedFeatureSchemaHash}`,
      );
    }
    if (verify) {
      for (const [name, expected] of Object.entries(manifest.files)) {
        const file = path.join(dir, name);
        if (!fs.existsSync(file)) throw new RegistryError("CORRUPT", `${model}@${version}: ${name} is missing`);
        const actual = fileSha256(file);
        if (actual !== expected) throw new RegistryError("CORRUPT", `${model}@${version}: ${name} does not match its manifest checksum (sha256 ${actual.slice(0, 12)}..., expected ${expected.slice(0, 12)}...)`);
      }
    }
    return { manifest, dir, file: (name) => path.join(dir, name) };
  }
}
