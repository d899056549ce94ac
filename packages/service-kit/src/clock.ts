import { z } from "zod";
import { AppError } from "./errors";

/**
 * The time a service believes it is. In production that is the wall clock. A simulated world
 * (the demo, the closed-loop experiments) runs faster than real time, from a start date its models
 * were trained around: every process of such a run is given the same three settings, so they all
 * agree on "now" without talking to each other:
 *
 *   now = CLOCK_START + (Date.now() - CLOCK_ORIGIN_MS) * CLOCK_SPEED
 *
 * Requests carry their own times (a transaction's time, a label's knownAt) and are checked against
 * this clock: a client cannot move the system's time.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** How many clock milliseconds pass per real millisecond. */
  readonly speed: number;
}

export const systemClock: Clock = { now: () => Date.now(), speed: 1 };

export class ScaledClock implements Clock {
  constructor(
    /** Clock time at `originMs`. */
    readonly startMs: number,
    /** Real epoch milliseconds when the clock read `startMs`. */
    readonly originMs: number,
    readonly speed: number,
    private readonly realNow: () => number = Date.now,
  ) {
    if (!(speed > 0)) throw new RangeError(`speed must be positive, got ${speed}`);
  }

  now(): number {
    return this.startMs + (this.realNow() - this.originMs) * this.speed;
  }
}

/** A clock that moves only when told to: for tests. */
export class ManualClock implements Clock {
  readonly speed = 1;
  constructor(private time: number) {}
  now(): number {
    return this.time;
  }
  set(time: number): void {
    this.time = time;
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

const isoOrEpoch = z.union([z.string().datetime({ offset: true }).transform((s) => Date.parse(s)), z.coerce.number().int()]);

/** The clock settings, spread into a service's config schema. */
export const clockConfig = {
  /** The simulated clock's time at CLOCK_ORIGIN_MS (ISO or epoch ms); unset: the wall clock. */
  CLOCK_START: isoOrEpoch.optional(),
  /** Real epoch ms at which the simulated clock read CLOCK_START; default: when the service starts. */
  CLOCK_ORIGIN_MS: z.coerce.number().int().positive().optional(),
  /** Simulated milliseconds per real millisecond (e.g. 1440: a day a minute). */
  CLOCK_SPEED: z.coerce.number().positive().default(1),
  /**
   * How far ahead of the service's clock a request's own time may be, in real milliseconds (it is
   * multiplied by CLOCK_SPEED): clients' clocks and network delays differ by this much at most.
   */
  MAX_CLOCK_SKEW_MS: z.coerce.number().int().positive().default(2_000),
  /** How far behind the clock a request's own time may be, in clock days (late events are refused). */
  MAX_EVENT_AGE_DAYS: z.coerce.number().positive().default(30),
};

export interface ClockConfig {
  CLOCK_START?: number | undefined;
  CLOCK_ORIGIN_MS?: number | undefined;
  CLOCK_SPEED: number;
  MAX_CLOCK_SKEW_MS: number;
  MAX_EVENT_AGE_DAYS: number;
}

export function clockFromConfig(config: ClockConfig, realNow: () => number = Date.now): Clock {
  if (config.CLOCK_START === undefined) return config.CLOCK_SPEED === 1 ? systemClock : new ScaledClock(realNow(), realNow(), config.CLOCK_SPEED, realNow);
  return new ScaledClock(config.CLOCK_START, config.CLOCK_ORIGIN_MS ?? realNow(), config.CLOCK_SPEED, realNow);
}

/** The window of times a request may carry, relative to the service's clock. */
export class TimeBounds {
  constructor(
    readonly clock: Clock,
    /** Clock milliseconds a time may be ahead of now. */
    readonly maxAheadMs: number,
    /** Clock milliseconds a time may be behind now. */
    readonly maxBehindMs: number,
  ) {}

  static fromConfig(clock: Clock, config: Pick<ClockConfig, "MAX_CLOCK_SKEW_MS" | "MAX_EVENT_AGE_DAYS">): TimeBounds {
    return new TimeBounds(clock, config.MAX_CLOCK_SKEW_MS * clock.speed, config.MAX_EVENT_AGE_DAYS * 86_400_000);
  }

  /**
   * Epoch ms of `iso` when it lies within the bounds; a 400 naming `field` otherwise. A missing
   * time means now.
   */
  check(iso: string | undefined, field: string): number {
    const now = this.clock.now();
    if (iso === undefined) return now;
    const t = Date.parse(iso);
    if (t > now + this.maxAheadMs) {
      throw new AppError("VALIDATION_FAILED", `invalid ${field}: in the future`, [{ field, message: `is ${Math.round(t - now)} ms ahead of the service clock (${new Date(now).toISOString()}); at most ${this.maxAheadMs} ms are allowed` }]);
    }
    if (t < now - this.maxBehindMs) {
      throw new AppError("VALIDATION_FAILED", `invalid ${field}: too old`, [{ field, message: `is more than ${Math.round(this.maxBehindMs / 86_400_000)} days before the service clock (${new Date(now).toISOString()})` }]);
    }
    return t;
  }
}
