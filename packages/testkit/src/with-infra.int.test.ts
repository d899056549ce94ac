import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { freePorts, isPortFree } from "./free-port";
import { DEFAULT_LAYOUT, servicesDown, servicesStatus, servicesUp, type ServicesLayout } from "./services";
import { kafkaMetadataAnswers } from "./probes";
import { isAlive } from "./process-guard";

const WITH_INFRA = fileURLToPath(new URL("./with-infra.ts", import.meta.url));
const CHILD = fileURLToPath(new URL("./fixtures/infra-child.ts", import.meta.url));

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("with-infra", () => {
  it("gives the command a working Redis and Kafka, returns its exit code and leaves nothing running", async () => {
    // Without REDIS_URL / KAFKA_BROKERS, so it starts its own servers even inside a with-infra run.
    const env = { ...process.env, REDIS_URL: "", KAFKA_BROKERS: "" };
    const { code, stdout, stderr } = await run([WITH_INFRA, "--", process.execPath, "--import", "tsx", CHILD, "7"], env);
    expect(code).toBe(7);
    const line = stdout.split("\n").find((l) => l.startsWith("INFRA "));
    const report = JSON.parse(line?.slice("INFRA ".length) ?? "{}") as {
      redisUrl: string;
      brokers: string[];
      redisAnswers: boolean;
      kafkaAnswers: boolean;
    };
    expect(report.redisAnswers).toBe(true);
    expect(report.kafkaAnswers).toBe(true);
    expect(stderr).toMatch(/\[testkit\] redis: (local|container) /);
    expect(stderr).toMatch(/\[testkit\] kafka: (local|container) /);

    const redisPort = Number(new URL(report.redisUrl).port);
    const kafkaPort = Number(report.brokers[0]?.split(":")[1]);
    expect(await isPortFree(redisPort)).toBe(true);
    expect(await isPortFree(kafkaPort)).toBe(true);
  });

  it("exits 2 with a usage line when no command is given", async () => {
    const { code, stderr } = await run([WITH_INFRA, "--"], process.env);
    expect(code).toBe(2);
    expect(stderr).toContain("usage:");
  });
});

describe("services (fixed ports, detached, pid files)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "mlsd-testkit-services-int-"));
  let layout: ServicesLayout;
  const quiet = () => {};

  afterAll(async () => {
    if (layout) await servicesDown(layout, quiet);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("starts once, keeps data across down and up, and down stops exactly what up started", async () => {
    const [redisPort, kafkaPort, kafkaControllerPort] = (await freePorts(3)) as [number, number, number];
    layout = { ...DEFAULT_LAYOUT, dataDir, redisPort, kafkaPort, kafkaControllerPort };

    const up = await servicesUp(layout, quiet);
    expect(up.map((s) => s.status)).toEqual(["running", "running"]);
    const pids = up.map((s) => (s.status === "running" ? s.pid : 0));
    // A second up finds them running and starts nothing.
    expect((await servicesUp(layout, quiet)).map((s) => (s.status === "running" ? s.pid : 0))).toEqual(pids);

    const redis = new Redis(`redis://127.0.0.1:${redisPort}`, { lazyConnect: true });
    await redis.connect();
    await redis.set("demo:seeded", "yes");
    redis.disconnect();

    await servicesDown(layout, quiet);
    expect(pids.map(isAlive)).toEqual([false, false]);
    expect(servicesStatus(layout).map((s) => s.status)).toEqual(["stopped", "stopped"]);

    await servicesUp(layout, quiet);
    const again = new Redis(`redis://127.0.0.1:${redisPort}`, { lazyConnect: true });
    await again.connect();
    expect(await again.get("demo:seeded")).toBe("yes");
    again.disconnect();
    expect(await kafkaMetadataAnswers([`127.0.0.1:${kafkaPort}`])).toBe(true);
  });
});
