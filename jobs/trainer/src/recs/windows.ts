import type { RecWorld, RecWorldOptions } from "@mlsd/synth";
import type { RankerSplit } from "./ranker";
import { clicksBefore, worldTrainingData, type ClickLog } from "./world-data";

/**
 * The synthetic world's log cut by time for the two stages. The two-tower model is fitted on the
 * clicks before `towerEndDay`; the ranker's training rows start there, so the retrieval score it
 * learns from comes from a model that never saw those sessions' clicks, as a served score never
 * has. Earlier days only build the ranker's counters (its warm-up). Validation follows, and the
 * held-out test window starts at the world's cut-off.
 *
 * ```
 * day 0            towerEndDay          cut-off - validDays     cut-off        end
 * [ two-tower fit  ][ ranker train rows  ][ ranker validation   ][ test (held out) ]
 * ```
 */
export interface RecsTrainingWindows {
  /** The two-tower trains on clicks with day < towerEndDay. */
  towerEndDay: number;
  /** The ranker's split: `warmupDays` is `towerEndDay` (its first training session's day at the earliest). */
  ranker: RankerSplit;
}

/** Days of ranker validation before the cut-off (what `rankerData` uses by default). */
export const RANKER_VALID_DAYS = 4;
/**
 * Share of the days before the ranker's validation that fit the tower; the ranker trains on the
 * rest. Chosen on the ranker's validation window (days 20-24 of the small world), never its test
 * window: jobs/trainer/README.md gives the command and the values.
 */
export const DEFAULT_TOWER_SHARE = 0.6;

export function recsTrainingWindows(world: Pick<RecWorldOptions, "trainCutoffDay">, towerEndDay?: number): RecsTrainingWindows {
  const testStartDay = world.trainCutoffDay;
  const validStartDay = testStartDay - RANKER_VALID_DAYS;
  if (!(validStartDay > 1)) throw new RangeError(`the world's cut-off (day ${testStartDay}) leaves no days before the ranker's ${RANKER_VALID_DAYS}-day validation window`);
  const end = towerEndDay ?? Math.round(DEFAULT_TOWER_SHARE * validStartDay);
  if (!(Number.isInteger(end) && end >= 1 && end < validStartDay)) {
    throw new RangeError(`towerEndDay: must be an integer day in [1, ${validStartDay - 1}] (the ranker needs training days before its validation starts on day ${validStartDay}), got ${towerEndDay}`);
  }
  return { towerEndDay: end, ranker: { warmupDays: end, validDays: RANKER_VALID_DAYS, testStartDay } };
}

/**
 * The two-tower's training data (the clicks before the tower's window ends) and the ranker's split,
 * from one log: what the training run fits each stage on.
 */
export function towerAndRankerWindows(world: RecWorld, clicks: ClickLog, towerEndDay?: number) {
  const windows = recsTrainingWindows(world.options, towerEndDay);
  const tower = worldTrainingData(world, clicks, windows.towerEndDay);
  /** Clicks before the cut-off: what serving knows of every user when the held-out window starts. */
  const cutoffRows = clicksBefore(clicks, world.options.trainCutoffDay);
  return { windows, tower, cutoffRows };
}
