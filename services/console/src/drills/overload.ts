import type { ScoreTransactionResponse } from "@mlsd/contracts";
import type { Drill, DrillContext, DrillOptions } from "./drill";
import { OpenLoopSender, type OpenLoopResult } from "./open-loop";
import { probeTransaction, type ProbeResult } from "./probe";
import { quantile, statsByPhase, timeToDetect, timeToRecover, type DrillReport, type Expectation } from "./report";

/** After the overload, answers must be normal again (admitted, from the model, within the bound) within this long. */
export const RECOVER_WITHIN_MS = 5_000;
/** The admitted p99 bound's floor above the baseline p99: a baseline of a few ms doubles on scheduler noise alone on a shared 2-core machine. */
export const P99_FLOOR_MS = 10;
const TIMEOUT_MS = 10_000;
const MAX_SOCKETS = 512;
const PHASES = ["baseline", "overload", "after"] as const;

/** The admitted p99 the overload phase must stay under: 2x the baseline's, at least the baseline's plus the floor. */
export function p99Bound(baselineP99Ms: number): number {
  return Math.max(2 * baselineP99Ms, baselineP99Ms + P99_FLOOR_MS);
}

/** An answer as the report's phase tables count it: `refused` (503), `error` (no answer, other status), or what answered. */
export function asProbeResult(r: OpenLoopResult, boundMs: number | null): ProbeResult {
  let outcome: string;
  if (r.status === 200) {
    let body: Partial<ScoreTransactionResponse> | null;
    try {
      body = JSON.parse(r.body ?? "") as Partial<ScoreTransactionResponse>;
    } catch {
      body = null;
    }
    outcome = body === null ? "error" : body.decidedBy === "fallback" ? "fallback" : body.degraded ? "degraded" : boundMs !== null && r.ms > boundMs ? "slow" : "model";
  } else outcome = r.status === 503 ? "refused" : r.error === "timeout" ? "timeout" : "error";
  return { target: "fraud", at: r.at, phase: r.phase, ok: r.status === 200, status: r.status, ms: r.ms, outcome, detail: r.error };
}

export interface OverloadPhase {
  phase: string;
  offered: number;
  offeredPerSecond: number;
  admitted: number;
  refused: number;
  refusedWithoutRetryAfter: number;
  timeouts: number;
  otherErrors: number;
  admittedP50Ms: number | null;
  admittedP99Ms: number | null;
  refusedP50Ms: number | null;
  refusedP99Ms: number | null;
  sendLagP99Ms: number | null;
}

const r1 = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);

/** Offered, admitted and refused per phase, with the quantiles of the admitted and of the refused answers. */
export function overloadPhases(results: readonly OpenLoopResult[], seconds: Record<string, number>): OverloadPhase[] {
  return PHASES.filter((p) => results.some((r) => r.phase === p)).map((phase) => {
    const list = results.filter((r) => r.phase === phase);
    const admitted = list.filter((r) => r.status === 200);
    const refused = list.filter((r) => r.status === 503);
    return {
      phase,
      offered: list.length,
      offeredPerSecond: r1(list.length / (seconds[phase] as number)) as number,
      admitted: admitted.length,
      refused: refused.length,
      refusedWithoutRetryAfter: refused.filter((r) => r.retryAfter === null).length,
      timeouts: list.filter((r) => r.error === "timeout").length,
      otherErrors: list.filter((r) => r.status !== 200 && r.status !== 503 && r.error !== "timeout").length,
      admittedP50Ms: r1(quantile(admitted.map((r) => r.ms), 0.5)),
      admittedP99Ms: r1(quantile(admitted.map((r) => r.ms), 0.99)),
      refusedP50Ms: r1(quantile(refused.map((r) => r.ms), 0.5)),
      refusedP99Ms: r1(quantile(refused.map((r) => r.ms), 0.99)),
      sendLagP99Ms: r1(quantile(list.map((r) => r.sendLagMs), 0.99)),
    };
  });
}

/** The expectations judged from the phases and the answers after the overload. */
export function scoreOverload(phases: readonly OverloadPhase[], results: readonly OpenLoopResult[], overloadEndMs: number): { pass: (boolean | null)[]; observed: string[]; boundMs: number | null; recoverMs: number | null } {
  const by = (p: string) => phases.find((x) => x.phase === p);
  const base = by("baseline");
  const over = by("overload");
  const boundMs = base?.admittedP99Ms == null ? null : p99Bound(base.admittedP99Ms);
  const timeouts = phases.reduce((t, p) => t + p.timeouts, 0);
  const errors = phases.reduce((t, p) => t + p.otherErrors, 0);
  const probe = results.map((r) => asProbeResult(r, boundMs));
  const recovered = boundMs === null ? null : timeToRecover(probe, overloadEndMs);
  const recoverMs = recovered === null ? null : Math.round(recovered);
  return {
    boundMs,
    recoverMs,
    pass: [
      over ? over.refused > 0 && over.refusedWithoutRetryAfter === 0 : null,
      timeouts === 0 && errors === 0,
      over?.admittedP99Ms == null || boundMs === null ? null : over.admittedP99Ms <= boundMs,
      recoverMs !== null && recoverMs <= RECOVER_WITHIN_MS,
    ],
    observed: [
      over ? `${over.refused} of ${over.offered} refused (${((over.refused / Math.max(1, over.offered)) * 100).toFixed(1)} %), ${over.refusedWithoutRetryAfter} without Retry-After` : "no overload phase",
      `${timeouts} timeouts, ${errors} transport errors or other statuses`,
      over?.admittedP99Ms == null || boundMs === null ? "no admitted answers to compare" : `admitted p99 ${over.admittedP99Ms} ms against a bound of ${r1(boundMs)} ms (baseline p99 ${base?.admittedP99Ms} ms)`,
      recoverMs === null ? "not within the after phase" : `${Math.round(recoverMs)} ms`,
    ],
  };
}

/**
 * The fraud service is offered a multiple of a base rate from the console itself (open loop,
 * kept-alive connections), between a baseline and an after phase at the base rate. Its admission
 * control (service-kit: MAX_IN_FLIGHT, MAX_EVENT_LOOP_LAG_MS) should refuse the excess at once
 * with 503 and Retry-After, keep the admitted answers fast, and let go as soon as the load drops.
 */
export const overload: Drill = {
  name: "overload",
  description:
    "The fraud service is offered `multiple` times the base rate (`rate`) for the fault's seconds, open loop over kept-alive connections from the console, between a baseline and an after phase at the base rate. Latencies count from when each request was due.",
  expectations: (o) => [
    `the excess is refused at once with 503 and Retry-After while ${o.multiple ?? 3}x ${o.rate}/s is offered`,
    "no timeouts and no transport errors: every request is answered 200 or 503",
    `the admitted answers' p99 during the overload stays within 2x the baseline p99 (at least baseline + ${P99_FLOOR_MS} ms)`,
    `back to normal (10 answers in a row admitted, from the model, within that bound) within ${RECOVER_WITHIN_MS / 1000} s after the overload`,
  ],
  unavailable: (ctx) => (!ctx.urls.has("fraud") ? "needs fraud in SERVICE_URLS" : null),
  async run(ctx: DrillContext, options: DrillOptions): Promise<DrillReport> {
    const startedAt = new Date().toISOString();
    const multiple = options.multiple ?? 3;
    const run = Date.now().toString(36);
    const sender = new OpenLoopSender({
      url: ctx.urls.get("fraud") as string,
      path: "/v1/transactions/score",
      body: (n) => {
        const tx = probeTransaction(n, 200, ctx.clock);
        return { transactionId: `drill-overload-${run}-${n}`, customerId: tx.customerId, terminalId: tx.terminalId, time: new Date(tx.timeMs).toISOString(), amount: tx.amount };
      },
      timeoutMs: TIMEOUT_MS,
      maxSockets: MAX_SOCKETS,
    });
    const fault = { startMs: 0, endMs: null as number | null };
    try {
      ctx.say(`baseline: ${options.rate}/s for ${options.baselineSeconds} s`);
      await sender.phase("baseline", options.rate, options.baselineSeconds);
      fault.startMs = sender.elapsed();
      ctx.say(`overload: ${multiple}x, ${options.rate * multiple}/s for ${options.faultSeconds} s`);
      await sender.phase("overload", options.rate * multiple, options.faultSeconds);
      fault.endMs = sender.elapsed();
      ctx.say(`after: ${options.rate}/s for ${options.afterSeconds} s`);
      await sender.phase("after", options.rate, options.afterSeconds);
    } finally {
      await sender.drain();
      sender.close();
    }
    const phases = overloadPhases(sender.results, { baseline: options.baselineSeconds, overload: options.faultSeconds, after: options.afterSeconds });
    const score = scoreOverload(phases, sender.results, fault.endMs ?? fault.startMs);
    const probe = sender.results.map((r) => asProbeResult(r, score.boundMs));
    const texts = this.expectations(options);
    // Detected: the first answer after the overload began that shows it (refused, failed, a fallback or degraded answer, or over the bound).
    const detect = timeToDetect(probe, fault.startMs);
    const expectations: Expectation[] = texts.map((text, i) => ({ text, pass: score.pass[i] ?? null, observed: score.observed[i] ?? "" }));
    const cell = (x: number | null) => (x === null ? "n/a" : `${x} ms`);
    return {
      drill: this.name,
      description: this.description,
      startedAt,
      finishedAt: new Date().toISOString(),
      settings: { "overload s": options.faultSeconds, "baseline s": options.baselineSeconds, "after s": options.afterSeconds, "base rate /s": options.rate, multiple, "offered in overload /s": options.rate * multiple, "connections at most": MAX_SOCKETS, "timeout ms": TIMEOUT_MS },
      fault,
      timeToDetectMs: detect === null ? null : Math.round(detect),
      timeToRecoverMs: score.recoverMs,
      phases: statsByPhase(probe),
      expectations,
      pass: expectations.every((e) => e.pass === true),
      sections: [
        {
          title: "Offered, admitted, refused",
          lines: [
            "| phase | offered | offered /s | admitted | refused (503) | without Retry-After | timeouts | other errors | admitted p50 | admitted p99 | refused p50 | refused p99 | send lag p99 |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
            ...phases.map((p) => `| ${p.phase} | ${p.offered} | ${p.offeredPerSecond} | ${p.admitted} | ${p.refused} | ${p.refusedWithoutRetryAfter} | ${p.timeouts} | ${p.otherErrors} | ${cell(p.admittedP50Ms)} | ${cell(p.admittedP99Ms)} | ${cell(p.refusedP50Ms)} | ${cell(p.refusedP99Ms)} | ${cell(p.sendLagP99Ms)} |`),
          ],
        },
      ],
      notes: [
        "Times count from when each request was due on the open-loop schedule, so the sender's own lag (send lag) is in them: a large send lag means the console could not offer the rate, not that the service was slow.",
        "Time to detect: from the overload's start to the first answer that shows it (refused, failed, a fallback or degraded answer, or an admitted one over the bound: `slow` in the phase table). Time to recover: from the overload's end to the first of 10 normal answers in a row.",
        "The console sends from the same machine as the services: on the shared 2-core machine the sender competes with the fraud service for the CPU.",
      ],
    };
  },
};
