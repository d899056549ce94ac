import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { freePort, freePorts, isPortFree } from "./free-port";

describe("freePorts", () => {
  it("returns distinct ports that can be bound", async () => {
    const ports = await freePorts(4);
    expect(new Set(ports).size).toBe(4);
    for (const port of ports) {
      expect(port).toBeGreaterThan(1023);
      expect(port).toBeLessThanOrEqual(65535);
      expect(await isPortFree(port)).toBe(true);
    }
  });

  it("rejects a count that is not a positive integer", async () => {
    await expect(freePorts(0)).rejects.toThrow(/^count:/);
    await expect(freePorts(1.5)).rejects.toThrow(/^count:/);
  });
});

describe("isPortFree", () => {
  it("is false while a server listens on the port and true after it closes", async () => {
    const port = await freePort();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    expect(await isPortFree(port)).toBe(false);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(await isPortFree(port)).toBe(true);
  });
});
