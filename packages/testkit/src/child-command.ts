import { spawn } from "node:child_process";
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

/** Runs a command to its end, its stdout and stderr together in `output`. */
export function runCommand(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, output }));
  });
}
