import { createHash } from "node:crypto";

/**
 * The recommendation features, written once. A user and an item each have a static profile
 * (written by materialisation) and counters (updated by the stream of impressions and clicks);
 * the ranker's row for one (user, item, request) is assembled from those by `assembleRankerRow`,
 * which the Redis store, its in-memory twin and the offline replay all call, so online and
 * offline vectors cannot drift apart.
 *
 * Counters are integers end to end (the debiased exposure is kept in integer micro-units), so
 * Redis and memory hold exactly the same numbers and every derived float is computed the same way.
 */
const DAY_MS = 86_400_000;

/** Context devices, in the order of their numeric code (the synthetic world's device ids). */
export const RECS_DEVICES = ["mobile", "desktop", "tablet"] as const;
export type RecsDevice = (typeof RECS_DEVICES)[number];

export interface RecsFeatureConfig {
  /** How many of a user's latest clicks make up their recent history. */
  recentClicks: number;
  /** CTR that an item or user with no impressions is assumed to have. */
  ctrPrior: number;
  /** Weight of that prior, in pseudo-impressions. */
  priorStrength: number;
  /**
   * Assumed position bias: a slot at 0-based position p is examined with weight 1 / (1 + p)^eta.
   * Clicks per expected examination is a CTR that does not reward an item for being shown on top.
   */
  examinationEta: number;
}

export const DEFAULT_RECS_FEATURE_CONFIG: RecsFeatureConfig = Object.freeze({
  recentClicks: 20,
  ctrPrior: 0.03,
  priorStrength: 20,
  examinationEta: 1,
});

/** Static user attributes; `null` where unknown. */
export interface UserProfile {
  signupMs: number;
  /** Category the user declared (or was assigned) at signup. */
  homeCategory: number | null;
  ageBucket: number | null;
}

export interface ItemProfile {
  category: number;
  tags: readonly number[];
  releaseMs: number;
}

/** One entry of a user's recent history: what the clicked item was about. */
export interface RecentClick {
  category: number;
  tags: readonly number[];
}

export interface UserState {
  /** Null when counters exist but the profile was never written (a user seen only on the stream). */
  profile: UserProfile | null;
  impressions: number;
  clicks: number;
  /** Most recent first, at most `recentClicks` long. */
  recent: RecentClick[];
  /** Which streamed events the counters and history hold (encodeAppliedOffsets); absent or "" when none. */
  applied?: string;
}

export interface ItemState {
  profile: ItemProfile | null;
  impressions: number;
  clicks: number;
  /** Sum over impressions of round(1e6 / (1 + position)^eta). */
  examinedMicros: number;
  /** Which streamed events the counters hold (encodeAppliedOffsets); absent or "" when none. */
  applied?: string;
}

/** What the request adds: when it happens and on what device. */
export interface RankerContext {
  timeMs: number;
  /** 0..23. */
  hour: number;
  /** Index into RECS_DEVICES, or null when unknown. */
  device: number | null;
}

export function rankerContext(input: { timeMs: number; hour?: number | undefined; device?: RecsDevice | number | null | undefined }): RankerContext {
  const device =
    input.device === undefined || input.device === null
      ? null
      : typeof input.device === "number"
        ? input.device
        : RECS_DEVICES.indexOf(input.device);
  return {
    timeMs: input.timeMs,
    hour: input.hour ?? new Date(input.timeMs).getUTCHours(),
    device: device !== null && device >= 0 ? device : null,
  };
}

/** The ranker's input row, in this order. Nothing depends on the position an item will be shown at. */
export const RANKER_FEATURE_NAMES = Object.freeze([
  "retrieval_score",
  "user_item_category_affinity",
  "user_item_tag_affinity",
  "user_home_category_match",
  "item_category",
  "item_log_clicks",
  "item_log_impressions",
  "item_ctr",
  "item_examined_ctr",
  "item_age_days",
  "user_activity",
  "user_log_clicks",
  "user_ctr",
  "user_days_since_signup",
  "context_hour",
  "context_device",
] as const);
export type RankerFeatureName = (typeof RANKER_FEATURE_NAMES)[number];
export const RANKER_FEATURE_COUNT = RANKER_FEATURE_NAMES.length;

export function rankerFeatureIndex(name: RankerFeatureName): number {
  return RANKER_FEATURE_NAMES.indexOf(name);
}

/** Changes whenever the feature list or its semantics change; stored in model manifests. */
export function rankerFeatureSchemaHash(config: RecsFeatureConfig = DEFAULT_RECS_FEATURE_CONFIG): string {
  const text = JSON.stringify({ version: 1, names: RANKER_FEATURE_NAMES, config });
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

export function examinationMicros(position: number, config: RecsFeatureConfig): number {
  return Math.round(1e6 / (1 + position) ** config.examinationEta);
}

function smoothedRate(events: number, exposures: number, config: RecsFeatureConfig): number {
  return (events + config.priorStrength * config.ctrPrior) / (exposures + config.priorStrength);
}

/**
 * What a user's state says once per request, shared by all of that request's items: the
 * category counts of the recent history and, per tag, a bit mask of the recent clicks carrying it
 * (so an item's tag affinity is one OR and a popcount).
 */
export interface PreparedUser {
  state: UserState | null;
  recentCount: number;
  categoryCounts: Map<number, number>;
  tagMasks: Map<number, number>;
}

export function prepareUser(state: UserState | null): PreparedUser {
  const categoryCounts = new Map<number, number>();
  const tagMasks = new Map<number, number>();
  const recent = state?.recent ?? [];
  // Masks are 32 bits wide; a longer history only counts its latest 32 clicks for tags.
  const n = Math.min(recent.length, 32);
  for (let r = 0; r < recent.length; r++) {
    const click = recent[r] as RecentClick;
    categoryCounts.set(click.category, (categoryCounts.get(click.category) ?? 0) + 1);
    if (r < n) for (const tag of click.tags) tagMasks.set(tag, (tagMasks.get(tag) ?? 0) | (1 << r));
  }
  return { state, recentCount: recent.length, categoryCounts, tagMasks };
}

function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/**
 * Writes one ranker row into `out` at `offset`. Unknown users and items get the defaults a new
 * entity would have (zero counters, prior CTRs) and NaN where only a profile could say (category,
 * age), which the trees route by their learned default direction.
 */
export function assembleRankerRow(
  user: PreparedUser,
  item: ItemState | null,
  retrievalScore: number,
  context: RankerContext,
  config: RecsFeatureConfig,
  out: Float64Array,
  offset = 0,
): void {
  const u = user.state;
  const itemProfile = item?.profile ?? null;
  const userProfile = u?.profile ?? null;
  let o = offset;
  out[o++] = retrievalScore;

  if (itemProfile && user.recentCount > 0) {
    out[o++] = (user.categoryCounts.get(itemProfile.category) ?? 0) / user.recentCount;
    let mask = 0;
    for (const tag of itemProfile.tags) mask |= user.tagMasks.get(tag) ?? 0;
    out[o++] = popcount(mask) / Math.min(user.recentCount, 32);
  } else {
    out[o++] = Number.NaN;
    out[o++] = Number.NaN;
  }
  out[o++] = itemProfile && userProfile?.homeCategory != null ? (itemProfile.category === userProfile.homeCategory ? 1 : 0) : Number.NaN;
  out[o++] = itemProfile ? itemProfile.category : Number.NaN;

  const itemClicks = item?.clicks ?? 0;
  const itemImpressions = item?.impressions ?? 0;
  out[o++] = Math.log1p(itemClicks);
  out[o++] = Math.log1p(itemImpressions);
  out[o++] = smoothedRate(itemClicks, itemImpressions, config);
  out[o++] = smoothedRate(itemClicks, (item?.examinedMicros ?? 0) / 1e6, config);
  out[o++] = itemProfile ? (context.timeMs - itemProfile.releaseMs) / DAY_MS : Number.NaN;

  const userClicks = u?.clicks ?? 0;
  const userImpressions = u?.impressions ?? 0;
  out[o++] = Math.log1p(userImpressions);
  out[o++] = Math.log1p(userClicks);
  out[o++] = smoothedRate(userClicks, userImpressions, config);
  out[o++] = userProfile ? (context.timeMs - userProfile.signupMs) / DAY_MS : Number.NaN;

  out[o++] = context.hour;
  out[o++] = context.device ?? Number.NaN;
}

/** One row per item, row-major `items.length x RANKER_FEATURE_COUNT`. */
export function assembleRankerRows(
  user: UserState | null,
  items: readonly (ItemState | null)[],
  retrievalScores: ArrayLike<number>,
  context: RankerContext,
  config: RecsFeatureConfig = DEFAULT_RECS_FEATURE_CONFIG,
  out: Float64Array = new Float64Array(items.length * RANKER_FEATURE_COUNT),
): Float64Array {
  if (retrievalScores.length !== items.length) {
    throw new RangeError(`retrievalScores: expected one per item (${items.length}), got ${retrievalScores.length}`);
  }
  const prepared = prepareUser(user);
  for (let i = 0; i < items.length; i++) {
    assembleRankerRow(prepared, items[i] ?? null, retrievalScores[i] as number, context, config, out, i * RANKER_FEATURE_COUNT);
  }
  return out;
}

export type NamedFeatures = Record<string, number | null>;

function named(value: number): number | null {
  return Number.isNaN(value) ? null : value;
}

/** A ranker row by name, NaN as null: what the served-event log carries. */
export function rankerRowByName(values: ArrayLike<number>, offset = 0): NamedFeatures {
  const out: NamedFeatures = {};
  RANKER_FEATURE_NAMES.forEach((name, j) => (out[name] = named(values[offset + j] as number)));
  return out;
}

/** The user's features by name: activity, interactions, tenure, profile and recent category shares. */
export function userFeatures(state: UserState | null, context: RankerContext, config: RecsFeatureConfig = DEFAULT_RECS_FEATURE_CONFIG): NamedFeatures {
  const prepared = prepareUser(state);
  const profile = state?.profile ?? null;
  const out: NamedFeatures = {
    user_activity: Math.log1p(state?.impressions ?? 0),
    user_log_clicks: Math.log1p(state?.clicks ?? 0),
    user_ctr: smoothedRate(state?.clicks ?? 0, state?.impressions ?? 0, config),
    user_days_since_signup: profile ? (context.timeMs - profile.signupMs) / DAY_MS : null,
    user_home_category: profile?.homeCategory ?? null,
    user_age_bucket: profile?.ageBucket ?? null,
    user_recent_clicks: prepared.recentCount,
  };
  const categories = [...prepared.categoryCounts.keys()].sort((a, b) => a - b);
  for (const c of categories) out[`user_recent_category_${c}`] = (prepared.categoryCounts.get(c) as number) / prepared.recentCount;
  return out;
}

/** The item's features by name: category, popularity, CTRs and freshness at request time. */
export function itemFeatures(state: ItemState | null, context: RankerContext, config: RecsFeatureConfig = DEFAULT_RECS_FEATURE_CONFIG): NamedFeatures {
  const profile = state?.profile ?? null;
  const clicks = state?.clicks ?? 0;
  const impressions = state?.impressions ?? 0;
  return {
    item_category: profile?.category ?? null,
    item_tag_count: profile ? profile.tags.length : null,
    item_log_clicks: Math.log1p(clicks),
    item_log_impressions: Math.log1p(impressions),
    item_ctr: smoothedRate(clicks, impressions, config),
    item_examined_ctr: smoothedRate(clicks, (state?.examinedMicros ?? 0) / 1e6, config),
    item_age_days: profile ? (context.timeMs - profile.releaseMs) / DAY_MS : null,
  };
}

/**
 * What a state has applied of the event streams: per source stream, the highest log offset applied
 * to the entity. Events reach an entity from several streams (an item's impressions and clicks come
 * from every user's partition of two topics) and each stream is applied in offset order, so these
 * offsets name exactly the set of events in the state: those of each stream at or below its offset.
 * Kept encoded ("i0:812,c2:40", streams in the order first applied) as the Redis store holds it, so a
 * fetch pays for the bytes and not for parsing; parse only what is logged.
 */
export type AppliedOffsets = Record<string, number>;

/** The stream an event came from: `i<partition>` for the impressions topic, `c<partition>` for clicks. */
export function recsStreamId(kind: "impression" | "click", partition: number): string {
  return `${kind === "impression" ? "i" : "c"}${partition}`;
}

export function parseAppliedOffsets(encoded: string | undefined): AppliedOffsets {
  const out: AppliedOffsets = {};
  if (!encoded) return out;
  let start = 0;
  while (start < encoded.length) {
    let end = encoded.indexOf(",", start);
    if (end < 0) end = encoded.length;
    const colon = encoded.indexOf(":", start);
    if (colon < 0 || colon > end) throw new RangeError(`applied offsets: malformed entry "${encoded.slice(start, end)}"`);
    out[encoded.slice(start, colon)] = Number(encoded.slice(colon + 1, end));
    start = end + 1;
  }
  return out;
}

export function encodeAppliedOffsets(offsets: Readonly<AppliedOffsets>): string {
  return Object.entries(offsets)
    .map(([stream, offset]) => `${stream}:${offset}`)
    .join(",");
}

/**
 * Raises `stream`'s offset to `offset` in an encoded set (appended when new), as the Redis scripts
 * do; `above` says whether the offset was above the stream's (a redelivered event is not).
 */
export function raiseAppliedOffset(encoded: string | undefined, stream: string, offset: number): { encoded: string; above: boolean } {
  const offsets = parseAppliedOffsets(encoded);
  const current = offsets[stream];
  if (current !== undefined && current >= offset) return { encoded: encoded ?? "", above: false };
  offsets[stream] = offset;
  return { encoded: encodeAppliedOffsets(offsets), above: true };
}

export function emptyUserState(profile: UserProfile | null = null): UserState {
  return { profile, impressions: 0, clicks: 0, recent: [] };
}

export function emptyItemState(profile: ItemProfile | null = null): ItemState {
  return { profile, impressions: 0, clicks: 0, examinedMicros: 0 };
}
