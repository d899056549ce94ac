/**
 * Python reference peers for benchmarks (XGBoost, LightGBM, faiss, hnswlib): a virtual
 * environment under `<repo>/.cache/python-peers/<name>` installed from PyPI with the bench's own
 * requirements file, re-installed only when that file changes, and a runner that passes data
 * through files and reads one JSON report from the script's last line of output.
 */
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

export class PythonPeerError extends Error {
  override readonly name = "PythonPeerError";
}

/** The folder holding the workspace root package-lock.json, searched upwards from `start`. */
export function repoRoot(start: string = process.cwd()): string {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, "package-lock.json")) && existsSync(join(dir, "packages"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new PythonPeerError(`no repository root (package-lock.json next to packages/) above ${start}`);
    dir = parent;
  }
}

export interface PythonEnvOptions {
  /** Folder name under .cache/python-peers. */
  name: string;
  /** A pip requirements file (pinned lines). */
  requirements: string;
  /** Interpreter that creates the venv. Default python3. */
  basePython?: string;
  /** Reports what is being installed (it can take a minute on first use). */
  log?: (line: string) => void;
}

function run(command: string, args: string[], options: SpawnSyncOptions = {}): string {
  const result = spawnSync(command, args, { encoding: "utf8", maxBuffer: 1 << 28, ...options });
  if (result.error) throw new PythonPeerError(`${command} ${args.join(" ")}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new PythonPeerError(`${command} ${args.slice(0, 3).join(" ")} ... exited ${result.status}:\n${String(result.stderr).slice(-4000)}`);
  }
  return String(result.stdout);
}

/** Creates (once) and returns the venv's python, with the requirements installed. */
export function ensurePythonEnv(options: PythonEnvOptions): string {
  const log = options.log ?? ((line: string) => console.error(line));
  const requirements = readFileSync(options.requirements, "utf8");
  const stamp = createHash("sha256").update(requirements).digest("hex");
  const dir = join(repoRoot(dirname(options.requirements)), ".cache", "python-peers", options.name);
  const python = join(dir, "bin", "python");
  const stampFile = join(dir, "requirements.sha256");
  if (existsSync(python) && existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp) return python;
  mkdirSync(dir, { recursive: true });
  if (!existsSync(python)) {
    log(`python peers: creating ${dir}`);
    run(options.basePython ?? "python3", ["-m", "venv", dir]);
  }
  log(`python peers: pip install -r ${options.requirements} (from PyPI, first use only)`);
  run(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", options.requirements], { stdio: ["ignore", "pipe", "pipe"] });
  writeFileSync(stampFile, stamp);
  return python;
}

/**
 * Runs `script` with `args` and returns the JSON object printed on its last stdout line. Scripts
 * pin their own thread counts (and OMP_WAIT_POLICY=PASSIVE: spinning OpenMP threads on a shared
 * machine burn the time slices of the process they wait for) before importing their library.
 */
export function runPythonJson<T>(python: string, script: string, args: string[]): T {
  const stdout = run(python, [script, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const last = stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new PythonPeerError(`${script} did not end with a JSON line; its output ended with:\n${stdout.slice(-2000)}`);
  }
}

/** Writes a typed array as raw little-endian bytes (numpy.fromfile reads it back). */
export function writeRaw(path: string, data: Float64Array | Float32Array | Int32Array): void {
  writeFileSync(path, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

export function readFloat64(path: string): Float64Array {
  const bytes = readFileSync(path);
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

export function readInt32(path: string): Int32Array {
  const bytes = readFileSync(path);
  return new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}
