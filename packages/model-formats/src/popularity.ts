import fs from "node:fs";
import path from "node:path";
import type { ModelRegistry, RegisteredModel } from "@mlsd/model-registry";
import { z } from "zod";

/**
 * Precomputed popularity, the recommender's answer when the models cannot give one: an overall
 * list and one list per category, each item with its score and category, so the fallback needs
 * no other lookup. Published by the trainer as its own registry model.
 */
export const POPULARITY_MODEL_NAME = "recs-popularity";
export const POPULARITY_FILE = "popularity.json";
export const POPULARITY_FEATURE_SCHEMA = "popularity-lists/1";

const PopularItemSchema = z.object({ itemId: z.string().min(1), score: z.number().finite(), category: z.number().int().nullable() });
export type PopularItem = z.infer<typeof PopularItemSchema>;

export const PopularityListsSchema = z.object({
  /** What the score is, e.g. "clicks in the last 14 days, half-life 7 days". */
  description: z.string(),
  overall: z.array(PopularItemSchema).min(1),
  /** Category id (as a string key) -> its items, best first. */
  byCategory: z.record(z.array(PopularItemSchema)),
});
export type PopularityLists = z.infer<typeof PopularityListsSchema>;

export interface Popularity {
  version: string;
  lists: PopularityLists;
}

export interface PopularityInput {
  /** Per item: its score (e.g. decayed clicks); items scoring 0 are left out. */
  scores: ArrayLike<number>;
  /** Per item: its category, or -1 when unknown. */
  categories: ArrayLike<number>;
  itemId: (index: number) => string;
  description: string;
  overallSize?: number;
  perCategorySize?: number;
}

/** The top `overallSize` items overall and the top `perCategorySize` of each category, by score. */
export function buildPopularityLists(input: PopularityInput): PopularityLists {
  const n = input.scores.length;
  const order = Array.from({ length: n }, (_, i) => i).filter((i) => (input.scores[i] as number) > 0);
  order.sort((a, b) => (input.scores[b] as number) - (input.scores[a] as number) || a - b);
  if (order.length === 0) throw new RangeError("scores: no item has a positive score; nothing is popular");
  const item = (i: number): PopularItem => {
    const c = input.categories[i] as number;
    return { itemId: input.itemId(i), score: input.scores[i] as number, category: c >= 0 ? c : null };
  };
  const perCategory = input.perCategorySize ?? 100;
  const byCategory: Record<string, PopularItem[]> = {};
  for (const i of order) {
    const c = input.categories[i] as number;
    if (c < 0) continue;
    const list = (byCategory[String(c)] ??= []);
    if (list.length < perCategory) list.push(item(i));
  }
  return { description: input.description, overall: order.slice(0, input.overallSize ?? 500).map(item), byCategory };
}

export async function publishPopularity(
  registry: ModelRegistry,
  lists: PopularityLists,
  meta: { version: string; dataWindow: Record<string, unknown>; alias?: string },
): Promise<RegisteredModel> {
  return registry.publish(
    { model: POPULARITY_MODEL_NAME, version: meta.version, dataWindow: meta.dataWindow, featureSchemaHash: POPULARITY_FEATURE_SCHEMA, metrics: { items: lists.overall.length, categories: Object.keys(lists.byCategory).length }, extra: {} },
    (dir) => fs.writeFileSync(path.join(dir, POPULARITY_FILE), JSON.stringify(PopularityListsSchema.parse(lists))),
    { alias: meta.alias ?? "current" },
  );
}

export function loadPopularity(registry: ModelRegistry, alias: string): Popularity {
  const entry = registry.open(POPULARITY_MODEL_NAME, alias, { featureSchemaHash: POPULARITY_FEATURE_SCHEMA });
  const lists = PopularityListsSchema.parse(JSON.parse(fs.readFileSync(entry.file(POPULARITY_FILE), "utf8")));
  return { version: entry.manifest.version, lists };
}
