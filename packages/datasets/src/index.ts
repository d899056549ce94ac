export * from "./csv";
export * from "./transactions/table";
export * from "./transactions/split";
export * from "./transactions/csv-read";
export * from "./transactions/csv-write";
export * from "./movielens";
