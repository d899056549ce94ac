import { FRAUD_WORLD_PRESETS, REC_WORLD_ORIGIN_MS } from "@mlsd/synth";
import { describe, expect, it } from "vitest";
import { Agenda } from "./agenda";
import { parseWorldArgs, WorldArgsError } from "./args";
import { alignedFraudStartDate, CalendarError, fraudHistoryEndMs, fraudPresetSpec, recsHistoryEndMs, recsPresetSpec, worldStartMs } from "./calendar";
import { DriftSpecError, parseDrift } from "./drift";
import { describePlan, planWorld } from "./plan";
import { DAY_MS, parseDuration, parseWorldTime } from "./timeline";

const START = Date.parse("2024-01-31T00:00:00Z");

describe("agenda", () => {
  it("pops by world time, first in first out among equal times", () => {
    const a = new Agenda<string>();
    for (const [at, item] of [[5, "e"], [1, "a"], [3, "c1"], [3, "c2"], [2, "b"], [3, "c3"], [9, "z"]] as const) a.add(at, item);
    const out: string[] = [];
    while (a.size > 0) out.push(a.pop()!.item);
    expect(out).toEqual(["a", "b", "c1", "c2", "c3", "e", "z"]);
    expect(() => a.add(Number.NaN, "x")).toThrow(RangeError);
  });
});

describe("times and drifts from flags", () => {
  it("reads offsets from the world's start and ISO times", () => {
    expect(parseWorldTime("+2d", START)).toBe(START + 2 * DAY_MS);
    expect(parseWorldTime("+36h", START)).toBe(START + 36 * 3_600_000);
    expect(parseWorldTime("+90m", START)).toBe(START + 90 * 60_000);
    expect(parseWorldTime("2024-02-03T12:00", START)).toBe(Date.parse("2024-02-03T12:00:00Z"));
    expect(() => parseWorldTime("tomorrow", START)).toThrow(/neither an ISO/);
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("2m")).toBe(120_000);
    expect(parseDuration("15")).toBe(15_000);
    expect(() => parseDuration("soon")).toThrow(RangeError);
  });

  it("parses each drift kind with defaults and refuses what cannot work", () => {
    expect(parseDrift("card-testing@+3d,cards=40,burst=10-20", START)).toEqual({ kind: "card-testing", at: START + 3 * DAY_MS, cardsPerDay: 40, burst: { min: 10, max: 20 }, amount: { min: 0.5, max: 5 }, spreadMinutes: 20 });
    expect(parseDrift("preference-shift@+1d", START)).toEqual({ kind: "preference-shift", at: START + DAY_MS, share: 0.5, angleDegrees: 60 });
    expect(parseDrift("new-items@2024-02-05T00:00:00Z,count=200,quality=1", START)).toEqual({ kind: "new-items", at: Date.parse("2024-02-05T00:00:00Z"), count: 200, qualityShift: 1 });
    expect(parseDrift("terminal-wave@+2d,terminals=80", START)).toEqual({ kind: "terminal-wave", at: START + 2 * DAY_MS, terminals: 80, days: 14 });
    expect(() => parseDrift("earthquake@+1d", START)).toThrow(/unknown kind "earthquake"/);
    expect(() => parseDrift("card-testing", START)).toThrow(DriftSpecError);
    expect(() => parseDrift("card-testing@+1d,cards=0", START)).toThrow(/cards must be positive/);
    expect(() => parseDrift("card-testing@+1d,burst=9-3", START)).toThrow(/burst must be MIN-MAX/);
    expect(() => parseDrift("preference-shift@+1d,share=2", START)).toThrow(/share must be in \[0, 1\]/);
    expect(() => parseDrift("new-items@+1d,colour=red", START)).toThrow(/unknown key "colour"/);
  });
});

describe("flags", () => {
  it("take the environment's values unless a flag says otherwise", () => {
    const env = { RECOMMENDER_URL: "http://127.0.0.1:8080", FRAUD_URL: "http://127.0.0.1:8081", CLICK_WRITER_TOKEN: "c", LABEL_WRITER_TOKEN: "l", KAFKA_BROKERS: "a:1, b:2", CLOCK_SPEED: "720", CLOCK_ORIGIN_MS: "1700000000000" };
    const s = parseWorldArgs(["--speed", "2880", "--drift", "card-testing@+2d", "--drift", "new-items@+1d", "--duration", "2m", "--label-token", "L2"], env);
    expect(s).toMatchObject({ recommenderUrl: "http://127.0.0.1:8080", fraudUrl: "http://127.0.0.1:8081", clickToken: "c", labelToken: "L2", kafkaBrokers: ["a:1", "b:2"], speed: 2880, clockOriginMs: 1_700_000_000_000, durationMs: 120_000 });
    expect(s.drifts).toEqual(["card-testing@+2d", "new-items@+1d"]);
    expect(parseWorldArgs([], {})).toMatchObject({ speed: 1440, durationMs: 60_000, recsPreset: "small", fraudPreset: "small", confirmShare: 1, declinedLabels: "all", maxInFlight: 256, catchUpFactor: 3 });
  });

  it("name the flag that is wrong", () => {
    expect(() => parseWorldArgs(["--speed", "0"], {})).toThrow(/--speed must be positive/);
    expect(() => parseWorldArgs(["--user-share", "0"], {})).toThrow(/--user-share must be in \(0, 1\]/);
    expect(() => parseWorldArgs(["--declined-labels", "some"], {})).toThrow(/--declined-labels must be one of all, none/);
    expect(() => parseWorldArgs(["--fraud", "localhost:8081"], {})).toThrow(/--fraud must be an http:\/\/ URL/);
    expect(() => parseWorldArgs(["--fraud-start-date", "1/2/2024"], {})).toThrow(/YYYY-MM-DD/);
    expect(() => parseWorldArgs(["--catch-up", "1"], {})).toThrow(/--catch-up must be above 1/);
    expect(() => parseWorldArgs(["--bogus"], {})).toThrow(WorldArgsError);
  });
});

describe("calendar", () => {
  it("ends both histories at the same midnight: the recs world's last day, the fraud world placed to end there", () => {
    const recs = recsPresetSpec("small");
    expect(recsHistoryEndMs(recs)).toBe(REC_WORLD_ORIGIN_MS + 30 * DAY_MS);
    expect(alignedFraudStartDate(FRAUD_WORLD_PRESETS.small.days, recsHistoryEndMs(recs))).toBe("2023-12-02");
    const fraud = fraudPresetSpec("small", recsHistoryEndMs(recs));
    expect(fraudHistoryEndMs(fraud)).toBe(START);
    expect(worldStartMs({ recs, fraud })).toBe(START);
    expect(worldStartMs({ recs: null, fraud })).toBe(START);
  });

  it("refuses histories that end apart, naming the fraud start date that aligns them", () => {
    const recs = recsPresetSpec("small");
    expect(() => worldStartMs({ recs, fraud: { ...FRAUD_WORLD_PRESETS.small } })).toThrow(CalendarError);
    expect(() => worldStartMs({ recs, fraud: { ...FRAUD_WORLD_PRESETS.small } })).toThrow(/--start-date 2023-12-02/);
    expect(() => worldStartMs({ recs: null, fraud: null })).toThrow(/no design/);
  });

  it("plans the run and prints the real rates the clock speed implies", () => {
    const settings = parseWorldArgs(["--recommender", "http://127.0.0.1:1", "--fraud", "http://127.0.0.1:2", "--speed", "8640", "--clock-origin", "1000", "--drift", "card-testing@+9d"], {});
    const plan = planWorld(settings, () => 1000);
    expect(plan.startMs).toBe(START);
    expect(plan.clock.now()).toBe(START);
    // 60 s real at 8640x: six world days.
    expect(plan.endMs).toBe(START + 6 * DAY_MS);
    const lines = describePlan(plan, settings).join("\n");
    expect(lines).toContain("CLOCK_START=2024-01-31T00:00:00.000Z CLOCK_ORIGIN_MS=1000 CLOCK_SPEED=8640");
    expect(lines).toContain("a world day every 10.0 s real");
    const fraudPerDay = plan.fraud!.perDay.transactions;
    expect(fraudPerDay).toBeGreaterThan(1800);
    expect(fraudPerDay).toBeLessThan(2100);
    expect(lines).toContain(`${(fraudPerDay / 10).toFixed(0)} scores/s real`);
    expect(lines).toContain(`COUNT_WINDOW_SIZE=${Math.round(7 * fraudPerDay)} TIME_WINDOW_SECONDS=604800`);
    expect(lines).toContain("drift: card-testing@2024-02-09T00:00:00.000Z (fraud)");
    // The small preset's 60 days are too short for the trainer's split to start after the windows fill.
    expect(lines).toContain("warning: the fraud history is 60 days; the trainer's rows (its last 49 days) start before the 37-day feature windows are full");
    expect(lines).toContain("train with --days 86 or more");
    expect(describePlan(planWorld({ ...settings, fraudDays: 90 }, () => 1000), settings).join("\n")).not.toContain("warning");
    expect(() => planWorld(parseWorldArgs(["--fraud", "http://127.0.0.1:2", "--drift", "preference-shift@+1d"], {}))).toThrow(/gets no traffic/);
  });
});

describe("metrics and skew-check flags", () => {
  it("serve /metrics on 8092 unless told otherwise, and check skew only with the offline store", () => {
    const base = parseWorldArgs([], {});
    expect([base.metricsPort, base.offlineStoreDir, base.skewEveryMs, base.skewSample, base.skewMaxAnswers]).toEqual([8092, undefined, 30_000, 0.25, 200]);
    expect(parseWorldArgs([], { WORLD_METRICS_PORT: "9400", OFFLINE_STORE_DIR: "/logs/offline-store" })).toMatchObject({ metricsPort: 9400, offlineStoreDir: "/logs/offline-store" });
    const flags = parseWorldArgs(["--metrics-port", "0", "--offline-store", "x", "--skew-every", "10s", "--skew-sample", "1", "--skew-max-answers", "50"], { WORLD_METRICS_PORT: "9400" });
    expect([flags.metricsPort, flags.offlineStoreDir, flags.skewEveryMs, flags.skewSample, flags.skewMaxAnswers]).toEqual([0, "x", 10_000, 1, 50]);
    expect(parseWorldArgs(["--metrics-port", "off"], {}).metricsPort).toBeNull();
    expect(() => parseWorldArgs(["--metrics-port", "70000"], {})).toThrow(/--metrics-port must be a port in \[0, 65535\] or off/);
    expect(() => parseWorldArgs(["--skew-sample", "0"], {})).toThrow(/--skew-sample must be in \(0, 1\]/);
  });
});

