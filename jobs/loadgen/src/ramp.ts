import { sleep, systemClock } from "./clock";
import { LoadgenInputError, requireNonNegative, requirePositive, requireShare } from "./errors";
import { runOpenLoop, type OpenLoopOptions, type RunResult } from "./open-loop";

export interface RampOptions extends Omit<OpenLoopOptions, "rate" | "durationMs" | "warmupMs"> {
  /** Offered rates, one short open-loop run each, in increasing order. */
  rates: readonly number[];
  stepDurationMs: number;
  stepWarmupMs?: number;
  /** Quiet time between steps so one step's backlog does not leak into the next. */
  pauseMs?: number;
  /** Stop once a step loses this share of its requests to timeouts and drops: the target is saturated. */
  stopAtLossRate?: number;
  onStep?: (step: RunResult) => void;
}

export interface RampResult {
  endpoint: string;
  steps: RunResult[];
  /** Why the ramp ended before its last rate, if it did. */
  stoppedEarly: string | null;
}

/** Steps of increasing open-loop rate: latency against offered load, to find where it bends. */
export async function runRamp(options: RampOptions): Promise<RampResult> {
  const { rates, stepDurationMs, stepWarmupMs = 0, pauseMs = 1000, stopAtLossRate = 0.5, onStep, ...loop } = options;
  if (rates.length === 0) throw new LoadgenInputError("rates", "needs at least one rate");
  rates.forEach((rate, i) => {
    requirePositive(`rates[${i}]`, rate);
    if (i > 0 && !(rate > (rates[i - 1] as number))) throw new LoadgenInputError(`rates[${i}]`, `must be above the previous rate ${rates[i - 1]}, got ${rate}`);
  });
  requirePositive("stepDurationMs", stepDurationMs);
  requireNonNegative("pauseMs", pauseMs);
  requireShare("stopAtLossRate", stopAtLossRate);

  const clock = loop.clock ?? systemClock;
  const steps: RunResult[] = [];
  let stoppedEarly: string | null = null;
  for (const [i, rate] of rates.entries()) {
    if (i > 0 && pauseMs > 0) await sleep(clock, pauseMs);
    const step = await runOpenLoop({ ...loop, rate, durationMs: stepDurationMs, warmupMs: stepWarmupMs });
    steps.push(step);
    onStep?.(step);
    const lost = step.counts.scheduled > 0 ? (step.counts.timeouts + step.counts.dropped) / step.counts.scheduled : 0;
    if (lost > 0 && lost >= stopAtLossRate && i < rates.length - 1) {
      stoppedEarly = `stopped after ${rate}/s: ${(lost * 100).toFixed(1)} % of requests timed out or were dropped`;
      break;
    }
  }
  return { endpoint: options.endpoint ?? "endpoint", steps, stoppedEarly };
}
