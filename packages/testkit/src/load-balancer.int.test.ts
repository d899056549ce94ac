import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startLoadBalancer, type LoadBalancerHandle } from "./load-balancer";

/**
 * The balancer on Debian's HAProxy against small HTTP replicas whose readiness, latency and
 * failures the test controls: routing across replicas, readiness removing a replica, every replica
 * unready still answered, a replica dying mid-request retried on another, the queue bound refusing
 * at once in the services' error shape.
 */

interface Replica {
  id: string;
  address: string;
  ready: boolean;
  /** Answers after this many ms. */
  delayMs: number;
  /** Closes the connection of the next request without an answer (a process killed mid-request). */
  dropNext: number;
  served: number;
  server: http.Server;
}

async function startReplica(id: string): Promise<Replica> {
  const replica = { id, ready: true, delayMs: 0, dropNext: 0, served: 0 } as Replica;
  replica.server = http.createServer((req, res) => {
    if (req.url === "/readyz") {
      res.writeHead(replica.ready ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify({ ready: replica.ready }));
      return;
    }
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      if (replica.dropNext > 0) {
        replica.dropNext--;
        req.socket.destroy();
        return;
      }
      setTimeout(() => {
        replica.served++;
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ replica: id, body }));
      }, replica.delayMs);
    });
  });
  await new Promise<void>((resolve) => replica.server.listen(0, "127.0.0.1", resolve));
  replica.address = `127.0.0.1:${(replica.server.address() as AddressInfo).port}`;
  return replica;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 10_000): Promise<number> {
  const t0 = Date.now();
  while (!(await probe())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
  return Date.now() - t0;
}

let a: Replica;
let b: Replica;
let lb: LoadBalancerHandle;
const post = async (name: string, body = "x") => {
  const res = await fetch(`${lb.url(name)}/v1/score`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ body }) });
  return { status: res.status, retryAfter: res.headers.get("retry-after"), json: (await res.json()) as Record<string, unknown> };
};

beforeAll(async () => {
  a = await startReplica("a");
  b = await startReplica("b");
  lb = await startLoadBalancer({
    services: [
      { name: "scoring", replicas: [a.address, b.address] },
      { name: "bounded", replicas: [a.address, b.address], maxInFlightPerReplica: 2, maxQueued: 2 },
    ],
    checkIntervalMs: 100,
  });
  await until("both replicas up", async () => (await lb.replicasUp("scoring")) === 2);
});

afterAll(async () => {
  await lb?.stop();
  for (const r of [a, b]) {
    r?.server.closeAllConnections();
    r?.server.close();
  }
});

beforeEach(async () => {
  for (const r of [a, b]) Object.assign(r, { ready: true, delayMs: 0, dropNext: 0 });
  await until("every replica up", async () => (await lb.replicasUp("scoring")) === 2 && (await lb.replicasUp("bounded")) === 2);
});

describe("the load balancer", () => {
  it("spreads requests over the replicas and passes the body through", async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => post("scoring", `n${i}`)));
    expect(answers.every((r) => r.status === 200)).toBe(true);
    const by = (id: string) => answers.filter((r) => r.json.replica === id).length;
    expect(by("a")).toBeGreaterThan(0);
    expect(by("b")).toBeGreaterThan(0);
    expect(answers.map((r) => (JSON.parse(String(r.json.body)) as { body: string }).body).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `n${i}`).sort());
  });

  it("takes an unready replica out and puts it back once it is ready", async () => {
    b.ready = false;
    const downMs = await until("b marked down", async () => (await lb.replicasUp("scoring")) === 1);
    const answers = await Promise.all(Array.from({ length: 10 }, () => post("scoring")));
    expect(answers.map((r) => r.json.replica)).toEqual(Array(10).fill("a"));
    b.ready = true;
    const upMs = await until("b back", async () => (await lb.replicasUp("scoring")) === 2);
    console.info(`readiness: a replica out ${downMs} ms after /readyz failed, back ${upMs} ms after it passed (checks every 100 ms, 2 to change)`);
    expect(downMs).toBeLessThan(5_000);
  });

  it("still answers when every replica is unready (a shared dependency is down): degraded beats a 503", async () => {
    a.ready = false;
    b.ready = false;
    await until("both marked down", async () => (await lb.replicasUp("scoring")) === 0);
    const answers = await Promise.all(Array.from({ length: 6 }, () => post("scoring")));
    expect(answers.map((r) => r.status)).toEqual(Array(6).fill(200));
  });

  it("retries a request whose replica closed the connection without an answer on another replica", async () => {
    a.dropNext = 3;
    b.dropNext = 0;
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await post("scoring"));
    expect(answers.map((r) => r.status)).toEqual(Array(6).fill(200));
    expect(a.dropNext).toBeLessThan(3);
  });

  it("retries on another replica when one is gone, before the checks notice", async () => {
    const c = await startReplica("c");
    const gone = await startReplica("gone");
    const pair = await startLoadBalancer({ services: [{ name: "pair", replicas: [gone.address, c.address] }], checkIntervalMs: 5_000 });
    try {
      await until("pair up", async () => (await pair.replicasUp("pair")) === 2);
      gone.server.closeAllConnections();
      await new Promise((r) => gone.server.close(r));
      const statuses = [];
      for (let i = 0; i < 10; i++) statuses.push((await fetch(`${pair.url("pair")}/v1/x`, { method: "POST", body: "{}" })).status);
      expect(statuses).toEqual(Array(10).fill(200));
      expect(c.served).toBe(10);
    } finally {
      await pair.stop();
      c.server.closeAllConnections();
      c.server.close();
    }
  });

  it("keeps at most maxInFlightPerReplica in each replica, queues maxQueued more and refuses the rest at once", async () => {
    a.delayMs = 400;
    b.delayMs = 400;
    const refusedBefore = await lb.refused("bounded");
    const t0 = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        // Spaced, so that the balancer has placed each request before the next arrives.
        await sleep(15 * i);
        const r = await post("bounded");
        return { ...r, ms: Date.now() - t0 };
      }),
    );
    const ok = answers.filter((r) => r.status === 200);
    const refused = answers.filter((r) => r.status === 503);
    // 2 replicas x 2 in flight + 2 queued.
    expect(ok).toHaveLength(6);
    expect(refused).toHaveLength(6);
    for (const r of refused) {
      expect(r.retryAfter).toBe("1");
      expect(r.json).toMatchObject({ error: { code: "UNAVAILABLE", details: null } });
      expect(String((r.json.error as { message: string }).message)).toContain("overloaded");
      // Refused without waiting for a replica (each would take 400 ms).
      expect(r.ms).toBeLessThan(400 + 15 * 12);
    }
    expect((await lb.refused("bounded")) - refusedBefore).toBe(6);
  });

  it("names the service it does not know", () => {
    expect(() => lb.url("nope")).toThrow('no service "nope"');
  });
});
