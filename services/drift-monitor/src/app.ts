import { DriftReferenceError } from "@mlsd/model-formats/drift-reference";
import { AppError, createServiceApp, defineRoute, type HttpDeps, type RouteSpec, type ServiceApp } from "@mlsd/service-kit";
import type { DriftReport } from "./monitor";

export interface DriftMonitorAppDeps extends HttpDeps {
  monitor: { report(): DriftReport | { model: string; reference: null; warmingUp: { collected: number; needed: number } } };
  reloadReference?: () => Promise<{ reference: string; switched: boolean }>;
}

export function createApp(deps: DriftMonitorAppDeps): ServiceApp {
  const routes: RouteSpec[] = [
    defineRoute({ method: "GET", path: "/v1/drift", summary: "The drift report: windows, per-feature statistics, alerts, episodes, delayed-label metrics", handler: () => deps.monitor.report() }),
  ];
  const reload = deps.reloadReference;
  if (reload) {
    routes.push(
      defineRoute({
        method: "POST",
        path: "/v1/reference/reload",
        summary: "Switch to the drift reference of the version the registry alias points at now",
        auth: "admin",
        handler: async () => {
          try {
            return await reload();
          } catch (error) {
            if (error instanceof DriftReferenceError) throw new AppError("UNAVAILABLE", error.message, { field: error.field });
            throw error;
          }
        },
      }),
    );
  }
  return createServiceApp({ ...deps, routes, info: { title: "drift-monitor", description: "Input, score and delayed-label drift of a served model against its training reference" } });
}
