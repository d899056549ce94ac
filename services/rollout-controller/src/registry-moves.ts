import type { RegistryAdmin } from "./registry-admin";
import type { RegistryMoves } from "./rollout";

/** The rollout's registry: promotions go through the admin (history, event, compatibility checks, reloads). */
export function registryMoves(admin: RegistryAdmin): RegistryMoves {
  return {
    currentVersion: (model) => admin.registry.resolve(model, "current"),
    resolve: (model, ref) => admin.registry.resolve(model, ref),
    promote: async (model, version, reason) => {
      const outcome = await admin.promote(model, { by: "rollout-controller", reason, from: version });
      const failed = outcome.reloads.filter((r) => !r.ok);
      // current has moved; a service that did not reload still serves the old model until it does.
      if (failed.length > 0) throw new Error(`promoted, but ${failed.length} service(s) did not reload: ${failed.map((r) => `${r.url} ${r.status ?? ""} ${JSON.stringify(r.body).slice(0, 200)}`).join("; ")}`);
    },
  };
}
