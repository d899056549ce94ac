import { createServiceApp, defineRoute, type ServiceApp } from "@mlsd/service-kit";
import type { FeatureStreamerDeps } from "./deps";

export function createApp(deps: FeatureStreamerDeps): ServiceApp {
  return createServiceApp({
    ...deps,
    info: { title: "feature-streamer", description: "Streaming updates of the online features from the event log" },
    routes: [
      defineRoute({
        method: "GET",
        path: "/v1/stats",
        summary: "Events applied since start, by kind, and the consumer lag per partition",
        handler: async () => {
          const lag = await deps.lag().catch(() => null);
          return { applied: { ...deps.totals }, lag: lag === null ? null : { total: lag.reduce((s, p) => s + p.lag, 0), partitions: lag } };
        },
      }),
    ],
  });
}
