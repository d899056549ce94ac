export * from "./transactions";
export * from "./movielens";
