/**
 * A progress bar for long jobs, written to stderr. On a terminal it redraws one line in place with
 * rate and ETA; elsewhere (CI logs, pipes) it prints one line per 10 % so logs stay short.
 */

/** The part of a writable stream the bar needs (process.stderr fits; tests pass a fake). */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Units of work in the whole job; must be positive. */
  total: number;
  label?: string;
  /** Name of the unit shown with the rate, e.g. "rows" -> "12.3k rows/s". */
  unit?: string;
  stream?: ProgressStream;
  /** Milliseconds clock; injectable so tests control rate and ETA. */
  now?: () => number;
  /** On a terminal, redraw at most this often (a redraw per tick would dominate a fast loop). */
  minRedrawMs?: number;
}

export class ProgressOptionsError extends RangeError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "ProgressOptionsError";
  }
}

const BAR_WIDTH = 24;
const LOG_STEPS = 10;

export class Progress {
  private readonly total: number;
  private readonly label: string;
  private readonly unit: string;
  private readonly stream: ProgressStream;
  private readonly now: () => number;
  private readonly minRedrawMs: number;
  private readonly tty: boolean;
  private readonly startedAt: number;
  private completed = 0;
  private lastDrawAt = -Infinity;
  private lastLoggedStep = 0;
  private finished = false;

  constructor(options: ProgressOptions) {
    if (!(options.total > 0) || !Number.isFinite(options.total)) {
      throw new ProgressOptionsError("total", `must be a positive finite number, got ${options.total}`);
    }
    this.total = options.total;
    this.label = options.label ?? "progress";
    this.unit = options.unit ?? "items";
    this.stream = options.stream ?? process.stderr;
    this.now = options.now ?? (() => performance.now());
    this.minRedrawMs = options.minRedrawMs ?? 100;
    this.tty = this.stream.isTTY === true;
    this.startedAt = this.now();
  }

  /** Adds n completed units. */
  tick(n = 1): void {
    this.update(this.completed + n);
  }

  /** Sets the number of completed units (clamped to the total). */
  update(completed: number): void {
    if (this.finished) return;
    this.completed = Math.min(Math.max(completed, 0), this.total);
    const t = this.now();
    if (this.tty) {
      if (t - this.lastDrawAt >= this.minRedrawMs) {
        this.lastDrawAt = t;
        this.stream.write(`\r${this.line(t)}\x1b[K`);
      }
      return;
    }
    const step = Math.floor((this.completed / this.total) * LOG_STEPS);
    // The 100 % line is left to done(), which reports the total time.
    if (step > this.lastLoggedStep && step < LOG_STEPS) {
      this.lastLoggedStep = step;
      this.stream.write(`${this.line(t)}\n`);
    }
  }

  /** Ends the bar and prints the total time; later calls do nothing. */
  done(): void {
    if (this.finished) return;
    this.finished = true;
    const elapsedMs = this.now() - this.startedAt;
    const rate = elapsedMs > 0 ? (this.completed / elapsedMs) * 1000 : Infinity;
    const summary =
      `${this.label}: done, ${formatCount(this.completed)} ${this.unit} in ${formatDuration(elapsedMs)}` +
      (Number.isFinite(rate) ? ` (${formatCount(rate)} ${this.unit}/s)` : "");
    this.stream.write(this.tty ? `\r${summary}\x1b[K\n` : `${summary}\n`);
  }

  private line(t: number): string {
    const fraction = this.completed / this.total;
    const elapsedMs = t - this.startedAt;
    const rate = elapsedMs > 0 ? (this.completed / elapsedMs) * 1000 : 0;
    const eta = rate > 0 ? formatDuration(((this.total - this.completed) / rate) * 1000) : "?";
    const percent = `${(fraction * 100).toFixed(1)}%`;
    const counts = `${formatCount(this.completed)}/${formatCount(this.total)}`;
    const speed = `${formatCount(rate)} ${this.unit}/s`;
    if (!this.tty) return `${this.label}: ${percent} ${counts} ${speed} ETA ${eta}`;
    const filled = Math.round(fraction * BAR_WIDTH);
    const bar = `[${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}]`;
    const full = `${this.label} ${bar} ${percent} ${counts} ${speed} ETA ${eta}`;
    const width = this.stream.columns;
    return width !== undefined && width > 0 && full.length >= width ? full.slice(0, width - 1) : full;
  }
}

/** 1234 -> "1,234"; 12345 -> "12.3k"; 1.5e6 -> "1.50M" (short enough for one line). */
export function formatCount(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  if (Number.isInteger(n)) return n.toLocaleString("en-US");
  return n.toFixed(1);
}

/** Milliseconds as "850 ms", "12.3 s" or "2:05" / "1:02:05". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "?";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(s).padStart(2, "0")}`;
}
