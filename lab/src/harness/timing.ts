import { median } from "./stats";

/**
 * Median microseconds per call of `fn(i)` for i over 0..calls-1, over `repeats` timed passes after
 * one warm-up pass. Quote ratios of two such numbers measured side by side, not absolute times:
 * the machine is shared.
 */
export function microsPerCall(fn: (i: number) => unknown, calls: number, repeats = 7): number {
  if (!(calls > 0 && repeats > 0)) throw new RangeError("calls and repeats must be positive");
  let sink = 0;
  const pass = () => {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) {
      const r = fn(i);
      if (typeof r === "number") sink += r;
    }
    return ((performance.now() - t0) * 1000) / calls;
  };
  pass();
  const times = Array.from({ length: repeats }, pass);
  // Keeps the calls from being optimised away.
  if (sink === Number.MIN_VALUE) process.stderr.write("");
  return median(times);
}
