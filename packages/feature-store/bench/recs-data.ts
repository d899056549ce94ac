import { AliasTable, type Rng } from "@mlsd/random";
import type { ItemState, UserState } from "../src/recs/index";

const T0 = Date.UTC(2024, 0, 1);
const DAY_MS = 86_400_000;

export interface RecsBenchWorld {
  users: [string, UserState][];
  items: [string, ItemState][];
  /** 400 requests: a user and distinct candidate items, as retrieval would return them. */
  requests: { userId: string; itemIds: string[] }[];
}

/** Users with histories, items with a popularity-skewed impression count, and candidate lists of `candidates` items. */
export function recsBenchWorld(rng: Rng, numUsers: number, numItems: number, candidates: number): RecsBenchWorld {
  const users: [string, UserState][] = [];
  for (let u = 0; u < numUsers; u++) {
    const recent = Array.from({ length: rng.int(21) }, () => ({ category: rng.int(20), tags: [rng.int(60), rng.int(60), rng.int(60)] }));
    users.push([`u${u}`, { profile: { signupMs: T0 - rng.int(700) * DAY_MS, homeCategory: rng.int(20), ageBucket: rng.int(6) }, impressions: rng.int(500), clicks: rng.int(40), recent }]);
  }
  const items: [string, ItemState][] = [];
  for (let i = 0; i < numItems; i++) {
    const impressions = Math.floor(1e5 / (i + 1)) + rng.int(50);
    items.push([`i${i}`, { profile: { category: rng.int(20), tags: [rng.int(60), rng.int(60), rng.int(60)], releaseMs: T0 - rng.int(365) * DAY_MS }, impressions, clicks: Math.floor(impressions * 0.04), examinedMicros: impressions * 400_000 }]);
  }
  // Candidate lists look like retrieval output: distinct items, skewed toward a popular head.
  const zipf = new AliasTable(Float64Array.from({ length: numItems }, (_, i) => 1 / (i + 1) ** 0.8));
  const requests = Array.from({ length: 400 }, () => {
    const ids = new Set<string>();
    while (ids.size < candidates) ids.add(`i${zipf.sample(rng)}`);
    return { userId: `u${rng.int(numUsers)}`, itemIds: [...ids] };
  });
  return { users, items, requests };
}
