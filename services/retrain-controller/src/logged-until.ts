import { TOPICS } from "@mlsd/contracts";
import { OfflineStoreReader } from "@mlsd/offline-store";
import type { Design } from "./controller";

/** Where each design's labels are logged: fraud labels (stamped when known), clicks for the ranker. */
const LABEL_TOPICS: Record<Design, string> = { fraud: TOPICS.fraudLabels, recs: TOPICS.recsClicks };

/**
 * Event time of the newest label the event logger has written for `design`, or null when the store
 * holds none. Only the newest partition-hour is read.
 */
export async function loggedUntil(storeDir: string, design: Design): Promise<number | null> {
  const reader = new OfflineStoreReader(storeDir);
  const topic = LABEL_TOPICS[design];
  const partitions = await reader.partitions(topic);
  const newest = partitions.at(-1);
  if (!newest) return null;
  let latest: number | null = null;
  for await (const event of reader.events(topic, { from: newest.startMs })) {
    const t = Date.parse(event.eventTime);
    if (latest === null || t > latest) latest = t;
  }
  return latest;
}
