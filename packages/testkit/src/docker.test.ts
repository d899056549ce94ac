import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dockerEngineAnswers } from "./docker";

const dir = mkdtempSync(join(tmpdir(), "mlsd-testkit-docker-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in engine on a unix socket: only the socket protocol matters for the ping. */
async function fakeEngine(name: string, handler: Parameters<typeof createServer>[1]): Promise<{ path: string; server: Server }> {
  const path = join(dir, name);
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { path, server };
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe("dockerEngineAnswers", () => {
  it("is true when /_ping answers 200 OK", async () => {
    const seen: string[] = [];
    const { path, server } = await fakeEngine("ok.sock", (req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.end("OK");
    });
    expect(await dockerEngineAnswers({ kind: "socket", path })).toBe(true);
    expect(seen).toEqual(["GET /_ping"]);
    await close(server);
  });

  it("is false for an error status, a missing socket, or an engine that never answers", async () => {
    const failing = await fakeEngine("500.sock", (_req, res) => {
      res.statusCode = 500;
      res.end("boom");
    });
    expect(await dockerEngineAnswers({ kind: "socket", path: failing.path })).toBe(false);
    await close(failing.server);

    expect(await dockerEngineAnswers({ kind: "socket", path: join(dir, "absent.sock") })).toBe(false);

    const silent = await fakeEngine("silent.sock", () => {});
    const started = Date.now();
    expect(await dockerEngineAnswers({ kind: "socket", path: silent.path }, 150)).toBe(false);
    expect(Date.now() - started).toBeLessThan(5_000);
    silent.server.closeAllConnections();
    await close(silent.server);
  });

  it("reaches an engine over tcp", async () => {
    const server = createServer((_req, res) => res.end("OK"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    expect(await dockerEngineAnswers({ kind: "tcp", baseUrl: `http://127.0.0.1:${address.port}` })).toBe(true);
    await close(server);
  });
});
