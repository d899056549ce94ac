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

/**
 * The first error lines of a server's log (log4j ERROR/FATAL lines and the exception lines after
 * them): a broker that fails to start logs its cause once, then dozens of shutdown lines, so the
 * tail alone hides it.
 */
export function firstErrorLines(path: string, max = 10): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return `(no log at ${path})`;
  }
  const picked: string[] = [];
  let afterError = 0;
  for (const line of text.split("\n")) {
    if (/\b(ERROR|FATAL)\b/.test(line)) {
      picked.push(line);
      afterError = 3;
    } else if (afterError > 0 && line.trim().length > 0 && !/^\[\d{4}-/.test(line)) {
      // An exception's class and message, or its first frames.
      picked.push(line);
      afterError--;
    } else {
      afterError = 0;
    }
    if (picked.length >= max) break;
  }
  return picked.length > 0 ? picked.join("\n") : "(no ERROR or FATAL lines)";
}
