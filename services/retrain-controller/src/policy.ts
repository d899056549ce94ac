import type { AliasMove, ModelRegistry } from "@mlsd/model-registry";
import { RegistryError } from "@mlsd/model-registry";
import { parseKeyedUrls, requestModelReload, type Logger } from "@mlsd/service-kit";
import type { CandidatePolicy, Design, PromotionOutcome, TrainingResult } from "./controller";

/**
 * Promotes a candidate that beat the model in service: the registry promotes it to `current` (the
 * one it replaces becomes `previous`) as an automatic move by `retrain-controller` with the
 * comparison as the reason, then each design's services are told to reload with the admin token.
 * A pinned `current` or a failed compatibility check holds the candidate, with the registry's
 * reason. A service that cannot be reached keeps its model until its next reload; the registry is
 * the truth.
 */
export class PromoteIfBetter implements CandidatePolicy {
  constructor(
    readonly mode: "if-better" | "rollout" | "never",
    private readonly registry: ModelRegistry,
    private readonly reloadUrls: ReadonlyMap<Design, readonly string[]>,
    private readonly adminToken: string | undefined,
    private readonly logger: Logger,
    /** Each alias move the promotion made (for its events). */
    private readonly onMoves: (moves: readonly AliasMove[]) => void = () => undefined,
    /** The rollout controller (PROMOTION=rollout): it moves aliases itself, from live traffic. */
    private readonly rolloutUrl: string | null = null,
  ) {}

  async promote(design: Design, result: TrainingResult, reason: string): Promise<PromotionOutcome> {
    if (this.mode === "rollout") return this.handToRollout(result, reason);
    try {
      const moved = this.registry.promote(result.model, { from: result.version, by: "retrain-controller", reason, automatic: true });
      this.onMoves(moved.moves);
    } catch (error) {
      if (error instanceof RegistryError && (error.code === "PINNED" || error.code === "INCOMPATIBLE")) return { held: error.message };
      throw error;
    }
    for (const url of this.reloadUrls.get(design) ?? []) {
      const outcome = await requestModelReload(url, this.adminToken);
      if (!outcome.ok) this.logger.warn({ url, status: outcome.status, body: outcome.body }, "reload after promotion refused or failed");
    }
    return { held: null };
  }

  /**
   * Starts a rollout of the candidate; the rollout controller's refusal (a rollout of the model is
   * already running, a service it cannot reach) holds the candidate with its answer as the reason.
   */
  private async handToRollout(result: TrainingResult, reason: string): Promise<PromotionOutcome> {
    if (!this.rolloutUrl) return { held: "PROMOTION=rollout but ROLLOUT_URL is not set" };
    try {
      const res = await fetch(`${this.rolloutUrl}/v1/rollouts`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(this.adminToken ? { authorization: `Bearer ${this.adminToken}` } : {}) },
        body: JSON.stringify({ model: result.model, candidate: result.version, reason: reason.slice(0, 1_000), actor: "retrain-controller" }),
        signal: AbortSignal.timeout(60_000),
      });
      if (res.ok) return { held: null };
      return { held: `the rollout controller answered ${res.status}: ${(await res.text()).slice(0, 300)}` };
    } catch (error) {
      return { held: `the rollout controller could not be reached: ${(error as Error).message}` };
    }
  }
}

/** `fraud=http://a:8081,recs=http://b:8083` -> fraud: [a], recs: [b]. */
export function parseReloadUrls(entries: readonly string[]): Map<Design, string[]> {
  return parseKeyedUrls(entries, { setting: "RELOAD_URLS", key: "design", keys: ["fraud", "recs"] }) as Map<Design, string[]>;
}
