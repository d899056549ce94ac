import type { Clock } from "@mlsd/loadgen";
import { Counter, Gauge, type Registry } from "prom-client";
import { recsSkewGauges, type RecsSkewReport } from "./recs-skew";
import { worldStamp } from "./timeline";

/**
 * The recommender's skew check, run periodically beside the world's traffic: each check compares
 * the answers logged since the previous one (a world-time window ending `settleMs` before the
 * clock and at the newest answer the log holds, so the event logger has written them and the
 * events they read), sampled and capped by
 * `measure`, and sets the gauges. Checks never overlap, and one's cost is bounded by its window
 * and cap, not by how long the world has run.
 */

export interface SkewWindow {
  from: number;
  to: number;
}

export interface RecsSkewCheckerOptions {
  /** One check of a world-time window (measureRecsSkew on the offline store, bound to its base state, sample and cap). */
  measure(window: SkewWindow): Promise<RecsSkewReport>;
  /** The services' clock, in world ms. */
  worldNow(): number;
  /**
   * The newest answer the log holds (world ms; null: none yet): a window never ends past it, so
   * answers the event logger has not written yet are not skipped as absent, however far it lags.
   */
  logReached(): Promise<number | null>;
  /** Real time for the schedule. */
  timer: Clock;
  /** Real ms between the end of one check and the start of the next. */
  everyMs: number;
  /** World ms where the log starts (the history's end): the first window starts here. */
  fromMs: number;
  /** World ms a window stays behind the clock: how far the event logger may lag. */
  settleMs: number;
  /**
   * A window whose answers read offsets the log does not reach yet (the logger lags) is checked
   * again, grown to the next check's end, up to this many times (default 3); then it is reported as it is.
   */
  maxRetries?: number;
  /** Gauges and counters go here (null: none). */
  registry: Registry | null;
  log(line: string): void;
}

export type SkewCheckOutcome = "published" | "no-answers" | "retry" | "failed" | "nothing-new";

export interface SkewCheckResult {
  outcome: SkewCheckOutcome;
  window: SkewWindow | null;
  report: RecsSkewReport | null;
  line: string;
}

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;

/** One line of a report: what was compared, mismatches overall and the worst feature. */
export function skewSummary(report: RecsSkewReport): string {
  const worst = report.features.reduce<RecsSkewReport["features"][number] | null>((w, f) => (w === null || f.mismatchRate > w.mismatchRate ? f : w), null);
  const mismatches = report.features.reduce((n, f) => n + f.mismatches, 0);
  return (
    `${report.answers} answers (${report.rows} item rows) compared of ${report.logged} logged (${report.ranked} ranked, ${report.sampled} sampled${report.skipped > 0 ? `, ${report.skipped} over the cap` : ""}); ` +
    `${mismatches} mismatching values in ${report.answersWithMismatch} answers over ${report.features.length} features` +
    (worst && worst.mismatches > 0 ? ` (worst ${worst.feature} ${pct(worst.mismatchRate)})` : "") +
    `; ${report.answersWithLogGap} answers past the log`
  );
}

export class RecsSkewChecker {
  private readonly gauges: ReturnType<typeof recsSkewGauges> | null;
  private readonly checks: Counter<"outcome"> | null;
  private readonly lastCheck: Gauge | null;
  private from: number;
  private retries = 0;
  private cancel: (() => void) | null = null;
  private running: Promise<SkewCheckResult> | null = null;
  private stopped = true;
  /** The last report set on the gauges, and its window. */
  last: { report: RecsSkewReport; window: SkewWindow } | null = null;
  /** Checks run, by outcome. */
  readonly outcomes: Record<SkewCheckOutcome, number> = { published: 0, "no-answers": 0, retry: 0, failed: 0, "nothing-new": 0 };

  constructor(private readonly options: RecsSkewCheckerOptions) {
    if (!(options.everyMs > 0)) throw new RangeError(`everyMs: must be positive, got ${options.everyMs}`);
    if (!(options.settleMs >= 0)) throw new RangeError(`settleMs: must be >= 0, got ${options.settleMs}`);
    this.from = options.fromMs;
    const registry = options.registry;
    this.gauges = registry ? recsSkewGauges(registry) : null;
    this.checks = registry ? new Counter({ name: "recs_skew_checks_total", help: "Skew checks run, by outcome (published, no-answers, retry, failed, nothing-new)", labelNames: ["outcome"] as const, registers: [registry] }) : null;
    this.lastCheck = registry ? new Gauge({ name: "recs_skew_last_published_window_end_seconds", help: "World time (epoch s) where the window of the last published skew check ends", registers: [registry] }) : null;
  }

  /** Checks every `everyMs` (the first after one interval) until stop(). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  /** Stops the schedule and waits for a check in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel?.();
    this.cancel = null;
    if (this.running) await this.running;
  }

  /** One check now (after the one in progress, if any). */
  async check(): Promise<SkewCheckResult> {
    while (this.running) await this.running;
    this.running = this.run();
    try {
      return await this.running;
    } finally {
      this.running = null;
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.cancel = this.options.timer.setTimer(this.options.everyMs, () => {
      this.cancel = null;
      void this.check()
        .catch((error: Error) => this.options.log(`skew check: unexpected error: ${error.stack ?? error.message}`))
        .finally(() => this.schedule());
    });
  }

  private async run(): Promise<SkewCheckResult> {
    let to = this.options.worldNow() - this.options.settleMs;
    try {
      // Past the newest logged answer by a millisecond: the window's end is exclusive.
      to = Math.min(to, ((await this.options.logReached()) ?? Number.NEGATIVE_INFINITY) + 1);
    } catch (error) {
      return this.finish("failed", null, null, `skew check: reading how far the log goes failed: ${(error as Error).message}`);
    }
    if (!(to > this.from)) return this.finish("nothing-new", null, null, Number.isFinite(to) ? `skew check: nothing new logged before ${worldStamp(to)}` : "skew check: no answer logged yet");
    const window = { from: this.from, to };
    const span = `world ${worldStamp(window.from)} -> ${worldStamp(window.to)}`;
    let report: RecsSkewReport;
    const t0 = this.options.timer.now();
    try {
      report = await this.options.measure(window);
    } catch (error) {
      return this.finish("failed", window, null, `skew check: ${span}: failed: ${(error as Error).message}`);
    }
    const took = `${((this.options.timer.now() - t0) / 1000).toFixed(1)} s`;
    if (report.answersWithLogGap > 0 && this.retries < (this.options.maxRetries ?? 3)) {
      this.retries++;
      return this.finish("retry", window, report, `skew check: ${span}: ${report.answersWithLogGap} answers read events the log does not hold yet: checked again next time (${took})`);
    }
    this.retries = 0;
    this.from = to;
    if (report.answers === 0) return this.finish("no-answers", window, report, `skew check: ${span}: no ranked answer to compare (${report.logged} logged) (${took})`);
    this.gauges?.set(report);
    this.lastCheck?.set(to / 1000);
    this.last = { report, window };
    return this.finish("published", window, report, `skew check: ${span}: ${skewSummary(report)} (${took})`);
  }

  private finish(outcome: SkewCheckOutcome, window: SkewWindow | null, report: RecsSkewReport | null, line: string): SkewCheckResult {
    this.outcomes[outcome]++;
    this.checks?.inc({ outcome });
    if (outcome !== "nothing-new") this.options.log(line);
    return { outcome, window, report, line };
  }
}
