import type { ItemProfile, RecsCatalogue, RecsProfiles, RecsSession, UserProfile } from "@mlsd/feature-store";
import { REC_WORLD_ORIGIN_MS, recWorldDayToMs, type ImpressionLog, type RecWorld } from "@mlsd/synth";

export { REC_WORLD_ORIGIN_MS };
export const worldDayToMs = recWorldDayToMs;

/** World indices are entity ids as decimal strings ("42"), the way they travel over HTTP. */
function index(id: string, size: number): number {
  if (!/^(0|[1-9]\d*)$/.test(id)) return -1;
  const i = Number(id);
  return i < size ? i : -1;
}

/** Profiles straight from the world: signup and release dates, declared home category, age bucket, tags. */
export function worldCatalogue(world: RecWorld, originMs = REC_WORLD_ORIGIN_MS): RecsCatalogue {
  const { users, items, options } = world;
  return {
    user(id: string): UserProfile | null {
      const u = index(id, world.numUsers);
      if (u < 0) return null;
      return { signupMs: worldDayToMs(users.signupDay[u] as number, originMs), homeCategory: users.homeCategory[u] as number, ageBucket: users.ageBucket[u] as number };
    },
    item(id: string): ItemProfile | null {
      const i = index(id, world.numItems);
      if (i < 0) return null;
      const t = options.tagsPerItem;
      return { category: items.category[i] as number, tags: Array.from(items.tags.subarray(i * t, (i + 1) * t)), releaseMs: worldDayToMs(items.releaseDay[i] as number, originMs) };
    },
  };
}

/** Every profile of the world, generated lazily (the benchmark world has a million items), for materialisation. */
export function worldProfiles(world: RecWorld, originMs = REC_WORLD_ORIGIN_MS): RecsProfiles {
  const catalogue = worldCatalogue(world, originMs);
  function* users(): Generator<readonly [string, UserProfile]> {
    for (let u = 0; u < world.numUsers; u++) yield [String(u), catalogue.user(String(u)) as UserProfile];
  }
  function* items(): Generator<readonly [string, ItemProfile]> {
    for (let i = 0; i < world.numItems; i++) yield [String(i), catalogue.item(String(i)) as ItemProfile];
  }
  return { users: users(), items: items() };
}

/** The impression log as one session per slate, in time order (the log already is). */
export function worldSessions(world: RecWorld, log: ImpressionLog, originMs = REC_WORLD_ORIGIN_MS): RecsSession[] {
  const sessions: RecsSession[] = [];
  let start = 0;
  while (start < log.length) {
    const s = log.session[start] as number;
    let end = start;
    while (end < log.length && log.session[end] === s) end++;
    const user = log.user[start] as number;
    sessions.push({
      sessionId: `s${s}`,
      userId: String(user),
      timeMs: worldDayToMs(log.day[start] as number, originMs),
      device: world.users.device[user] as number,
      items: Array.from(log.item.subarray(start, end), String),
      clicked: log.clicked.subarray(start, end),
    });
    start = end;
  }
  return sessions;
}

/**
 * The retrieval model's score of an item for a user at a time (the session's, world ms): the
 * ranker's first feature. The time lets a scorer use only what was known then, as serving would;
 * pluggable so the ranker can be trained before the two-tower model exists and retrained on its
 * scores after.
 */
export type RetrievalScorer = (user: number, item: number, atMs: number) => number;

/** A scorer that does not change with time (the world's own scorers: a user's taste is fixed). */
export type TimelessScorer = (user: number, item: number) => number;

/** 32-bit mix (murmur3 finaliser): a deterministic uniform per (seed, user, item), whatever the call order. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hashedNormal(seed: number, user: number, item: number): number {
  const a = mix(mix(seed ^ 0x9e3779b9) ^ mix(user + 0x632be5ab) ^ Math.imul(item + 1, 0x27d4eb2d));
  const b = mix(a ^ 0x165667b1);
  const u1 = (a + 1) / 4294967297;
  const u2 = b / 4294967296;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * A stand-in for a trained two-tower model: the world's true latent dot product plus Gaussian
 * noise of standard deviation `noise` (the dot products themselves spread about 0.5), fixed per
 * (user, item) so a pair always gets the same score.
 */
export function noisyLatentScorer(world: RecWorld, options: { noise: number; seed?: number }): TimelessScorer {
  const d = world.options.dim;
  const uf = world.users.factors;
  const itf = world.items.factors;
  const seed = options.seed ?? 1;
  return (user, item) => {
    let dot = 0;
    for (let k = 0; k < d; k++) dot += (uf[user * d + k] as number) * (itf[item * d + k] as number);
    return dot + options.noise * hashedNormal(seed, user, item);
  };
}

/** Retrieval by global popularity alone: log of the item's Zipf weight. */
export function popularityScorer(world: RecWorld): TimelessScorer {
  return (_user, item) => Math.log(world.items.popularity[item] as number);
}
