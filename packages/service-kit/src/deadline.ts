import { z } from "zod";

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
  let settled = false;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => {
      // Timers run before I/O in each turn of the event loop: on a busy process the answer may
      // already be waiting in the socket when the timer fires. Decide after this turn's I/O.
      setImmediate(() => {
        if (settled) return;
        controller.abort(new Error(`deadline of ${ms} ms exceeded`));
        resolve("timeout");
      });
    }, ms);
  });
  try {
    const outcome = await Promise.race([
      fn(controller.signal).then((value) => {
        settled = true;
        return { value };
      }),
      timeout,
    ]);
    const elapsed = performance.now() - t0;
    if (outcome === "timeout") return { ok: false, reason: "timeout", ms: elapsed };
    return { ok: true, value: outcome.value, ms: elapsed };
  } catch (error) {
    settled = true;
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

export interface CircuitBreakerOptions {
  /** Share of failed calls among the last `windowSize` that opens the breaker (0 < rate <= 1). */
  failureRate: number;
  /** Calls the window must hold before the rate counts: one late call among three is not an outage. */
  minimumCalls: number;
  /** Most recent calls the rate is computed over (default 100). */
  windowSize?: number;
  /** How long it stays open before one trial call is let through. */
  cooldownMs: number;
  now?: () => number;
}

/**
 * Stops calling a dependency that is failing, so requests stop paying its timeout. It opens on a
 * failure RATE over the last calls, not on a run of consecutive misses: under momentary CPU
 * contention a few late answers among many good ones do not degrade a healthy system, while a
 * dependency that is down fails every call and opens it within `minimumCalls`. After `cooldownMs`
 * one trial call is let through (half-open) and its outcome decides; a health probe that sees the
 * dependency answer again may close it at once with `success()`.
 */
export class CircuitBreaker {
  private readonly outcomes: Uint8Array;
  private next = 0;
  private filled = 0;
  private failures = 0;
  private openedAt: number | undefined;
  private trialInFlight = false;
  private opened = 0;

  constructor(
    readonly name: string,
    private readonly options: CircuitBreakerOptions,
  ) {
    if (!(options.failureRate > 0 && options.failureRate <= 1)) throw new RangeError(`failureRate must be in (0, 1], got ${options.failureRate}`);
    const size = options.windowSize ?? 100;
    if (!(options.minimumCalls >= 1 && options.minimumCalls <= size)) throw new RangeError(`minimumCalls must be in [1, windowSize], got ${options.minimumCalls}`);
    this.outcomes = new Uint8Array(size);
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  get state(): "closed" | "open" | "half-open" {
    if (this.openedAt === undefined) return "closed";
    return this.now() - this.openedAt >= this.options.cooldownMs ? "half-open" : "open";
  }

  /** Times it has opened since it was created. */
  get openings(): number {
    return this.opened;
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
    if (this.openedAt !== undefined) {
      // A successful trial (or a probe) closes it with a clean slate.
      this.openedAt = undefined;
      this.trialInFlight = false;
      this.reset();
      return;
    }
    this.record(0);
  }

  failure(): void {
    this.trialInFlight = false;
    if (this.openedAt !== undefined) {
      this.openedAt = this.now();
      return;
    }
    this.record(1);
    if (this.filled >= this.options.minimumCalls && this.failures / this.filled >= this.options.failureRate) {
      this.openedAt = this.now();
      this.opened++;
    }
  }

  private record(failed: 0 | 1): void {
    if (this.filled === this.outcomes.length) this.failures -= this.outcomes[this.next] as number;
    else this.filled++;
    this.outcomes[this.next] = failed;
    this.failures += failed;
    this.next = (this.next + 1) % this.outcomes.length;
  }

  private reset(): void {
    this.outcomes.fill(0);
    this.next = 0;
    this.filled = 0;
    this.failures = 0;
  }
}

/** The breaker settings, spread into a service's config schema under a prefix (e.g. FEATURE_BREAKER_). */
export function breakerConfig<P extends string>(prefix: P, defaults: { failureRate: number; minimumCalls: number; windowSize: number; cooldownMs: number }) {
  return {
    [`${prefix}FAILURE_RATE`]: z.coerce.number().gt(0).max(1).default(defaults.failureRate),
    [`${prefix}MIN_CALLS`]: z.coerce.number().int().positive().default(defaults.minimumCalls),
    [`${prefix}WINDOW`]: z.coerce.number().int().positive().default(defaults.windowSize),
    [`${prefix}COOLDOWN_MS`]: z.coerce.number().int().positive().default(defaults.cooldownMs),
  } as Record<`${P}${"FAILURE_RATE" | "MIN_CALLS" | "WINDOW" | "COOLDOWN_MS"}`, z.ZodDefault<z.ZodNumber>>;
}

/** The breaker options from settings named by `breakerConfig(prefix, ...)`. */
export function breakerOptions(config: Record<string, unknown>, prefix: string): CircuitBreakerOptions {
  return {
    failureRate: config[`${prefix}FAILURE_RATE`] as number,
    minimumCalls: config[`${prefix}MIN_CALLS`] as number,
    windowSize: config[`${prefix}WINDOW`] as number,
    cooldownMs: config[`${prefix}COOLDOWN_MS`] as number,
  };
}
