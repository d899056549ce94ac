import { createRequire } from "node:module";
import type * as Hnswlib from "hnswlib-node";

// hnswlib-node is a CommonJS native addon whose exports Node cannot list statically, so ESM named
// imports fail at run time; require it instead.
const hnswlib = createRequire(import.meta.url)("hnswlib-node") as typeof Hnswlib;

export const { HierarchicalNSW, BruteforceSearch } = hnswlib;
export type HierarchicalNSW = Hnswlib.HierarchicalNSW;
export type BruteforceSearch = Hnswlib.BruteforceSearch;
