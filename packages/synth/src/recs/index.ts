export {
  REC_WORLD_PRESETS,
  RecWorld,
  RecWorldOptionsError,
  USER_FEATURE_LEVELS,
  createRecWorld,
  resolveRecWorldOptions,
} from "./world";
export type { RecItems, RecUsers, RecWorldInput, RecWorldOptions, RecWorldPreset } from "./world";
export { simulateInteractions } from "./simulate";
export type { ClickModel, ImpressionLog, SimulateInteractionsOptions, SlateContext, SlatePolicy } from "./simulate";
