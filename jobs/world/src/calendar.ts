import { FRAUD_MODEL_NAME } from "@mlsd/model-formats/fraud";
import { POPULARITY_MODEL_NAME } from "@mlsd/model-formats/popularity";
import { ModelRegistry } from "@mlsd/model-registry";
import { FRAUD_WORLD_PRESETS, originEpochSecondsOf, REC_TRAFFIC_PRESETS, REC_WORLD_ORIGIN_MS, REC_WORLD_PRESETS, recWorldDayToMs, resolveFraudWorldOptions, resolveRecWorldOptions, type FraudWorldInput, type FraudWorldPreset, type RecWorldPreset } from "@mlsd/synth";
import { DAY_MS } from "./timeline";

/**
 * One clock serves both designs, so both training histories must end at the same instant: the
 * world's start. The recommendation world's calendar is fixed (day 0 is REC_WORLD_ORIGIN_MS, the
 * history ends at its last day); the fraud world is placed to end there (`startDate`), which only
 * moves which weekday its days fall on.
 */

/** The recommendation world the models were trained on. */
export interface RecsWorldSpec {
  preset: RecWorldPreset;
  seed: number;
  numUsers?: number | undefined;
  numItems?: number | undefined;
  sessionsPerUser: number;
  slateSize: number;
  originMs: number;
}

export interface WorldSpecs {
  recs: RecsWorldSpec | null;
  fraud: FraudWorldInput | null;
}

export class CalendarError extends Error {
  override readonly name = "CalendarError";
}

/** World epoch ms where the recommendation world's history ends (the trainer serves "as of" it). */
export function recsHistoryEndMs(spec: Pick<RecsWorldSpec, "preset" | "seed" | "numUsers" | "numItems" | "originMs">): number {
  const o = resolveRecWorldOptions({ preset: spec.preset, seed: spec.seed, ...(spec.numUsers ? { numUsers: spec.numUsers } : {}), ...(spec.numItems ? { numItems: spec.numItems } : {}) });
  return recWorldDayToMs(o.days, spec.originMs);
}

/** World epoch ms where the fraud world's history ends. */
export function fraudHistoryEndMs(world: FraudWorldInput): number {
  const o = resolveFraudWorldOptions(world);
  return originEpochSecondsOf(o.startDate) * 1000 + o.days * DAY_MS;
}

/** The fraud world's day 0 (YYYY-MM-DD) that makes a history of `days` days end at `endMs`. */
export function alignedFraudStartDate(days: number, endMs: number): string {
  if (endMs % DAY_MS !== 0) throw new CalendarError(`the history must end at midnight UTC to align the fraud world's days, got ${new Date(endMs).toISOString()}`);
  return new Date(endMs - days * DAY_MS).toISOString().slice(0, 10);
}

/** The default recommendation world of a preset (the trainer's). */
export function recsPresetSpec(preset: RecWorldPreset, seed = 1): RecsWorldSpec {
  if (!(preset in REC_WORLD_PRESETS)) throw new CalendarError(`unknown recs preset "${preset}" (known: ${Object.keys(REC_WORLD_PRESETS).join(", ")})`);
  return { preset, seed, ...REC_TRAFFIC_PRESETS[preset], originMs: REC_WORLD_ORIGIN_MS };
}

/**
 * The fraud world of a preset placed on the calendar: its history ends at `endMs` (the recs
 * history's end), unless a start date is given.
 */
export function fraudPresetSpec(preset: FraudWorldPreset, endMs: number, overrides: FraudWorldInput = {}): FraudWorldInput {
  const base = FRAUD_WORLD_PRESETS[preset];
  if (!base) throw new CalendarError(`unknown fraud preset "${preset}" (known: ${Object.keys(FRAUD_WORLD_PRESETS).join(", ")})`);
  const days = overrides.days ?? base.days;
  return { ...base, ...overrides, startDate: overrides.startDate ?? alignedFraudStartDate(days, endMs) };
}

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/**
 * The worlds the registry's current models were trained on, from their manifests' data windows:
 * the world then continues exactly the data the models learned from. A design without a model
 * (or trained on real data) is null.
 */
export function trainedWorlds(registryDir: string): WorldSpecs {
  const registry = new ModelRegistry(registryDir);
  const window = (model: string): Record<string, unknown> | null => {
    try {
      return registry.open(model).manifest.dataWindow;
    } catch {
      return null;
    }
  };
  const f = window(FRAUD_MODEL_NAME);
  const fraud: FraudWorldInput | null =
    f && f.dataset === "synthetic fraud world"
      ? { customers: num(f.customers), terminals: num(f.terminals), days: num(f.days), seed: num(f.seed), startDate: str(f.startDate) }
      : null;
  const r = window(POPULARITY_MODEL_NAME);
  let recs: RecsWorldSpec | null = null;
  if (r && r.dataset === "synthetic recommendation world") {
    const preset = str(r.preset) as RecWorldPreset | undefined;
    if (!preset || !(preset in REC_TRAFFIC_PRESETS)) throw new CalendarError(`the recommendation models name an unknown world preset "${String(r.preset)}"`);
    recs = {
      preset,
      seed: num(r.seed) ?? 1,
      numUsers: num(r.users),
      numItems: num(r.items),
      sessionsPerUser: num(r.sessionsPerUser) ?? REC_TRAFFIC_PRESETS[preset].sessionsPerUser,
      slateSize: REC_TRAFFIC_PRESETS[preset].slateSize,
      originMs: num(r.originMs) ?? REC_WORLD_ORIGIN_MS,
    };
  }
  return { recs, fraud: fraud ? (Object.fromEntries(Object.entries(fraud).filter(([, v]) => v !== undefined)) as FraudWorldInput) : null };
}

/**
 * The world's start: where both histories end. Throws when they end at different times (one
 * clock cannot continue both), naming the fraud start date that would align them.
 */
export function worldStartMs(specs: WorldSpecs): number {
  const recsEnd = specs.recs ? recsHistoryEndMs(specs.recs) : null;
  const fraudEnd = specs.fraud ? fraudHistoryEndMs(specs.fraud) : null;
  if (recsEnd !== null && fraudEnd !== null && recsEnd !== fraudEnd) {
    const days = resolveFraudWorldOptions(specs.fraud ?? {}).days;
    throw new CalendarError(
      `the fraud history ends ${new Date(fraudEnd).toISOString()} but the recommendation history ends ${new Date(recsEnd).toISOString()}: one clock cannot continue both. ` +
        `Train the fraud model with --start-date ${alignedFraudStartDate(days, recsEnd)} (or run one design only)`,
    );
  }
  const start = recsEnd ?? fraudEnd;
  if (start === null) throw new CalendarError("no design to simulate: give the recommender or the fraud service (or both)");
  return start;
}
