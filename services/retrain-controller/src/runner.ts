import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import type { Design, TrainingResult, TrainingRunner } from "./controller";

export interface ProcessRunnerOptions {
  registryDir: string;
  storeDir: string;
  windows: { trainDays: number; gapDays: number; evalDays: number; labelHorizonDays: number };
  timeoutMs: number;
}

/**
 * Runs the trainer job as its own process (`trainer <design> --from-log --json`): training takes a
 * core and hundreds of MB for a minute or more, which must not stall this service's event loop,
 * and a crash in it must not take the controller down.
 */
export class ProcessTrainingRunner implements TrainingRunner {
  private readonly trainerDir: string;

  constructor(private readonly options: ProcessRunnerOptions) {
    this.trainerDir = path.dirname(createRequire(import.meta.url).resolve("@mlsd/trainer/package.json"));
  }

  train(design: Design, asOfMs: number): Promise<TrainingResult> {
    const o = this.options;
    const args = [
      "--import",
      "tsx",
      path.join(this.trainerDir, "src/cli.ts"),
      design,
      "--from-log",
      "--json",
      "--store",
      path.resolve(o.storeDir),
      "--registry",
      path.resolve(o.registryDir),
      "--as-of",
      new Date(asOfMs).toISOString(),
      "--train-days",
      String(o.windows.trainDays),
      "--gap-days",
      String(o.windows.gapDays),
      "--eval-days",
      String(o.windows.evalDays),
      "--label-horizon-days",
      String(o.windows.labelHorizonDays),
    ];
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, args, { cwd: this.trainerDir, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      child.stderr.on("data", (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4_000)));
      const timer = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs);
      child.on("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        const line = stdout.trim().split("\n").at(-1) ?? "";
        if (code === 0) {
          try {
            resolve(JSON.parse(line) as TrainingResult);
          } catch {
            reject(new Error(`trainer printed no result line: ${line.slice(0, 200)}`));
          }
          return;
        }
        const why = signal === "SIGKILL" ? `timed out after ${o.timeoutMs} ms` : `exited with ${code ?? signal}`;
        const last = stderr.trim().split("\n").filter((l) => /error|not enough|refuse|failed/i.test(l)).at(-1) ?? stderr.trim().split("\n").at(-1) ?? "";
        reject(new Error(`trainer ${why}: ${last}`));
      });
    });
  }
}
