import { createServiceApp, type HttpDeps, type ServiceApp } from "@mlsd/service-kit";
import type { RegistryAdmin } from "./registry-admin";
import { registryRoutes } from "./registry-routes";
import type { RolloutController } from "./rollout";
import { rolloutRoutes } from "./rollout-routes";

export interface RolloutControllerAppDeps extends HttpDeps {
  admin: RegistryAdmin;
  rollouts: RolloutController;
}

export function createApp(deps: RolloutControllerAppDeps): ServiceApp {
  return createServiceApp({
    ...deps,
    info: {
      title: "rollout-controller",
      description: "Safe rollout: candidates through shadow, canary and A/B judged by a sequential test with guardrails, and the model registry's admin API (promote, roll back, pin, named arms), every move with who and why",
    },
    routes: [...rolloutRoutes(deps.rollouts), ...registryRoutes(deps.admin)],
  });
}
