import { fileURLToPath } from "node:url";

/**
 * The lab's own settings from the environment (the live stack's services get theirs through
 * live/config.ts). MOVIELENS_100K_DIR: where MovieLens 100K is unpacked, by default
 * ../shared/datasets/ml-100k beside the checkout, where CI has it.
 */
export function movieLens100kDir(): string {
  const set = process.env.MOVIELENS_100K_DIR;
  return set && set.trim() !== "" ? set : fileURLToPath(new URL("../../../shared/datasets/ml-100k", import.meta.url));
}
