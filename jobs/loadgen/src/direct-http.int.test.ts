import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { runDirectHttp, type DirectHttpEvents } from "./direct-http";
import { postRequest } from "./http-wire";
import { startNullServer } from "./null-server";
import { runOpenLoop } from "./open-loop";
import type { Answer } from "./open-loop";
import { scheduleArrivals } from "./schedule";

type Handler = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void;

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

async function serve(handler: Handler): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => handler(req, body, res));
  });
  server.on("connection", () => connections++);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

function collect() {
  const answered = new Map<number, { answer: Answer; scheduledAt: number; sentAt: number; now: number }>();
  const timedOut: number[] = [];
  const failed: number[] = [];
  const events: DirectHttpEvents = {
    answered: (index, answer, scheduledAt, sentAt, now) => answered.set(index, { answer, scheduledAt, sentAt, now }),
    timedOut: (index) => timedOut.push(index),
    failed: (index) => failed.push(index),
  };
  return { answered, timedOut, failed, events };
}

const target = (url: string, answer = (_i: number, status: number, body: unknown): Answer => ({ status, ...(body ? {} : {}) })) => ({
  url,
  request: (i: number) => postRequest("/echo", new URL(url).host, JSON.stringify({ i })),
  answer,
});

describe("runDirectHttp: the sender thread writes, the main thread reads", () => {
  it("sends every request once, none before its time, over a few keep-alive connections", async () => {
    const seen: number[] = [];
    const server = await serve((_req, body, res) => {
      seen.push((JSON.parse(body) as { i: number }).i);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(body);
    });
    const offsets = scheduleArrivals({ rate: 500, spanMs: 600 });
    const c = collect();
    const bodies: unknown[] = [];
    const result = await runDirectHttp({
      offsets,
      target: target(server.url, (i, status, body) => {
        bodies[i] = body;
        return { status };
      }),
      // Generous: on a shared machine the test process can stall for a few hundred milliseconds.
      maxInFlight: 1000,
      timeoutMs: 5000,
      events: c.events,
    });
    const dropped = Array.from(result.sentAt).filter((t) => t === -1).length;
    expect({ answered: c.answered.size, failed: c.failed.length, timedOut: c.timedOut.length, dropped }).toEqual({ answered: 300, failed: 0, timedOut: 0, dropped: 0 });
    // Each exactly once (the server may read its connections in any order).
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(c.answered.size).toBe(300);
    expect(bodies[42]).toEqual({ i: 42 });
    for (let i = 0; i < offsets.length; i++) {
      // Never early, and timed from the schedule the sender followed.
      expect(result.sentAt[i]).toBeGreaterThanOrEqual(offsets[i] as number);
      const a = c.answered.get(i);
      expect(a?.scheduledAt).toBeCloseTo(result.start + (offsets[i] as number), 9);
      expect(a?.sentAt).toBeCloseTo(result.start + (result.sentAt[i] as number), 9);
      expect(a!.now).toBeGreaterThanOrEqual(a!.sentAt);
    }
    // Keep-alive: connections are the reserve plus what the concurrency reached, not one per request.
    expect(result.reserve).toBe(25); // 50 ms of requests at 500/s
    expect(server.connections()).toBe(result.connectionsOpened);
    expect(result.connectionsOpened).toBeLessThanOrEqual(result.reserve + result.maxInFlightSeen);
    expect(c.timedOut).toEqual([]);
    expect(c.failed).toEqual([]);
  });

  it("carries on when the server closes the connection after every answer", async () => {
    const server = await serve((_req, body, res) => {
      res.writeHead(200, { "content-type": "application/json", connection: "close" });
      res.end(body);
    });
    const c = collect();
    const result = await runDirectHttp({ offsets: scheduleArrivals({ rate: 200, spanMs: 250 }), target: target(server.url), maxInFlight: 50, timeoutMs: 2000, events: c.events });
    expect(c.answered.size).toBe(50);
    expect([...c.answered.values()].every((a) => a.answer.status === 200)).toBe(true);
    expect(server.connections()).toBeGreaterThanOrEqual(50);
    expect(Array.from(result.sentAt).every((t) => t >= 0)).toBe(true);
  });

  it("times out requests left unanswered and drops those due while the cap is reached", async () => {
    const server = await serve(() => {
      // Never answers.
    });
    const c = collect();
    const offsets = scheduleArrivals({ rate: 100, spanMs: 200 });
    const result = await runDirectHttp({ offsets, target: target(server.url), maxInFlight: 5, timeoutMs: 300, events: c.events });
    expect(c.answered.size).toBe(0);
    expect(c.timedOut.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
    const dropped = Array.from(result.sentAt).flatMap((t, i) => (t === -1 ? [i] : []));
    expect(dropped).toEqual(Array.from({ length: 15 }, (_, i) => i + 5));
    expect(result.maxInFlightSeen).toBe(5);
  });

  it("fails every request to a port nobody listens on", async () => {
    const server = await serve(() => {});
    const url = server.url;
    servers.pop()?.close();
    await new Promise((r) => setTimeout(r, 50));
    const c = collect();
    await runDirectHttp({ offsets: scheduleArrivals({ rate: 100, spanMs: 100 }), target: target(url), maxInFlight: 100, timeoutMs: 2000, events: c.events });
    expect(c.failed.sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });
});

describe("the null server", () => {
  it("answers at once from its own process and stops when told", async () => {
    const server = await startNullServer();
    expect(server.pid).not.toBe(process.pid);
    const response = await fetch(`${server.url}/anything`, { method: "POST", body: "{}" });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
    await server.stop();
    await expect(fetch(server.url)).rejects.toThrow();
  });

  it("measures through the sender thread with the precise timer, and through the event loop with the coarse one", async () => {
    const server = await startNullServer();
    try {
      const { HttpClient } = await import("./http-client");
      const { httpSender } = await import("./targets/target");
      const client = new HttpClient({ baseUrl: server.url });
      const nullTarget = { endpoint: "null", path: "/", next: () => ({ body: "{}", expectRejection: false }), interpret: () => ({}) };
      for (const timer of ["precise", "coarse"] as const) {
        const r = await runOpenLoop({ ...httpSender(nullTarget, client), rate: 200, durationMs: 500, timer });
        expect(r.sender).toBe(timer === "precise" ? "sender thread" : "event loop");
        expect(r.counts).toMatchObject({ scheduled: 100, sent: 100, ok: 100 });
        expect(r.sendLag.count).toBe(100);
        expect(r.sendLag.min).toBeGreaterThanOrEqual(0);
        expect(r.latency.min).toBeGreaterThanOrEqual(r.latencyFromSend.min);
      }
      client.close();
    } finally {
      await server.stop();
    }
  });
});
