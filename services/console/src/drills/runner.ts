import fs from "node:fs";
import path from "node:path";
import { AppError } from "@mlsd/service-kit";
import { badModel } from "./bad-model";
import { corruptModel } from "./corrupt-model";
import { driftInjected } from "./drift-injected";
import { kafkaDown } from "./kafka-down";
import type { Drill, DrillContext, DrillOptions } from "./drill";
import { overload } from "./overload";
import { redisDown, redisSlow } from "./redis-faults";
import { serviceKilled } from "./service-killed";
import { kafkaBrokerKilled } from "./kafka-broker-killed";
import { redisPrimaryKilled } from "./redis-primary-killed";
import { replicaKilled } from "./replica-killed";
import { renderReport, type DrillReport } from "./report";

export const DRILLS: readonly Drill[] = [redisDown, redisSlow, kafkaDown, badModel, corruptModel, serviceKilled, driftInjected, overload, redisPrimaryKilled, kafkaBrokerKilled, replicaKilled];

export const DEFAULT_DRILL_OPTIONS: Record<string, DrillOptions> = {
  "redis-down": { faultSeconds: 10, baselineSeconds: 5, afterSeconds: 15, rate: 20 },
  "bad-model": { faultSeconds: 90, baselineSeconds: 5, afterSeconds: 3, rate: 20 },
  "corrupt-model": { faultSeconds: 6, baselineSeconds: 5, afterSeconds: 5, rate: 20 },
  "redis-slow": { faultSeconds: 10, baselineSeconds: 5, afterSeconds: 15, rate: 20 },
  "kafka-down": { faultSeconds: 15, baselineSeconds: 5, afterSeconds: 10, rate: 20 },
  "service-killed": { faultSeconds: 60, baselineSeconds: 5, afterSeconds: 15, rate: 20 },
  // The demo's count window holds a week of the world's decisions (13k): at 100/s the shifted ones
  // become a large enough part of it within a couple of minutes; at 20/s it would take ten.
  "drift-injected": { faultSeconds: 240, baselineSeconds: 10, afterSeconds: 20, rate: 100, multiple: 10 },
  // The base rate: the demo's own fraud load (200/s) passes its budgets; 3x it is past what the service carries on 2 shared cores.
  overload: { faultSeconds: 15, baselineSeconds: 10, afterSeconds: 10, rate: 200, multiple: 3 },
  // The cluster drills (npm run demo -- --topology cluster), under the world's traffic.
  "redis-primary-killed": { faultSeconds: 20, baselineSeconds: 10, afterSeconds: 20, rate: 20 },
  "kafka-broker-killed": { faultSeconds: 15, baselineSeconds: 10, afterSeconds: 15, rate: 20 },
  "replica-killed": { faultSeconds: 60, baselineSeconds: 10, afterSeconds: 10, rate: 50 },
};

export interface DrillRun {
  id: string;
  drill: string;
  status: "running" | "done" | "failed";
  startedAt: string;
  options: DrillOptions;
  expectations: string[];
  log: string[];
  report: DrillReport | null;
  /** Markdown of the report, and where it was saved when asked. */
  markdown: string | null;
  savedTo: string | null;
  error: string | null;
}

/** Runs one drill at a time (two faults at once would blur both reports) and keeps the recent runs. */
export class DrillRunner {
  private readonly runs: DrillRun[] = [];
  private current: Promise<void> | null = null;

  constructor(
    private readonly ctx: Omit<DrillContext, "say" | "adminToken"> & { adminToken: string | undefined },
    private readonly reportsDir: string,
  ) {}

  list(): { name: string; description: string; expectations: string[]; defaults: DrillOptions; unavailable: string | null }[] {
    return DRILLS.map((d) => {
      const defaults = DEFAULT_DRILL_OPTIONS[d.name] as DrillOptions;
      return { name: d.name, description: d.description, expectations: d.expectations(defaults), defaults, unavailable: this.unavailable(d) };
    });
  }

  private unavailable(drill: Drill): string | null {
    if (this.ctx.adminToken === undefined) return "set ADMIN_TOKEN: drills act with it";
    return drill.unavailable(this.ctx);
  }

  start(name: string, overrides: Partial<DrillOptions>, save: boolean, command: string): DrillRun {
    const drill = DRILLS.find((d) => d.name === name);
    if (!drill) throw new AppError("NOT_FOUND", `no drill ${name}; drills: ${DRILLS.map((d) => d.name).join(", ")}`);
    const why = this.unavailable(drill);
    if (why !== null) throw new AppError("CONFLICT", `${name} cannot run here: ${why}`);
    if (this.current) throw new AppError("CONFLICT", `a drill is running (${this.runs.at(-1)?.drill}); one at a time`);
    const options = { ...(DEFAULT_DRILL_OPTIONS[name] as DrillOptions), ...overrides };
    const run: DrillRun = {
      id: `${name}-${Date.now().toString(36)}`,
      drill: name,
      status: "running",
      startedAt: new Date().toISOString(),
      options,
      expectations: drill.expectations(options),
      log: [],
      report: null,
      markdown: null,
      savedTo: null,
      error: null,
    };
    this.runs.push(run);
    if (this.runs.length > 20) this.runs.shift();
    const say = (line: string) => {
      run.log.push(`${((Date.now() - Date.parse(run.startedAt)) / 1000).toFixed(1)} s  ${line}`);
      this.ctx.logger.info({ drill: name }, line);
    };
    say(`expectations: ${run.expectations.join(" | ")}`);
    this.current = drill
      .run({ ...this.ctx, adminToken: this.ctx.adminToken as string, say }, options)
      .then((report) => {
        run.report = report;
        run.markdown = renderReport(report, command);
        if (save) {
          fs.mkdirSync(this.reportsDir, { recursive: true });
          run.savedTo = path.join(this.reportsDir, `${name}.md`);
          fs.writeFileSync(run.savedTo, run.markdown);
        }
        run.status = "done";
        say(`done: ${report.pass ? "PASS" : "FAIL"}`);
      })
      .catch((error: unknown) => {
        run.status = "failed";
        run.error = (error as Error).message;
        say(`failed: ${run.error}`);
      })
      .finally(() => (this.current = null));
    return run;
  }

  get(id: string): DrillRun {
    const run = this.runs.find((r) => r.id === id);
    if (!run) throw new AppError("NOT_FOUND", `no drill run ${id}`);
    return run;
  }

  recent(): DrillRun[] {
    return [...this.runs].reverse();
  }

  /** Waits for the drill in progress (shutdown). */
  async drain(): Promise<void> {
    await this.current;
  }
}
