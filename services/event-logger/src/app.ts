import type { PartitionLag } from "@mlsd/events";
import type { WriterStats } from "@mlsd/offline-store";
import { createServiceApp, defineRoute, type HttpDeps, type ServiceApp } from "@mlsd/service-kit";

export interface EventLoggerAppDeps extends HttpDeps {
  writer: { stats(): WriterStats };
  lag(): Promise<PartitionLag[]>;
}

export interface StatsResponse {
  written: number;
  duplicatesSkipped: number;
  topics: Record<string, { written: number; duplicatesSkipped: number; lag: number | null }>;
  store: { partitionsScanned: number; cachedPartitions: number; tornBytesRepaired: number; unreadableLines: number };
  /** Null when the broker did not answer within the deadline. The counts above include every batch this lag shows as committed. */
  lag: { total: number; partitions: PartitionLag[] } | null;
}

const LAG_DEADLINE_MS = 2_000;

export function createApp(deps: EventLoggerAppDeps): ServiceApp {
  return createServiceApp({
    ...deps,
    info: { title: "event-logger", description: "Kafka to the offline store: every event stored once, by topic, date and hour" },
    routes: [
      defineRoute({
        method: "GET",
        path: "/v1/stats",
        summary: "Events written and skipped as duplicates, by topic, with the consumer lag",
        handler: async () => {
          let timer: NodeJS.Timeout | undefined;
          const lag = await Promise.race([
            deps.lag().catch(() => null),
            new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), LAG_DEADLINE_MS))),
          ]);
          clearTimeout(timer);
          // The counts are read after the lag, never before: an offset is committed only once its
          // batch is counted, so every batch the lag shows as done is in these counts. Read first,
          // a batch finishing while the broker is asked (up to 2 s) would show lag 0 and be missing
          // from `written` (the kafka-down drill once saw 596 acknowledged, 595 written that way).
          const stats = deps.writer.stats();
          const topics: StatsResponse["topics"] = {};
          for (const [topic, counts] of Object.entries(stats.byTopic)) {
            topics[topic] = { written: counts.written, duplicatesSkipped: counts.duplicates, lag: null };
          }
          for (const p of lag ?? []) {
            const entry = (topics[p.topic] ??= { written: 0, duplicatesSkipped: 0, lag: 0 });
            entry.lag = (entry.lag ?? 0) + p.lag;
          }
          const body: StatsResponse = {
            written: stats.written,
            duplicatesSkipped: stats.duplicates,
            topics,
            store: {
              partitionsScanned: stats.partitionsScanned,
              cachedPartitions: stats.cachedPartitions,
              tornBytesRepaired: stats.tornBytesRepaired,
              unreadableLines: stats.unreadableLines,
            },
            lag: lag === null ? null : { total: lag.reduce((s, p) => s + p.lag, 0), partitions: lag },
          };
          return body;
        },
      }),
    ],
  });
}
