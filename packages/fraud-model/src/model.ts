import type { ReasonCode } from "@mlsd/contracts";
import { FraudColumnPlan, fraudFeatureNames } from "@mlsd/feature-store";
import { PathExplainer, Predictor, topReasons, type GbdtModel } from "@mlsd/gbdt";
import { loadFraudModel, type FraudFallback } from "@mlsd/model-formats/fraud";
import type { ModelRegistry } from "@mlsd/model-registry";

export interface DecisionThresholds {
  /** Scores at or above this go to manual review. */
  review: number;
  /** Scores at or above this are declined. */
  decline: number;
}

export interface ScoredTransaction {
  probability: number;
  /** The features that pushed the score most toward fraud, strongest first. */
  reasons: ReasonCode[];
  /** The thresholds the probability is to be read against (the fallback model has its own). */
  thresholds: DecisionThresholds;
  /** The version that scored: the model's, or `<version>/fallback`. */
  modelVersion: string;
}

/** What the scoring path needs from a model; the GBDT adapter and test doubles implement it. */
export interface FraudModel {
  readonly version: string;
  /** The served features the scoring path passes in, in order. */
  readonly featureNames: readonly string[];
  /** The columns the model reads: served features and any it computes from them (ratios `A/B`). */
  readonly columns: readonly string[];
  readonly featureSchemaHash: string;
  readonly thresholds: DecisionThresholds;
  score(features: Float64Array, reasonCount: number): ScoredTransaction;
  /**
   * Scores a vector whose store features are missing (NaN): with the fallback model trained on
   * request features alone when the version has one, else with the model itself.
   */
  scoreDegraded(features: Float64Array, reasonCount: number): ScoredTransaction;
}

export function decide(probability: number, thresholds: DecisionThresholds): "approve" | "review" | "decline" {
  if (probability >= thresholds.decline) return "decline";
  if (probability >= thresholds.review) return "review";
  return "approve";
}

/**
 * The GBDT behind the FraudModel interface, with the version's fallback model (trained on the
 * request's own features) for answers the feature store could not serve. It is given the served
 * features and computes the columns its trees read from them (ratios among them, see
 * `FraudColumnPlan`); a model whose columns cannot be computed so is refused here, at load.
 */
export class GbdtFraudModel implements FraudModel {
  private readonly scorer: TreeScorer;
  private readonly plan: FraudColumnPlan;
  /** The model's columns for the row being scored (unused when they are the served features). */
  private readonly row: Float64Array;
  private readonly fallback: { scorer: TreeScorer; thresholds: DecisionThresholds; row: Float64Array; columns: number[] } | null;
  readonly featureNames: readonly string[] = fraudFeatureNames();

  constructor(
    gbdt: GbdtModel,
    readonly version: string,
    readonly thresholds: DecisionThresholds,
    readonly featureSchemaHash: string,
    fallback: FraudFallback | null = null,
  ) {
    this.scorer = new TreeScorer(gbdt);
    this.plan = FraudColumnPlan.compile(this.featureNames, gbdt.featureNames);
    this.row = new Float64Array(gbdt.featureNames.length);
    if (fallback) {
      const columns = fallback.gbdt.featureNames.map((name) => {
        const i = this.featureNames.indexOf(name);
        if (i < 0) throw new RangeError(`fallback model uses ${name}, which is not a served feature`);
        return i;
      });
      this.fallback = { scorer: new TreeScorer(fallback.gbdt), thresholds: fallback.thresholds, row: new Float64Array(columns.length), columns };
    } else {
      this.fallback = null;
    }
  }

  /** The columns the trees read, computed from `featureNames` (the served vector). */
  get columns(): readonly string[] {
    return this.plan.columns;
  }

  score(features: Float64Array, reasonCount: number): ScoredTransaction {
    const row = this.plan.identity ? features : this.plan.row(features, this.row);
    return this.scorer.score(row, row, reasonCount, this.thresholds, this.version);
  }

  scoreDegraded(features: Float64Array, reasonCount: number): ScoredTransaction {
    if (!this.fallback) return this.score(features, reasonCount);
    const { scorer, row, columns, thresholds } = this.fallback;
    for (let j = 0; j < columns.length; j++) row[j] = features[columns[j] as number] as number;
    return scorer.score(row, row, reasonCount, thresholds, `${this.version}/fallback`);
  }
}

/**
 * One GBDT's scores and reason codes. Scores come from the flattened predictor (a few
 * microseconds). Reason codes use path (Saabas) attributions: one tree walk, like the score,
 * where TreeSHAP measured ~5 ms per row for 300 trees and blew the 5 ms budget under load. They
 * are computed for review and decline decisions, where an analyst or the customer needs them.
 */
class TreeScorer {
  private readonly predictor: Predictor;
  private readonly explainer: PathExplainer;
  private readonly phi: Float64Array;

  constructor(private readonly gbdt: GbdtModel) {
    this.predictor = new Predictor(gbdt);
    this.explainer = new PathExplainer(gbdt);
    this.phi = new Float64Array(gbdt.numFeatures + 1);
  }

  score(row: Float64Array, shown: Float64Array, reasonCount: number, thresholds: DecisionThresholds, modelVersion: string): ScoredTransaction {
    const probability = this.predictor.predictRow(row);
    if (probability < thresholds.review || reasonCount === 0) return { probability, reasons: [], thresholds, modelVersion };
    const phi = this.explainer.contributions(row, this.phi);
    const reasons = topReasons(phi, this.gbdt.featureNames, reasonCount).map((r) => {
      const value = shown[r.feature] as number;
      return { feature: r.name, value: Number.isNaN(value) ? null : value, contribution: r.contribution };
    });
    return { probability, reasons, thresholds, modelVersion };
  }
}

/** The version `alias` points at, through its format (checksums and feature schema checked there). */
export function loadGbdtFraudModel(registry: ModelRegistry, alias: string): GbdtFraudModel {
  const artifact = loadFraudModel(registry, alias);
  return new GbdtFraudModel(artifact.gbdt, artifact.version, artifact.thresholds, artifact.featureSchemaHash, artifact.fallback);
}
