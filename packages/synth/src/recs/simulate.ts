import { Rng } from "@mlsd/random";
import type { RecWorld } from "./world";
import { RecWorldOptionsError } from "./world";

/** What a logging policy sees when it fills one slate. */
export interface SlateContext {
  readonly world: RecWorld;
  readonly user: number;
  readonly day: number;
  readonly size: number;
  readonly rng: Rng;
}

/**
 * The logging policy that chose what was shown.
 * - popularity: items drawn in proportion to their Zipf weight and shown most popular first;
 *   each slot is, with probability `exploration`, a uniformly random released item instead.
 * - random: uniformly random released items (no confounding between position and relevance).
 * - custom: any function returning `size` distinct released item ids, best first (a model under
 *   test, for feedback-loop experiments).
 */
export type SlatePolicy =
  | { readonly kind: "popularity"; readonly exploration?: number }
  | { readonly kind: "random" }
  | { readonly kind: "custom"; readonly name: string; readonly slate: (ctx: SlateContext) => ArrayLike<number> };

/**
 * How position decides whether an item is looked at.
 * - position-based: examined with probability 1 / (1 + position)^eta, independently per slot.
 * - cascade: the user scans from the top, clicks an examined item with its true relevance, stops
 *   after the first click, and after a skip moves on with probability `continueProbability`.
 */
export type ClickModel =
  | { readonly kind: "position-based"; readonly eta: number }
  | { readonly kind: "cascade"; readonly continueProbability?: number };

export interface SimulateInteractionsOptions {
  seed?: number;
  /** First day simulated (default 0). */
  startDay?: number;
  /** Number of days simulated (default the world's period). */
  days?: number;
  /** Mean sessions per user over the simulated days, before activity and signup (default 5). */
  sessionsPerUser?: number;
  slateSize?: number;
  policy?: SlatePolicy;
  clickModel?: ClickModel;
}

/**
 * One row per impression, sorted by session time. Ground truth rides along: the true relevance of
 * the shown item and the probability that its position was examined, so click-through rates can
 * be de-biased and counterfactual claims checked against the truth.
 */
export interface ImpressionLog {
  readonly length: number;
  readonly sessions: number;
  readonly session: Int32Array;
  readonly user: Int32Array;
  readonly item: Int32Array;
  /** 0 = top of the slate. */
  readonly position: Uint8Array;
  readonly clicked: Uint8Array;
  /** Day of the session (fractional). */
  readonly day: Float64Array;
  /** P(click | examined) of this user and item. */
  readonly trueRelevance: Float32Array;
  /** P(examined) of this slot under the click model, given what happened above it. */
  readonly examination: Float32Array;
}

const DEFAULT_POLICY: SlatePolicy = { kind: "popularity", exploration: 0.1 };
/** The click model training data is simulated with unless told otherwise. */
export const DEFAULT_CLICK_MODEL: ClickModel = Object.freeze({ kind: "position-based", eta: 1 });
// A slate filled by rejection sampling gives up after this many draws per slot (a catalogue with
// almost nothing released yet cannot fill a slate).
const MAX_DRAWS_PER_SLOT = 1000;

export function simulateInteractions(world: RecWorld, options: SimulateInteractionsOptions = {}): ImpressionLog {
  const startDay = options.startDay ?? 0;
  const days = options.days ?? world.options.days;
  const sessionsPerUser = options.sessionsPerUser ?? 5;
  const slateSize = options.slateSize ?? 10;
  const policy = options.policy ?? DEFAULT_POLICY;
  const clickModel = options.clickModel ?? DEFAULT_CLICK_MODEL;
  if (!Number.isFinite(startDay)) throw new RecWorldOptionsError("startDay", `must be finite, got ${startDay}`);
  if (!(days > 0) || !Number.isFinite(days)) throw new RecWorldOptionsError("days", `must be positive, got ${days}`);
  if (!(sessionsPerUser >= 0) || !Number.isFinite(sessionsPerUser)) {
    throw new RecWorldOptionsError("sessionsPerUser", `must be >= 0, got ${sessionsPerUser}`);
  }
  if (!Number.isInteger(slateSize) || slateSize < 1 || slateSize > 255) {
    throw new RecWorldOptionsError("slateSize", `must be an integer in [1, 255], got ${slateSize}`);
  }
  if (slateSize > world.numItems) throw new RecWorldOptionsError("slateSize", `${slateSize} exceeds the ${world.numItems} items`);
  checkPolicy(policy);
  checkClickModel(clickModel);

  const rng = new Rng(options.seed ?? 1);
  const endDay = startDay + days;

  // Sessions first (user, day), then sorted by day so the log reads like a stream.
  const sessionUsers: number[] = [];
  const sessionDays: number[] = [];
  for (let u = 0; u < world.numUsers; u++) {
    const from = Math.max(startDay, world.users.signupDay[u] as number);
    if (from >= endDay) continue;
    const mean = sessionsPerUser * (world.users.activity[u] as number) * ((endDay - from) / days);
    const count = rng.poisson(mean);
    for (let s = 0; s < count; s++) {
      sessionUsers.push(u);
      sessionDays.push(rng.uniform(from, endDay));
    }
  }
  const order = Int32Array.from(sessionUsers.keys());
  order.sort((a, b) => (sessionDays[a] as number) - (sessionDays[b] as number) || a - b);

  const nSessions = order.length;
  const n = nSessions * slateSize;
  const log = {
    length: n,
    sessions: nSessions,
    session: new Int32Array(n),
    user: new Int32Array(n),
    item: new Int32Array(n),
    position: new Uint8Array(n),
    clicked: new Uint8Array(n),
    day: new Float64Array(n),
    trueRelevance: new Float32Array(n),
    examination: new Float32Array(n),
  };
  const slate = new Int32Array(slateSize);
  const seen = new Set<number>();
  const outcome = slateOutcome(slateSize);
  for (let s = 0; s < nSessions; s++) {
    const idx = order[s] as number;
    const user = sessionUsers[idx] as number;
    const day = sessionDays[idx] as number;
    fillSlate(world, policy, { world, user, day, size: slateSize, rng }, slate, seen);
    for (let p = 0; p < slateSize; p++) outcome.relevance[p] = world.relevanceUnchecked(user, slate[p] as number);
    clickSlate(clickModel, rng, outcome);
    for (let p = 0; p < slateSize; p++) {
      const row = s * slateSize + p;
      log.session[row] = s;
      log.user[row] = user;
      log.item[row] = slate[p] as number;
      log.position[row] = p;
      log.clicked[row] = outcome.clicked[p] as number;
      log.day[row] = day;
      log.trueRelevance[row] = outcome.relevance[p] as number;
      log.examination[row] = outcome.examination[p] as number;
    }
  }
  return log;
}

/** What happened to one slate: the caller fills `relevance`; `clickSlate` fills the rest. */
export interface SlateOutcome {
  /** P(click | examined) per position (the world's true relevance). */
  readonly relevance: Float64Array;
  /** P(examined) per position under the click model, given what happened above it. */
  readonly examination: Float32Array;
  readonly examined: Uint8Array;
  readonly clicked: Uint8Array;
}

export function slateOutcome(size: number): SlateOutcome {
  return { relevance: new Float64Array(size), examination: new Float32Array(size), examined: new Uint8Array(size), clicked: new Uint8Array(size) };
}

/**
 * A user looks at a slate from the top under the click model and clicks what they examine with
 * its true relevance. Two draws per examinable slot, in position order: the simulator and the
 * live world (jobs/world) click the same way from the same seed.
 */
export function clickSlate(clickModel: ClickModel, rng: Rng, out: SlateOutcome): void {
  // Cascade state: whether the user is still scanning down the slate.
  let scanning = true;
  const size = out.relevance.length;
  for (let p = 0; p < size; p++) {
    let exam: number;
    if (clickModel.kind === "position-based") exam = 1 / (1 + p) ** clickModel.eta;
    else exam = !scanning ? 0 : p === 0 ? 1 : (clickModel.continueProbability ?? 1);
    const examined = exam > 0 && rng.next() < exam;
    const clicked = examined && rng.next() < (out.relevance[p] as number);
    if (clickModel.kind === "cascade" && (!examined || clicked)) scanning = false;
    out.examination[p] = exam;
    out.examined[p] = examined ? 1 : 0;
    out.clicked[p] = clicked ? 1 : 0;
  }
}

function fillSlate(world: RecWorld, policy: SlatePolicy, ctx: SlateContext, out: Int32Array, seen: Set<number>): void {
  const size = out.length;
  if (policy.kind === "custom") {
    const chosen = policy.slate(ctx);
    if (chosen.length !== size) {
      throw new RecWorldOptionsError("policy", `${policy.name} returned ${chosen.length} items for a slate of ${size}`);
    }
    seen.clear();
    for (let p = 0; p < size; p++) {
      const item = chosen[p] as number;
      if (!Number.isInteger(item) || item < 0 || item >= world.numItems) {
        throw new RecWorldOptionsError("policy", `${policy.name} returned item ${item}, outside [0, ${world.numItems})`);
      }
      if (seen.has(item)) throw new RecWorldOptionsError("policy", `${policy.name} returned item ${item} twice in one slate`);
      if (!world.isReleased(item, ctx.day)) {
        throw new RecWorldOptionsError("policy", `${policy.name} showed item ${item} before its release on day ${world.items.releaseDay[item]}`);
      }
      seen.add(item);
      out[p] = item;
    }
    return;
  }
  const exploration = policy.kind === "popularity" ? (policy.exploration ?? 0.1) : 1;
  seen.clear();
  for (let p = 0; p < size; p++) {
    let item = -1;
    for (let draw = 0; draw < MAX_DRAWS_PER_SLOT; draw++) {
      const candidate = ctx.rng.next() < exploration ? ctx.rng.int(world.numItems) : world.samplePopularItem(ctx.rng);
      if (!seen.has(candidate) && world.isReleased(candidate, ctx.day)) {
        item = candidate;
        break;
      }
    }
    if (item < 0) {
      throw new RecWorldOptionsError("slateSize", `could not fill a slate of ${size} from the items released by day ${ctx.day.toFixed(2)}`);
    }
    seen.add(item);
    out[p] = item;
  }
  if (policy.kind === "popularity") {
    // Most popular first: the logging policy's ranking, which confounds position with popularity.
    const rank = world.items.popularityRank;
    out.sort((a, b) => (rank[a] as number) - (rank[b] as number));
  }
}

function checkPolicy(policy: SlatePolicy): void {
  if (policy.kind === "popularity") {
    const e = policy.exploration ?? 0.1;
    if (!(e >= 0 && e <= 1)) throw new RecWorldOptionsError("policy.exploration", `must be in [0, 1], got ${e}`);
  } else if (policy.kind !== "random" && policy.kind !== "custom") {
    throw new RecWorldOptionsError("policy.kind", `unknown policy '${(policy as { kind: string }).kind}'`);
  }
}

/** Throws a RecWorldOptionsError naming the field of a click model that cannot work. */
export function checkClickModel(model: ClickModel): void {
  if (model.kind === "position-based") {
    if (!(model.eta >= 0) || !Number.isFinite(model.eta)) throw new RecWorldOptionsError("clickModel.eta", `must be >= 0, got ${model.eta}`);
  } else if (model.kind === "cascade") {
    const c = model.continueProbability ?? 1;
    if (!(c >= 0 && c <= 1)) throw new RecWorldOptionsError("clickModel.continueProbability", `must be in [0, 1], got ${c}`);
  } else {
    throw new RecWorldOptionsError("clickModel.kind", `unknown click model '${(model as { kind: string }).kind}'`);
  }
}
