import { AliasTable, Rng } from "@mlsd/random";
import type { ItemProfile, UserProfile } from "./definitions";
import type { RecsCatalogue } from "./memory-store";
import type { RecsSession } from "./offline";
import type { RecsEvent } from "./store";

export const T0 = Date.UTC(2024, 0, 1);
const DAY_MS = 86_400_000;

export interface RecsTestHistory {
  users: Map<string, UserProfile>;
  items: Map<string, ItemProfile>;
  catalogue: RecsCatalogue;
  sessions: RecsSession[];
}

/**
 * A small, dense history for tests: few users and items so counters and histories build up,
 * clicks that favour the user's home category so affinities are not all zero, and a few shown
 * items missing from the catalogue (the "unknown item" path).
 */
export function recsTestHistory(seed: number, options: { users?: number; items?: number; sessions?: number; slate?: number } = {}): RecsTestHistory {
  const rng = new Rng(seed);
  const numUsers = options.users ?? 40;
  const numItems = options.items ?? 120;
  const numSessions = options.sessions ?? 400;
  const slate = options.slate ?? 8;
  const categories = 6;
  const users = new Map<string, UserProfile>();
  const items = new Map<string, ItemProfile>();
  for (let u = 0; u < numUsers; u++) {
    users.set(`u${u}`, {
      signupMs: Math.round(T0 - rng.uniform(0, 300) * DAY_MS),
      homeCategory: u % 7 === 0 ? null : rng.int(categories),
      ageBucket: u % 5 === 0 ? null : rng.int(6),
    });
  }
  const itemCategory: number[] = [];
  for (let i = 0; i < numItems; i++) {
    const category = rng.int(categories);
    itemCategory.push(category);
    // Every tenth item is shown but never made it into the catalogue.
    if (i % 10 === 9) continue;
    const tags = [...new Set([rng.int(15), rng.int(15), rng.int(15)])];
    items.set(`i${i}`, { category, tags, releaseMs: Math.round(T0 + rng.uniform(-100, 10) * DAY_MS) });
  }
  const popularity = new AliasTable(Float64Array.from({ length: numItems }, (_, i) => 1 / (i + 1)));
  const sessions: RecsSession[] = [];
  let t = T0 + 10 * DAY_MS;
  for (let s = 0; s < numSessions; s++) {
    t += Math.max(1, Math.round(rng.exponential(1 / 600_000)));
    const u = Math.min(numUsers - 1, Math.floor(numUsers * rng.next() ** 2));
    const home = users.get(`u${u}`)?.homeCategory ?? -1;
    const shown = new Set<number>();
    while (shown.size < slate) shown.add(popularity.sample(rng));
    const slateItems = [...shown];
    const clicked = slateItems.map((i, p) => (rng.bernoulli((itemCategory[i] === home ? 0.5 : 0.08) / (1 + p)) ? 1 : 0));
    sessions.push({
      sessionId: `s${seed}-${s}`,
      userId: `u${u}`,
      timeMs: t,
      device: u % 4 === 3 ? null : u % 3,
      items: slateItems.map((i) => `i${i}`),
      clicked,
    });
  }
  const catalogue: RecsCatalogue = { user: (id) => users.get(id) ?? null, item: (id) => items.get(id) ?? null };
  return { users, items, catalogue, sessions };
}

/**
 * The log positions Kafka would give `events` published in this order: keyed by user (a user's
 * events stay on one partition of each topic), offsets counted per topic and partition.
 */
export function withLogPositions(events: readonly RecsEvent[], partitions: number): RecsEvent[] {
  const next = new Map<string, number>();
  return events.map((e) => {
    const partition = Number(e.userId.replace(/\D/g, "") || "0") % partitions;
    const stream = `${e.kind}/${partition}`;
    const offset = next.get(stream) ?? 0;
    next.set(stream, offset + 1);
    return { ...e, source: { partition, offset } };
  });
}
