import { DEFAULT_FRAUD_FEATURE_CONFIG } from "@mlsd/feature-store";
import { ScaledClock } from "@mlsd/service-kit";
import { DEFAULT_SPLIT } from "@mlsd/datasets";
import { createRecWorld, DEFAULT_CLICK_MODEL, resolveFraudWorldOptions, type FraudWorldInput } from "@mlsd/synth";
import type { WorldSettings } from "./args";
import { CardHolders } from "./card-holders";
import { fraudPresetSpec, recsHistoryEndMs, recsPresetSpec, trainedWorlds, worldStartMs, type RecsWorldSpec, type WorldSpecs } from "./calendar";
import { driftDesign, driftName, parseDrift, type WorldDrift } from "./drift";
import { RecsUsers } from "./recs-users";
import { DAY_MS, realRate } from "./timeline";

export interface WorldPlan {
  /** The worlds continued (null: that design gets no traffic). */
  specs: WorldSpecs;
  /** Where the histories end: the world's first action is after it. */
  startMs: number;
  /** Nothing happens at or after it. */
  endMs: number;
  clock: ScaledClock;
  recs: RecsUsers | null;
  fraud: CardHolders | null;
  drifts: WorldDrift[];
}

/** A week of world time: seasonality (weekdays, hours of the day) repeats over it. */
export const WEEK_MS = 7 * DAY_MS;

/**
 * The worlds to continue (from the registry's manifests, or the presets, with flags on top), the
 * shared clock, and the populations, ready to run. Building the fraud population replays its
 * history to reach where it ended (a second for the small world).
 */
export function planWorld(settings: WorldSettings, realNow: () => number = Date.now): WorldPlan {
  const trained: WorldSpecs = settings.registryDir ? trainedWorlds(settings.registryDir) : { recs: null, fraud: null };
  const preset = recsPresetSpec(settings.recsPreset, settings.recsSeed);
  const recsSpec: RecsWorldSpec = {
    ...(trained.recs ?? preset),
    ...(settings.users ? { numUsers: settings.users } : {}),
    ...(settings.items ? { numItems: settings.items } : {}),
    ...(settings.sessions ? { sessionsPerUser: settings.sessions } : {}),
  };
  const overrides: FraudWorldInput = {
    ...(trained.fraud ?? {}),
    ...(settings.fraudSeed !== undefined ? { seed: settings.fraudSeed } : {}),
    ...(settings.customers ? { customers: settings.customers } : {}),
    ...(settings.terminals ? { terminals: settings.terminals } : {}),
    ...(settings.fraudDays ? { days: settings.fraudDays } : {}),
    ...(settings.fraudStartDate ? { startDate: settings.fraudStartDate } : {}),
  };
  const fraudSpec = fraudPresetSpec(settings.fraudPreset, recsHistoryEndMs(recsSpec), overrides);
  const specs: WorldSpecs = { recs: settings.recommenderUrl ? recsSpec : null, fraud: settings.fraudUrl ? fraudSpec : null };
  const startMs = worldStartMs(specs);

  let clockStart = startMs;
  if (settings.clockStart !== undefined) {
    // "now": services on the wall clock (docker compose) and a world at speed 1 from the present.
    clockStart = settings.clockStart === "now" ? realNow() : /^\d+$/.test(settings.clockStart) ? Number(settings.clockStart) : Date.parse(settings.clockStart);
    if (!Number.isFinite(clockStart)) throw new RangeError(`CLOCK_START must be an ISO time, epoch ms or now, got "${settings.clockStart}"`);
  }
  const clock = new ScaledClock(clockStart, settings.clockOriginMs ?? realNow(), settings.speed, realNow);
  const from = Math.max(startMs, clock.now());
  const endMs = settings.worldDays !== undefined ? startMs + settings.worldDays * DAY_MS : from + settings.durationMs * settings.speed;

  const drifts = settings.drifts.map((d) => parseDrift(d, startMs)).sort((a, b) => a.at - b.at);
  for (const d of drifts) {
    if (d.at <= startMs) throw new RangeError(`--drift ${driftName(d)}: must be after the world's start ${new Date(startMs).toISOString()}`);
    if (!(driftDesign(d) === "recs" ? specs.recs : specs.fraud)) throw new RangeError(`--drift ${driftName(d)}: changes the ${driftDesign(d)} world, which gets no traffic (give its URL)`);
  }

  const recs = specs.recs
    ? new RecsUsers(
        {
          world: createRecWorld({ preset: recsSpec.preset, seed: recsSpec.seed, ...(recsSpec.numUsers ? { numUsers: recsSpec.numUsers } : {}), ...(recsSpec.numItems ? { numItems: recsSpec.numItems } : {}) }),
          sessionsPerUser: recsSpec.sessionsPerUser,
          slateSize: recsSpec.slateSize,
          clickModel: DEFAULT_CLICK_MODEL,
          originMs: recsSpec.originMs,
          userShare: settings.userShare,
          seed: settings.seed,
        },
        startMs,
      )
    : null;
  const fraud = specs.fraud
    ? new CardHolders({
        world: specs.fraud,
        horizonDays: Math.ceil((endMs - startMs) / DAY_MS) + 1,
        drift: drifts.filter((d): d is Extract<WorldDrift, { kind: "card-testing" | "terminal-wave" }> => driftDesign(d) === "fraud"),
        customerShare: settings.customerShare,
        confirmShare: settings.confirmShare,
        declinedLabels: settings.declinedLabels,
        seed: settings.seed,
      })
    : null;
  return { specs, startMs, endMs, clock, recs, fraud, drifts };
}

const n0 = (x: number) => Math.round(x).toLocaleString("en-US");
const r1 = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

/**
 * What the run will do, in numbers: the clock every service must share, each world and the real
 * request rates its daily rates imply at this speed, and the drift-monitor windows that match
 * (a window that does not span whole weeks sees the weekday and hour-of-day mix as drift).
 */
export function describePlan(plan: WorldPlan, settings: Pick<WorldSettings, "confirmShare">): string[] {
  const { clock } = plan;
  const dayReal = DAY_MS / clock.speed / 1000;
  const lines = [
    `clock: CLOCK_START=${new Date(clock.startMs).toISOString()} CLOCK_ORIGIN_MS=${clock.originMs} CLOCK_SPEED=${clock.speed} ` +
      `(a world day every ${r1(dayReal)} s real, a week every ${r1(7 * dayReal)} s); the world starts at ${new Date(plan.startMs).toISOString()}, where the training histories end`,
  ];
  if (plan.recs && plan.specs.recs) {
    const s = plan.specs.recs;
    const w = plan.recs.currentWorld;
    lines.push(
      `recs world: ${s.preset} (seed ${s.seed}, ${n0(w.numUsers)} users, ${n0(w.numItems)} items, ${s.sessionsPerUser} sessions per user a month): ${n0(plan.recs.activeUsers)} users taking part, ` +
        `${r1(plan.recs.sessionsPerDay)} sessions a world day -> ${r1(realRate(plan.recs.sessionsPerDay, clock.speed))} recommendations/s real; clicks follow the position-based click model on true relevance`,
    );
  }
  if (plan.fraud && plan.specs.fraud) {
    const o = resolveFraudWorldOptions(plan.specs.fraud);
    const f = plan.fraud.perDay;
    const labels = f.frauds + (f.transactions - f.frauds) * settings.confirmShare;
    lines.push(
      `fraud world: seed ${o.seed}, ${n0(o.customers)} customers, ${n0(o.terminals)} terminals, history from ${o.startDate} for ${o.days} days: ` +
        `${n0(f.transactions)} transactions a world day (${((100 * f.frauds) / Math.max(1, f.transactions)).toFixed(2)} % fraud) -> ${r1(realRate(f.transactions, clock.speed))} scores/s real; ` +
        `labels ${r1(realRate(labels, clock.speed))}/s real once the ${o.labelDelay.maxDays}-day delay (${r1(o.labelDelay.maxDays * dayReal)} s real) has passed`,
    );
    const warning = warmUpWarning(o.days);
    if (warning) lines.push(warning);
    const week = Math.round(7 * f.transactions);
    lines.push(
      `drift monitor: a window must span whole weeks of world time (weekday and hour-of-day mix): a week is about ${n0(week)} scored transactions -> ` +
        `COUNT_WINDOW_SIZE=${week} TIME_WINDOW_SECONDS=${WEEK_MS / 1000} MIN_WINDOW_EVENTS=${Math.round(0.9 * week)}`,
    );
  }
  for (const d of plan.drifts) lines.push(`drift: ${driftName(d)} (${driftDesign(d)})`);
  return lines;
}

/** Days before every feature window is full: the longest window, shifted back by the label delay for terminals. */
export const FRAUD_WARM_UP_DAYS = Math.max(...DEFAULT_FRAUD_FEATURE_CONFIG.windowDays) + DEFAULT_FRAUD_FEATURE_CONFIG.labelDelayDays;

/**
 * The trainer takes its rows from the last days of the history (train + valid + delay + test); if
 * they start before the feature windows are full, the model and its drift reference learned from
 * half-empty windows that live traffic never has, and the monitor alarms on normal traffic.
 */
export function warmUpWarning(historyDays: number): string | null {
  const s = DEFAULT_SPLIT;
  const needed = FRAUD_WARM_UP_DAYS + s.trainDays + s.validDays + s.delayDays + s.testDays;
  if (historyDays >= needed) return null;
  return (
    `warning: the fraud history is ${historyDays} days; the trainer's rows (its last ${needed - FRAUD_WARM_UP_DAYS} days) start before the ${FRAUD_WARM_UP_DAYS}-day feature windows are full, ` +
    `so its drift reference is biased low on the 30-day features and normal traffic will alarm: train with --days ${needed} or more`
  );
}
