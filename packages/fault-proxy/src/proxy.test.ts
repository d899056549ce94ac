import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FaultProxy } from "./proxy";

let echo: net.Server;
let proxy: FaultProxy;
let port: number;

beforeAll(async () => {
  echo = net.createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
  proxy = new FaultProxy({ upstreamHost: "127.0.0.1", upstreamPort: (echo.address() as net.AddressInfo).port });
  ({ port } = await proxy.listen());
});

afterAll(async () => {
  await proxy.close();
  await new Promise<void>((resolve) => echo.close(() => resolve()));
});

function connect(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
}

/** Sends `text` and resolves with what came back and how long it took, or null after `timeoutMs`. */
function roundTrip(s: net.Socket, text: string, timeoutMs = 2000): Promise<{ text: string; ms: number } | null> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let got = "";
    const timer = setTimeout(() => {
      s.off("data", on);
      resolve(null);
    }, timeoutMs);
    const on = (chunk: Buffer) => {
      got += chunk.toString();
      if (got.length >= text.length) {
        clearTimeout(timer);
        s.off("data", on);
        resolve({ text: got, ms: performance.now() - t0 });
      }
    };
    s.on("data", on);
    s.write(text);
  });
}

describe("the fault proxy", () => {
  it("passes bytes through, then delays each direction by delayMs without reordering them", async () => {
    const s = await connect();
    const fast = await roundTrip(s, "ping");
    expect(fast?.text).toBe("ping");
    expect(fast?.ms).toBeLessThan(1000);
    proxy.setFault({ mode: "delay", delayMs: 80 });
    const slow = await roundTrip(s, "abcdefgh");
    expect(slow?.text).toBe("abcdefgh");
    // Both directions are delayed: the round trip takes at least twice the delay.
    expect(slow?.ms).toBeGreaterThanOrEqual(159);
    const parts = await Promise.all([roundTrip(s, "1"), new Promise((r) => setTimeout(r, 5)).then(() => s.write("2"))]);
    expect(parts[0]?.text.startsWith("1")).toBe(true);
    proxy.setFault({ mode: "pass" });
    s.destroy();
  });

  it("holds everything in a black hole, with the connection open, and delivers it when the fault ends", async () => {
    const s = await connect();
    proxy.setFault({ mode: "blackhole" });
    expect(await roundTrip(s, "held", 300)).toBeNull();
    expect(s.destroyed).toBe(false);
    const late = roundTrip(s, "", 2000);
    proxy.setFault({ mode: "pass" });
    expect((await late)?.text).toBe("held");
    s.destroy();
  });

  it("resets open connections and refuses new ones while a reset lasts, and counts it all", async () => {
    const s = await connect();
    const closed = new Promise<void>((resolve) => s.once("close", () => resolve()));
    const before = proxy.stats();
    proxy.setFault({ mode: "reset" });
    await closed;
    const refused = await connect();
    await new Promise<void>((resolve) => refused.once("close", () => resolve()));
    proxy.setFault({ mode: "pass" });
    const again = await connect();
    expect((await roundTrip(again, "back"))?.text).toBe("back");
    const after = proxy.stats();
    // Every connection open at the reset (this one, and any earlier one not yet closed), and the refused one.
    expect(after.reset - before.reset).toBe(before.open + 1);
    expect(after.toUpstream).toBeGreaterThan(before.toUpstream);
    expect(after.fault).toEqual({ mode: "pass" });
    again.destroy();
  });

  it("refuses a fault it does not know or a delay that is not a number", () => {
    expect(() => proxy.setFault({ mode: "slow" as never })).toThrow(/mode: one of pass, delay, blackhole, reset/);
    expect(() => proxy.setFault({ mode: "delay" })).toThrow(/delayMs/);
    expect(proxy.stats().fault).toEqual({ mode: "pass" });
  });
});
