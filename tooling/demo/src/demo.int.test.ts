import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startKafka, startRedis, type KafkaHandle, type RedisHandle } from "@mlsd/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../../..");
let redis: RedisHandle;
let kafka: KafkaHandle;

beforeAll(async () => {
  [redis, kafka] = await Promise.all([startRedis(), startKafka()]);
});

afterAll(async () => {
  await redis?.stop();
  await kafka?.stop();
});

describe("npm run demo -- --short (smoke)", () => {
  it("trains, starts every service, drives load at both designs, prints budgets and drift, then stops cleanly", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(here, "demo-cli.ts"), "--short", "--port-base", "9300"], {
      cwd: root,
      env: { ...process.env, REDIS_URL: redis.url, KAFKA_BROKERS: kafka.brokers.join(",") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    if (code !== 0) console.error(out.slice(-6000));
    expect(code).toBe(0);
    for (const name of ["event-logger", "drift-monitor", "fraud", "retrieval", "ranker", "recommender"]) {
      expect(out).toMatch(new RegExp(`${name}\\s+ready on http://127\\.0\\.0\\.1:93\\d\\d`));
    }
    // The world ran on the services' clock: requests answered, transactions and their labels
    // never refused for their times (a 400 would say the clocks disagree).
    expect(out).toContain("the world: simulated users and card holders");
    expect(out).toMatch(/world ran [\d.]+ s real: 2024-01-31 00:00 ->/);
    const row = (endpoint: string) => out.match(new RegExp(`\\n${endpoint}\\s+(\\d+)\\s+(\\d+)`))?.slice(1).map(Number) ?? [0, 0];
    expect(row("recommend")[1]).toBeGreaterThan(0);
    expect(row("score")[1]).toBeGreaterThan(0);
    expect(out).not.toMatch(/(score|label|recommend) 4\d\d x/);
    // The world's skew check on the offline store, printed with its counters: answers compared, none mismatching.
    expect(out).toMatch(/world: metrics at http:\/\/127\.0\.0\.1:9312\/metrics; recs skew check every 5 s/);
    expect(out).toMatch(/recs skew, last check \(world [^)]*\): [1-9]\d* answers \(\d+ item rows\) compared .*; 0 mismatching values in 0 answers over 16 features/);
    // The loadgen's measured-vs-budget table for both designs, and the drift report.
    expect(out).toContain("open-loop load: fraud scoring");
    expect(out).toContain("open-loop load: recommendations");
    expect(out.match(/within budget|budget/gi)?.length ?? 0).toBeGreaterThan(2);
    expect(out).toContain("drift report");
    expect(out).toContain("demo: everything it started is stopped");
  }, 900_000);
});
