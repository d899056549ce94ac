import { Rng } from "@mlsd/random";
import { LoadgenInputError, requirePositive } from "./errors";

export type ArrivalProcess = "constant" | "poisson";
export const ARRIVAL_PROCESSES: readonly ArrivalProcess[] = ["constant", "poisson"];

export interface ScheduleOptions {
  /** Requests per second. */
  rate: number;
  /** Arrivals are drawn in [0, spanMs). */
  spanMs: number;
  arrivals?: ArrivalProcess;
  /** Seed of the Poisson inter-arrival times. */
  seed?: number;
}

/** A schedule this long would not fit in memory as one array; no load test here needs it. */
export const MAX_ARRIVALS = 20_000_000;

/**
 * Send times fixed before the first request goes out, in milliseconds from the start: evenly
 * spaced, or a Poisson process (exponential gaps) with a seed. Fixing them up front is what makes
 * the load open: a slow answer cannot delay the next send.
 */
export function scheduleArrivals(options: ScheduleOptions): Float64Array {
  const { rate, spanMs } = options;
  const arrivals = options.arrivals ?? "constant";
  requirePositive("rate", rate);
  requirePositive("spanMs", spanMs);
  if (!ARRIVAL_PROCESSES.includes(arrivals)) throw new LoadgenInputError("arrivals", `must be constant or poisson, got "${String(arrivals)}"`);
  const expected = (rate * spanMs) / 1000;
  if (expected > MAX_ARRIVALS) throw new LoadgenInputError("rate", `${rate}/s over ${spanMs} ms is ${Math.round(expected)} requests, above ${MAX_ARRIVALS}`);

  if (arrivals === "constant") {
    const gap = 1000 / rate;
    // The epsilon keeps 1,000/s over 1,000 ms at 1,000 requests despite floating-point gaps.
    const count = Math.floor(expected + 1e-9);
    return Float64Array.from({ length: count }, (_, i) => i * gap);
  }
  const rng = new Rng(options.seed ?? 1);
  const perMs = rate / 1000;
  const out: number[] = [];
  for (let t = rng.exponential(perMs); t < spanMs; t += rng.exponential(perMs)) {
    out.push(t);
    if (out.length > MAX_ARRIVALS) throw new LoadgenInputError("rate", `the Poisson schedule exceeded ${MAX_ARRIVALS} requests`);
  }
  return Float64Array.from(out);
}
