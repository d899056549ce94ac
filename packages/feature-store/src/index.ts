export * from "./fraud/index";
export * from "./recs/index";
export * from "./skew";
export * from "./skew-recs";
export * from "./redis-client";
