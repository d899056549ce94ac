import { RECS_DEVICES, type RecommendationsRequestInput, type RecommendationsResponse, type WorldRecsOutcomePayload } from "@mlsd/contracts";
import { AliasTable, Rng } from "@mlsd/random";
import { addItemBatch, checkClickModel, clickSlate, recWorldMsToDay, sessionRatesPerDay, shiftPreferences, slateOutcome, type ClickModel, type RecWorld } from "@mlsd/synth";
import type { WorldDrift } from "./drift";
import { DAY_MS } from "./timeline";

/** When a user clicks, in world seconds after the answer: a floor, an exponential wait, and a scan down the list. */
export interface ReactionTime {
  minSeconds: number;
  meanSeconds: number;
  perPositionSeconds: number;
}

export const DEFAULT_REACTION: Readonly<ReactionTime> = Object.freeze({ minSeconds: 2, meanSeconds: 10, perPositionSeconds: 2 });

/** Above this many items, an exhaustive ideal list per answer costs too much: idealDcg is null. */
export const MAX_IDEAL_ITEMS = 200_000;

export interface RecsUsersOptions {
  /** The world the models were trained on (same preset, size and seed). */
  world: RecWorld;
  /** Sessions per user over the world's period, as the training data was simulated (REC_TRAFFIC_PRESETS). */
  sessionsPerUser: number;
  slateSize: number;
  clickModel: ClickModel;
  /** Day 0 of the world on the clock (REC_WORLD_ORIGIN_MS). */
  originMs: number;
  /** Share of users who take part (1: everyone); the rest stay away. */
  userShare?: number;
  reaction?: ReactionTime;
  seed: number;
}

export interface Session {
  at: number;
  user: number;
}

export interface PlannedClick {
  /** World epoch ms of the click. */
  at: number;
  body: { requestId: string; userId: string; itemId: string; position: number; time: string };
}

const log2 = Math.log(2);
const discount = (position: number) => log2 / Math.log(position + 2);

/**
 * The recommendation world's users, live: sessions arrive as a Poisson process at the rates the
 * training data had (each user's sessions per day x activity), each asks the recommender for a
 * slate, examines it by position and clicks with the item's true relevance, as the simulator that
 * made the training data does, then reports each click a reaction time later.
 */
export class RecsUsers {
  private world: RecWorld;
  private readonly options: RecsUsersOptions;
  private readonly rng: Rng;
  private readonly users: Int32Array;
  private readonly pickUser: AliasTable | null;
  /** Sessions per world millisecond, all users together. */
  private readonly ratePerMs: number;
  private readonly reaction: ReactionTime;
  private readonly scratch;

  constructor(options: RecsUsersOptions, startMs: number) {
    checkClickModel(options.clickModel);
    const share = options.userShare ?? 1;
    if (!(share > 0 && share <= 1)) throw new RangeError(`userShare must be in (0, 1], got ${share}`);
    this.options = options;
    this.world = options.world;
    this.rng = new Rng(options.seed);
    this.reaction = options.reaction ?? DEFAULT_REACTION;
    this.scratch = slateOutcome(options.slateSize);
    const rates = sessionRatesPerDay(this.world, options.sessionsPerUser, recWorldMsToDay(startMs, options.originMs));
    // Subsampling draws from its own stream, so the share does not change the sessions' draws.
    const subsample = new Rng(options.seed ^ 0x5a5a5a5a);
    const kept: number[] = [];
    for (let u = 0; u < rates.length; u++) if ((rates[u] as number) > 0 && (share === 1 || subsample.next() < share)) kept.push(u);
    this.users = Int32Array.from(kept);
    const weights = Float64Array.from(kept, (u) => rates[u] as number);
    const total = weights.reduce((s, w) => s + w, 0);
    this.ratePerMs = total / DAY_MS;
    this.pickUser = kept.length > 0 ? new AliasTable(weights) : null;
  }

  /** Mean sessions per world day of the users taking part. */
  get sessionsPerDay(): number {
    return this.ratePerMs * DAY_MS;
  }

  get activeUsers(): number {
    return this.users.length;
  }

  get currentWorld(): RecWorld {
    return this.world;
  }

  /** The next session strictly after `afterMs`, or null when no user takes part. */
  nextSession(afterMs: number): Session | null {
    if (this.pickUser === null) return null;
    const at = afterMs + this.rng.exponential(this.ratePerMs);
    return { at, user: this.users[this.pickUser.sample(this.rng)] as number };
  }

  request(session: Session): RecommendationsRequestInput {
    const device = RECS_DEVICES[this.world.users.device[session.user] as number] ?? "mobile";
    return { userId: String(session.user), k: this.options.slateSize, context: { device, time: new Date(session.at).toISOString() } };
  }

  /**
   * What the user does with the answer: examination and clicks by the world's click model on the
   * true relevance of what was served, the ground truth of it, and the clicks to report (each
   * after a reaction time). Items the world does not know have relevance 0 (never clicked).
   */
  react(session: Session, answer: RecommendationsResponse, drift: readonly string[]): { outcome: WorldRecsOutcomePayload; clicks: PlannedClick[] } {
    const n = Math.min(answer.items.length, this.options.slateSize);
    const out = n === this.scratch.relevance.length ? this.scratch : slateOutcome(n);
    const known: boolean[] = [];
    for (let p = 0; p < n; p++) {
      const item = this.itemIndex((answer.items[p] as RecommendationsResponse["items"][number]).itemId);
      known.push(item >= 0);
      out.relevance[p] = item >= 0 ? this.world.relevanceUnchecked(session.user, item) : 0;
    }
    clickSlate(this.options.clickModel, this.rng, out);
    const items: WorldRecsOutcomePayload["items"] = [];
    const clicks: PlannedClick[] = [];
    for (let p = 0; p < n; p++) {
      const served = answer.items[p] as RecommendationsResponse["items"][number];
      const clicked = out.clicked[p] === 1;
      items.push({ itemId: served.itemId, position: served.position, relevance: known[p] ? (out.relevance[p] as number) : null, examination: out.examination[p] as number, examined: out.examined[p] === 1, clicked });
      if (!clicked) continue;
      const r = this.reaction;
      const at = session.at + 1000 * (r.minSeconds + this.rng.exponential(1 / r.meanSeconds) + r.perPositionSeconds * p);
      clicks.push({ at, body: { requestId: answer.requestId, userId: answer.userId, itemId: served.itemId, position: served.position, time: new Date(at).toISOString() } });
    }
    return {
      outcome: { requestId: answer.requestId, userId: answer.userId, modelVersions: answer.modelVersions, fallback: answer.fallback, items, idealDcg: this.idealDcg(session, n), drift: [...drift] },
      clicks,
    };
  }

  /** DCG of the n most relevant items released by the session's day: the best any system could have served. */
  idealDcg(session: Session, n: number): number | null {
    const world = this.world;
    if (world.numItems > MAX_IDEAL_ITEMS || n === 0) return null;
    const day = recWorldMsToDay(session.at, this.options.originMs);
    const top = new Float64Array(n).fill(-1);
    for (let i = 0; i < world.numItems; i++) {
      if (!world.isReleased(i, day)) continue;
      const r = world.relevanceUnchecked(session.user, i);
      if (r <= (top[n - 1] as number)) continue;
      let j = n - 1;
      while (j > 0 && (top[j - 1] as number) < r) {
        top[j] = top[j - 1] as number;
        j--;
      }
      top[j] = r;
    }
    let dcg = 0;
    for (let p = 0; p < n; p++) if ((top[p] as number) > 0) dcg += (top[p] as number) * discount(p);
    return dcg;
  }

  /** Swaps in the drifted world from now on. */
  applyDrift(drift: Extract<WorldDrift, { kind: "preference-shift" | "new-items" }>): string {
    if (drift.kind === "preference-shift") {
      const shifted = shiftPreferences(this.world, { share: drift.share, angleDegrees: drift.angleDegrees, seed: this.options.seed + 17 });
      this.world = shifted.world;
      return `${shifted.shifted.length} users' tastes turned ${drift.angleDegrees} degrees`;
    }
    const before = this.world.numItems;
    this.world = addItemBatch(this.world, { count: drift.count, releaseDay: recWorldMsToDay(drift.at, this.options.originMs), qualityShift: drift.qualityShift, seed: this.options.seed + 29 });
    return `items ${before}..${this.world.numItems - 1} released (quality +${drift.qualityShift}); the system has never seen them`;
  }

  /** World item index of an id as served ("42"), or -1. */
  private itemIndex(id: string): number {
    if (!/^(0|[1-9]\d*)$/.test(id)) return -1;
    const i = Number(id);
    return i < this.world.numItems ? i : -1;
  }
}

/** DCG of the served slate by true relevance (same discount as idealDcg). */
export function servedDcg(items: WorldRecsOutcomePayload["items"]): number {
  let dcg = 0;
  items.forEach((item, p) => (dcg += (item.relevance ?? 0) * discount(p)));
  return dcg;
}
