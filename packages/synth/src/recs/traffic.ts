import type { RecWorld, RecWorldPreset } from "./world";

/** Day 0 of a synthetic recommendation world on the wall clock; its fractional days map onto it. */
export const REC_WORLD_ORIGIN_MS = Date.UTC(2024, 0, 1);

const DAY_MS = 86_400_000;

export function recWorldDayToMs(day: number, originMs = REC_WORLD_ORIGIN_MS): number {
  return Math.round(originMs + day * DAY_MS);
}

export function recWorldMsToDay(ms: number, originMs = REC_WORLD_ORIGIN_MS): number {
  return (ms - originMs) / DAY_MS;
}

export interface RecTraffic {
  /** Mean sessions per user over the world's period (simulateInteractions' `sessionsPerUser`). */
  sessionsPerUser: number;
  slateSize: number;
}

/**
 * The traffic each preset's training data is simulated with: the trainer learns from it, and a
 * live world (jobs/world) must keep it, or its own normal traffic looks like drift.
 */
export const REC_TRAFFIC_PRESETS: Readonly<Record<RecWorldPreset, Readonly<RecTraffic>>> = Object.freeze({
  small: Object.freeze({ sessionsPerUser: 8, slateSize: 10 }),
  demo: Object.freeze({ sessionsPerUser: 3, slateSize: 10 }),
  benchmark: Object.freeze({ sessionsPerUser: 1, slateSize: 10 }),
});

/**
 * Each user's mean sessions per day at `day`, as simulateInteractions draws them over the world's
 * period: sessionsPerUser x activity / days, from the user's signup on.
 */
export function sessionRatesPerDay(world: RecWorld, sessionsPerUser: number, day: number): Float64Array {
  const rates = new Float64Array(world.numUsers);
  const perDay = sessionsPerUser / world.options.days;
  for (let u = 0; u < world.numUsers; u++) {
    if ((world.users.signupDay[u] as number) <= day) rates[u] = perDay * (world.users.activity[u] as number);
  }
  return rates;
}
