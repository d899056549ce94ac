import { spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO } from "./stack";

const SCRIPT = join(REPO, "infra/docker/healthcheck.mjs");
let server: http.Server;
let port: number;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === "/healthz") res.writeHead(200).end('{"status":"ok"}');
    else if (req.url === "/readyz") res.writeHead(503).end('{"ready":false}');
    else if (req.url === "/hang") return; // never answers
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

function probe(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stderr, ms: performance.now() - t0 }));
  });
}

describe("infra/docker/healthcheck.mjs", () => {
  it("exits 0 on a 2xx answer, probing /healthz by default", async () => {
    expect(await probe([], { PORT: String(port) })).toMatchObject({ code: 0, stderr: "" });
  });

  it("exits 1 on a 503 and says which path answered what", async () => {
    const result = await probe(["/readyz"], { PORT: String(port) });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`/readyz on port ${port}: HTTP 503`);
  });

  it("exits 1 when nothing listens, and when PORT is missing", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const free = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect((await probe([], { PORT: String(free) })).code).toBe(1);
    const missing = await probe([], {});
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("PORT must be set");
  });

  it("gives up on a target that never answers after its timeout", async () => {
    const result = await probe(["/hang"], { PORT: String(port) });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("no answer within 2000 ms");
  });
});
