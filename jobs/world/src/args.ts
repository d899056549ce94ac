import { parseArgs } from "node:util";
import type { FraudWorldPreset, RecWorldPreset } from "@mlsd/synth";
import type { WorldEnv } from "./config";
import { DRIFT_HELP } from "./drift";
import { DEFAULT_WORLD_METRICS_PORT } from "./metrics";
import { parseDuration } from "./timeline";

export const USAGE = `usage: npm run world -- [options]

A simulated world that answers back. Users ask the recommender for slates and click what they
examine with the world's true relevance; card holders and fraudsters transact, the fraud service
scores each, and chargebacks and confirmations come back as labels after the world's delay. Every
action happens when the services' shared clock reads its world time.

services (flags win over the environment variables in brackets):
  --recommender URL     the recommender [RECOMMENDER_URL]; omit for no recommendation traffic
  --fraud URL           the fraud service [FRAUD_URL]; omit for no transactions
  --click-token T       the recommender's CLICK_WRITER_TOKEN [CLICK_WRITER_TOKEN]
  --label-token T       the fraud service's LABEL_WRITER_TOKEN [LABEL_WRITER_TOKEN]
  --kafka BROKERS       publish ground truth (world.recs-outcomes.v1, world.fraud-outcomes.v1) [KAFKA_BROKERS]
  --journal DIR         the ground-truth producer's spill journal (default .data/world/journal)

the worlds (the models' own: same preset, size and seed, continuing after their history):
  --registry DIR        read them from the current models' manifests [MODEL_REGISTRY_DIR]
  --recs-preset NAME    small | demo | benchmark (default small)   --recs-seed N (default 1)
  --users N --items N --sessions N         as given to train:recs
  --fraud-preset NAME   small | demo | handbook (default small)    --fraud-seed N (default 0)
  --customers N --terminals N --days N     as given to train:fraud
  --fraud-start-date D  the fraud world's day 0 (default: placed so its history ends where the
                        recommendation history does; train:fraud must get the same --start-date)

clock (every service must get the same three values):
  --speed X             world ms per real ms [CLOCK_SPEED] (default 1440: a world day a minute)
  --clock-start TIME    world time at the origin, ISO, epoch ms or now [CLOCK_START] (default: where the histories end)
  --clock-origin MS     real epoch ms of the origin [CLOCK_ORIGIN_MS] (default: now)

the run:
  --duration D          real time, e.g. 90s, 5m (default 60s)
  --world-days N        stop after N world days (whichever comes first)
  --seed N              the world's own draws: sessions, clicks, confirmations (default 1)
  --user-share S        share of users taking part (default 1)
  --customer-share S    share of customers taking part (default 1; below 1 thins terminal traffic,
                        which the fraud model sees as drift)
  --confirm-share S     share of legitimate transactions confirmed by a label (default 1)
  --declined-labels M   all (default, as the training data) | none (declined transactions never settle)
  --max-in-flight N     requests outstanding at most (default 256)
  --catch-up X          behind the clock, catch up at most X times faster than the world's rates (default 3)
  --timeout-ms N        a request unanswered this long counts as a timeout (default 10000)
  --progress-every D    a progress line this often (default 5s; 0: none)
  --print-calendar      print the clock settings and the fraud start date, then exit

metrics and the skew check:
  --metrics-port N      GET /metrics: the world's counters and the recommender's skew gauges
                        [WORLD_METRICS_PORT] (default 8092; 0: a free port; off: no endpoint)
  --offline-store DIR   the event logger's offline store: with it, the world checks the recommender's
                        served ranker rows against a replay of the log [OFFLINE_STORE_DIR]
  --skew-every D        real time between checks (default 30s; 0: no check); each compares the answers
                        logged since the last one, up to 5 s real behind the clock (the logger's lag)
  --skew-sample S       share of those answers compared, by request id (default 0.25)
  --skew-max-answers N  at most this many answers a check (default 200): a check's cost stays bounded
  ${DRIFT_HELP.replace(/\n/g, "\n  ")}
`;

export class WorldArgsError extends Error {
  override readonly name = "WorldArgsError";
}

export interface WorldSettings {
  recommenderUrl?: string | undefined;
  fraudUrl?: string | undefined;
  clickToken?: string | undefined;
  labelToken?: string | undefined;
  kafkaBrokers: string[];
  journalDir: string;
  registryDir?: string | undefined;
  recsPreset: RecWorldPreset;
  recsSeed: number;
  users?: number | undefined;
  items?: number | undefined;
  sessions?: number | undefined;
  fraudPreset: FraudWorldPreset;
  fraudSeed?: number | undefined;
  customers?: number | undefined;
  terminals?: number | undefined;
  fraudDays?: number | undefined;
  fraudStartDate?: string | undefined;
  speed: number;
  clockStart?: string | undefined;
  clockOriginMs?: number | undefined;
  durationMs: number;
  worldDays?: number | undefined;
  seed: number;
  userShare: number;
  customerShare: number;
  confirmShare: number;
  declinedLabels: "all" | "none";
  drifts: string[];
  maxInFlight: number;
  catchUpFactor: number;
  timeoutMs: number;
  progressEveryMs: number;
  /** null: no metrics endpoint. */
  metricsPort: number | null;
  offlineStoreDir?: string | undefined;
  /** 0: no skew check. */
  skewEveryMs: number;
  skewSample: number;
  skewMaxAnswers: number;
  printCalendar: boolean;
  help: boolean;
}

/** Flags over the environment; every value checked, every problem named. */
export function parseWorldArgs(argv: readonly string[], env: WorldEnv): WorldSettings {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        recommender: { type: "string" },
        fraud: { type: "string" },
        "click-token": { type: "string" },
        "label-token": { type: "string" },
        kafka: { type: "string" },
        journal: { type: "string" },
        registry: { type: "string" },
        "recs-preset": { type: "string" },
        "recs-seed": { type: "string" },
        users: { type: "string" },
        items: { type: "string" },
        sessions: { type: "string" },
        "fraud-preset": { type: "string" },
        "fraud-seed": { type: "string" },
        customers: { type: "string" },
        terminals: { type: "string" },
        days: { type: "string" },
        "fraud-start-date": { type: "string" },
        speed: { type: "string" },
        "clock-start": { type: "string" },
        "clock-origin": { type: "string" },
        duration: { type: "string" },
        "world-days": { type: "string" },
        seed: { type: "string" },
        "user-share": { type: "string" },
        "customer-share": { type: "string" },
        "confirm-share": { type: "string" },
        "declined-labels": { type: "string" },
        drift: { type: "string", multiple: true },
        "max-in-flight": { type: "string" },
        "catch-up": { type: "string" },
        "timeout-ms": { type: "string" },
        "progress-every": { type: "string" },
        "metrics-port": { type: "string" },
        "offline-store": { type: "string" },
        "skew-every": { type: "string" },
        "skew-sample": { type: "string" },
        "skew-max-answers": { type: "string" },
        "print-calendar": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    throw new WorldArgsError((error as Error).message);
  }
  const text = (name: string): string | undefined => (typeof values[name] === "string" ? (values[name] as string) : undefined);
  const number = (name: string, value: string | undefined, check: (v: number) => boolean, rule: string): number | undefined => {
    if (value === undefined) return undefined;
    const v = Number(value);
    if (!Number.isFinite(v) || !check(v)) throw new WorldArgsError(`--${name} must be ${rule}, got "${value}"`);
    return v;
  };
  const positiveInt = (name: string) => number(name, text(name), (v) => Number.isInteger(v) && v >= 1, "a positive integer");
  const share = (name: string, fallback: number, open = false) =>
    number(name, text(name), (v) => (open ? v > 0 : v >= 0) && v <= 1, open ? "in (0, 1]" : "in [0, 1]") ?? fallback;
  const duration = (name: string, fallback: string): number => {
    try {
      return parseDuration(text(name) ?? fallback);
    } catch (error) {
      throw new WorldArgsError(`--${name}: ${(error as Error).message}`);
    }
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const v = text(name) ?? fallback;
    if (!allowed.includes(v as T)) throw new WorldArgsError(`--${name} must be one of ${allowed.join(", ")}, got "${v}"`);
    return v as T;
  };
  const url = (name: string, fallback: string | undefined): string | undefined => {
    const v = text(name) ?? fallback;
    if (v !== undefined && !/^http:\/\/[^/\s]+/.test(v)) throw new WorldArgsError(`--${name} must be an http:// URL, got "${v}"`);
    return v;
  };
  const startDate = text("fraud-start-date");
  if (startDate !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(startDate)) throw new WorldArgsError(`--fraud-start-date must be YYYY-MM-DD, got "${startDate}"`);
  const speed = number("speed", text("speed") ?? env.CLOCK_SPEED, (v) => v > 0, "positive") ?? 1440;
  const metricsPortText = text("metrics-port") ?? env.WORLD_METRICS_PORT ?? String(DEFAULT_WORLD_METRICS_PORT);
  const metricsPort = metricsPortText === "off" ? null : (number("metrics-port", metricsPortText, (v) => Number.isInteger(v) && v >= 0 && v <= 65_535, "a port in [0, 65535] or off") as number);
  const origin = number("clock-origin", text("clock-origin") ?? env.CLOCK_ORIGIN_MS, (v) => Number.isInteger(v) && v > 0, "epoch milliseconds");
  return {
    recommenderUrl: url("recommender", env.RECOMMENDER_URL),
    fraudUrl: url("fraud", env.FRAUD_URL),
    clickToken: text("click-token") ?? env.CLICK_WRITER_TOKEN,
    labelToken: text("label-token") ?? env.LABEL_WRITER_TOKEN,
    kafkaBrokers: (text("kafka") ?? env.KAFKA_BROKERS ?? "").split(",").map((b) => b.trim()).filter((b) => b.length > 0),
    journalDir: text("journal") ?? ".data/world/journal",
    registryDir: text("registry") ?? env.MODEL_REGISTRY_DIR,
    recsPreset: oneOf("recs-preset", ["small", "demo", "benchmark"] as const, "small"),
    recsSeed: number("recs-seed", text("recs-seed"), (v) => Number.isInteger(v) && v >= 0, "an integer >= 0") ?? 1,
    users: positiveInt("users"),
    items: positiveInt("items"),
    sessions: positiveInt("sessions"),
    fraudPreset: oneOf("fraud-preset", ["small", "demo", "handbook"] as const, "small"),
    fraudSeed: number("fraud-seed", text("fraud-seed"), (v) => Number.isInteger(v) && v >= 0, "an integer >= 0"),
    customers: positiveInt("customers"),
    terminals: positiveInt("terminals"),
    fraudDays: positiveInt("days"),
    fraudStartDate: startDate,
    speed,
    clockStart: text("clock-start") ?? env.CLOCK_START,
    clockOriginMs: origin,
    durationMs: duration("duration", "60s"),
    worldDays: number("world-days", text("world-days"), (v) => v > 0, "positive"),
    seed: number("seed", text("seed"), (v) => Number.isInteger(v) && v >= 0, "an integer >= 0") ?? 1,
    userShare: share("user-share", 1, true),
    customerShare: share("customer-share", 1, true),
    confirmShare: share("confirm-share", 1),
    declinedLabels: oneOf("declined-labels", ["all", "none"] as const, "all"),
    drifts: (values.drift as string[] | undefined) ?? [],
    maxInFlight: positiveInt("max-in-flight") ?? 256,
    catchUpFactor: number("catch-up", text("catch-up"), (v) => v > 1, "above 1") ?? 3,
    timeoutMs: positiveInt("timeout-ms") ?? 10_000,
    progressEveryMs: duration("progress-every", "5s"),
    metricsPort,
    offlineStoreDir: text("offline-store") ?? env.OFFLINE_STORE_DIR,
    skewEveryMs: duration("skew-every", "30s"),
    skewSample: share("skew-sample", 0.25, true),
    skewMaxAnswers: positiveInt("skew-max-answers") ?? 200,
    printCalendar: values["print-calendar"] === true,
    help: values.help === true,
  };
}
