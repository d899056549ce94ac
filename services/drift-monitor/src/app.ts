import { AppError, createServiceApp, route } from "@mlsd/service-kit";
import type { Logger, Readiness, ServiceMetrics } from "@mlsd/service-kit";
import type { Express } from "express";
import type { DriftMonitor } from "./monitor";
import { ReferenceLoadError } from "./reference";

export interface DriftMonitorAppDeps {
  logger: Logger;
  metrics: ServiceMetrics;
  readiness: Readiness;
  monitor: Pick<DriftMonitor, "report">;
  reloadReference?: () => Promise<{ reference: string; switched: boolean }>;
}

export function createApp(deps: DriftMonitorAppDeps): Express {
  return createServiceApp({
    logger: deps.logger,
    metrics: deps.metrics,
    readiness: deps.readiness,
    routes: (app) => {
      app.get("/v1/drift", (_req, res) => {
        res.json(deps.monitor.report());
      });
      const reload = deps.reloadReference;
      if (reload) {
        app.post(
          "/v1/reference/reload",
          route(async (_req, res) => {
            try {
              res.json(await reload());
            } catch (error) {
              if (error instanceof ReferenceLoadError) throw new AppError("UNAVAILABLE", error.message, { field: error.field });
              throw error;
            }
          }),
        );
      }
    },
  });
}
