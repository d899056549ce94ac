import http from "node:http";
import type { AddressInfo } from "node:net";
import { Rng } from "@mlsd/random";

export interface TailProxyOptions {
  /** The real service behind the proxy, e.g. http://127.0.0.1:8082. */
  target: string;
  /** Share of requests held back before they are forwarded, 0 <= p < 1. */
  slowShare: number;
  /** How long a held-back request waits, in ms. */
  slowMs: number;
  seed: number;
}

export interface TailProxy {
  url: string;
  /** Requests forwarded, and how many of them were held back. */
  stats(): { forwarded: number; slowed: number };
  close(): Promise<void>;
}

/**
 * A latency fault in front of a real service (what toxiproxy's latency toxic does): a seeded share
 * of requests waits `slowMs` before it is forwarded, the rest go straight through. The slow tail is
 * then a known, independent per-call event, so what a fan-out does to it can be compared with
 * 1 - (1 - p)^N. The wait is a timer, not work: it slows the call without loading the service.
 */
export async function startTailProxy(options: TailProxyOptions): Promise<TailProxy> {
  if (!(options.slowShare >= 0 && options.slowShare < 1)) throw new RangeError(`slowShare must be in [0, 1), got ${options.slowShare}`);
  if (!(options.slowMs >= 0)) throw new RangeError(`slowMs must be >= 0, got ${options.slowMs}`);
  const target = new URL(options.target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const rng = new Rng(options.seed);
  let forwarded = 0;
  let slowed = 0;
  const server = http.createServer((req, res) => {
    const slow = rng.next() < options.slowShare;
    forwarded++;
    if (slow) slowed++;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const forward = () => {
        const up = http.request({ agent, host: target.hostname, port: Number(target.port), path: req.url, method: req.method, headers: req.headers }, (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        });
        up.on("error", (error) => {
          res.writeHead(502, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: { code: "BAD_GATEWAY", message: error.message } }));
        });
        up.end(Buffer.concat(chunks));
      };
      if (slow) setTimeout(forward, options.slowMs);
      else forward();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats: () => ({ forwarded, slowed }),
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
