import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { TestkitError } from "./errors";

/** Absolute path of an executable, looked up on PATH unless it already names a path. */
export function findExecutable(name: string, pathVar: string | undefined): string | undefined {
  const candidates = name.includes("/") ? [name] : (pathVar ?? "").split(delimiter).filter(Boolean).map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/** `findExecutable` on PATH, or a MISSING_DEPENDENCY error that says how to install it. */
export function requireBinary(name: string, how: string): string {
  const path = findExecutable(name, process.env.PATH);
  if (!path) throw new TestkitError("MISSING_DEPENDENCY", `${name} not found: ${how} (or run bash scripts/ensure-deps)`);
  return path;
}
