import type { Logger } from "@mlsd/service-kit";

export interface DriftAlert {
  kind: "feature_alert_started" | "feature_alert_stopped" | "episode_started" | "episode_ended";
  model: string;
  reference: string;
  /** The window that produced it: "count" or "time". */
  window: string | null;
  feature: string | null;
  psi: number | null;
  pValue: number | null;
  /** Event time of the evaluation (ISO). */
  time: string;
  /** Features alerting in any window right after this alert. */
  alertingFeatures: string[];
}

/** Where alerts go besides the log. `send` must never block or throw. */
export interface AlertSink {
  send(alert: DriftAlert): void;
  /** Waits (at most `timeoutMs`) for deliveries in flight. */
  flush(timeoutMs: number): Promise<void>;
}

export type WebhookOutcome = "delivered" | "failed" | "dropped";

export interface WebhookAlertSinkOptions {
  url: string;
  timeoutMs?: number;
  /** Attempts after the first one; backoff doubles from `initialBackoffMs`. */
  retries?: number;
  initialBackoffMs?: number;
  /** Alerts waiting for delivery; when full the oldest is dropped. */
  maxQueue?: number;
  logger: Logger;
  onOutcome?: (outcome: WebhookOutcome) => void;
  /** Injectable for tests; the global fetch by default. */
  fetch?: typeof fetch;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * POSTs each alert as JSON to a webhook from a background loop: the consumer only enqueues, so a
 * slow or dead receiver never holds up drift detection. Bounded retries, bounded queue.
 */
export class WebhookAlertSink implements AlertSink {
  private readonly queue: DriftAlert[] = [];
  private running: Promise<void> | null = null;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly initialBackoffMs: number;
  private readonly maxQueue: number;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly options: WebhookAlertSinkOptions) {
    this.timeoutMs = options.timeoutMs ?? 2_000;
    this.retries = options.retries ?? 3;
    this.initialBackoffMs = options.initialBackoffMs ?? 200;
    this.maxQueue = options.maxQueue ?? 1_000;
    this.fetchFn = options.fetch ?? fetch;
  }

  send(alert: DriftAlert): void {
    this.queue.push(alert);
    if (this.queue.length > this.maxQueue) {
      this.queue.shift();
      this.options.onOutcome?.("dropped");
      this.options.logger.warn({ maxQueue: this.maxQueue }, "alert webhook: queue full, dropped the oldest alert");
    }
    this.running ??= this.drain().finally(() => (this.running = null));
  }

  async flush(timeoutMs: number): Promise<void> {
    if (this.running === null) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.running, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  private async drain(): Promise<void> {
    for (let alert = this.queue.shift(); alert !== undefined; alert = this.queue.shift()) {
      const outcome = await this.deliver(alert);
      this.options.onOutcome?.(outcome);
    }
  }

  private async deliver(alert: DriftAlert): Promise<WebhookOutcome> {
    let backoff = this.initialBackoffMs;
    let lastError = "";
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) {
        await sleep(backoff);
        backoff *= 2;
      }
      try {
        const response = await this.fetchFn(this.options.url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(alert),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        if (response.ok) return "delivered";
        lastError = `HTTP ${response.status}`;
        // A 4xx other than 429 will not get better by retrying.
        if (response.status < 500 && response.status !== 429) break;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
      }
    }
    this.options.logger.error({ kind: alert.kind, feature: alert.feature, error: lastError }, "alert webhook: delivery failed");
    return "failed";
  }
}
