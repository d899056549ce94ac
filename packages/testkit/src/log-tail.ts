import { readFileSync } from "node:fs";

/** Last lines of a server's log, to put the real cause into a start-up error. */
export function tailFile(path: string, lines = 15): string {
  try {
    const text = readFileSync(path, "utf8").trimEnd();
    return text.split("\n").slice(-lines).join("\n");
  } catch {
    return `(no log at ${path})`;
  }
}
