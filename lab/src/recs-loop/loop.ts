import type { RecommendationsResponse } from "@mlsd/contracts";
import { assembleRankerRows, DEFAULT_RECS_FEATURE_CONFIG, RANKER_FEATURE_COUNT, rankerContext, recsFeaturesAsOf, sessionEvents, type MemoryRecsFeatureStore } from "@mlsd/feature-store";
import { Predictor } from "@mlsd/gbdt";
import { giniIndex } from "@mlsd/ml-metrics";
import { Rng } from "@mlsd/random";
import { createRecWorld, DEFAULT_CLICK_MODEL, REC_WORLD_ORIGIN_MS, recWorldDayToMs, recWorldMsToDay, simulateInteractions, type ImpressionLog, type RecWorld } from "@mlsd/synth";
import { clickedSlates, DEFAULT_LAMBDARANK_PARAMS, fitRanker, rankerData } from "@mlsd/trainer/src/recs/ranker";
import { noisyLatentScorer, worldCatalogue, worldSessions, type TimelessScorer } from "@mlsd/trainer/src/recs/ranker-data";
import { RecsUsers, servedDcg } from "@mlsd/world";

/**
 * The recommender's closed loop, in process: the world's users (jobs/world's RecsUsers, the same
 * examination and click model as the live demo) ask for slates, a GBDT ranker trained by the
 * trainer's code on everything logged so far ranks retrieval candidates with features from the
 * feature store's definitions (updated after every session, as the streamer does), the clicks are
 * logged, and every round the ranker is retrained on the grown log.
 */
export interface LoopSize {
  numUsers: number;
  numItems: number;
  /** Mean sessions per user over the world's whole period (the small preset's traffic is 8 over 30 days). */
  sessionsPerUser: number;
  slateSize: number;
  /** Candidates per request from retrieval (the trainer's stand-in score: true affinity plus noise). */
  candidates: number;
  retrievalNoise: number;
  /** Days logged by the popularity policy before the loop starts (the trainer's first training data). */
  bootstrapDays: number;
  roundDays: number;
  rounds: number;
}

/** The closed-loop claims' sizes: the small preset's world and traffic, ten two-day rounds; the CI size is tiny. */
export const LOOP_SIZES: Readonly<{ default: LoopSize; quick: LoopSize }> = Object.freeze({
  default: { numUsers: 2000, numItems: 5000, sessionsPerUser: 8, slateSize: 10, candidates: 300, retrievalNoise: 1, bootstrapDays: 10, roundDays: 2, rounds: 10 },
  quick: { numUsers: 300, numItems: 1000, sessionsPerUser: 8, slateSize: 10, candidates: 100, retrievalNoise: 1, bootstrapDays: 8, roundDays: 2, rounds: 3 },
});

/** What the world and its serving need, without the loop's rounds. */
export type LoopWorldSize = Omit<LoopSize, "roundDays" | "rounds">;

/** How the served slate is made from the ranker's scores. */
export type SlatePolicy =
  | { kind: "ranker" }
  /** Each slot, with this probability, shows a uniformly random released item instead (the logging policy's exploration). */
  | { kind: "explore"; epsilon: number }
  /** Greedy in score order, at most this many items of one category per slate. */
  | { kind: "diverse"; maxPerCategory: number };

export interface RoundStats {
  round: number;
  /** World days [from, to). */
  fromDay: number;
  toDay: number;
  sessions: number;
  impressions: number;
  clicks: number;
  clicksPerSession: number;
  /** Mean DCG of the served slates over the best DCG any system could have served (true relevance). */
  servedNdcg: number;
  /** Gini of impressions over the items released by the round's end (0 equal, near 1 concentrated). */
  exposureGini: number;
  /** Share of the released catalogue shown at least once in the round. */
  coverage: number;
  /** Mean number of distinct categories in a slate. */
  categoriesPerSlate: number;
  /** The ranker serving the round: trees kept by early stopping and its validation NDCG@10 on the latest logged clicks (what an offline check sees). */
  rankerTrees: number;
  offlineNdcgClicks: number;
}

export interface LoopResult {
  policy: SlatePolicy;
  /** Round 0 is the popularity-logged bootstrap (its last roundDays); rounds 1.. are the closed loop. */
  rounds: RoundStats[];
  seconds: number;
}

export function policyName(policy: SlatePolicy): string {
  switch (policy.kind) {
    case "ranker":
      return "ranker top-k";
    case "explore":
      return `ranker + ${Math.round(policy.epsilon * 100)} % random slots`;
    case "diverse":
      return `ranker, at most ${policy.maxPerCategory} per category`;
  }
}

/** A growing impression log with the fields `rankerData` reads. */
export class LogBuilder {
  private cols = { session: [] as number[], user: [] as number[], item: [] as number[], position: [] as number[], clicked: [] as number[], day: [] as number[], trueRelevance: [] as number[], examination: [] as number[] };
  sessions = 0;

  constructor(base: ImpressionLog) {
    for (let r = 0; r < base.length; r++) {
      this.cols.session.push(base.session[r] as number);
      this.cols.user.push(base.user[r] as number);
      this.cols.item.push(base.item[r] as number);
      this.cols.position.push(base.position[r] as number);
      this.cols.clicked.push(base.clicked[r] as number);
      this.cols.day.push(base.day[r] as number);
      this.cols.trueRelevance.push(base.trueRelevance[r] as number);
      this.cols.examination.push(base.examination[r] as number);
    }
    this.sessions = base.sessions;
  }

  add(user: number, day: number, items: readonly number[], clicked: readonly boolean[], relevance: readonly number[], examination: readonly number[]): void {
    items.forEach((item, p) => {
      this.cols.session.push(this.sessions);
      this.cols.user.push(user);
      this.cols.item.push(item);
      this.cols.position.push(p);
      this.cols.clicked.push(clicked[p] ? 1 : 0);
      this.cols.day.push(day);
      this.cols.trueRelevance.push(relevance[p] as number);
      this.cols.examination.push(examination[p] as number);
    });
    this.sessions++;
  }

  build(): ImpressionLog {
    const c = this.cols;
    return {
      length: c.session.length,
      sessions: this.sessions,
      session: Int32Array.from(c.session),
      user: Int32Array.from(c.user),
      item: Int32Array.from(c.item),
      position: Uint8Array.from(c.position),
      clicked: Uint8Array.from(c.clicked),
      day: Float64Array.from(c.day),
      trueRelevance: Float32Array.from(c.trueRelevance),
      examination: Float32Array.from(c.examination),
    };
  }
}

/** Each user's retrieval candidates: the top `n` items of the whole catalogue by retrieval score, released or not (filtered when served). */
export function candidateLists(world: RecWorld, scorer: TimelessScorer, n: number): (user: number) => { items: Int32Array; scores: Float64Array } {
  const cache = new Map<number, { items: Int32Array; scores: Float64Array }>();
  return (user) => {
    let hit = cache.get(user);
    if (!hit) {
      const scores = Float64Array.from({ length: world.numItems }, (_, i) => scorer(user, i));
      const order = Int32Array.from({ length: world.numItems }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
      const items = order.slice(0, n);
      hit = { items, scores: Float64Array.from(items, (i) => scores[i] as number) };
      cache.set(user, hit);
    }
    return hit;
  };
}

/** Per-round exposure and engagement from the sessions served in it. */
class RoundMeter {
  private readonly shown: Float64Array;
  sessions = 0;
  impressions = 0;
  clicks = 0;
  private ndcgSum = 0;
  private ndcgCount = 0;
  private categorySum = 0;

  constructor(
    private readonly world: RecWorld,
    readonly fromDay: number,
    readonly toDay: number,
  ) {
    this.shown = new Float64Array(world.numItems);
  }

  add(items: readonly number[], clicks: number, ndcg: number | null): void {
    this.sessions++;
    this.impressions += items.length;
    this.clicks += clicks;
    for (const i of items) this.shown[i] = (this.shown[i] as number) + 1;
    if (ndcg !== null) {
      this.ndcgSum += ndcg;
      this.ndcgCount++;
    }
    this.categorySum += new Set(items.map((i) => this.world.items.category[i] as number)).size;
  }

  stats(round: number, ranker: { trees: number; offlineNdcgClicks: number }): RoundStats {
    const released: number[] = [];
    for (let i = 0; i < this.world.numItems; i++) if (this.world.isReleased(i, this.toDay)) released.push(this.shown[i] as number);
    return {
      round,
      fromDay: this.fromDay,
      toDay: this.toDay,
      sessions: this.sessions,
      impressions: this.impressions,
      clicks: this.clicks,
      clicksPerSession: this.sessions > 0 ? this.clicks / this.sessions : 0,
      servedNdcg: this.ndcgCount > 0 ? this.ndcgSum / this.ndcgCount : Number.NaN,
      exposureGini: giniIndex(released),
      coverage: released.filter((x) => x > 0).length / released.length,
      categoriesPerSlate: this.sessions > 0 ? this.categorySum / this.sessions : 0,
      rankerTrees: ranker.trees,
      offlineNdcgClicks: ranker.offlineNdcgClicks,
    };
  }
}

/** Orders candidates by score and applies the policy; returns `size` distinct released items. */
function makeSlate(world: RecWorld, policy: SlatePolicy, items: readonly number[], scores: Float64Array, size: number, day: number, rng: Rng): number[] {
  const order = items.map((_, k) => k).sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
  const ranked = order.map((k) => items[k] as number);
  if (policy.kind === "diverse") {
    const perCategory = new Map<number, number>();
    const slate: number[] = [];
    for (const item of ranked) {
      const c = world.items.category[item] as number;
      if ((perCategory.get(c) ?? 0) >= policy.maxPerCategory) continue;
      perCategory.set(c, (perCategory.get(c) ?? 0) + 1);
      slate.push(item);
      if (slate.length === size) return slate;
    }
    // Too few categories among the candidates: fill with the best of the rest.
    for (const item of ranked) if (slate.length < size && !slate.includes(item)) slate.push(item);
    return slate;
  }
  const slate = ranked.slice(0, size);
  if (policy.kind === "explore") {
    const taken = new Set(slate);
    for (let p = 0; p < size; p++) {
      if (rng.next() >= policy.epsilon) continue;
      for (let draw = 0; draw < 1000; draw++) {
        const candidate = rng.int(world.numItems);
        if (!taken.has(candidate) && world.isReleased(candidate, day)) {
          taken.delete(slate[p] as number);
          taken.add(candidate);
          slate[p] = candidate;
          break;
        }
      }
    }
  }
  return slate;
}

export function answer(requestId: string, user: number, slate: readonly number[], scores: ReadonlyMap<number, number>, world: RecWorld): RecommendationsResponse {
  return {
    requestId,
    userId: String(user),
    items: slate.map((item, position) => ({ itemId: String(item), position, score: scores.get(item) ?? 0, category: world.items.category[item] as number })),
    modelVersions: { ranker: "loop" },
    arms: {},
    fallback: null,
    fallbackReason: null,
    timings: {},
  };
}

/**
 * Runs the loop for one seed and policy. The same seed gives the same world, bootstrap log and
 * user arrivals for every policy, so policies differ only by what they served.
 */
export interface LoopWorld {
  world: RecWorld;
  scorer: TimelessScorer;
  candidatesOf: (user: number) => { items: Int32Array; scores: Float64Array };
  catalogue: ReturnType<typeof worldCatalogue>;
  /** The popularity policy's log of the first `bootstrapDays`: the first ranker's training data. */
  bootstrap: ImpressionLog;
  days: number;
}

/** The seed's world, retrieval stand-in and popularity-logged bootstrap, shared by every policy of a seed. */
export function loopWorld(seed: number, size: LoopWorldSize, days: number): LoopWorld {
  const world = createRecWorld({ preset: "small", seed, numUsers: size.numUsers, numItems: size.numItems, days, trainCutoffDay: days });
  const scorer = noisyLatentScorer(world, { noise: size.retrievalNoise, seed });
  const bootstrap = simulateInteractions(world, { seed: seed + 1, days: size.bootstrapDays, sessionsPerUser: (size.sessionsPerUser * size.bootstrapDays) / days, slateSize: size.slateSize });
  return { world, scorer, candidatesOf: candidateLists(world, scorer, size.candidates), catalogue: worldCatalogue(world), bootstrap, days };
}

export interface LoopRanker {
  predictor: Predictor;
  trees: number;
  /** Validation NDCG@10 on the latest logged clicks. */
  validNdcgClicks: number;
}

/**
 * The trainer's ranker on everything logged before `fromDay`: the last day validates (early
 * stopping), the last quarter day is the trainer's held-out test window, unused here.
 */
export function trainLoopRanker(lw: LoopWorld, impressions: ImpressionLog, fromDay: number): LoopRanker {
  const data = rankerData({ world: lw.world, impressions, scorer: lw.scorer, split: { warmupDays: 2, validDays: 1, testStartDay: fromDay - 0.25 } });
  const fitted = fitRanker(DEFAULT_LAMBDARANK_PARAMS, clickedSlates(data.train), clickedSlates(data.valid));
  return { predictor: new Predictor(fitted.result.model), trees: fitted.result.model.trees.length, validNdcgClicks: fitted.result.bestScore ?? Number.NaN };
}

/** The user's released retrieval candidates scored by the ranker on the store's current features, as the ranker service does. */
export function scoreCandidates(lw: LoopWorld, ranker: LoopRanker, store: MemoryRecsFeatureStore, user: number, timeMs: number): { items: number[]; scores: Float64Array } {
  const day = recWorldMsToDay(timeMs);
  const list = lw.candidatesOf(user);
  const items: number[] = [];
  const retrieval: number[] = [];
  list.items.forEach((item, k) => {
    if (lw.world.isReleased(item, day)) {
      items.push(item);
      retrieval.push(list.scores[k] as number);
    }
  });
  const device = lw.world.users.device[user] as number;
  const rows = assembleRankerRows(store.userSync(String(user)), items.map((i) => store.itemSync(String(i))), retrieval, rankerContext({ timeMs, device }), DEFAULT_RECS_FEATURE_CONFIG);
  return { items, scores: ranker.predictor.predictBatchRaw({ data: rows, numRows: items.length, numColumns: RANKER_FEATURE_COUNT }) };
}

/** Logs a served slate and its outcome, and streams its events into the feature store. */
export function recordSession(logged: LogBuilder, store: MemoryRecsFeatureStore, world: RecWorld, session: { at: number; user: number }, sessionId: string, slate: readonly number[], outcome: { items: readonly { clicked: boolean; relevance: number | null; examination: number }[] }): void {
  const clicked = outcome.items.map((x) => x.clicked);
  logged.add(session.user, recWorldMsToDay(session.at), slate, clicked, outcome.items.map((x) => x.relevance ?? 0), outcome.items.map((x) => x.examination));
  const device = world.users.device[session.user] as number;
  for (const event of sessionEvents({ sessionId, userId: String(session.user), timeMs: Math.round(session.at), device, items: slate.map(String), clicked: clicked.map((c) => (c ? 1 : 0)) })) store.applySync(event);
}

export function loopUsers(lw: LoopWorld, size: LoopWorldSize, seed: number, startMs: number): RecsUsers {
  return new RecsUsers({ world: lw.world, sessionsPerUser: size.sessionsPerUser, slateSize: size.slateSize, clickModel: DEFAULT_CLICK_MODEL, originMs: REC_WORLD_ORIGIN_MS, seed }, startMs);
}

/**
 * Runs the loop for one seed and policy. The same seed gives the same world, bootstrap log and
 * user arrivals for every policy, so policies differ only by what they served.
 */
export function runLoop(seed: number, size: LoopSize, policy: SlatePolicy, log: (line: string) => void = () => {}): LoopResult {
  const t0 = performance.now();
  const lw = loopWorld(seed, size, size.bootstrapDays + size.rounds * size.roundDays);
  const { world, bootstrap } = lw;
  const logged = new LogBuilder(bootstrap);

  // Round 0: the bootstrap's last round of days, served by the popularity policy.
  const first = new RoundMeter(world, size.bootstrapDays - size.roundDays, size.bootstrapDays);
  for (let s = 0, r = 0; s < bootstrap.sessions; s++) {
    const items: number[] = [];
    let clicks = 0;
    const day = bootstrap.day[r] as number;
    while (r < bootstrap.length && bootstrap.session[r] === s) {
      items.push(bootstrap.item[r] as number);
      clicks += bootstrap.clicked[r] as number;
      r++;
    }
    if (day >= first.fromDay) first.add(items, clicks, null);
  }
  const rounds: RoundStats[] = [first.stats(0, { trees: 0, offlineNdcgClicks: Number.NaN })];

  const rng = new Rng(seed * 7919 + 13);
  for (let round = 1; round <= size.rounds; round++) {
    const fromDay = size.bootstrapDays + (round - 1) * size.roundDays;
    const toDay = fromDay + size.roundDays;
    const impressions = logged.build();
    const ranker = trainLoopRanker(lw, impressions, fromDay);
    const store: MemoryRecsFeatureStore = recsFeaturesAsOf(worldSessions(world, impressions), recWorldDayToMs(fromDay), { catalogue: lw.catalogue });
    const users = loopUsers(lw, size, seed * 1000 + round, recWorldDayToMs(fromDay));
    const meter = new RoundMeter(world, fromDay, toDay);
    const endMs = recWorldDayToMs(toDay);
    let session = users.nextSession(recWorldDayToMs(fromDay));
    while (session !== null && session.at < endMs) {
      const { items, scores } = scoreCandidates(lw, ranker, store, session.user, session.at);
      const slate = makeSlate(world, policy, items, scores, size.slateSize, recWorldMsToDay(session.at), rng);
      const scoreOf = new Map(items.map((item, k) => [item, scores[k] as number]));
      const { outcome } = users.react(session, answer(`r${round}s${meter.sessions}`, session.user, slate, scoreOf, world), []);
      meter.add(slate, outcome.items.filter((x) => x.clicked).length, outcome.idealDcg ? servedDcg(outcome.items) / outcome.idealDcg : null);
      recordSession(logged, store, world, session, `loop-${round}-${meter.sessions}`, slate, outcome);
      session = users.nextSession(session.at);
    }
    const stats = meter.stats(round, { trees: ranker.trees, offlineNdcgClicks: ranker.validNdcgClicks });
    rounds.push(stats);
    log(`${policyName(policy)}, round ${round}: Gini ${stats.exposureGini.toFixed(3)}, coverage ${(100 * stats.coverage).toFixed(1)} %, clicks/session ${stats.clicksPerSession.toFixed(3)}, served NDCG ${stats.servedNdcg.toFixed(3)}`);
  }
  return { policy, rounds, seconds: (performance.now() - t0) / 1000 };
}
