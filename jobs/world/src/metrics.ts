import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import { ENDPOINTS, type WorldCounters } from "./counters";

/** The world's metrics port unless told otherwise: after the services' 8080-8091. */
export const DEFAULT_WORLD_METRICS_PORT = 8092;

/**
 * The world's counters as Prometheus metrics, read from `counters()` at each scrape (the run keeps
 * them; nothing is counted twice): requests sent and answered per endpoint, errors by kind, what
 * the users and card holders did, and how far behind schedule the world is.
 */
export function worldCounterMetrics(registry: Registry, counters: () => WorldCounters | null): void {
  const totals = <L extends string>(name: string, help: string, labelNames: readonly L[], read: (c: WorldCounters, set: (labels: Record<L, string>, value: number) => void) => void) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        const c = counters();
        this.reset();
        if (!c) return;
        read(c, (labels, value) => this.inc(labels as never, value));
      },
    });
  totals("world_requests_total", "Requests the world sent, by endpoint and outcome (sent, ok)", ["endpoint", "outcome"] as const, (c, set) => {
    for (const e of ENDPOINTS) {
      set({ endpoint: e, outcome: "sent" }, c.sent[e]);
      set({ endpoint: e, outcome: "ok" }, c.ok[e]);
    }
  });
  totals("world_request_errors_total", "Failed requests by endpoint and kind (an HTTP status, timeout, network)", ["endpoint", "kind"] as const, (c, set) => {
    for (const [key, n] of c.errors) {
      const [endpoint, kind] = key.split(" ") as [string, string];
      set({ endpoint, kind }, n);
    }
  });
  totals("world_recs_events_total", "What the users did: answers, items shown, examined, clicks, fallback answers", ["event"] as const, (c, set) => {
    for (const event of ["answers", "impressions", "examined", "clicks", "fallbacks"] as const) set({ event }, c.recs[event]);
  });
  totals("world_fraud_events_total", "What the card holders met: decisions, frauds, frauds caught, declined, reviewed, degraded, labels planned", ["event"] as const, (c, set) => {
    for (const event of ["answers", "frauds", "caught", "declined", "reviewed", "legitDeclined", "degraded", "labelsPlanned"] as const) set({ event }, c.fraud[event]);
  });
  totals("world_outcomes_total", "Ground-truth events published", [] as const, (c, set) => set({}, c.outcomes));
  new Gauge({
    name: "world_behind_schedule_seconds",
    help: "How far (real seconds) the world is behind its schedule",
    registers: [registry],
    collect() {
      this.set((counters()?.behindMs ?? 0) / 1000);
    },
  });
  new Gauge({
    name: "world_recs_ndcg_true_relevance",
    help: "NDCG of the served slates against the world's true relevance, over the run",
    registers: [registry],
    collect() {
      const r = counters()?.recs;
      this.set(r && r.idealDcg > 0 ? r.dcg / r.idealDcg : 0);
    },
  });
}

export function worldRegistry(): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: "world" });
  collectDefaultMetrics({ register: registry });
  return registry;
}

export interface MetricsServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

/** GET /metrics on `port` (0: a free one) of every interface (a container is scraped from outside). */
export async function startMetricsServer(registry: Registry, port: number, host = "0.0.0.0"): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: the world serves GET /metrics only\n");
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      (error: Error) => res.writeHead(500, { "content-type": "text/plain" }).end(`${error.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}/metrics`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
