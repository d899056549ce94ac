import type { Arm } from "@mlsd/contracts";
import { AppError, type Logger } from "@mlsd/service-kit";
import { stableUnit } from "./assignment";
import type { ArmsMetrics } from "./metrics";

export type ArmMode = "shadow" | "canary" | "ab";

/** What an operator (or the rollout controller) asks for: which challenger, how it is exposed. */
export interface ArmsSetting {
  /** A registry alias (`candidate`, a named arm) or a version id. */
  challenger: string;
  mode: ArmMode;
  /** canary / ab: the share of entities the challenger answers for (ignored in shadow). */
  share: number;
}

export interface ArmsState {
  model: string;
  current: { version: string; alias: string } | null;
  challenger: { version: string; ref: string; mode: ArmMode; share: number } | null;
}

/** Where one request goes: the arm that answers, and a shadow to run after the answer (or none). */
export interface Routed<M> {
  arm: Arm;
  model: M;
  shadow: M | null;
}

export interface ModelArmsOptions<M> {
  /** The registry model name (labels, logs). */
  model: string;
  /** Loads a version by alias or id: verifies checksums and schema, throws with the reason. */
  load: (aliasOrVersion: string) => M | Promise<M>;
  /** The alias `current` is read from (the service's MODEL_ALIAS). */
  currentAlias: string;
  logger: Logger;
  metrics?: ArmsMetrics | null;
  /** Refuses a challenger this service cannot serve beside the current model (returns the reason). */
  incompatible?: (current: M, challenger: M) => string | null;
  /** Called whenever the model in service changes (readiness, `model_info`). */
  onCurrent?: (model: M) => void;
  /** A model already loaded to serve as current from the start (tests; a service calls loadCurrent). */
  initial?: M;
}

interface Challenger<M> {
  model: M;
  ref: string;
  mode: ArmMode;
  share: number;
  salt: string;
}

function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code.toLowerCase() : (error as Error).name === "ZodError" ? "bad_manifest" : "load_error";
}

/**
 * The models of one kind a service holds: the one in service and at most one challenger. Loading is
 * all-or-nothing: a reload that fails for either keeps both as they were (the last good models
 * keep serving) and says why. Assignment to canary / A-B is a stable hash of the entity, salted by
 * the challenger's version.
 */
export class ModelArms<M extends { readonly version: string }> {
  private currentModel: M | null = null;
  private challengerArm: Challenger<M> | null = null;
  /** Loads run one at a time: a reload racing a configure must not leave a mix of both. */
  private loading: Promise<unknown> = Promise.resolve();
  private infoLabels: { model: string; arm: Arm; version: string; mode: string }[] = [];

  constructor(private readonly options: ModelArmsOptions<M>) {
    if (options.initial) this.setCurrent(options.initial);
  }

  get model(): string {
    return this.options.model;
  }

  /** Loads the current alias; throws when it cannot (the service stays unready or fails to start). */
  loadCurrent(): Promise<M> {
    return this.exclusive(() => this.loadCurrentNow());
  }

  private async loadCurrentNow(): Promise<M> {
    const loaded = await this.loadOrCount("current", this.options.currentAlias);
    this.setCurrent(loaded);
    return loaded;
  }

  /** The model in service; 503 when none could be loaded. */
  current(): M {
    if (!this.currentModel) throw new AppError("UNAVAILABLE", `no ${this.options.model} model loaded`);
    return this.currentModel;
  }

  /** The arm for one request: stable per entity, and the shadow to run after the answer. */
  route(entityId: string): Routed<M> {
    const current = this.current();
    const c = this.challengerArm;
    let routed: Routed<M>;
    if (!c) routed = { arm: "current", model: current, shadow: null };
    else if (c.mode === "shadow") routed = { arm: "current", model: current, shadow: c.model };
    else routed = stableUnit(entityId, c.salt) < c.share ? { arm: "challenger", model: c.model, shadow: null } : { arm: "current", model: current, shadow: null };
    this.options.metrics?.answers.inc({ model: this.options.model, arm: routed.arm });
    return routed;
  }

  /** Loads a challenger and exposes it; the current model is untouched when it cannot be loaded or served. */
  configure(setting: ArmsSetting): Promise<ArmsState> {
    return this.exclusive(() => this.configureNow(setting));
  }

  private async configureNow(setting: ArmsSetting): Promise<ArmsState> {
    const current = this.current();
    if (setting.mode !== "shadow" && !(setting.share > 0 && setting.share <= 1)) {
      throw new AppError("VALIDATION_FAILED", `share must be in (0, 1] for ${setting.mode}, got ${setting.share}`, [{ field: "share", message: "must be in (0, 1]" }]);
    }
    let model: M;
    try {
      model = await this.loadOrCount("challenger", setting.challenger);
    } catch (error) {
      throw new AppError("CONFLICT", `challenger ${this.options.model}@${setting.challenger} refused: ${(error as Error).message}`);
    }
    const problem = this.options.incompatible?.(current, model) ?? null;
    if (problem) {
      this.options.metrics?.loadFailures.inc({ model: this.options.model, arm: "challenger", reason: "incompatible" });
      throw new AppError("CONFLICT", `challenger ${this.options.model}@${model.version} refused: ${problem}`);
    }
    if (model.version === current.version) throw new AppError("CONFLICT", `challenger ${this.options.model}@${model.version} is the version in service`);
    this.challengerArm = { model, ref: setting.challenger, mode: setting.mode, share: setting.mode === "shadow" ? 0 : setting.share, salt: `${this.options.model}:${model.version}` };
    this.publishInfo();
    this.options.logger.info({ model: this.options.model, challenger: model.version, mode: setting.mode, share: this.challengerArm.share }, "challenger set");
    return this.state();
  }

  /** Back to the current model alone. */
  clear(): ArmsState {
    if (this.challengerArm) this.options.logger.info({ model: this.options.model, challenger: this.challengerArm.model.version }, "challenger removed");
    this.challengerArm = null;
    this.publishInfo();
    return this.state();
  }

  /**
   * Re-reads the current alias and the challenger's ref (after a promotion or a rollback). All or
   * nothing: on any failure both stay as they were and the error names the reason. A challenger
   * that became the current version is dropped (it was promoted).
   */
  reload(): Promise<ArmsState> {
    return this.exclusive(() => this.reloadNow());
  }

  private async reloadNow(): Promise<ArmsState> {
    const current = await this.loadOrCount("current", this.options.currentAlias);
    let challenger: Challenger<M> | null = null;
    if (this.challengerArm) {
      const c = this.challengerArm;
      const model = c.ref === c.model.version ? c.model : await this.loadOrCount("challenger", c.ref);
      if (model.version !== current.version) challenger = { ...c, model, salt: `${this.options.model}:${model.version}` };
    }
    this.setCurrent(current);
    this.challengerArm = challenger;
    this.publishInfo();
    return this.state();
  }

  state(): ArmsState {
    const c = this.challengerArm;
    return {
      model: this.options.model,
      current: this.currentModel ? { version: this.currentModel.version, alias: this.options.currentAlias } : null,
      challenger: c ? { version: c.model.version, ref: c.ref, mode: c.mode, share: c.share } : null,
    };
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.loading.then(work, work);
    this.loading = run.catch(() => undefined);
    return run;
  }

  private setCurrent(model: M): void {
    this.currentModel = model;
    this.options.onCurrent?.(model);
    this.publishInfo();
  }

  private async loadOrCount(arm: Arm, ref: string): Promise<M> {
    try {
      return await this.options.load(ref);
    } catch (error) {
      this.options.metrics?.loadFailures.inc({ model: this.options.model, arm, reason: reasonOf(error) });
      this.options.logger.warn({ model: this.options.model, arm, ref, err: (error as Error).message }, "model load refused; the models in service keep serving");
      throw error;
    }
  }

  private publishInfo(): void {
    const m = this.options.metrics;
    if (!m) return;
    // Only this model's series: a service may hold arms of several models on one gauge.
    for (const labels of this.infoLabels) m.armInfo.remove(labels);
    const c = this.challengerArm;
    this.infoLabels = [];
    if (this.currentModel) this.infoLabels.push({ model: this.options.model, arm: "current", version: this.currentModel.version, mode: c ? c.mode : "off" });
    if (c) this.infoLabels.push({ model: this.options.model, arm: "challenger", version: c.model.version, mode: c.mode });
    for (const labels of this.infoLabels) m.armInfo.set(labels, 1);
  }
}
