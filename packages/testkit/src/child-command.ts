import { constants } from "node:os";

/** The command after `--` (npm and tsx pass their own flags before it). */
export function commandAfterSeparator(argv: readonly string[]): string[] {
  const at = argv.indexOf("--");
  return at < 0 ? [...argv] : argv.slice(at + 1);
}

export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  if (signal) return 128 + (constants.signals[signal] ?? 0);
  return 1;
}
