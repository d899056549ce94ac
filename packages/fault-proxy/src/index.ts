export { FaultProxy, FAULT_MODES } from "./proxy";
export type { Fault, FaultMode, FaultProxyOptions, FaultProxyStats } from "./proxy";
