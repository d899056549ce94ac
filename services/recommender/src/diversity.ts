export interface Scored {
  itemId: string;
  score: number;
  /** Null when unknown: such an item is never held back. */
  category: number | null;
}

/**
 * Takes items in ranked order, at most `maxPerCategory` of any one category; when that leaves the
 * list short of `k`, the held-back items fill it in their ranked order. The top stays the
 * ranker's best item, and no slot is left empty for the sake of variety.
 */
export function capPerCategory<T extends Scored>(ranked: readonly T[], k: number, maxPerCategory: number): T[] {
  const out: T[] = [];
  const held: T[] = [];
  const counts = new Map<number, number>();
  for (const item of ranked) {
    if (out.length === k) break;
    if (item.category === null) {
      out.push(item);
      continue;
    }
    const n = counts.get(item.category) ?? 0;
    if (n < maxPerCategory) {
      counts.set(item.category, n + 1);
      out.push(item);
    } else {
      held.push(item);
    }
  }
  for (const item of held) {
    if (out.length === k) break;
    out.push(item);
  }
  return out;
}

/** How many distinct categories the list shows (unknown ones count once each). */
export function categoryCount(items: readonly Scored[]): number {
  const known = new Set<number>();
  let unknown = 0;
  for (const item of items) {
    if (item.category === null) unknown++;
    else known.add(item.category);
  }
  return known.size + unknown;
}
