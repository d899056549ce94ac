import { makeEvent, type ClickRequest } from "@mlsd/contracts";
import { AppError, withDeadline, type TimeBounds } from "@mlsd/service-kit";
import type { RecommendDeps } from "./recommend";

export interface ClickDeps extends Pick<RecommendDeps, "events" | "history" | "served" | "breakers" | "deadlines"> {
  timeBounds: TimeBounds;
  onClickHistoryFailure?: () => void;
  onClick?: (outcome: "accepted" | "unknown-answer" | "not-served") => void;
}

/**
 * `POST /v1/events/click`: a click must name an item that was served to that user in that answer
 * (request id), at that position, within the attribution window, and its time cannot be in the
 * future. Otherwise anyone holding the writer's token could write any user's history and inflate
 * any item's clicks. When the record cannot be read the click is refused with a 503 (the sender
 * retries): an unchecked click is not accepted.
 */
export async function acceptClick(deps: ClickDeps, click: ClickRequest): Promise<{ accepted: true; eventId: string; historyUpdated: boolean }> {
  const timeMs = deps.timeBounds.check(click.time, "time");
  const served = await withDeadline(deps.deadlines.redisMs, () => deps.served.find(click.userId, click.requestId));
  if (!served.ok) throw new AppError("UNAVAILABLE", "cannot check the click against the answers served now; retry later");
  const items = served.value;
  if (items === null) {
    deps.onClick?.("unknown-answer");
    throw new AppError("NOT_FOUND", `no answer ${click.requestId} was served to user ${click.userId} within the attribution window`, [{ field: "requestId", message: "unknown answer for this user" }]);
  }
  const at = items.indexOf(click.itemId);
  if (at < 0 || at !== click.position) {
    deps.onClick?.("not-served");
    const issue = at < 0 ? { field: "itemId", message: "was not in that answer" } : { field: "position", message: `the item was at position ${at}` };
    throw new AppError("VALIDATION_FAILED", `invalid click: ${issue.field}`, [issue]);
  }
  const event = makeEvent(
    "recs.click",
    { requestId: click.requestId, userId: click.userId, itemId: click.itemId, position: click.position },
    { producer: "recommender", eventTime: new Date(timeMs).toISOString() },
  );
  deps.events.publish(event);
  deps.onClick?.("accepted");
  // The clicked item joins the user's history at once, so the next answer excludes it.
  // The event is already on its way to Kafka, so a Redis failure here loses nothing.
  const appended = deps.breakers.redis.allow() ? await withDeadline(deps.deadlines.redisMs, () => deps.history.append(click.userId, click.itemId)) : null;
  if (appended?.ok) deps.breakers.redis.success();
  else {
    if (appended) deps.breakers.redis.failure();
    deps.onClickHistoryFailure?.();
  }
  return { accepted: true, eventId: event.eventId, historyUpdated: appended?.ok ?? false };
}
