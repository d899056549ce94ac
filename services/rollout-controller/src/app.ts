import { createServiceApp, type HttpDeps, type ServiceApp } from "@mlsd/service-kit";
import type { RegistryAdmin } from "./registry-admin";
import { registryRoutes } from "./registry-routes";

export interface RolloutControllerAppDeps extends HttpDeps {
  admin: RegistryAdmin;
}

export function createApp(deps: RolloutControllerAppDeps): ServiceApp {
  return createServiceApp({
    ...deps,
    info: { title: "rollout-controller", description: "Safe rollout: the model registry's admin API (promote, roll back, pin, named arms), every move with who and why" },
    routes: [...registryRoutes(deps.admin)],
  });
}
