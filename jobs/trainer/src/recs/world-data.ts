import type { RecWorld, ImpressionLog } from "@mlsd/synth";
import { USER_FEATURE_LEVELS } from "@mlsd/synth";
import { buildHistories, type Histories, type TrainingData, type UserFeatures, type UserQuery } from "@mlsd/two-tower";
import type { UserTable } from "@mlsd/model-formats/retrieval";

/** Items per user history the user tower pools (most recent first). */
export const HISTORY_LENGTH = 20;

/** The user tower's inputs for the synthetic world, by name: what the retrieval service accepts in `features`. */
export const WORLD_USER_NUMERIC = ["log_clicks"] as const;
export const WORLD_USER_CATEGORICAL = ["age_bucket", "region", "device", "home_category"] as const;

/** The clicks of an impression log, in log (time) order. */
export interface ClickLog {
  user: Int32Array;
  item: Int32Array;
  day: Float64Array;
}

export function clicksOf(log: ImpressionLog): ClickLog {
  let n = 0;
  for (let r = 0; r < log.length; r++) n += log.clicked[r] as number;
  const out: ClickLog = { user: new Int32Array(n), item: new Int32Array(n), day: new Float64Array(n) };
  let c = 0;
  for (let r = 0; r < log.length; r++) {
    if (!log.clicked[r]) continue;
    out.user[c] = log.user[r] as number;
    out.item[c] = log.item[r] as number;
    out.day[c] = log.day[r] as number;
    c++;
  }
  return out;
}

/** Rows of `clicks` before `day` (the log is in time order, so a prefix). */
export function clicksBefore(clicks: ClickLog, day: number): number {
  let lo = 0;
  let hi = clicks.day.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((clicks.day[mid] as number) < day) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The world's users as the user tower sees them, with click counts from the first `rows` clicks. */
export function worldUserFeatures(world: RecWorld, clicks: ClickLog, rows: number): UserFeatures {
  const n = world.numUsers;
  const counts = new Float64Array(n);
  for (let r = 0; r < rows; r++) counts[clicks.user[r] as number]! += 1;
  const numeric = Float32Array.from(counts, (c) => Math.log1p(c));
  const categorical = new Int32Array(n * 4);
  for (let u = 0; u < n; u++) {
    categorical[u * 4] = world.users.ageBucket[u] as number;
    categorical[u * 4 + 1] = world.users.region[u] as number;
    categorical[u * 4 + 2] = world.users.device[u] as number;
    categorical[u * 4 + 3] = world.users.homeCategory[u] as number;
  }
  return {
    numericDim: 1,
    numeric,
    categoricalCardinalities: [USER_FEATURE_LEVELS.ageBucket, USER_FEATURE_LEVELS.region, USER_FEATURE_LEVELS.device, world.options.numCategories],
    categorical,
  };
}

/**
 * Two-tower training data from the clicks before `cutoffDay`. Item content is what a catalogue
 * knows: category, tags, clicks so far (log) and age in days at the cut-off; never the world's
 * hidden quality or taste vectors.
 */
export function worldTrainingData(world: RecWorld, clicks: ClickLog, cutoffDay: number): { data: TrainingData; histories: Histories; trainRows: number } {
  const trainRows = clicksBefore(clicks, cutoffDay);
  if (trainRows < 2) throw new RangeError(`the world has ${trainRows} clicks before day ${cutoffDay}: simulate more sessions`);
  const histories = buildHistories({ user: clicks.user, item: clicks.item, time: clicks.day }, HISTORY_LENGTH);
  const n = world.numItems;
  const t = world.options.tagsPerItem;
  const numTags = world.options.numTags;
  const tags = new Uint8Array(n * numTags);
  for (let i = 0; i < n; i++) for (let j = 0; j < t; j++) tags[i * numTags + (world.items.tags[i * t + j] as number)] = 1;
  const popularity = new Float64Array(n);
  for (let r = 0; r < trainRows; r++) popularity[clicks.item[r] as number]! += 1;
  const data: TrainingData = {
    numUsers: world.numUsers,
    numItems: n,
    userFeatures: worldUserFeatures(world, clicks, trainRows),
    itemFeatures: {
      numCategories: world.options.numCategories,
      category: Int32Array.from(world.items.category),
      numTags,
      tags,
      quality: Float32Array.from(popularity, (c) => Math.log1p(c)),
      freshness: Float32Array.from(world.items.releaseDay, (d) => cutoffDay - d),
    },
    interactions: { user: clicks.user.slice(0, trainRows), item: clicks.item.slice(0, trainRows), time: clicks.day.slice(0, trainRows) },
    histories: { length: HISTORY_LENGTH, items: histories.items.slice(0, trainRows * HISTORY_LENGTH) },
  };
  return { data, histories, trainRows };
}

/** Each user's most recent `length` clicked items among the first `rows` clicks, most recent first, -1 padded. */
export function latestHistories(numUsers: number, clicks: ClickLog, rows: number, length = HISTORY_LENGTH): Int32Array {
  const out = new Int32Array(numUsers * length).fill(-1);
  const filled = new Int32Array(numUsers);
  for (let r = rows - 1; r >= 0; r--) {
    const u = clicks.user[r] as number;
    const f = filled[u] as number;
    if (f < length) {
      out[u * length + f] = clicks.item[r] as number;
      filled[u] = f + 1;
    }
  }
  return out;
}

/**
 * The retrieval service's per-user table as of the first `rows` clicks: features, latest
 * history, and whether the user tower was trained on the user (else the unknown-user row serves).
 */
export function worldUserTable(world: RecWorld, clicks: ClickLog, rows: number, trainRows: number): UserTable {
  const features = worldUserFeatures(world, clicks, rows);
  const known = new Uint8Array(world.numUsers);
  for (let r = 0; r < trainRows; r++) known[clicks.user[r] as number] = 1;
  return {
    numeric: features.numeric,
    numericNames: [...WORLD_USER_NUMERIC],
    categorical: features.categorical,
    categoricalNames: [...WORLD_USER_CATEGORICAL],
    cardinalities: [...features.categoricalCardinalities],
    history: latestHistories(world.numUsers, clicks, rows),
    historyLength: HISTORY_LENGTH,
    known,
  };
}

/** Distinct items per user among the first `rows` clicks. */
export function seenItems(numUsers: number, clicks: ClickLog, rows: number): Set<number>[] {
  const sets = Array.from({ length: numUsers }, () => new Set<number>());
  for (let r = 0; r < rows; r++) sets[clicks.user[r] as number]!.add(clicks.item[r] as number);
  return sets;
}

/**
 * The user tower's input for a user as it stood at a moment of the log: the latest clicks and the
 * click count before `beforeRow` (the first click row at or after that moment), nothing later. The
 * ranker's training sessions are scored with these, not with the state at the cut-off, which holds
 * the session's own clicks and would teach the ranker to trust a retrieval score that serving never
 * sees (a point-in-time leak).
 */
export class PointInTimeQueries {
  /** Click rows of each user, in log order. */
  private readonly rowsOf: Int32Array[];

  constructor(
    numUsers: number,
    private readonly clicks: ClickLog,
    /** Per click row, the user's history before that click (buildHistories over the same log). */
    private readonly histories: Histories,
    rows: number,
  ) {
    const counts = new Int32Array(numUsers);
    for (let r = 0; r < rows; r++) counts[clicks.user[r] as number]! += 1;
    this.rowsOf = Array.from(counts, (c) => new Int32Array(c));
    const filled = new Int32Array(numUsers);
    for (let r = 0; r < rows; r++) {
      const u = clicks.user[r] as number;
      (this.rowsOf[u] as Int32Array)[filled[u]!++] = r;
    }
  }

  /** How many of the user's clicks come before log row `beforeRow`. */
  clicksBefore(user: number, beforeRow: number): number {
    const rows = this.rowsOf[user] as Int32Array;
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((rows[mid] as number) < beforeRow) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The query of `user` with only the clicks before log row `beforeRow`. */
  query(user: number, beforeRow: number, known: boolean, categorical: Int32Array): UserQuery {
    const n = this.clicksBefore(user, beforeRow);
    const H = this.histories.length;
    const history = new Int32Array(H).fill(-1);
    if (n > 0) {
      const last = (this.rowsOf[user] as Int32Array)[n - 1] as number;
      history[0] = this.clicks.item[last] as number;
      for (let k = 1; k < H; k++) history[k] = this.histories.items[last * H + k - 1] as number;
    }
    // worldUserFeatures' one numeric feature, log1p of the clicks so far, as of this moment.
    return { userId: known && n > 0 ? user : -1, numeric: Float32Array.of(Math.log1p(n)), categorical, history };
  }
}
