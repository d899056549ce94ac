export { stableUnit } from "./assignment";
export { ModelArms, type ArmMode, type ArmsSetting, type ArmsState, type ModelArmsOptions, type Routed } from "./arms";
export { createArmsMetrics, type ArmsMetrics } from "./metrics";
export { ArmsSettingSchema, ArmsStateSchema, DEFAULT_SHARE, modelArmsRoutes } from "./routes";
export { ShadowRunner, type ShadowRunnerOptions, type ShadowWork } from "./shadow";
