/** The outcome of a call made under a deadline: a value, or why there is none. */
export type DeadlineResult<T> =
  | { ok: true; value: T; ms: number }
  | { ok: false; reason: "timeout"; ms: number }
  | { ok: false; reason: "error"; error: unknown; ms: number };

/**
 * Runs `fn` with an AbortSignal that fires after `ms`. Failure and timeout come back as values:
 * on the hot path they select a fallback rather than unwind the request.
 */
export async function withDeadline<T>(
  ms: number,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<DeadlineResult<T>> {
  const t0 = performance.now();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`deadline of ${ms} ms exceeded`));
      resolve("timeout");
    }, ms);
  });
  try {
    const outcome = await Promise.race([fn(controller.signal).then((value) => ({ value })), timeout]);
    const elapsed = performance.now() - t0;
    if (outcome === "timeout") return { ok: false, reason: "timeout", ms: elapsed };
    return { ok: true, value: outcome.value, ms: elapsed };
  } catch (error) {
    return { ok: false, reason: "error", error, ms: performance.now() - t0 };
  } finally {
    clearTimeout(timer);
  }
}

/** A request-wide budget that stages draw from: each call gets what is left, not a fixed slice. */
export class Deadline {
  private readonly endsAt: number;

  constructor(budgetMs: number) {
    this.endsAt = performance.now() + budgetMs;
  }

  remaining(): number {
    return Math.max(0, this.endsAt - performance.now());
  }

  expired(): boolean {
    return this.remaining() <= 0;
  }

  /** Runs `fn` with the smaller of `capMs` and what remains of the budget. */
  run<T>(fn: (signal: AbortSignal) => Promise<T>, capMs = Infinity): Promise<DeadlineResult<T>> {
    return withDeadline(Math.min(capMs, this.remaining()), fn);
  }
}

/**
 * Stops calling a dependency that keeps failing, so requests stop paying its timeout; after
 * `cooldownMs` one trial call is let through (half-open) and its outcome decides.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | undefined;
  private trialInFlight = false;

  constructor(
    readonly name: string,
    private readonly options: { failureThreshold: number; cooldownMs: number; now?: () => number } = {
      failureThreshold: 5,
      cooldownMs: 2_000,
    },
  ) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  get state(): "closed" | "open" | "half-open" {
    if (this.openedAt === undefined) return "closed";
    return this.now() - this.openedAt >= this.options.cooldownMs ? "half-open" : "open";
  }

  /** Whether a call may go through now. */
  allow(): boolean {
    const state = this.state;
    if (state === "closed") return true;
    if (state === "open" || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.openedAt = undefined;
    this.trialInFlight = false;
  }

  failure(): void {
    this.trialInFlight = false;
    this.failures++;
    if (this.openedAt !== undefined || this.failures >= this.options.failureThreshold) {
      this.openedAt = this.now();
    }
  }
}
