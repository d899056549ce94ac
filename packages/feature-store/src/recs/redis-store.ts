import type { ChainableCommander } from "ioredis";
import { NodePipelines, type RedisClient } from "../redis-client";
import {
  DEFAULT_RECS_FEATURE_CONFIG,
  examinationMicros,
  recsStreamId,
  type ItemProfile,
  type ItemState,
  type RecentClick,
  type RecsFeatureConfig,
  type UserProfile,
  type UserState,
} from "./definitions";
import { DEFAULT_DEDUP_TTL_MS } from "./memory-store";
import { checkEvent, RecsFeatureInputError, type RecsEvent, type RecsFeatureStore, type RecsFetchResult, type RecsProfiles, type RecsSnapshot } from "./store";

/*
 * Layout. Users: one hash and a capped list of recent clicks, with the user as hash tag. Items:
 * one hash each plus a packed copy of all its fields in a bucket hash, with the bucket as hash
 * tag, so an item's hash, its packed copy and its event markers share a slot and one script can
 * update them together (Redis Cluster keeps working).
 *
 *   <prefix>{u:<id>}                 sg (signup ms) hc (home category) ab (age bucket) imp clk ap (applied offsets)
 *   <prefix>{u:<id>}:recent          "category:tag,tag,..." newest first
 *   <prefix>{u:<id>}:ev:<eventId>    applied-event marker with a TTL (deduplication)
 *   <prefix>{ib:<b>}:i:<id>          cat tags rel (release ms) imp clk exam (micro-units) ap
 *   <prefix>{ib:<b>}                 field <id> = "cat|tags|rel|imp|clk|exam|ap", rewritten by every write
 *   <prefix>{ib:<b>}:ev:<id>:<eventId>
 *   <prefix>layout                   {"version":2,"itemBuckets":B}, written with the data
 *
 * Reads go through the buckets: 200 items cost one HMGET per bucket touched instead of 200
 * commands, which is what the client spends its CPU on (bench/recs-fetch.ts).
 *
 * `ap` (AppliedOffsets, "i0:812,c2:40") is raised by the same script that applies an event to the
 * entity, and read in the same command as the counters (the user's hash and history by one script),
 * so a read names exactly the events its state holds and an offline replay can rebuild it.
 * Layout 1 (before `ap`) is still read, as a state that applied no offsets.
 */
export const DEFAULT_ITEM_BUCKETS = 32;

/** FNV-1a over the id's UTF-16 code units: which bucket an item lives in. */
export function itemBucket(itemId: string, buckets: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < itemId.length; i++) {
    h ^= itemId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % buckets;
}

export const recsKeys = {
  user: (prefix: string, id: string) => `${prefix}{u:${id}}`,
  recent: (prefix: string, id: string) => `${prefix}{u:${id}}:recent`,
  userEvent: (prefix: string, id: string, eventId: string) => `${prefix}{u:${id}}:ev:${eventId}`,
  bucket: (prefix: string, bucket: number) => `${prefix}{ib:${bucket}}`,
  item: (prefix: string, bucket: number, id: string) => `${prefix}{ib:${bucket}}:i:${id}`,
  itemEvent: (prefix: string, bucket: number, id: string, eventId: string) => `${prefix}{ib:${bucket}}:ev:${id}:${eventId}`,
  layout: (prefix: string) => `${prefix}layout`,
};

export const USER_FIELDS = ["sg", "hc", "ab", "imp", "clk", "ap"] as const;
export const ITEM_FIELDS = ["cat", "tags", "rel", "imp", "clk", "exam", "ap"] as const;

// The hash's 'ap' field with stream ARGV[s]'s offset raised to ARGV[o] (as raiseAppliedOffset does):
// false when the offset is not above the stream's (a redelivery), '' when the event has no position.
// Offsets stay strings (Lua would print a large number in exponent notation).
const RAISED_APPLIED = (s: number, o: number) => `
local function raised_applied(key)
  local stream, offset = ARGV[${s}], ARGV[${o}]
  if stream == '' then return '' end
  local prefix = stream .. ':'
  local out, found = {}, false
  for entry in string.gmatch(redis.call('HGET', key, 'ap') or '', '[^,]+') do
    if string.sub(entry, 1, #prefix) == prefix then
      if tonumber(string.sub(entry, #prefix + 1)) >= tonumber(offset) then return false end
      found = true
      out[#out + 1] = prefix .. offset
    else
      out[#out + 1] = entry
    end
  end
  if not found then out[#out + 1] = prefix .. offset end
  return table.concat(out, ',')
end
`;

// Raised only for an event applied: a second copy of an event id (a producer's retry, at another
// offset) leaves the offset at the first copy's, the one the offline store keeps.
const MARK_APPLIED = `if applied ~= '' then redis.call('HSET', KEYS[1], 'ap', applied) end`;

// KEYS: user hash, recent list, event marker. ARGV: counter field, marker TTL (0 = no dedup), recent
// limit, recent entry, stream ('' = none), offset.
const USER_EVENT_SCRIPT = `
${RAISED_APPLIED(5, 6)}
local applied = raised_applied(KEYS[1])
if not applied then return 0 end
local ttl = tonumber(ARGV[2])
if ttl > 0 and not redis.call('SET', KEYS[3], '1', 'NX', 'PX', ttl) then return 0 end
${MARK_APPLIED}
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
if ARGV[1] == 'clk' and ARGV[4] ~= '' then
  redis.call('LPUSH', KEYS[2], ARGV[4])
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
end
return 1
`;

// Copies item hash KEYS[1] into field ARGV[1] of bucket KEYS[2], joining the strings as stored
// (no Lua number formatting, which would turn large counters into exponent notation).
const PACK_ITEM = `
local f = redis.call('HMGET', KEYS[1], 'cat', 'tags', 'rel', 'imp', 'clk', 'exam', 'ap')
redis.call('HSET', KEYS[2], ARGV[1], (f[1] or '') .. '|' .. (f[2] or '') .. '|' .. (f[3] or '') .. '|' .. (f[4] or '0') .. '|' .. (f[5] or '0') .. '|' .. (f[6] or '0') .. '|' .. (f[7] or ''))
`;

// KEYS: item hash, bucket hash, event marker. ARGV: item id, counter field, marker TTL, examination
// micro-units, stream ('' = none), offset. A redelivery changes nothing.
const ITEM_EVENT_SCRIPT = `
${RAISED_APPLIED(5, 6)}
local applied = raised_applied(KEYS[1])
if not applied then return 0 end
local ttl = tonumber(ARGV[3])
if ttl > 0 and not redis.call('SET', KEYS[3], '1', 'NX', 'PX', ttl) then return 0 end
${MARK_APPLIED}
redis.call('HINCRBY', KEYS[1], ARGV[2], 1)
if ARGV[2] == 'imp' then redis.call('HINCRBY', KEYS[1], 'exam', ARGV[4]) end
${PACK_ITEM}
return 1
`;

// KEYS: item hash, bucket hash. ARGV: item id, impressions, clicks, exam, then category, tags,
// release ms, or '' for a state without a profile, which keeps the profile already stored, then
// the applied offsets ('' = none).
const ITEM_STATE_SCRIPT = `
redis.call('HSET', KEYS[1], 'imp', ARGV[2], 'clk', ARGV[3], 'exam', ARGV[4], 'ap', ARGV[8])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'cat', ARGV[5], 'tags', ARGV[6], 'rel', ARGV[7]) end
${PACK_ITEM}
return 1
`;

// KEYS: item hash, bucket hash. ARGV: item id, category, tags, release ms. Counters stay as they are.
const ITEM_PROFILE_SCRIPT = `
redis.call('HSET', KEYS[1], 'cat', ARGV[2], 'tags', ARGV[3], 'rel', ARGV[4])
${PACK_ITEM}
return 1
`;

// KEYS: user hash, recent list. ARGV: recent entries to read. The hash and the history in one
// atomic step, so the applied offsets in the hash name exactly what the history holds.
const USER_READ_SCRIPT = `
return { redis.call('HMGET', KEYS[1], ${USER_FIELDS.map((f) => `'${f}'`).join(", ")}), redis.call('LRANGE', KEYS[2], 0, tonumber(ARGV[1]) - 1) }
`;

type ScriptPipeline = ChainableCommander & {
  recsUserRead(k1: string, k2: string, ...args: (string | number)[]): ScriptPipeline;
  recsUserEvent(k1: string, k2: string, k3: string, ...args: (string | number)[]): ScriptPipeline;
  recsItemEvent(k1: string, k2: string, k3: string, ...args: (string | number)[]): ScriptPipeline;
  recsItemProfile(k1: string, k2: string, ...args: (string | number)[]): ScriptPipeline;
  recsItemState(k1: string, k2: string, ...args: (string | number)[]): ScriptPipeline;
};

type Field = string | null;

function num(value: Field): number {
  return value === null || value === "" ? 0 : Number(value);
}

function optionalNum(value: Field): number | null {
  return value === null || value === "" ? null : Number(value);
}

function parseTags(value: Field): number[] {
  return value ? value.split(",").map(Number) : [];
}

export function encodeRecentClick(click: RecentClick): string {
  return `${click.category}:${click.tags.join(",")}`;
}

export function parseRecentClick(entry: string): RecentClick {
  const colon = entry.indexOf(":");
  return { category: Number(entry.slice(0, colon)), tags: parseTags(entry.slice(colon + 1)) };
}

/** A user from HMGET USER_FIELDS and LRANGE of the recent list; null when neither holds anything. */
export function parseUser(fields: readonly Field[], recent: readonly string[]): UserState | null {
  const [sg = null, hc = null, ab = null, imp = null, clk = null, ap = null] = fields;
  if (sg === null && imp === null && clk === null && !ap && recent.length === 0) return null;
  const profile: UserProfile | null = sg === null ? null : { signupMs: Number(sg), homeCategory: optionalNum(hc), ageBucket: optionalNum(ab) };
  const state: UserState = { profile, impressions: num(imp), clicks: num(clk), recent: recent.map(parseRecentClick) };
  if (ap) state.applied = ap;
  return state;
}

/** An item from HMGET ITEM_FIELDS of its own hash; null when the hash does not exist. */
export function parseItem(fields: readonly Field[]): ItemState | null {
  const [cat = null, tags = null, rel = null, imp = null, clk = null, exam = null, ap = null] = fields;
  if (cat === null && imp === null && clk === null && !ap) return null;
  const profile: ItemProfile | null = cat === null ? null : { category: Number(cat), tags: parseTags(tags), releaseMs: Number(rel) };
  const state: ItemState = { profile, impressions: num(imp), clicks: num(clk), examinedMicros: num(exam) };
  if (ap) state.applied = ap;
  return state;
}

/** An item from its packed copy in the bucket hash; null when the bucket has no entry for it. */
export function parsePackedItem(packed: Field): ItemState | null {
  if (packed === null) return null;
  // Scanned by hand rather than split: this runs for every candidate of every request.
  const a = packed.indexOf("|");
  const b = packed.indexOf("|", a + 1);
  const c = packed.indexOf("|", b + 1);
  const d = packed.indexOf("|", c + 1);
  const e = packed.indexOf("|", d + 1);
  if (a < 0 || b < 0 || c < 0 || d < 0 || e < 0) throw new RecsFeatureInputError("item", `malformed packed item "${packed}"`);
  let profile: ItemProfile | null = null;
  if (a > 0) {
    const tags: number[] = [];
    let start = a + 1;
    while (start < b) {
      let end = packed.indexOf(",", start);
      if (end < 0 || end > b) end = b;
      tags.push(Number(packed.slice(start, end)));
      start = end + 1;
    }
    profile = { category: Number(packed.slice(0, a)), tags, releaseMs: Number(packed.slice(b + 1, c)) };
  }
  // Layout 1 ended at the examination micro-units; layout 2 appends the applied offsets.
  const f = packed.indexOf("|", e + 1);
  const state: ItemState = {
    profile,
    impressions: Number(packed.slice(c + 1, d)),
    clicks: Number(packed.slice(d + 1, e)),
    examinedMicros: Number(f < 0 ? packed.slice(e + 1) : packed.slice(e + 1, f)),
  };
  if (f >= 0 && f + 1 < packed.length) state.applied = packed.slice(f + 1);
  return state;
}

export function packItem(state: ItemState): string {
  const p = state.profile;
  return `${p ? p.category : ""}|${p ? p.tags.join(",") : ""}|${p ? p.releaseMs : ""}|${state.impressions}|${state.clicks}|${state.examinedMicros}|${state.applied ?? ""}`;
}

function userProfileFields(profile: UserProfile): { set: Record<string, string>; unset: string[] } {
  const set: Record<string, string> = { sg: String(profile.signupMs) };
  const unset: string[] = [];
  if (profile.homeCategory === null) unset.push("hc");
  else set.hc = String(profile.homeCategory);
  if (profile.ageBucket === null) unset.push("ab");
  else set.ab = String(profile.ageBucket);
  return { set, unset };
}

function itemProfileFields(profile: ItemProfile): { cat: string; tags: string; rel: string } {
  return { cat: String(profile.category), tags: profile.tags.join(","), rel: String(profile.releaseMs) };
}

export interface RedisRecsStoreOptions {
  config?: RecsFeatureConfig;
  /** Key namespace, so tests and several worlds can share one Redis. */
  prefix?: string;
  /** How long an applied event id is remembered; 0 turns deduplication off. */
  dedupTtlMs?: number;
  /** Entities per pipeline when writing snapshots. */
  writeBatch?: number;
  /**
   * Item buckets: fewer means fewer commands per fetch, more spreads items over more Cluster
   * slots. Writers and readers of one prefix must agree (`checkLayout`).
   */
  itemBuckets?: number;
}

export class RedisRecsFeatureStore implements RecsFeatureStore {
  readonly config: RecsFeatureConfig;
  readonly prefix: string;
  private readonly dedupTtlMs: number;
  private readonly writeBatch: number;
  readonly itemBuckets: number;

  constructor(
    private readonly redis: RedisClient,
    options: RedisRecsStoreOptions = {},
  ) {
    this.config = options.config ?? DEFAULT_RECS_FEATURE_CONFIG;
    this.prefix = options.prefix ?? "rx:";
    this.dedupTtlMs = options.dedupTtlMs ?? DEFAULT_DEDUP_TTL_MS;
    this.writeBatch = options.writeBatch ?? 500;
    this.itemBuckets = options.itemBuckets ?? DEFAULT_ITEM_BUCKETS;
    if (!Number.isInteger(this.itemBuckets) || this.itemBuckets < 1) {
      throw new RecsFeatureInputError("itemBuckets", `must be a positive integer, got ${this.itemBuckets}`);
    }
    if (!("recsUserEvent" in redis)) {
      redis.defineCommand("recsUserEvent", { numberOfKeys: 3, lua: USER_EVENT_SCRIPT });
      redis.defineCommand("recsItemEvent", { numberOfKeys: 3, lua: ITEM_EVENT_SCRIPT });
      redis.defineCommand("recsItemProfile", { numberOfKeys: 2, lua: ITEM_PROFILE_SCRIPT });
      redis.defineCommand("recsItemState", { numberOfKeys: 2, lua: ITEM_STATE_SCRIPT });
      redis.defineCommand("recsUserRead", { numberOfKeys: 2, lua: USER_READ_SCRIPT });
    }
  }

  private get layout(): string {
    return JSON.stringify({ version: 2, itemBuckets: this.itemBuckets });
  }

  /** Null when the data under this prefix was written with this store's layout or layout 1 (or nothing was written yet), else the problem. */
  async checkLayout(): Promise<string | null> {
    const stored = await this.redis.get(recsKeys.layout(this.prefix));
    if (stored === null || stored === this.layout || stored === JSON.stringify({ version: 1, itemBuckets: this.itemBuckets })) return null;
    return `features under "${this.prefix}" were written with layout ${stored}, this reader expects ${this.layout}`;
  }

  /**
   * One round trip per node: HMGET of the user, LRANGE of their history, one HMGET per item bucket
   * touched (on a Cluster the buckets spread over the primaries, which answer in parallel).
   */
  async fetch(userId: string, itemIds: readonly string[]): Promise<RecsFetchResult> {
    const p = this.prefix;
    const byBucket = new Map<number, number[]>();
    for (let i = 0; i < itemIds.length; i++) {
      const b = itemBucket(itemIds[i] as string, this.itemBuckets);
      const list = byBucket.get(b);
      if (list) list.push(i);
      else byBucket.set(b, [i]);
    }
    const batch = new NodePipelines(this.redis);
    const userKey = recsKeys.user(p, userId);
    batch.add(userKey, (pipeline) => (pipeline as ScriptPipeline).recsUserRead(userKey, recsKeys.recent(p, userId), this.config.recentClicks));
    for (const [b, list] of byBucket) {
      const key = recsKeys.bucket(p, b);
      batch.add(key, (pipeline) => pipeline.hmget(key, ...list.map((i) => itemIds[i] as string)));
    }
    const results = await batch.exec();
    const items = new Array<ItemState | null>(itemIds.length);
    let r = 1;
    for (const list of byBucket.values()) {
      const packed = results[r++] as Field[];
      for (let j = 0; j < list.length; j++) items[list[j] as number] = parsePackedItem(packed[j] ?? null);
    }
    const [userFields, recent] = results[0] as [Field[], string[]];
    return { user: parseUser(userFields, recent), items };
  }

  async apply(events: readonly RecsEvent[]): Promise<void> {
    if (events.length === 0) return;
    events.forEach(checkEvent);
    const p = this.prefix;
    // A click puts the item's category and tags into the user's history; read them first.
    const clicked = [...new Set(events.filter((e) => e.kind === "click").map((e) => e.itemId))];
    const entries = new Map<string, string>();
    if (clicked.length > 0) {
      const read = new NodePipelines(this.redis);
      for (const id of clicked) {
        const key = recsKeys.item(p, itemBucket(id, this.itemBuckets), id);
        read.add(key, (pipeline) => pipeline.hmget(key, "cat", "tags"));
      }
      const rows = await read.exec();
      clicked.forEach((id, i) => {
        const [cat, tags] = rows[i] as Field[];
        entries.set(id, cat === null || cat === undefined ? "" : encodeRecentClick({ category: Number(cat), tags: parseTags(tags ?? null) }));
      });
    }
    const batch = new NodePipelines(this.redis);
    for (const e of events) {
      const field = e.kind === "impression" ? "imp" : "clk";
      const stream = e.source ? recsStreamId(e.kind, e.source.partition) : "";
      const offset = e.source ? String(e.source.offset) : "";
      const userKey = recsKeys.user(p, e.userId);
      batch.add(userKey, (pipeline) =>
        (pipeline as ScriptPipeline).recsUserEvent(
          userKey,
          recsKeys.recent(p, e.userId),
          recsKeys.userEvent(p, e.userId, e.eventId),
          field,
          this.dedupTtlMs,
          this.config.recentClicks,
          e.kind === "click" ? (entries.get(e.itemId) ?? "") : "",
          stream,
          offset,
        ),
      );
      const b = itemBucket(e.itemId, this.itemBuckets);
      const itemKey = recsKeys.item(p, b, e.itemId);
      batch.add(itemKey, (pipeline) =>
        (pipeline as ScriptPipeline).recsItemEvent(
          itemKey,
          recsKeys.bucket(p, b),
          recsKeys.itemEvent(p, b, e.itemId, e.eventId),
          e.itemId,
          field,
          this.dedupTtlMs,
          e.kind === "impression" ? examinationMicros(e.position, this.config) : 0,
          stream,
          offset,
        ),
      );
    }
    await batch.exec();
  }

  async writeSnapshot(snapshot: RecsSnapshot): Promise<void> {
    const p = this.prefix;
    await this.batched(snapshot.users, ([id]) => recsKeys.user(p, id), (pipeline, [id, state]) => {
      const key = recsKeys.user(p, id);
      const recentKey = recsKeys.recent(p, id);
      pipeline.hset(key, { imp: String(state.impressions), clk: String(state.clicks), ap: state.applied ?? "" });
      if (state.profile) {
        const { set, unset } = userProfileFields(state.profile);
        pipeline.hset(key, set);
        if (unset.length > 0) pipeline.hdel(key, ...unset);
      }
      pipeline.del(recentKey);
      const recent = state.recent.slice(0, this.config.recentClicks);
      if (recent.length > 0) pipeline.rpush(recentKey, ...recent.map(encodeRecentClick));
    });
    await this.batched(snapshot.items, ([id]) => recsKeys.bucket(p, itemBucket(id, this.itemBuckets)), (pipeline, [id, state]) => {
      const b = itemBucket(id, this.itemBuckets);
      const f = state.profile ? itemProfileFields(state.profile) : { cat: "", tags: "", rel: "" };
      (pipeline as ScriptPipeline).recsItemState(
        recsKeys.item(p, b, id),
        recsKeys.bucket(p, b),
        id,
        state.impressions,
        state.clicks,
        state.examinedMicros,
        f.cat,
        f.tags,
        f.rel,
        state.applied ?? "",
      );
    });
    await this.redis.set(recsKeys.layout(p), this.layout);
  }

  async writeProfiles(profiles: RecsProfiles): Promise<void> {
    const p = this.prefix;
    await this.batched(profiles.users ?? [], ([id]) => recsKeys.user(p, id), (pipeline, [id, profile]) => {
      const key = recsKeys.user(p, id);
      const { set, unset } = userProfileFields(profile);
      pipeline.hset(key, set);
      if (unset.length > 0) pipeline.hdel(key, ...unset);
    });
    await this.batched(profiles.items ?? [], ([id]) => recsKeys.bucket(p, itemBucket(id, this.itemBuckets)), (pipeline, [id, profile]) => {
      const f = itemProfileFields(profile);
      const b = itemBucket(id, this.itemBuckets);
      (pipeline as ScriptPipeline).recsItemProfile(recsKeys.item(p, b, id), recsKeys.bucket(p, b), id, f.cat, f.tags, f.rel);
    });
    await this.redis.set(recsKeys.layout(p), this.layout);
  }

  /** Writes in batches of `writeBatch` entities, each batch one round trip per node; `keyOf` names the slot of an entry's keys. */
  private async batched<T>(entries: Iterable<T>, keyOf: (entry: T) => string, add: (pipeline: ChainableCommander, entry: T) => void): Promise<void> {
    let batch = new NodePipelines(this.redis);
    let n = 0;
    for (const entry of entries) {
      batch.add(keyOf(entry), (pipeline) => add(pipeline, entry));
      if (++n % this.writeBatch === 0) {
        await batch.exec();
        batch = new NodePipelines(this.redis);
      }
    }
    if (n % this.writeBatch !== 0) await batch.exec();
  }
}
