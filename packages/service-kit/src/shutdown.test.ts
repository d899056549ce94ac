import { spawn } from "node:child_process";
import http from "node:http";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const fixture = fileURLToPath(new URL("./fixtures/slow-service.ts", import.meta.url));

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
  });
}

function startFixture(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", fixture], {
    env: { ...process.env, PORT: "0", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Array<Record<string, unknown>> = [];
  let stderr = "";
  child.stderr.on("data", (c) => (stderr += c));
  const port = new Promise<number>((resolve, reject) => {
    let buffer = "";
    child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>;
        buffer = buffer.slice(nl + 1);
        lines.push(line);
        if (line.msg === "listening") resolve(line.port as number);
      }
    });
    child.on("exit", (code) => reject(new Error(`fixture exited early (${code}): ${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, port, exited, lines, stderr: () => stderr };
}

describe("graceful shutdown", () => {
  it("finishes a slow in-flight request after SIGTERM, refuses new connections, closes in reverse, exits 0", async () => {
    const svc = startFixture({});
    const port = await svc.port;
    const inFlight = get(port, "/slow?ms=1500");
    await new Promise((r) => setTimeout(r, 300));
    svc.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));

    await expect(get(port, "/healthz")).rejects.toMatchObject({ code: "ECONNREFUSED" });
    const slow = await inFlight;
    expect(slow.status).toBe(200);
    expect(JSON.parse(slow.body)).toEqual({ sleptMs: 1500 });
    expect(await svc.exited).toBe(0);

    const closing = svc.lines.filter((l) => l.msg === "closed").map((l) => l.closer);
    expect(closing).toEqual(["second-dependency", "first-dependency"]);
  });

  it("gives up after the hard timeout and exits 1", async () => {
    const svc = startFixture({ SHUTDOWN_TIMEOUT_MS: "300" });
    const port = await svc.port;
    const inFlight = get(port, "/slow?ms=5000").catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 200));
    svc.child.kill("SIGTERM");
    expect(await svc.exited).toBe(1);
    expect(await inFlight).toMatchObject({ code: "ECONNRESET" });
    expect(svc.lines.some((l) => l.msg === "shutdown timed out; forcing exit")).toBe(true);
  });

  it("lists every configuration problem at start-up and exits non-zero", async () => {
    const svc = startFixture({ PORT: "not-a-port", LOG_LEVEL: "loud" });
    svc.port.catch(() => undefined);
    expect(await svc.exited).toBe(2);
    expect(svc.stderr()).toContain("PORT");
    expect(svc.stderr()).toContain("LOG_LEVEL");
  });
});
