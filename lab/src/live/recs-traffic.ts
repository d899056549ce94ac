import type { RecommendationsResponse } from "@mlsd/contracts";
import type { TimedAnswer, TimedJsonClient } from "./http";
import type { LiveStack } from "./stack";

export type Recommendation = TimedAnswer<RecommendationsResponse>;

export function recommend(client: TimedJsonClient, stack: LiveStack, userId: string, k: number): Promise<Recommendation> {
  return client.post<RecommendationsResponse>(`${stack.url("recommender")}/v1/recommendations`, { userId, k });
}

/**
 * Users the live recommender answers from its models (no fallback): one request each, which also
 * warms every service's connections and caches the way traffic would. A stack just started may
 * answer every user from a fallback for a moment (a stage still loading, a breaker opened on the
 * first calls): the pass is repeated until some user is answered by the models, for up to `waitMs`.
 */
export async function warmUsers(client: TimedJsonClient, stack: LiveStack, k: number, limit: number, waitMs = 20_000): Promise<string[]> {
  const until = performance.now() + waitMs;
  const reasons = new Map<string, number>();
  for (;;) {
    const warm: string[] = [];
    for (let u = 0; u < stack.world.numUsers && warm.length < limit; u++) {
      const a = await recommend(client, stack, String(u), k);
      if (a.status === 200 && a.body?.fallback === null) warm.push(String(u));
      else {
        const why = a.status === 200 ? `${a.body?.fallback}: ${a.body?.fallbackReason}` : `status ${a.status}`;
        reasons.set(why, (reasons.get(why) ?? 0) + 1);
      }
    }
    if (warm.length > 0) return warm;
    if (performance.now() >= until) {
      const seen = [...reasons].map(([why, n]) => `${n} x ${why}`).join("; ");
      throw new Error(`the live recommender answered no user from its models for ${(waitMs / 1000).toFixed(0)} s: every answer was a fallback (${seen})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/** Mean true click probability of a slate's items for the user, by the world's own relevance. */
export function slateRelevance(stack: LiveStack, userId: string, items: readonly { itemId: string }[]): number {
  if (items.length === 0) return 0;
  const u = Number(userId);
  let sum = 0;
  for (const item of items) sum += stack.world.trueRelevance(u, Number(item.itemId));
  return sum / items.length;
}
