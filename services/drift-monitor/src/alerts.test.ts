import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { silentLogger } from "@mlsd/service-kit";
import { afterEach, describe, expect, it } from "vitest";
import { WebhookAlertSink } from "./alerts";
import type { DriftAlert, WebhookOutcome } from "./alerts";

const alert = (feature: string): DriftAlert => ({
  kind: "feature_alert_started",
  model: "fraud-gbdt",
  reference: "fraud-gbdt@v1",
  window: "count",
  feature,
  psi: 0.3,
  pValue: 0.0004,
  time: "2024-04-01T00:00:00.000Z",
  alertingFeatures: [feature],
});

const servers: { close(): void }[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A local receiver that answers the statuses given, in turn, then 200. */
async function receiver(statuses: number[]): Promise<{ url: string; bodies: unknown[] }> {
  const bodies: unknown[] = [];
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (chunk: Buffer) => (text += chunk.toString()));
    req.on("end", () => {
      bodies.push(JSON.parse(text));
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies };
}

describe("WebhookAlertSink", () => {
  it("POSTs each alert as JSON and retries server errors within its bound", async () => {
    const hook = await receiver([503, 500]);
    const outcomes: WebhookOutcome[] = [];
    const sink = new WebhookAlertSink({ url: hook.url, retries: 3, initialBackoffMs: 5, logger: silentLogger, onOutcome: (o) => outcomes.push(o) });
    sink.send(alert("f3"));
    sink.send(alert("f4"));
    await sink.flush(5_000);
    expect(outcomes).toEqual(["delivered", "delivered"]);
    // f3 took three attempts (503, 500, 200), f4 one.
    expect(hook.bodies.map((b) => (b as DriftAlert).feature)).toEqual(["f3", "f3", "f3", "f4"]);
    expect(hook.bodies[0]).toEqual(alert("f3"));
  });

  it("gives up after the retries, and at once on a client error", async () => {
    const hook = await receiver([500, 500, 500, 404]);
    const outcomes: WebhookOutcome[] = [];
    const sink = new WebhookAlertSink({ url: hook.url, retries: 2, initialBackoffMs: 5, logger: silentLogger, onOutcome: (o) => outcomes.push(o) });
    sink.send(alert("f1"));
    sink.send(alert("f2"));
    await sink.flush(5_000);
    expect(outcomes).toEqual(["failed", "failed"]);
    expect(hook.bodies).toHaveLength(4);
  });

  it("never blocks the caller: send returns at once and a full queue drops the oldest", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const seen: string[] = [];
    const outcomes: WebhookOutcome[] = [];
    const slowFetch = (async (_url: string, init: { body: string }) => {
      await gate;
      seen.push((JSON.parse(init.body) as DriftAlert).feature as string);
      return new Response(null, { status: 200 });
    }) as unknown as typeof fetch;
    const sink = new WebhookAlertSink({ url: "http://receiver.invalid/", maxQueue: 2, logger: silentLogger, fetch: slowFetch, onOutcome: (o) => outcomes.push(o) });
    const started = performance.now();
    for (const f of ["a", "b", "c", "d"]) sink.send(alert(f));
    expect(performance.now() - started).toBeLessThan(50);
    release();
    await sink.flush(5_000);
    // "a" was already in flight; of b, c, d the queue kept the newest two.
    expect(seen).toEqual(["a", "c", "d"]);
    expect(outcomes.filter((o) => o === "dropped")).toHaveLength(1);
  });
});
