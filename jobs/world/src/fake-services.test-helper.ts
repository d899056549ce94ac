import type { ClickRequest, RecommendationsRequest, ScoreTransactionRequest, SubmitLabelRequest } from "@mlsd/contracts";
import type { VirtualClock } from "@mlsd/loadgen";
import type { ScaledClock } from "@mlsd/service-kit";
import type { Endpoint } from "./counters";
import type { WorldResponse, WorldTransport } from "./transport";

export interface Received<T> {
  body: T;
  /** The services' clock when the request arrived (world ms). */
  worldNow: number;
}

/**
 * In-memory stand-ins for the recommender and the fraud service with their trust checks: a
 * request time ahead of the clock is refused, a click must name an item served in that answer at
 * that position, a label must name a scored transaction with its customer, terminal and time.
 * Answers can be delayed (virtual time) and made to fail.
 */
export class FakeServices {
  readonly recommendations: Received<RecommendationsRequest>[] = [];
  readonly clicks: Received<ClickRequest>[] = [];
  readonly transactions: Received<ScoreTransactionRequest>[] = [];
  readonly labels: Received<SubmitLabelRequest>[] = [];
  readonly refused: { endpoint: Endpoint; reason: string }[] = [];
  private readonly served = new Map<string, { userId: string; items: string[] }>();
  private readonly scored = new Map<string, ScoreTransactionRequest>();
  private readonly lastTimeOfCustomer = new Map<string, number>();
  /** Transactions of one customer that arrived before an earlier one. */
  outOfOrder = 0;
  inFlight = 0;
  maxInFlight = 0;
  private requests = 0;

  constructor(
    private readonly clock: ScaledClock,
    private readonly virtual: VirtualClock,
    private readonly options: {
      /** Items served: the same list for everyone, best first. */
      slate: (userId: string, k: number) => string[];
      /** The fallback an answer names (null: the models answered). */
      fallback?: (userId: string) => string | null;
      /** Real ms before an answer. */
      delayMs?: number;
      /** Status to answer instead, for some requests. */
      fail?: (endpoint: Endpoint, n: number) => number | null;
      /** Ahead-of-clock allowance in world ms (MAX_CLOCK_SKEW_MS x speed). */
      skewMs?: number;
    },
  ) {}

  readonly send: WorldTransport = async (endpoint, body) => {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.options.delayMs) await new Promise<void>((resolve) => this.virtual.setTimer(this.options.delayMs as number, resolve));
      const n = this.requests++;
      const failure = this.options.fail?.(endpoint, n);
      if (failure) return { status: failure, body: { error: { code: "INJECTED" } } };
      return this.answer(endpoint, body);
    } finally {
      this.inFlight--;
    }
  };

  private refuse(endpoint: Endpoint, status: number, reason: string): WorldResponse {
    this.refused.push({ endpoint, reason });
    return { status, body: { error: { code: "REFUSED", message: reason } } };
  }

  private ahead(iso: string | undefined): boolean {
    return iso !== undefined && Date.parse(iso) > this.clock.now() + (this.options.skewMs ?? 0);
  }

  private answer(endpoint: Endpoint, body: object): WorldResponse {
    const worldNow = this.clock.now();
    switch (endpoint) {
      case "recommend": {
        const req = body as RecommendationsRequest;
        if (this.ahead(req.context?.time)) return this.refuse(endpoint, 400, "time in the future");
        this.recommendations.push({ body: req, worldNow });
        const requestId = `r${this.recommendations.length}`;
        const items = this.options.slate(req.userId, req.k);
        this.served.set(requestId, { userId: req.userId, items });
        return {
          status: 200,
          body: { requestId, userId: req.userId, items: items.map((itemId, position) => ({ itemId, position, score: 1 - position / 100, category: null })), modelVersions: { ranker: "ranker-gbdt@fake" }, fallback: this.options.fallback?.(req.userId) ?? null, fallbackReason: null, timings: {} },
        };
      }
      case "click": {
        const click = body as ClickRequest;
        if (this.ahead(click.time)) return this.refuse(endpoint, 400, "click in the future");
        const answer = this.served.get(click.requestId);
        if (!answer || answer.userId !== click.userId) return this.refuse(endpoint, 404, "unknown answer");
        if (answer.items[click.position] !== click.itemId) return this.refuse(endpoint, 400, "not served there");
        this.clicks.push({ body: click, worldNow });
        return { status: 202, body: { accepted: true } };
      }
      case "score": {
        const tx = body as ScoreTransactionRequest;
        if (this.ahead(tx.time)) return this.refuse(endpoint, 400, "transaction in the future");
        const t = Date.parse(tx.time as string);
        if (t < (this.lastTimeOfCustomer.get(tx.customerId) ?? -Infinity)) this.outOfOrder++;
        this.lastTimeOfCustomer.set(tx.customerId, t);
        this.transactions.push({ body: tx, worldNow });
        this.scored.set(tx.transactionId, tx);
        // A stand-in policy: large amounts are declined, mid-size ones reviewed.
        const decision = tx.amount > 220 ? "decline" : tx.amount > 150 ? "review" : "approve";
        return {
          status: 200,
          body: { transactionId: tx.transactionId, score: decision === "approve" ? 0.1 : 0.9, decision, decidedBy: "model", rule: null, thresholds: { review: 0.5, decline: 0.8 }, reasons: [], modelVersion: "fraud-gbdt@fake", degraded: false, degradedReason: null, replayed: false, timings: {} },
        };
      }
      case "label": {
        const label = body as SubmitLabelRequest;
        if (this.ahead(label.knownAt)) return this.refuse(endpoint, 400, "label known in the future");
        const tx = this.scored.get(label.transactionId);
        if (!tx) return this.refuse(endpoint, 404, "unknown transaction");
        if (tx.customerId !== label.customerId || tx.terminalId !== label.terminalId || Date.parse(tx.time as string) !== Date.parse(label.transactionTime)) return this.refuse(endpoint, 400, "mismatch");
        this.labels.push({ body: label, worldNow });
        return { status: 202, body: { accepted: true } };
      }
    }
  }
}
