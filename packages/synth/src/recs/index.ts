export {
  REC_WORLD_PRESETS,
  RecWorld,
  RecWorldOptionsError,
  USER_FEATURE_LEVELS,
  createRecWorld,
  recWorldPriors,
  resolveRecWorldOptions,
} from "./world";
export type { RecItems, RecUsers, RecWorldInput, RecWorldOptions, RecWorldPreset, RecWorldPriors } from "./world";
export { DEFAULT_CLICK_MODEL, checkClickModel, clickSlate, simulateInteractions, slateOutcome } from "./simulate";
export type { ClickModel, ImpressionLog, SimulateInteractionsOptions, SlateContext, SlateOutcome, SlatePolicy } from "./simulate";
export { addItemBatch, shiftPreferences } from "./drift";
export type { ItemBatchOptions, PreferenceShift, PreferenceShiftOptions } from "./drift";
export { REC_TRAFFIC_PRESETS, REC_WORLD_ORIGIN_MS, recWorldDayToMs, recWorldMsToDay, sessionRatesPerDay } from "./traffic";
export type { RecTraffic } from "./traffic";
