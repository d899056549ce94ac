import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

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
