import type { RecommendationsResponse, ScoreTransactionResponse } from "@mlsd/contracts";
import type { Clock } from "@mlsd/service-kit";

export type ProbeTarget = "fraud" | "recommender";

/** One probe request as the drill saw it. */
export interface ProbeResult {
  target: ProbeTarget;
  /** Real ms since the drill started, when the request was sent. */
  at: number;
  phase: string;
  ok: boolean;
  status: number;
  ms: number;
  /** `model`, or what answered instead: a recommender fallback kind, `degraded` / `fallback` for fraud, `error`. */
  outcome: string;
  /** fraud: the decision; recommender: the ranker's arm. */
  detail: string | null;
  transaction?: { transactionId: string; customerId: string; terminalId: string; time: string };
}

export interface ProbeOptions {
  urls: Partial<Record<ProbeTarget, string>>;
  /** Requests per second to each target. */
  rate: number;
  timeoutMs: number;
  clock: Clock;
  /** Ids the probes draw from: the demo world's users and card holders are numbered from 0. */
  population: number;
  /** Called with each fraud answer (the bad-model drill labels them). */
  onTransaction?: (result: ProbeResult) => void;
  /** The n-th transaction sent in `phase`; default: card and terminal from the population, 5 to 54 units, a second ago. */
  transaction?: (n: number, phase: string) => ProbeTransaction;
}

export interface ProbeTransaction {
  customerId: string;
  terminalId: string;
  /** Clock epoch ms. */
  timeMs: number;
  amount: number;
}

/** The n-th probe transaction: card and terminal from the population, 5 to 54 units, a second of clock time ago. */
export function probeTransaction(n: number, population: number, clock: Clock): ProbeTransaction {
  return { customerId: String(n % population), terminalId: String((n * 7) % population), timeMs: clock.now() - 1_000, amount: 5 + (n % 50) };
}

/**
 * Steady probe traffic at both designs, on a fixed schedule (open loop: a slow answer does not
 * delay the next request), every answer kept with the drill phase it was sent in.
 */
export class Prober {
  readonly results: ProbeResult[] = [];
  phase = "baseline";
  private timer: NodeJS.Timeout | null = null;
  private readonly pending = new Set<Promise<void>>();
  private sent = 0;
  private readonly t0 = Date.now();
  private readonly run = Date.now().toString(36);

  constructor(private readonly options: ProbeOptions) {}

  elapsed(): number {
    return Date.now() - this.t0;
  }

  start(): void {
    const everyMs = 1000 / this.options.rate;
    this.timer = setInterval(() => {
      for (const target of Object.keys(this.options.urls) as ProbeTarget[]) {
        const p = this.send(target).finally(() => this.pending.delete(p));
        this.pending.add(p);
      }
    }, everyMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all([...this.pending]);
  }

  private async send(target: ProbeTarget): Promise<void> {
    const n = this.sent++;
    const at = this.elapsed();
    const phase = this.phase;
    const id = String(n % this.options.population);
    const t0 = performance.now();
    let transaction: ProbeResult["transaction"];
    let body: unknown;
    if (target === "fraud") {
      const tx = this.options.transaction?.(n, phase) ?? probeTransaction(n, this.options.population, this.options.clock);
      transaction = { transactionId: `drill-${this.run}-${n}`, customerId: tx.customerId, terminalId: tx.terminalId, time: new Date(tx.timeMs).toISOString() };
      body = { ...transaction, amount: tx.amount };
    } else {
      body = { userId: id, k: 10 };
    }
    const path = target === "fraud" ? "/v1/transactions/score" : "/v1/recommendations";
    let result: ProbeResult;
    try {
      const res = await fetch(`${this.options.urls[target]}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(this.options.timeoutMs) });
      const json = (await res.json()) as unknown;
      const ms = performance.now() - t0;
      if (res.status !== 200) result = { target, at, phase, ok: false, status: res.status, ms, outcome: "error", detail: null };
      else if (target === "fraud") {
        const r = json as ScoreTransactionResponse;
        result = { target, at, phase, ok: true, status: 200, ms, outcome: r.decidedBy === "fallback" ? "fallback" : r.degraded ? "degraded" : "model", detail: r.decision, transaction };
      } else {
        const r = json as RecommendationsResponse;
        result = { target, at, phase, ok: true, status: 200, ms, outcome: r.fallback ?? "model", detail: r.arms.ranker ?? null };
      }
    } catch (error) {
      result = { target, at, phase, ok: false, status: 0, ms: performance.now() - t0, outcome: "error", detail: (error as Error).name };
    }
    this.results.push(result);
    if (result.ok && target === "fraud") this.options.onTransaction?.(result);
  }
}
