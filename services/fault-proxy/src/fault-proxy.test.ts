import net from "node:net";
import { createLogger, startService } from "@mlsd/service-kit";
import { runHostileSuite } from "@mlsd/service-kit/testing";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { faultProxyService } from "./service";

const ADMIN = "fault-proxy-unit-admin-token";
const admin = { authorization: `Bearer ${ADMIN}` };
let echo: net.Server;
let service: Awaited<ReturnType<typeof startService<Parameters<typeof faultProxyService.createDeps>[0]["config"], Awaited<ReturnType<typeof faultProxyService.createDeps>>>>>;

beforeAll(async () => {
  echo = net.createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
  service = await startService(faultProxyService, { PORT: "0", PROXY_PORT: "0", UPSTREAM: `127.0.0.1:${(echo.address() as net.AddressInfo).port}`, ADMIN_TOKEN: ADMIN, MAX_FAULT_SECONDS: "60" }, { logger: createLogger({ service: "fault-proxy", level: "silent" }) });
});

afterAll(async () => {
  await service.shutdown("test over");
  await new Promise<void>((resolve) => echo.close(() => resolve()));
});

function echoOnce(port: number, text: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const s = net.connect(port, "127.0.0.1", () => s.write(text));
    s.once("data", () => {
      resolve(performance.now() - t0);
      s.destroy();
    });
    s.once("error", reject);
  });
}

describe("the fault proxy service", () => {
  it("sets a fault with the admin token, applies it to the proxied bytes, and lifts it by itself when its time is up", async () => {
    const app = service.app;
    await request(app).put("/v1/fault").send({ mode: "delay", delayMs: 50, seconds: 1 }).expect(401);
    const set = await request(app).put("/v1/fault").set(admin).send({ mode: "delay", delayMs: 100, seconds: 0.6 }).expect(200);
    expect(set.body.fault).toEqual({ mode: "delay", delayMs: 100 });
    expect(Date.parse(set.body.until)).toBeGreaterThan(Date.now());
    const port = set.body.listen.port as number;
    expect(await echoOnce(port, "slow")).toBeGreaterThanOrEqual(199);
    await new Promise((r) => setTimeout(r, 700));
    const lifted = await request(app).get("/v1/fault").expect(200);
    expect(lifted.body).toMatchObject({ fault: { mode: "pass" }, until: null });
    const metrics = await request(app).get("/metrics").expect(200);
    expect(metrics.text).toMatch(/fault_proxy_fault\{[^}]*mode="pass"[^}]*\} 1/);
    expect(Number(/fault_proxy_bytes_to_upstream(?:\{[^}]*\})? (\d+)/.exec(metrics.text)?.[1])).toBeGreaterThanOrEqual(4);
  });

  it("names the field of a bad fault, and lifts a fault on DELETE", async () => {
    const app = service.app;
    const noDelay = await request(app).put("/v1/fault").set(admin).send({ mode: "delay", seconds: 5 }).expect(400);
    expect(noDelay.body.error.details[0].field).toBe("delayMs");
    const tooLong = await request(app).put("/v1/fault").set(admin).send({ mode: "blackhole", seconds: 3600 }).expect(400);
    expect(tooLong.body.error.details[0].field).toBe("seconds");
    await request(app).put("/v1/fault").set(admin).send({ mode: "blackhole", seconds: 30 }).expect(200);
    const cleared = await request(app).delete("/v1/fault").set(admin).expect(200);
    expect(cleared.body).toMatchObject({ fault: { mode: "pass" }, until: null });
  });

  it("answers hostile input with a 4xx naming the field, and documents every route", async () => {
    const app = service.app;
    const route = (method: string, path: string) => app.routes.find((r) => r.method === method && r.path === path)!;
    const { problems } = await runHostileSuite(app, [{ route: route("PUT", "/v1/fault"), validBody: { mode: "delay", delayMs: 1, seconds: 0.01 }, headers: admin }], { runs: 40 });
    expect(problems).toEqual([]);
  });
});
