import type { RecommendationsResponse } from "@mlsd/contracts";
import type { TimedAnswer, TimedJsonClient } from "./http";
import type { LiveStack } from "./stack";

export type Recommendation = TimedAnswer<RecommendationsResponse>;

export function recommend(client: TimedJsonClient, stack: LiveStack, userId: string, k: number): Promise<Recommendation> {
  return client.post<RecommendationsResponse>(`${stack.url("recommender")}/v1/recommendations`, { userId, k });
}

/**
 * Users the live recommender answers from its models (no fallback): one request each, which also
 * warms every service's connections and caches the way traffic would.
 */
export async function warmUsers(client: TimedJsonClient, stack: LiveStack, k: number, limit: number): Promise<string[]> {
  const warm: string[] = [];
  for (let u = 0; u < stack.world.numUsers && warm.length < limit; u++) {
    const a = await recommend(client, stack, String(u), k);
    if (a.status === 200 && a.body?.fallback === null) warm.push(String(u));
  }
  if (warm.length === 0) throw new Error("the live recommender answered no user from its models: every answer was a fallback");
  return warm;
}

/** Mean true click probability of a slate's items for the user, by the world's own relevance. */
export function slateRelevance(stack: LiveStack, userId: string, items: readonly { itemId: string }[]): number {
  if (items.length === 0) return 0;
  const u = Number(userId);
  let sum = 0;
  for (const item of items) sum += stack.world.trueRelevance(u, Number(item.itemId));
  return sum / items.length;
}
