import { Worker } from "node:worker_threads";
import type { Wake } from "./scheduler";

/**
 * The worker's whole program. It holds the schedule and never returns to its own event loop: it
 * sleeps in `Atomics.wait`, whose timeout is a kernel high-resolution timer (tens of microseconds
 * late, not the whole milliseconds of a libuv timer), and at each send time wakes the main thread
 * with a message, unless one is still unread (the main thread then sends everything due when it
 * reads it). The main thread sleeps in its event loop meanwhile, so answers keep being read, and
 * nothing spins. Plain JavaScript, so it runs the same under tsx, vitest and node.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const control = new Int32Array(workerData.control, 0, 2);
const startNs = new BigInt64Array(workerData.control, 8, 1);
const offsets = new Float64Array(workerData.offsets);
const STATE = 0, PENDING = 1, IDLE = 0, RUNNING = 1;
parentPort.postMessage("ready");
while (Atomics.load(control, STATE) === IDLE) Atomics.wait(control, STATE, IDLE);
const start = Atomics.load(startNs, 0);
// Rounded up: the main thread must find a request due when woken for it, never a hair early.
const dueAt = (i) => start + BigInt(Math.ceil(offsets[i] * 1e6));
let i = 0;
while (i < offsets.length && Atomics.load(control, STATE) === RUNNING) {
  const left = dueAt(i) - process.hrtime.bigint();
  if (left > 0n) {
    Atomics.wait(control, STATE, RUNNING, Number(left) / 1e6);
    continue;
  }
  const now = process.hrtime.bigint();
  while (i < offsets.length && dueAt(i) <= now) i++;
  if (Atomics.compareExchange(control, PENDING, 0, 1) === 0) parentPort.postMessage(0);
}
`;

const STATE = 0;
const PENDING = 1;
const RUNNING = 1;
const STOPPED = 2;
/** A wake-up lost to a bug would hold the schedule up; this much later the main thread looks anyway. */
const WATCHDOG_MS = 10;

/**
 * Wakes the scheduler at each send time of a schedule with sub-millisecond resolution, on the
 * main thread, never before the time. Node's own timers fire on whole milliseconds, and late ticks
 * then send in bursts; this lets each request go out within tens of microseconds of its time.
 * Use: `start(offsets)`, then `begin(startMs)` as the schedule's zero is read, pass `wake` to the
 * scheduler, `close()` at the end.
 */
export class PreciseTicker {
  private readonly control: Int32Array;
  private readonly startNs: BigInt64Array;
  private tick: (() => void) | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    control: SharedArrayBuffer,
  ) {
    this.control = new Int32Array(control, 0, 2);
    this.startNs = new BigInt64Array(control, 8, 1);
    worker.on("message", () => {
      // Cleared before the scheduler reads the clock, so a send falling due meanwhile posts again.
      Atomics.store(this.control, PENDING, 0);
      this.tick?.();
    });
  }

  /** Starts the worker with the schedule (ms offsets) and resolves once it is ready to follow it. */
  static async start(offsets: Float64Array): Promise<PreciseTicker> {
    const control = new SharedArrayBuffer(16);
    const shared = new SharedArrayBuffer(offsets.byteLength);
    new Float64Array(shared).set(offsets);
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { control, offsets: shared } });
    await new Promise<void>((resolve, reject) => {
      worker.once("error", reject);
      worker.once("message", () => {
        worker.off("error", reject);
        resolve();
      });
    });
    return new PreciseTicker(worker, control);
  }

  /** The schedule's zero is `startMs` on `performance.now()` (read just before). */
  begin(startMs: number): void {
    // hrtime read after performance.now(): the worker's zero is, if anything, a little later.
    const sinceStartMs = performance.now() - startMs;
    const nowNs = process.hrtime.bigint();
    Atomics.store(this.startNs, 0, nowNs - BigInt(Math.floor(sinceStartMs * 1e6)));
    Atomics.store(this.control, STATE, RUNNING);
    Atomics.notify(this.control, STATE);
    this.watchdog = setInterval(() => this.tick?.(), WATCHDOG_MS);
  }

  /** The scheduler's wake: the worker already knows when the next send is due, so `ms` is not needed. */
  readonly wake: Wake = (_ms, tick) => {
    this.tick = tick;
  };

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.tick = null;
    if (this.watchdog) clearInterval(this.watchdog);
    Atomics.store(this.control, STATE, STOPPED);
    Atomics.notify(this.control, STATE);
    await this.worker.terminate();
  }
}
