import { parseExposition, type Family } from "@mlsd/prom-text";
import type { Logger } from "@mlsd/service-kit";
import type { KnownService } from "./config";

/** The JSON endpoints read besides /metrics and /readyz, by service. */
const EXTRA_ENDPOINTS: Partial<Record<KnownService, readonly string[]>> = {
  fraud: ["/v1/model", "/v1/model/arms"],
  retrieval: ["/v1/model", "/v1/model/arms"],
  ranker: ["/v1/model", "/v1/model/arms"],
  recommender: ["/v1/model"],
  "rollout-controller": ["/v1/rollouts"],
  "drift-monitor": ["/v1/drift"],
};

/** One service as one scrape saw it. */
export interface ServiceScrape {
  name: KnownService;
  url: string;
  /** /metrics answered and parsed. */
  up: boolean;
  /** Why not, when not. */
  error: string | null;
  /** /readyz: 200, and the checks it listed. */
  ready: boolean;
  readiness: unknown;
  families: Map<string, Family>;
  /** The extra endpoints' JSON bodies by path (absent when they did not answer 200). */
  json: Record<string, unknown>;
  /** Real ms the scrape took. */
  ms: number;
}

export interface Snapshot {
  /** Real epoch ms when the scrape started. */
  at: number;
  services: Map<KnownService, ServiceScrape>;
}

async function fetchText(url: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, text: await res.text() };
}

/** Scrapes one service: /metrics (required for `up`), /readyz and its extra JSON endpoints, in parallel. */
export async function scrapeService(name: KnownService, url: string, timeoutMs: number): Promise<ServiceScrape> {
  const t0 = performance.now();
  const extra = EXTRA_ENDPOINTS[name] ?? [];
  const [metrics, readyz, ...bodies] = await Promise.allSettled([fetchText(`${url}/metrics`, timeoutMs), fetchText(`${url}/readyz`, timeoutMs), ...extra.map((p) => fetchText(`${url}${p}`, timeoutMs))]);
  const out: ServiceScrape = { name, url, up: false, error: null, ready: false, readiness: null, families: new Map(), json: {}, ms: 0 };
  if (metrics.status === "rejected") out.error = `GET /metrics: ${reason(metrics.reason)}`;
  else if (metrics.value.status !== 200) out.error = `GET /metrics answered ${metrics.value.status}`;
  else {
    try {
      out.families = parseExposition(metrics.value.text);
      out.up = true;
    } catch (error) {
      out.error = `GET /metrics: ${(error as Error).message}`;
    }
  }
  if (readyz.status === "fulfilled") {
    out.ready = readyz.value.status === 200;
    out.readiness = parseJson(readyz.value.text);
  }
  extra.forEach((path, i) => {
    const body = bodies[i];
    if (body?.status === "fulfilled" && body.value.status === 200) out.json[path] = parseJson(body.value.text);
  });
  out.ms = Math.round((performance.now() - t0) * 10) / 10;
  return out;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

function reason(error: unknown): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError") return "timed out";
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(error);
}

/**
 * Scrapes every service on a timer and keeps the snapshots of the last window (plus one older, so
 * a window's delta always has a start). Reading is never blocked by a scrape in progress.
 */
export class Scraper {
  private readonly history: Snapshot[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<Snapshot> | null = null;

  constructor(
    readonly urls: ReadonlyMap<KnownService, string>,
    private readonly options: { intervalMs: number; timeoutMs: number; windowMs: number; logger: Logger },
  ) {}

  start(): void {
    if (this.timer) return;
    void this.scrapeNow();
    this.timer = setInterval(() => void this.scrapeNow(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Scrapes now (or joins the scrape in progress) and returns the snapshot. */
  scrapeNow(): Promise<Snapshot> {
    this.inFlight ??= this.scrape().finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  private async scrape(): Promise<Snapshot> {
    const at = Date.now();
    const scrapes = await Promise.all([...this.urls].map(([name, url]) => scrapeService(name, url, this.options.timeoutMs)));
    const snapshot: Snapshot = { at, services: new Map(scrapes.map((s) => [s.name, s])) };
    this.history.push(snapshot);
    // Keep the newest snapshot older than the window: it is where the window's deltas start.
    while (this.history.length > 2 && (this.history[1] as Snapshot).at <= at - this.options.windowMs) this.history.shift();
    for (const s of scrapes) if (!s.up) this.options.logger.debug({ service: s.name, error: s.error }, "scrape failed");
    return snapshot;
  }

  /** The newest snapshot and the one the window starts from (null until two scrapes exist). */
  window(): { latest: Snapshot | null; start: Snapshot | null } {
    const latest = this.history.at(-1) ?? null;
    if (!latest || this.history.length < 2) return { latest, start: null };
    const cutoff = latest.at - this.options.windowMs;
    const start = [...this.history].reverse().find((s) => s.at <= cutoff) ?? (this.history[0] as Snapshot);
    return { latest, start: start === latest ? null : start };
  }
}
