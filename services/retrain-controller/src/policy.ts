import type { ModelRegistry } from "@mlsd/model-registry";
import type { Logger } from "@mlsd/service-kit";
import type { CandidatePolicy, Design, TrainingResult } from "./controller";

/**
 * Promotes a candidate that beat the model in service: the registry's `current` alias moves to it
 * (the one it replaces becomes `previous`), then each design's services are told to reload with
 * the admin token. A service that cannot be reached keeps its model until its next reload; the
 * registry is the truth.
 */
export class PromoteIfBetter implements CandidatePolicy {
  constructor(
    readonly mode: "if-better" | "rollout" | "never",
    private readonly registry: ModelRegistry,
    private readonly reloadUrls: ReadonlyMap<Design, readonly string[]>,
    private readonly adminToken: string | undefined,
    private readonly logger: Logger,
  ) {}

  async promote(design: Design, result: TrainingResult): Promise<void> {
    // The rollout controller moves aliases itself, from live traffic.
    if (this.mode === "rollout") return;
    this.registry.setAlias(result.model, "current", result.version);
    for (const url of this.reloadUrls.get(design) ?? []) {
      try {
        const res = await fetch(`${url}/v1/model/reload`, { method: "POST", headers: this.adminToken ? { authorization: `Bearer ${this.adminToken}` } : {}, signal: AbortSignal.timeout(30_000) });
        if (!res.ok) this.logger.warn({ url, status: res.status, body: (await res.text()).slice(0, 300) }, "reload after promotion refused");
      } catch (error) {
        this.logger.warn({ url, err: (error as Error).message }, "reload after promotion failed");
      }
    }
  }
}

/** `fraud=http://a:8081,recs=http://b:8083` -> fraud: [a], recs: [b]. */
export function parseReloadUrls(entries: readonly string[]): Map<Design, string[]> {
  const out = new Map<Design, string[]>();
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    const design = entry.slice(0, eq) as Design;
    if (eq < 0 || (design !== "fraud" && design !== "recs")) throw new RangeError(`RELOAD_URLS: "${entry}" is not design=url (fraud or recs)`);
    out.set(design, [...(out.get(design) ?? []), entry.slice(eq + 1).replace(/\/$/, "")]);
  }
  return out;
}
