/**
 * Process CPU microseconds (user + system) per call of `fn(i)` for i over 0..calls-1, over one
 * pass after a warm-up pass. CPU time is steadier than wall time on a shared machine: time spent
 * waiting for a core does not count.
 */
export function cpuMicrosPerCall(fn: (i: number) => unknown, calls: number): number {
  if (!(calls > 0)) throw new RangeError(`calls must be positive, got ${calls}`);
  for (let i = 0; i < calls; i++) fn(i);
  const start = process.cpuUsage();
  for (let i = 0; i < calls; i++) fn(i);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / calls;
}
