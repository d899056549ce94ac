import type { Cluster } from "ioredis";

/** Blocks until every primary's writes so far are on its replica: after this, a killed primary loses none of them. */
export async function replicateAll(client: Cluster): Promise<void> {
  const acks = await Promise.all(client.nodes("master").map((node) => node.call("WAIT", "1", "5000")));
  if (acks.some((n) => Number(n) < 1)) throw new Error(`a primary's replica did not acknowledge its writes: ${acks.join(",")}`);
}

/** The port of the primary serving `key` now. */
export async function primaryOf(client: Cluster, key: string): Promise<number> {
  const slot = Number(await client.cluster("KEYSLOT", key));
  const ranges = await client.cluster("SLOTS");
  const port = ranges.find(([a, b]) => slot >= a && slot <= b)?.[2]?.[1];
  if (typeof port !== "number") throw new Error(`no primary serves slot ${slot}`);
  return port;
}

/** Retries `op` until it succeeds (a failover in progress) or `timeoutMs` passes; returns how long it took. */
export async function untilItWorks<T>(op: () => Promise<T>, timeoutMs: number): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  for (;;) {
    try {
      return { value: await op(), ms: Date.now() - t0 };
    } catch (error) {
      if (Date.now() - t0 > timeoutMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
