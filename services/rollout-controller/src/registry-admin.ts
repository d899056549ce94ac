import { makeEvent } from "@mlsd/contracts";
import type { EventPublisher } from "@mlsd/events";
import type { AliasMove, ModelRegistry, MoveResult } from "@mlsd/model-registry";
import { requestModelReload, type Logger, type ReloadOutcome, type ServiceMetrics } from "@mlsd/service-kit";
import { Counter } from "prom-client";

export interface RegistryAdminOptions {
  registry: ModelRegistry;
  events: EventPublisher;
  metrics: ServiceMetrics;
  logger: Logger;
  /** The services serving each model, told to reload after its aliases move. */
  reloadUrls: ReadonlyMap<string, readonly string[]>;
  adminToken: string | undefined;
  reloadTimeoutMs?: number;
}

/** What an operation did: the registry's result and each service's answer to the reload. */
export interface AdminOutcome extends MoveResult {
  reloads: ReloadOutcome[];
}

/** Who asks and why; `by` is the token's role, with the operator's name when given (`admin:alice`). */
export interface Operator {
  by: string;
  reason: string;
}

/**
 * The registry's operations with their consequences: each alias move becomes an
 * `ml.model-alias-moved` event and a count in `rollout_controller_registry_alias_moves_total`,
 * and when a version moved, the services serving the model are told to reload. The registry
 * validates and refuses (RegistryError); nothing here runs after a refusal.
 */
export class RegistryAdmin {
  readonly registry: ModelRegistry;
  private readonly moves: Counter<"model" | "alias" | "action">;

  constructor(private readonly options: RegistryAdminOptions) {
    this.registry = options.registry;
    this.moves = new Counter({
      name: "rollout_controller_registry_alias_moves_total",
      help: "Registry alias moves made through this controller, by model, alias and action (promote, rollback, pin, unpin, set)",
      labelNames: ["model", "alias", "action"] as const,
      registers: [options.metrics.registry],
    });
  }

  promote(model: string, op: Operator & { from?: string; force?: boolean }): Promise<AdminOutcome> {
    return this.after(this.registry.promote(model, { by: op.by, reason: op.reason, ...(op.from ? { from: op.from } : {}), ...(op.force ? { force: true } : {}) }));
  }

  rollback(model: string, op: Operator): Promise<AdminOutcome> {
    return this.after(this.registry.rollback(model, op));
  }

  pin(model: string, alias: string, version: string | undefined, op: Operator & { force?: boolean }): Promise<AdminOutcome> {
    return this.after(this.registry.pin(model, alias, version, { by: op.by, reason: op.reason, ...(op.force ? { force: true } : {}) }));
  }

  unpin(model: string, alias: string, op: Operator): Promise<AdminOutcome> {
    return this.after(this.registry.unpin(model, alias, op));
  }

  setAlias(model: string, alias: string, version: string, op: Operator): Promise<AdminOutcome> {
    return this.after(this.registry.setAlias(model, alias, version, op));
  }

  private async after(result: MoveResult): Promise<AdminOutcome> {
    for (const move of result.moves) this.record(move);
    const moved = result.moves.some((m) => m.from !== m.to);
    const urls = moved ? (this.options.reloadUrls.get(result.model) ?? []) : [];
    const reloads = await Promise.all(urls.map((url) => requestModelReload(url, this.options.adminToken, this.options.reloadTimeoutMs)));
    for (const r of reloads.filter((x) => !x.ok)) this.options.logger.warn({ model: result.model, url: r.url, status: r.status, body: r.body }, "reload after an alias move refused or failed");
    return { ...result, reloads };
  }

  private record(move: AliasMove): void {
    this.moves.inc({ model: move.model, alias: move.alias, action: move.action });
    this.options.events.publish(makeEvent("ml.model-alias-moved", move, { producer: "rollout-controller" }));
    this.options.logger.info({ ...move }, "alias moved");
  }
}
