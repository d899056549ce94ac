import { recsFeaturesAsOf, type MemoryRecsFeatureStore } from "@mlsd/feature-store";
import { recWorldDayToMs, recWorldMsToDay } from "@mlsd/synth";
import { worldSessions } from "@mlsd/trainer/src/recs/ranker-data";
import { servedDcg } from "@mlsd/world";
import { answer, LogBuilder, loopUsers, loopWorld, recordSession, scoreCandidates, trainLoopRanker, type LoopRanker, type LoopWorld, type LoopWorldSize } from "./loop";

export interface FreshnessSize extends LoopWorldSize {
  /** Days served after the bootstrap; the preference shift comes `shiftAfterDays` into them. */
  serveDays: number;
  shiftAfterDays: number;
  /** Share of users whose taste turns, and by how much (jobs/world's preference-shift drift). */
  shiftShare: number;
  shiftAngle: number;
  /** How often the batch job recomputes every user's list. */
  refreshHours: number;
}

export type ServingMode = "online" | "batch";

/** Served NDCG (true relevance) per hour bucket since the shift, split by whether the user's taste moved. */
export interface FreshnessBucket {
  hour: number;
  shifted: { sum: number; n: number };
  others: { sum: number; n: number };
}

export interface FreshnessRun {
  mode: ServingMode;
  /** Buckets of `bucketHours`, from the start of serving; negative hours are before the shift. */
  buckets: FreshnessBucket[];
  bucketHours: number;
  shiftedUsers: number;
  refreshes: number;
  requests: number;
  /** Ranker rows (candidate items) scored: per request online, by the refreshes in batch. */
  rowsScored: number;
}

/**
 * One ranker (trained on the bootstrap), two ways to serve it to the same world while a share of
 * users change taste: scored per request on the features as they are now (online), or looked up
 * from lists every user got at the last batch refresh (batch).
 */
export function runFreshness(seed: number, size: FreshnessSize, mode: ServingMode, log: (line: string) => void = () => {}, bucketHours = 6): FreshnessRun {
  const lw = loopWorld(seed, size, size.bootstrapDays + size.serveDays);
  const { world } = lw;
  const logged = new LogBuilder(lw.bootstrap);
  const startDay = size.bootstrapDays;
  const ranker = trainLoopRanker(lw, logged.build(), startDay);
  const store = recsFeaturesAsOf(worldSessions(world, lw.bootstrap), recWorldDayToMs(startDay), { catalogue: lw.catalogue });
  const users = loopUsers(lw, size, seed * 1000 + 1, recWorldDayToMs(startDay));
  const shiftMs = recWorldDayToMs(startDay + size.shiftAfterDays);
  const endMs = recWorldDayToMs(startDay + size.serveDays);
  const refreshMs = size.refreshHours * 3_600_000;
  const batch = new Map<number, number[]>();
  let refreshedAt = -Infinity;
  let refreshes = 0;
  let rowsScored = 0;
  let shifted: Uint8Array | null = null;
  let shiftedUsers = 0;
  const buckets = new Map<number, FreshnessBucket>();

  let session = users.nextSession(recWorldDayToMs(startDay));
  let n = 0;
  while (session !== null && session.at < endMs) {
    if (shifted === null && session.at >= shiftMs) {
      const before = users.currentWorld;
      log(`${mode}: ${users.applyDrift({ kind: "preference-shift", at: shiftMs, share: size.shiftShare, angleDegrees: size.shiftAngle })}`);
      shifted = changedUsers(before.users.factors, users.currentWorld.users.factors, world.options.dim);
      shiftedUsers = shifted.reduce((a, b) => a + b, 0);
    }
    if (mode === "batch") {
      // The job runs at fixed times on the state the store has then: every user's list at once.
      const due = Math.floor((session.at - recWorldDayToMs(startDay)) / refreshMs);
      if (due > refreshedAt) {
        rowsScored += refreshBatch(lw, ranker, store, batch, recWorldDayToMs(startDay) + due * refreshMs, size.slateSize);
        refreshedAt = due;
        refreshes++;
      }
    }
    let slate = mode === "batch" ? batch.get(session.user) : undefined;
    if (!slate) {
      // Online, or a user who signed up after the last batch run: score now.
      const scored = scoreCandidates(lw, ranker, store, session.user, session.at);
      rowsScored += scored.items.length;
      slate = topK(scored, size.slateSize);
    }
    const { outcome } = users.react(session, answer(`f${n}`, session.user, slate, new Map(), world), []);
    recordSession(logged, store, world, session, `fresh-${n}`, slate, outcome);
    if (outcome.idealDcg) {
      const hour = Math.floor((session.at - shiftMs) / 3_600_000 / bucketHours) * bucketHours;
      const b = buckets.get(hour) ?? { hour, shifted: { sum: 0, n: 0 }, others: { sum: 0, n: 0 } };
      const side = shifted?.[session.user] ? b.shifted : b.others;
      side.sum += servedDcg(outcome.items) / outcome.idealDcg;
      side.n++;
      buckets.set(hour, b);
    }
    n++;
    session = users.nextSession(session.at);
  }
  return { mode, buckets: [...buckets.values()].sort((a, b) => a.hour - b.hour), bucketHours, shiftedUsers, refreshes, requests: n, rowsScored };
}

function topK(scored: { items: number[]; scores: Float64Array }, k: number): number[] {
  const order = scored.items.map((_, i) => i).sort((a, b) => (scored.scores[b] as number) - (scored.scores[a] as number) || a - b);
  return order.slice(0, k).map((i) => scored.items[i] as number);
}

/** Recomputes every signed-up user's list as of `atMs`, with the features the store holds now; returns the rows scored. */
function refreshBatch(lw: LoopWorld, ranker: LoopRanker, store: MemoryRecsFeatureStore, batch: Map<number, number[]>, atMs: number, k: number): number {
  const day = recWorldMsToDay(atMs);
  let rows = 0;
  for (let u = 0; u < lw.world.numUsers; u++) {
    if ((lw.world.users.signupDay[u] as number) > day) continue;
    const scored = scoreCandidates(lw, ranker, store, u, atMs);
    rows += scored.items.length;
    batch.set(u, topK(scored, k));
  }
  return rows;
}

function changedUsers(before: Float32Array, after: Float32Array, dim: number): Uint8Array {
  const out = new Uint8Array(before.length / dim);
  for (let u = 0; u < out.length; u++) {
    for (let k = 0; k < dim; k++) {
      if (before[u * dim + k] !== after[u * dim + k]) {
        out[u] = 1;
        break;
      }
    }
  }
  return out;
}
