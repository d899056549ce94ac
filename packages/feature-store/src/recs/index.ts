export * from "./cached-store";
export * from "./definitions";
export * from "./memory-store";
export * from "./offline";
export * from "./redis-store";
export * from "./store";
export * from "./history";
export * from "./served";
