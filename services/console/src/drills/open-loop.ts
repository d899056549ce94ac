import http from "node:http";

/** One request as the open-loop sender saw it. */
export interface OpenLoopResult {
  phase: string;
  /** Ms since the sender started, when the request was due (its schedule, not when it left). */
  at: number;
  /** How late it left (ms): the sender's own lag, which must stay small for the offered rate to be real. */
  sendLagMs: number;
  /** 0: no HTTP answer (see `error`). */
  status: number;
  /** From the time it was due until its answer (or error), so a late send counts against the answer. */
  ms: number;
  retryAfter: string | null;
  /** `timeout`, or the transport error's code. */
  error: string | null;
  body: string | null;
}

export interface OpenLoopOptions {
  /** Base URL of the service. */
  url: string;
  path: string;
  /** The body of the n-th request (JSON). */
  body: (n: number) => unknown;
  timeoutMs: number;
  /** Connections kept alive to the service; past them requests wait in the agent's queue (counted in their time). */
  maxSockets: number;
}

/**
 * Requests on a fixed schedule (open loop: a slow answer never delays the next request), over
 * kept-alive connections, each timed from when it was due. Phases run one after another at their
 * own rates; `drain` waits for the answers still out.
 */
export class OpenLoopSender {
  readonly results: OpenLoopResult[] = [];
  private readonly agent: http.Agent;
  private readonly pending = new Set<Promise<void>>();
  private readonly t0 = performance.now();
  private sent = 0;
  private readonly target: URL;

  constructor(private readonly options: OpenLoopOptions) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets });
    this.target = new URL(options.path, options.url);
  }

  elapsed(): number {
    return performance.now() - this.t0;
  }

  /** Sends `rate` requests a second for `seconds`; resolves once the last one is sent (not answered). */
  phase(name: string, rate: number, seconds: number): Promise<void> {
    const total = Math.round(rate * seconds);
    const start = this.elapsed();
    let i = 0;
    return new Promise((resolve) => {
      const tick = () => {
        const now = this.elapsed();
        for (; i < total && start + (i * 1000) / rate <= now; i++) {
          const due = start + (i * 1000) / rate;
          const p = this.send(name, due).finally(() => this.pending.delete(p));
          this.pending.add(p);
        }
        if (i >= total) {
          clearInterval(timer);
          resolve();
        }
      };
      const timer = setInterval(tick, 1);
      if (total === 0) tick();
    });
  }

  async drain(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  close(): void {
    this.agent.destroy();
  }

  private send(phase: string, due: number): Promise<void> {
    const payload = JSON.stringify(this.options.body(this.sent++));
    const sendLagMs = this.elapsed() - due;
    return new Promise((resolve) => {
      let answered = false;
      const done = (r: Pick<OpenLoopResult, "status" | "retryAfter" | "error" | "body">) => {
        if (answered) return;
        answered = true;
        this.results.push({ phase, at: due, sendLagMs, ms: this.elapsed() - due, ...r });
        resolve();
      };
      const req = http.request(
        this.target,
        { method: "POST", agent: this.agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }, timeout: this.options.timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => done({ status: res.statusCode ?? 0, retryAfter: (res.headers["retry-after"] as string | undefined) ?? null, error: null, body: Buffer.concat(chunks).toString("utf8") }));
          res.on("error", (e: NodeJS.ErrnoException) => done({ status: 0, retryAfter: null, error: e.code ?? e.message, body: null }));
        },
      );
      req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "timeout" })));
      req.on("error", (e: NodeJS.ErrnoException) => done({ status: 0, retryAfter: null, error: e.code ?? e.message, body: null }));
      req.end(payload);
    });
  }
}
