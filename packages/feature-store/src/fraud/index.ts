export * from "./definitions";
export * from "./memory-store";
export * from "./model-columns";
export * from "./offline";
export * from "./redis-store";
export * from "./store";
