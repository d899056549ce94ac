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
  ) {}

  async promote(design: Design, result: TrainingResult, reason: string): Promise<PromotionOutcome> {
    // The rollout controller moves aliases itself, from live traffic.
    if (this.mode === "rollout") return { held: null };
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
}

/** `fraud=http://a:8081,recs=http://b:8083` -> fraud: [a], recs: [b]. */
export function parseReloadUrls(entries: readonly string[]): Map<Design, string[]> {
  return parseKeyedUrls(entries, { setting: "RELOAD_URLS", key: "design", keys: ["fraud", "recs"] }) as Map<Design, string[]>;
}
