import http from "node:http";

export interface TimedAnswer<T> {
  /** HTTP status, or 0 when no answer came (refused, reset, timed out). */
  status: number;
  ms: number;
  body: T | null;
  error?: string;
}

/**
 * JSON POSTs over keep-alive connections, each timed from the call to the last byte. A failed or
 * timed-out call is an answer with status 0: the live claims count failures, they do not throw.
 */
export class TimedJsonClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

  constructor(private readonly timeoutMs = 10_000) {}

  post<T>(url: string, body: unknown, headers: Record<string, string> = {}): Promise<TimedAnswer<T>> {
    const payload = JSON.stringify(body);
    const target = new URL(url);
    const t0 = performance.now();
    return new Promise((resolve) => {
      const done = (answer: Omit<TimedAnswer<T>, "ms">) => resolve({ ...answer, ms: performance.now() - t0 });
      const req = http.request(
        {
          agent: this.agent,
          host: target.hostname,
          port: Number(target.port),
          path: target.pathname,
          method: "POST",
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload), ...headers },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", (error) => done({ status: 0, body: null, error: error.message }));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let json: T | null = null;
            try {
              json = JSON.parse(text) as T;
            } catch {
              // Not JSON: the status says what happened.
            }
            done({ status: res.statusCode ?? 0, body: json });
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on("error", (error) => done({ status: 0, body: null, error: error.message }));
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The nearest-rank quantile (the k-th smallest, k = ceil(q n)) of a sample. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const k = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[k - 1] as number;
}
