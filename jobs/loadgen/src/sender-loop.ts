/** What the sender thread's loop acts through: time, sleep, the in-flight count, connections. */
export interface SenderPort {
  /** Milliseconds since the schedule's zero. */
  now(): number;
  /** Blocks the thread for about `ms` (woken early only to stop). */
  sleep(ms: number): void;
  stopped(): boolean;
  /** Requests sent and not yet answered, timed out or failed. */
  inFlight(): number;
  /** A connection free to carry a request, or -1 when none is. */
  take(): number;
  /** Writes request `index` on connection `slot` (and counts it in flight). */
  send(slot: number, index: number): void;
  /** No free connection: hands request `index` to the main thread, which opens one (and counts it in flight). */
  overflow(index: number): void;
  /** The in-flight cap was reached: request `index` is not sent. */
  drop(index: number): void;
}

/**
 * The sender thread's whole job: sleep until the next request is due, then send every request due
 * by now, in order, none early; a request due while `maxInFlight` are unanswered is dropped (and
 * counted), never delayed. Self-contained (no reference outside its parameters) because its source
 * is what the sender thread runs (`toString()`), and so the same code is unit-tested with a fake port.
 */
export function followSchedule(offsets: Float64Array, maxInFlight: number, port: SenderPort): void {
  let next = 0;
  while (next < offsets.length && !port.stopped()) {
    const wait = (offsets[next] as number) - port.now();
    if (wait > 0) {
      port.sleep(wait);
      continue;
    }
    const now = port.now();
    while (next < offsets.length && (offsets[next] as number) <= now) {
      const index = next++;
      if (port.inFlight() >= maxInFlight) {
        port.drop(index);
        continue;
      }
      const slot = port.take();
      if (slot >= 0) port.send(slot, index);
      else port.overflow(index);
    }
  }
}
