import type { ScaledClock } from "@mlsd/service-kit";

export const DAY_MS = 86_400_000;

/**
 * The real epoch millisecond at which the shared clock reads `worldMs`: the inverse of
 * ScaledClock.now(). The world waits until then to act, so every request's own time is "now" on
 * the services' clocks.
 */
export function realTimeOf(clock: ScaledClock, worldMs: number): number {
  return clock.originMs + (worldMs - clock.startMs) / clock.speed;
}

/** Events per real second for `perWorldDay` events per world day at this clock speed. */
export function realRate(perWorldDay: number, speed: number): number {
  return (perWorldDay * speed) / DAY_MS * 1000;
}

/** `2024-02-03 14:05` (UTC, minutes): how the progress line shows world time. */
export function worldStamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace("T", " ");
}

/**
 * A world time from a flag: an ISO date-time, or an offset from `startMs` such as `+2d`, `+36h`,
 * `+90m`, `+30s`.
 */
export function parseWorldTime(text: string, startMs: number): number {
  const offset = /^\+(\d+(?:\.\d+)?)(d|h|m|s)$/.exec(text);
  if (offset) {
    const unit = { d: DAY_MS, h: 3_600_000, m: 60_000, s: 1000 }[offset[2] as "d" | "h" | "m" | "s"];
    return startMs + Number(offset[1]) * unit;
  }
  const ms = /^\d{4}-\d{2}-\d{2}(T.*)?$/.test(text) ? Date.parse(text.includes("T") && !/(Z|[+-]\d{2}:?\d{2})$/.test(text) ? `${text}Z` : text) : Number.NaN;
  if (!Number.isFinite(ms)) throw new RangeError(`"${text}" is neither an ISO date-time nor an offset like +2d, +36h, +90m`);
  return ms;
}

/** Real milliseconds from `5s`, `2m`, `1h` or a bare number of seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  if (!m) throw new RangeError(`"${text}" is not a duration like 90s, 5m, 1h`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"];
  return Number(m[1]) * unit;
}
