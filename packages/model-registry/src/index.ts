import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { LockTimeoutError, withFileLock, type LockOptions } from "./lock";

export { LockTimeoutError, withFileLock, type LockOptions } from "./lock";

/**
 * Versioned model artifacts on disk (README.md has the whole layout):
 *
 *   <root>/<model>/<version>/manifest.json   what the version is, its data window, metrics
 *   <root>/<model>/<version>/...             the artifact files themselves
 *   <root>/<model>/aliases.json              { "current": "<version>", "previous": ... }
 *   <root>/<model>/pins.json                 { "<alias>": { by, reason, at } }
 *   <root>/<model>/alias-history.jsonl       one line per alias move: who, why, from, to
 *   <root>/.lock                             held while any alias moves
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

export const MODEL_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;
/** Alias names: lower case, starting with a letter, so none can be mistaken for a generated version id. */
export const ALIAS_NAME_PATTERN = /^[a-z][a-z0-9-]{0,39}$/;
/** The aliases the registry gives a meaning to; any other valid name is a named arm (e.g. `challenger`). */
export const STANDARD_ALIASES = ["candidate", "current", "previous"] as const;

export const AliasActionSchema = z.enum(["publish", "promote", "rollback", "pin", "unpin", "set"]);
export type AliasAction = z.infer<typeof AliasActionSchema>;

export const PinSchema = z.object({ by: z.string().min(1), reason: z.string().min(1), at: z.string() });
export type Pin = z.infer<typeof PinSchema>;

/** One line of `alias-history.jsonl`: one alias moved (or pinned, unpinned), by whom and why. */
export const AliasMoveSchema = z.object({
  model: z.string().min(1),
  alias: z.string().min(1),
  /** Null when the alias did not exist before. */
  from: z.string().nullable(),
  /** Null when the alias was removed (a promoted candidate). */
  to: z.string().nullable(),
  at: z.string(),
  by: z.string().min(1),
  reason: z.string().min(1),
  action: AliasActionSchema,
  /** Whether a controller made the move (pins refuse those) rather than an operator. */
  automatic: z.boolean(),
  /** The pin an operator's explicit move went past, when there was one. */
  overrodePin: PinSchema.nullable(),
  /** Compatibility checks that failed and were overridden (a forced promotion, or a rollback). */
  overrodeChecks: z.array(z.string()).nullable(),
});
export type AliasMove = z.infer<typeof AliasMoveSchema>;

const AliasesSchema = z.record(z.string());
const PinsSchema = z.record(PinSchema);

export type RegistryErrorCode = "NOT_FOUND" | "BAD_MANIFEST" | "SCHEMA_MISMATCH" | "CONFLICT" | "CORRUPT" | "PINNED" | "INCOMPATIBLE" | "LOCKED" | "INVALID";

export class RegistryError extends Error {
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    /** For PINNED the pin, for INCOMPATIBLE the failed checks. */
    readonly details?: unknown,
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

/** What a compatibility check found: `ok` false with the reasons, and notes that do not refuse. */
export interface CompatibilityReport {
  ok: boolean;
  reasons: string[];
  notes: string[];
}

/**
 * Whether `model@version` may serve beside what `against.alias` points at in the other models
 * (the feature schema, a ranker's retrieval model). The registry knows no formats: the check is
 * given to it (`@mlsd/model-formats/compatibility` has the real one) and runs on every promotion.
 */
export type CompatibilityCheck = (registry: ModelRegistry, model: string, version: string, against: { alias: string }) => CompatibilityReport;

export interface RegistryOptions {
  /** Runs before `current` moves in promote and pin (and, as a warning, in rollback). */
  compatibility?: CompatibilityCheck;
  lock?: LockOptions;
}

/** Who moves an alias and why; both end up in the history. */
export interface MoveOptions {
  /** A token role, user or service name, e.g. `admin:alice` or `retrain-controller`. */
  by: string;
  /** Required text: the history is only as useful as its reasons. */
  reason: string;
  /** A controller's move: refused on a pinned alias (operators' explicit moves go past a pin, and say so). */
  automatic?: boolean;
}

export interface PromoteOptions extends MoveOptions {
  /** The alias or version to promote (default `candidate`). */
  from?: string;
  /** Promote although the compatibility checks failed (operators only; the failures are recorded). */
  force?: boolean;
}

export interface MoveResult {
  model: string;
  /** The version the operation's alias points at afterwards (for promote and rollback: `current`). */
  version: string;
  /** The history lines written, in order. */
  moves: AliasMove[];
  /** The compatibility report when the operation moved `current` and a check is configured. */
  compatibility: CompatibilityReport | null;
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

interface AliasState {
  aliases: Readonly<Record<string, string>>;
  pins: Readonly<Record<string, Pin>>;
}

interface Change {
  alias: string;
  to: string | null;
  /** Write a history line even when the alias does not move (pin, unpin). */
  record?: boolean;
}

interface Plan {
  changes: Change[];
  pins?: Record<string, Pin>;
  /** Check this version against the other models before `current` points at it. */
  check?: { version: string; refuse: boolean };
  version: string;
}

/** Legacy callers of setAlias and publish that name nobody. */
const UNATTRIBUTED: MoveOptions = { by: "unknown", reason: "no reason given" };

/** Without a prototype: a caller's name such as `constructor` or `toString` must find nothing, not Object's method. */
function lookupTable<T>(entries: Record<string, T>): Record<string, T> {
  return Object.assign(Object.create(null) as Record<string, T>, entries);
}

function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.tmp-${randomBytes(4).toString("hex")}`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + "\n");
  fs.renameSync(tmp, file);
}

function checkMover(options: MoveOptions): Required<MoveOptions> {
  const by = typeof options.by === "string" ? options.by.trim() : "";
  const reason = typeof options.reason === "string" ? options.reason.trim() : "";
  if (by.length === 0 || by.length > 200) throw new RegistryError("INVALID", "by: say who moves the alias (1-200 characters)");
  if (reason.length === 0 || reason.length > 2000) throw new RegistryError("INVALID", "reason: say why the alias moves (1-2000 characters)");
  return { by, reason, automatic: options.automatic === true };
}

export class ModelRegistry {
  private readonly compatibility: CompatibilityCheck | undefined;
  private readonly lockOptions: LockOptions;

  constructor(
    readonly root: string,
    options: RegistryOptions = {},
  ) {
    this.compatibility = options.compatibility;
    this.lockOptions = options.lock ?? {};
  }

  private modelDir(model: string): string {
    if (!MODEL_NAME_PATTERN.test(model)) throw new RegistryError("INVALID", `"${model.slice(0, 80)}" is not a model name (${MODEL_NAME_PATTERN.source})`);
    return path.join(this.root, model);
  }

  /**
   * Writes a new version: `write(dir)` puts the artifact files into a fresh folder, then the
   * manifest (with a sha256 of each file) is written and the folder renamed into place. With an
   * alias (default `current`), the alias moves to it as a `publish` in the history.
   */
  async publish(
    manifest: Omit<Manifest, "createdAt" | "files" | "version"> & { version?: string },
    write: (dir: string) => Promise<void> | void,
    options: { alias?: string } & Partial<MoveOptions> = { alias: "current" },
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
      if (options.alias) {
        this.setAlias(manifest.model, options.alias, version, {
          by: options.by ?? UNATTRIBUTED.by,
          reason: options.reason ?? `published ${version}`,
          automatic: options.automatic ?? false,
          action: "publish",
        });
      }
      return this.open(full.model, version);
    } catch (error) {
      fs.rmSync(tmpDir, { recursive: true, force: true });
      throw error;
    }
  }

  /** The models with at least one version, sorted. */
  models(): string[] {
    if (!fs.existsSync(this.root)) return [];
    return fs
      .readdirSync(this.root, { withFileTypes: true })
      .filter((d) => d.isDirectory() && MODEL_NAME_PATTERN.test(d.name))
      .map((d) => d.name)
      .filter((model) => this.versions(model).length > 0)
      .sort();
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
    if (!fs.existsSync(file)) return lookupTable({});
    return lookupTable(AliasesSchema.parse(JSON.parse(fs.readFileSync(file, "utf8"))));
  }

  /** The pinned aliases: who pinned each and why. */
  pins(model: string): Record<string, Pin> {
    const file = path.join(this.modelDir(model), "pins.json");
    if (!fs.existsSync(file)) return lookupTable({});
    return lookupTable(PinsSchema.parse(JSON.parse(fs.readFileSync(file, "utf8"))));
  }

  /** The alias history, oldest first (the last `limit` lines when given). */
  history(model: string, options: { limit?: number } = {}): AliasMove[] {
    const file = path.join(this.modelDir(model), "alias-history.jsonl");
    if (!fs.existsSync(file)) return [];
    const lines = fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim().length > 0);
    const moves = lines.map((line, i) => {
      try {
        return AliasMoveSchema.parse(JSON.parse(line));
      } catch (error) {
        throw new RegistryError("BAD_MANIFEST", `${file}: line ${i + 1} is not an alias move (${(error as Error).message.slice(0, 200)})`);
      }
    });
    return options.limit === undefined ? moves : moves.slice(Math.max(0, moves.length - options.limit));
  }

  /** A version's manifest as written, without checking its files (listings); `open` verifies. */
  manifest(model: string, version: string): Manifest {
    if (!this.versions(model).includes(version)) throw new RegistryError("NOT_FOUND", `${model}@${version} does not exist`);
    const file = path.join(this.modelDir(model), version, "manifest.json");
    try {
      return ManifestSchema.parse(JSON.parse(fs.readFileSync(file, "utf8")));
    } catch (error) {
      throw new RegistryError("BAD_MANIFEST", `${model}@${version}: unreadable manifest (${(error as Error).message})`);
    }
  }

  /**
   * Points an alias at a version; when `current` moves, the version it leaves becomes `previous`.
   * The low-level move (no compatibility check): publishing, candidates and named arms. Operators
   * and controllers move `current` with `promote`, `rollback` and `pin`.
   */
  setAlias(model: string, alias: string, version: string, options: Partial<MoveOptions> & { action?: AliasAction } = {}): MoveResult {
    this.checkAlias(model, alias);
    this.requireVersion(model, version);
    const mover = { by: options.by ?? UNATTRIBUTED.by, reason: options.reason ?? UNATTRIBUTED.reason, automatic: options.automatic ?? false };
    return this.transact(model, mover, options.action ?? "set", (s) => {
      const changes: Change[] = [];
      if (alias === "current" && s.aliases.current && s.aliases.current !== version) changes.push({ alias: "previous", to: s.aliases.current });
      changes.push({ alias, to: version });
      return { changes, version };
    });
  }

  /**
   * Moves `current` to the candidate (or the alias or version `from` names) and the version it
   * leaves to `previous`. The candidate's files are verified first, then, holding the lock, the
   * compatibility check runs against the other models' `current`; a failure refuses with
   * INCOMPATIBLE unless `force` (operators only). A promoted candidate alias is cleared.
   */
  promote(model: string, options: PromoteOptions): MoveResult {
    const mover = checkMover(options);
    if (mover.automatic && options.force) throw new RegistryError("INVALID", "force: automatic promotions may not override compatibility checks");
    const from = options.from ?? "candidate";
    const target = this.resolveFrom(model, from);
    this.open(model, target);
    return this.transact(model, mover, "promote", (s) => {
      const now = this.resolveFrom(model, from, s.aliases);
      if (now !== target) throw new RegistryError("CONFLICT", `${model} "${from}" moved from ${target} to ${now} while ${target} was being verified; promote again`);
      if (s.aliases.current === target) throw new RegistryError("CONFLICT", `${model}@${target} is already current`);
      const changes = currentTo(s, target);
      if (s.aliases.candidate === target && !s.pins.candidate) changes.push({ alias: "candidate", to: null });
      return { changes, check: { version: target, refuse: !options.force }, version: target };
    });
  }

  /**
   * Swaps `current` and `previous`: current goes back to the version before, and `previous` keeps
   * the one rolled away from, so a second rollback rolls forward again. Never refused for
   * compatibility (the version it returns to was in service; refusing would keep the one being
   * rolled away from serving), but failed checks are returned and recorded.
   */
  rollback(model: string, options: MoveOptions = UNATTRIBUTED): MoveResult {
    const mover = checkMover(options);
    const target = this.aliases(model).previous;
    if (!target) throw new RegistryError("NOT_FOUND", `${model} has no previous version to roll back to`);
    this.open(model, target);
    return this.transact(model, mover, "rollback", (s) => {
      if (s.aliases.previous !== target) throw new RegistryError("CONFLICT", `${model} "previous" moved from ${target} to ${s.aliases.previous ?? "nothing"} while it was being verified; roll back again`);
      return { changes: [{ alias: "current", to: target }, { alias: "previous", to: s.aliases.current ?? null }], check: { version: target, refuse: false }, version: target };
    });
  }

  /**
   * Pins an alias (at `version`, moving it there first, or where it points now): automatic moves
   * of a pinned alias are refused with PINNED until it is unpinned; an operator's explicit move
   * still works and records the pin it went past. Pins are operators' decisions, never automatic.
   */
  pin(model: string, alias: string, version: string | undefined, options: MoveOptions & { force?: boolean }): MoveResult {
    const mover = checkMover(options);
    if (mover.automatic) throw new RegistryError("INVALID", "automatic: pins are set and removed by operators, not controllers");
    this.checkAlias(model, alias);
    if (version !== undefined) {
      this.requireVersion(model, version);
      if (alias === "current") this.open(model, version);
    }
    return this.transact(model, mover, "pin", (s) => {
      const target = version ?? s.aliases[alias];
      if (!target) throw new RegistryError("NOT_FOUND", `${model} has no alias "${alias}" to pin; give a version`);
      const pins = { ...s.pins, [alias]: { by: mover.by, reason: mover.reason, at: new Date().toISOString() } };
      if (alias === "current" && s.aliases.current !== target) {
        return { changes: currentTo(s, target), pins, check: { version: target, refuse: !options.force }, version: target };
      }
      return { changes: [{ alias, to: target, record: true }], pins, version: target };
    });
  }

  /** Removes a pin: automatic moves of the alias are allowed again. */
  unpin(model: string, alias: string, options: MoveOptions): MoveResult {
    const mover = checkMover(options);
    if (mover.automatic) throw new RegistryError("INVALID", "automatic: pins are set and removed by operators, not controllers");
    this.checkAlias(model, alias);
    return this.transact(model, mover, "unpin", (s) => {
      if (!s.pins[alias]) throw new RegistryError("NOT_FOUND", `${model} alias "${alias}" is not pinned`);
      const { [alias]: _removed, ...pins } = s.pins;
      const at = s.aliases[alias] ?? null;
      return { changes: [{ alias, to: at, record: true }], pins, version: at ?? "" };
    });
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
    const manifest = this.manifest(model, version);
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

  private checkAlias(model: string, alias: string): void {
    if (typeof alias !== "string" || !ALIAS_NAME_PATTERN.test(alias)) {
      throw new RegistryError("INVALID", `alias: "${String(alias).slice(0, 80)}" is not an alias name (lower case, starting with a letter, at most 40 characters)`);
    }
    if (this.versions(model).includes(alias)) throw new RegistryError("INVALID", `alias: "${alias}" is also a version of ${model}; pick another name`);
  }

  private requireVersion(model: string, version: string): void {
    if (!this.versions(model).includes(version)) throw new RegistryError("NOT_FOUND", `${model}@${version} does not exist`);
  }

  /** An alias (looked up in `aliases`) or an existing version id. */
  private resolveFrom(model: string, from: string, aliases: Readonly<Record<string, string>> = this.aliases(model)): string {
    const version = aliases[from];
    if (version) return version;
    if (this.versions(model).includes(from)) return from;
    if (this.versions(model).length === 0) throw new RegistryError("NOT_FOUND", `no model ${model} in ${this.root}`);
    throw new RegistryError("NOT_FOUND", `${model} has no alias or version "${from}"`);
  }

  /**
   * The one place aliases change. Holding the registry lock it reads the aliases and pins, lets
   * `plan` decide from them (so a decision is never taken on a state another process has since
   * changed), refuses automatic moves of pinned aliases, runs the compatibility check when
   * `current` moves, then appends the history lines (fsynced) and replaces aliases.json and
   * pins.json (written whole and renamed). The history is written first: a crash between the two
   * leaves a recorded move that did not happen, never a move without a record.
   */
  private transact(model: string, mover: Required<MoveOptions>, action: AliasAction, plan: (state: AliasState) => Plan): MoveResult {
    const dir = this.modelDir(model);
    if (this.versions(model).length === 0) throw new RegistryError("NOT_FOUND", `no model ${model} in ${this.root}`);
    fs.mkdirSync(this.root, { recursive: true });
    try {
      return withFileLock(
        path.join(this.root, ".lock"),
        () => {
          const state: AliasState = { aliases: this.aliases(model), pins: this.pins(model) };
          const p = plan(state);
          let compatibility: CompatibilityReport | null = null;
          let overrodeChecks: string[] | null = null;
          if (p.check && this.compatibility) {
            compatibility = this.compatibility(this, model, p.check.version, { alias: "current" });
            if (!compatibility.ok) {
              if (p.check.refuse) {
                throw new RegistryError("INCOMPATIBLE", `${model}@${p.check.version} is not compatible with what is current: ${compatibility.reasons.join("; ")}`, { reasons: compatibility.reasons });
              }
              overrodeChecks = compatibility.reasons;
            }
          }
          const at = new Date().toISOString();
          const moves: AliasMove[] = [];
          for (const change of p.changes) {
            const from = state.aliases[change.alias] ?? null;
            if (from === change.to && !change.record) continue;
            const pin = state.pins[change.alias] ?? null;
            const moving = from !== change.to;
            if (pin && moving && mover.automatic) {
              throw new RegistryError("PINNED", `${model} "${change.alias}" is pinned at ${from ?? "nothing"} by ${pin.by} (${pin.reason}); automatic moves are refused until an operator unpins it`, { alias: change.alias, pin });
            }
            moves.push({ model, alias: change.alias, from, to: change.to, at, by: mover.by, reason: mover.reason, action, automatic: mover.automatic, overrodePin: pin && moving ? pin : null, overrodeChecks });
          }
          const aliases = { ...state.aliases };
          for (const m of moves) {
            if (m.to === null) delete aliases[m.alias];
            else aliases[m.alias] = m.to;
          }
          this.appendHistory(dir, moves);
          if (moves.some((m) => m.from !== m.to)) writeJsonAtomic(path.join(dir, "aliases.json"), aliases);
          if (p.pins) writeJsonAtomic(path.join(dir, "pins.json"), p.pins);
          return { model, version: p.version, moves, compatibility };
        },
        this.lockOptions,
      );
    } catch (error) {
      if (error instanceof LockTimeoutError) throw new RegistryError("LOCKED", `the registry is locked by another process: ${error.message}`);
      throw error;
    }
  }

  private appendHistory(dir: string, moves: readonly AliasMove[]): void {
    if (moves.length === 0) return;
    const fd = fs.openSync(path.join(dir, "alias-history.jsonl"), "a");
    try {
      fs.writeSync(fd, moves.map((m) => JSON.stringify(m) + "\n").join(""));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** `current` to `target`, the version it leaves to `previous`. */
function currentTo(s: AliasState, target: string): Change[] {
  const changes: Change[] = [];
  if (s.aliases.current && s.aliases.current !== target) changes.push({ alias: "previous", to: s.aliases.current });
  changes.push({ alias: "current", to: target });
  return changes;
}
