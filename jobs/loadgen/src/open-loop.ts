import { systemClock, type Clock } from "./clock";
import { runDirectHttp, type DirectHttpTarget } from "./direct-http";
import { LoadgenInputError, requireNonNegative, requirePositive, requirePositiveInt } from "./errors";
import { LatencyRecorder, type LatencySummary } from "./latency";
import { PreciseTicker } from "./precise-ticker";
import { scheduleArrivals, type ArrivalProcess } from "./schedule";
import { runSchedule, type Wake } from "./scheduler";

/**
 * How the scheduler waits for the next send on the system clock: `precise` sleeps in a worker
 * thread on a high-resolution timer (tens of microseconds late); `coarse` uses Node's millisecond
 * timers, as this generator did before (late by up to a millisecond or two, in bursts).
 */
export type TimerKind = "precise" | "coarse";
export const TIMER_KINDS: readonly TimerKind[] = ["precise", "coarse"];

/** What one request came back with, as far as the load test cares. */
export interface Answer {
  /** HTTP status. */
  status: number;
  /** Milliseconds per stage as the service reported them (`timings` in its answer). */
  timings?: Record<string, number>;
  /** The service answered, but degraded or from a fallback. */
  fallback?: boolean;
  /** The request was built to be refused (an invalid transaction): a 4xx is the right answer. */
  expectRejection?: boolean;
}

export interface SendContext {
  /** Position in the schedule, warm-up included: 0, 1, 2, ... */
  index: number;
  /** When the request was due, on the run's clock. */
  scheduledAt: number;
  /** Aborted when the request times out; pass it to the HTTP client. */
  signal: AbortSignal;
}

export interface OpenLoopOptions {
  /** Requests per second offered, whatever the target does. */
  rate: number;
  /** The measured window, after the warm-up. */
  durationMs: number;
  /** Requests due in this first stretch are sent but left out of every statistic. */
  warmupMs?: number;
  send: (context: SendContext) => Promise<Answer>;
  /**
   * The same requests as HTTP bytes: with the precise timer on the system clock they are written
   * by the sender thread at their times and `send` is not called (see `runDirectHttp`).
   */
  http?: DirectHttpTarget;
  /** Called once with the number of requests the schedule holds, before the first is due (build bodies here). */
  prepare?: (count: number) => void | Promise<void>;
  /** The name budgets are looked up by, e.g. "fraud". */
  endpoint?: string;
  arrivals?: ArrivalProcess;
  seed?: number;
  /** A request due while this many are unanswered is not sent and counts as dropped. */
  maxInFlight?: number;
  /** A request unanswered this long after it was sent is aborted and counts as a timeout. */
  timeoutMs?: number;
  /** Default `precise`; ignored with a clock of one's own, whose timers are used as they are. */
  timer?: TimerKind;
  clock?: Clock;
}

export interface RunCounts {
  /** Requests due in the measured window. */
  scheduled: number;
  sent: number;
  /** 2xx to a valid request. */
  ok: number;
  /** A 4xx to a request built to be refused, as expected. */
  rejected: number;
  /** Any other status: 5xx, a 4xx to a valid request, a 2xx to an invalid one. */
  badStatus: number;
  timeouts: number;
  transportErrors: number;
  /** Not sent because the in-flight cap was reached: load the target never saw, counted, not hidden. */
  dropped: number;
  /** OK answers served degraded or by a fallback. */
  fallbacks: number;
}

export interface RunResult {
  endpoint: string;
  /** Requests per second asked for. */
  offeredRate: number;
  arrivals: ArrivalProcess;
  warmupMs: number;
  durationMs: number;
  counts: RunCounts;
  /** Answers by HTTP status, measured window only. */
  statusCounts: Record<string, number>;
  /** (bad status + timeouts + transport errors + dropped) / scheduled. */
  errorRate: number;
  /** fallbacks / ok. */
  fallbackRate: number;
  /** OK answers per second over the measured window (longer if answers came late). */
  throughput: number;
  /**
   * From the SCHEDULED send time to the answer: queueing in the target and in the generator
   * included. Timeouts count at the moment they were given up (a lower bound); expected
   * rejections, transport errors and dropped requests are counted, not timed.
   */
  latency: LatencySummary;
  /** The 2xx answers only, from the scheduled send: what the requests the target admitted got. */
  admittedLatency: LatencySummary;
  /**
   * The answers that refused for overload (503 or 429, the target's load shedding), from the scheduled
   * send: how fast the excess was turned away. Empty when nothing was refused.
   */
  refusedLatency: LatencySummary;
  /** Per stage, from the answers' `timings` (the service's own clock). */
  stages: Record<string, LatencySummary>;
  /**
   * From the actual send to the answer, the same answers as `latency`: what a tool that times from
   * its own send reports. `latency` minus this is the generator's lateness, request by request.
   */
  latencyFromSend: LatencySummary;
  /** Actual send minus scheduled send, measured window: the generator's own share of `latency`. */
  sendLag: LatencySummary;
  /** How the scheduler waited between sends. */
  timer: TimerKind;
  /** Who sent: the sender thread (precise timer, HTTP) or the main thread's event loop. */
  sender: "sender thread" | "event loop";
  /** Sender thread only: requests it found no free connection for, sent by the main thread on a new one (their lag includes that hop). */
  handedToMain: number;
  maxInFlightSeen: number;
  /** Wall time of the whole run, warm-up and draining included. */
  elapsedMs: number;
  /** CPU time (user + system, all threads) of the generator's process over the whole run. */
  generatorCpuMs: number;
  /** Requests sent, warm-up included: what `generatorCpuMs` was spent on. */
  sentTotal: number;
}

export const DEFAULT_MAX_IN_FLIGHT = 1000;
export const DEFAULT_TIMEOUT_MS = 2000;

/**
 * Open-loop load: every send time is fixed before the run, each request goes out when it is due
 * whether or not earlier ones were answered, and latency runs from the scheduled time. A target
 * that stalls therefore shows the queue it built in its percentiles, instead of slowing the
 * generator down and hiding it (coordinated omission).
 */
export async function runOpenLoop(options: OpenLoopOptions): Promise<RunResult> {
  const warmupMs = options.warmupMs ?? 0;
  const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const arrivals = options.arrivals ?? "constant";
  const clock = options.clock ?? systemClock;
  const timer = options.timer ?? "precise";
  if (!TIMER_KINDS.includes(timer)) throw new LoadgenInputError("timer", `must be precise or coarse, got "${String(timer)}"`);
  requirePositive("rate", options.rate);
  requirePositive("durationMs", options.durationMs);
  requireNonNegative("warmupMs", warmupMs);
  requirePositiveInt("maxInFlight", maxInFlight);
  requirePositive("timeoutMs", timeoutMs);

  const offsets = scheduleArrivals({ rate: options.rate, spanMs: warmupMs + options.durationMs, arrivals, seed: options.seed });
  await options.prepare?.(offsets.length);

  const counts: RunCounts = { scheduled: 0, sent: 0, ok: 0, rejected: 0, badStatus: 0, timeouts: 0, transportErrors: 0, dropped: 0, fallbacks: 0 };
  const statusCounts: Record<string, number> = {};
  const latency = new LatencyRecorder();
  const latencyFromSend = new LatencyRecorder();
  const admittedLatency = new LatencyRecorder();
  const refusedLatency = new LatencyRecorder();
  const sendLag = new LatencyRecorder();
  const stages = new Map<string, LatencyRecorder>();
  for (const offset of offsets) if (offset >= warmupMs) counts.scheduled++;

  let inFlight = 0;
  let maxInFlightSeen = 0;
  let sentTotal = 0;
  let lastMeasuredAnswer = Number.NEGATIVE_INFINITY;
  let onIdle: (() => void) | null = null;

  const record = (answer: Answer, scheduledAt: number, sentAt: number, now: number): void => {
    lastMeasuredAnswer = Math.max(lastMeasuredAnswer, now);
    statusCounts[answer.status] = (statusCounts[answer.status] ?? 0) + 1;
    const is2xx = answer.status >= 200 && answer.status < 300;
    const is4xx = answer.status >= 400 && answer.status < 500;
    if (answer.expectRejection && is4xx) {
      counts.rejected++;
      return;
    }
    latency.record(now - scheduledAt);
    latencyFromSend.record(now - sentAt);
    if (answer.status === 503 || answer.status === 429) refusedLatency.record(now - scheduledAt);
    if (!is2xx || answer.expectRejection) {
      counts.badStatus++;
      return;
    }
    counts.ok++;
    admittedLatency.record(now - scheduledAt);
    if (answer.fallback) counts.fallbacks++;
    for (const [stage, ms] of Object.entries(answer.timings ?? {})) {
      if (typeof ms !== "number") continue;
      let recorder = stages.get(stage);
      if (!recorder) stages.set(stage, (recorder = new LatencyRecorder()));
      recorder.record(ms);
    }
  };

  const recordTimeout = (scheduledAt: number, sentAt: number, now: number): void => {
    counts.timeouts++;
    lastMeasuredAnswer = Math.max(lastMeasuredAnswer, now);
    // Its true latency is unknown but at least this: leaving it out would flatter the tail.
    latency.record(now - scheduledAt);
    latencyFromSend.record(now - sentAt);
  };
  const recordFailure = (now: number): void => {
    counts.transportErrors++;
    lastMeasuredAnswer = Math.max(lastMeasuredAnswer, now);
  };
  const measured = (index: number): boolean => (offsets[index] as number) >= warmupMs;

  // The precise timer only makes sense on the real clock; a clock of one's own keeps its timers.
  const precise = clock === systemClock && timer === "precise";
  // CPU is counted from the first send to the last answer: preparing requests and connections is not the instrument's running cost.
  let cpuBefore = process.cpuUsage();
  if (precise && options.http) {
    const run = await runDirectHttp({
      offsets,
      target: options.http,
      maxInFlight,
      timeoutMs,
      onStart: () => (cpuBefore = process.cpuUsage()),
      events: {
        answered: (index, answer, scheduledAt, sentAt, now) => measured(index) && record(answer, scheduledAt, sentAt, now),
        timedOut: (index, scheduledAt, sentAt, now) => measured(index) && recordTimeout(scheduledAt, sentAt, now),
        failed: (index, now) => measured(index) && recordFailure(now),
      },
    });
    for (let i = 0; i < offsets.length; i++) {
      const sentAt = run.sentAt[i] as number;
      if (!(sentAt >= 0)) {
        if (measured(i)) counts.dropped++;
        continue;
      }
      sentTotal++;
      if (!measured(i)) continue;
      counts.sent++;
      sendLag.record(sentAt - (offsets[i] as number));
    }
    maxInFlightSeen = run.maxInFlightSeen;
    return summarize(run.start, "sender thread", run.handedToMain);
  }

  const ticker = precise ? await PreciseTicker.start(offsets) : null;
  const wake: Wake = ticker ? ticker.wake : (ms, fn) => void clock.setTimer(ms, fn);
  cpuBefore = process.cpuUsage();
  const start = clock.now();
  ticker?.begin(start);

  const fire = (index: number): void => {
    const scheduledAt = start + (offsets[index] as number);
    const isMeasured = measured(index);
    if (inFlight >= maxInFlight) {
      if (isMeasured) counts.dropped++;
      return;
    }
    inFlight++;
    sentTotal++;
    maxInFlightSeen = Math.max(maxInFlightSeen, inFlight);
    const sentAt = clock.now();
    if (isMeasured) {
      counts.sent++;
      sendLag.record(sentAt - scheduledAt);
    }
    const controller = new AbortController();
    let done = false;
    const finish = (): void => {
      done = true;
      inFlight--;
      if (inFlight === 0) onIdle?.();
    };
    const cancelTimeout = clock.setTimer(timeoutMs, () => {
      if (done) return;
      finish();
      controller.abort();
      if (isMeasured) recordTimeout(scheduledAt, sentAt, clock.now());
    });
    let pending: Promise<Answer>;
    try {
      pending = Promise.resolve(options.send({ index, scheduledAt, signal: controller.signal }));
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (answer) => {
        if (done) return;
        cancelTimeout();
        finish();
        if (isMeasured) record(answer, scheduledAt, sentAt, clock.now());
      },
      () => {
        if (done) return;
        cancelTimeout();
        finish();
        if (isMeasured) recordFailure(clock.now());
      },
    );
  };

  try {
    await runSchedule({ offsets, start, clock, wake, fire });
  } finally {
    await ticker?.close();
  }
  if (inFlight > 0) await new Promise<void>((resolve) => (onIdle = resolve));
  return summarize(start, "event loop", 0);

  function summarize(start: number, sender: RunResult["sender"], handedToMain: number): RunResult {
    const cpu = process.cpuUsage(cpuBefore);
    const measureStart = start + warmupMs;
    const windowMs = Math.max(options.durationMs, lastMeasuredAnswer - measureStart);
    const failures = counts.badStatus + counts.timeouts + counts.transportErrors + counts.dropped;
    return {
      endpoint: options.endpoint ?? "endpoint",
      offeredRate: options.rate,
      arrivals,
      warmupMs,
      durationMs: options.durationMs,
      counts,
      statusCounts,
      errorRate: counts.scheduled > 0 ? failures / counts.scheduled : 0,
      fallbackRate: counts.ok > 0 ? counts.fallbacks / counts.ok : 0,
      throughput: counts.ok / (windowMs / 1000),
      latency: latency.summary(),
      stages: Object.fromEntries([...stages].sort(([a], [b]) => a.localeCompare(b)).map(([stage, r]) => [stage, r.summary()])),
      latencyFromSend: latencyFromSend.summary(),
      admittedLatency: admittedLatency.summary(),
      refusedLatency: refusedLatency.summary(),
      sendLag: sendLag.summary(),
      timer: precise ? "precise" : "coarse",
      sender,
      handedToMain,
      maxInFlightSeen,
      elapsedMs: clock.now() - start,
      generatorCpuMs: (cpu.user + cpu.system) / 1000,
      sentTotal,
    };
  }
}
