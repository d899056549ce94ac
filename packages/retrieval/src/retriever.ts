import { defaultEffort, ExactIndex, SEARCH_EFFORT, type IndexKind, type VectorIndex } from "@mlsd/ann";
import type { StageTimer } from "@mlsd/service-kit";
import type { RetrievalArtifact } from "@mlsd/model-formats/retrieval";

export type SearchMode = IndexKind | "exact";

/** The knob of each index kind, set from config (SEARCH_EF, SEARCH_NPROBE); unset: the index's own default. */
export interface SearchEfforts {
  ef?: number;
  nprobe?: number;
}

export interface CandidateQuery {
  userId: string;
  k: number;
  /** Item ids the user interacted with, most recent first; replaces the stored history when given. */
  history?: readonly string[];
  /** User-tower inputs by name; override the stored values. */
  features?: Readonly<Record<string, number>>;
  /** Index into RECS_DEVICES from the request context; fills a `device` input the features do not set. */
  device?: number | null;
  exclude?: readonly string[];
}

export interface Candidates {
  itemIds: string[];
  scores: number[];
  /** Each candidate's category from the catalogue, null when unknown. */
  categories: (number | null)[];
  source: SearchMode;
  /** Why the answer came from exact search although an index (HNSW or IVF) was asked for, or null. */
  degradedReason: string | null;
  /** The user tower has an embedding of this user (else its unknown-user row served). */
  userKnown: boolean;
  historyUsed: number;
  ignoredFeatures: string[];
}

/** A feature value the model cannot take; the message names it. */
export class FeatureValueError extends RangeError {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = "FeatureValueError";
  }
}

/**
 * The user tower plus nearest-neighbour search over the item embeddings of the same version.
 * Exclusions are applied by asking the index for that many more items, so the caller still gets
 * `k` fresh candidates.
 */
export class Retriever {
  private exactIndex: ExactIndex<string> | null = null;
  private readonly vector: Float32Array;
  private readonly numeric: Float64Array;
  private readonly categorical: Int32Array;
  private readonly numericSlot: Map<string, number>;
  private readonly categoricalSlot: Map<string, number>;

  constructor(
    readonly artifact: RetrievalArtifact,
    private readonly efforts: SearchEfforts = {},
  ) {
    this.vector = new Float32Array(artifact.dim);
    this.numeric = new Float64Array(artifact.users.numericNames.length);
    this.categorical = new Int32Array(artifact.users.categoricalNames.length);
    this.numericSlot = new Map(artifact.users.numericNames.map((n, i) => [n, i]));
    this.categoricalSlot = new Map(artifact.users.categoricalNames.map((n, i) => [n, i]));
  }

  get version(): string {
    return this.artifact.version;
  }

  /**
   * What a search of the loaded index uses: its kind, the knob's name (`ef` or `nprobe`) and
   * value (from config, else the index's own default); null without an index.
   */
  get search(): { kind: IndexKind; effort: "ef" | "nprobe"; value: number } | null {
    const index = this.artifact.index;
    if (!index) return null;
    const effort = SEARCH_EFFORT[index.kind];
    return { kind: index.kind, effort, value: this.efforts[effort] ?? defaultEffort(index) };
  }

  /** Built on first use: the reference scan over the same embeddings the index holds. */
  exact(): ExactIndex<string> {
    if (!this.exactIndex) {
      const { embeddings, dim, itemIds } = this.artifact;
      const ids = Array.from({ length: itemIds.size }, (_, i) => itemIds.idOf(i));
      this.exactIndex = ExactIndex.build(embeddings, ids, { dim });
    }
    return this.exactIndex;
  }

  candidates(query: CandidateQuery, mode: SearchMode, timer: StageTimer): Candidates {
    const encoded = timer.timeSync("encode", () => this.encode(query));
    let source = mode;
    let degradedReason: string | null = null;
    let index: VectorIndex<string>;
    let effort: number | undefined;
    const loaded = this.artifact.index;
    if (mode !== "exact" && loaded?.kind === mode) {
      index = loaded;
      effort = this.efforts[SEARCH_EFFORT[mode]];
    } else {
      if (mode !== "exact") {
        source = "exact";
        const why = loaded ? `the model carries a ${loaded.kind} index` : (this.artifact.indexError ?? "not loaded");
        degradedReason = `${mode.toUpperCase()} index unavailable (${why}); exact search served`;
      }
      index = this.exact();
    }
    const found = timer.timeSync(source === "exact" ? "exact" : "ann", () => {
      const exclude = new Set((query.exclude ?? []).filter((id) => index.has(id)));
      const result = index.search(this.vector, Math.min(index.size, query.k + exclude.size), effort);
      // The index holds centred embeddings: its scores are off by <q, center>, the same for every item.
      const shift = source === "exact" ? 0 : this.centerShift();
      const itemIds: string[] = [];
      const scores: number[] = [];
      const categories: (number | null)[] = [];
      for (let j = 0; j < result.ids.length && itemIds.length < query.k; j++) {
        const id = result.ids[j] as string;
        if (exclude.has(id)) continue;
        itemIds.push(id);
        scores.push((result.scores[j] as number) + shift);
        const category = this.artifact.itemCategories[this.artifact.itemIds.indexOf(id)] ?? -1;
        categories.push(category >= 0 ? category : null);
      }
      return { itemIds, scores, categories };
    });
    return { ...found, source, degradedReason, ...encoded };
  }

  private centerShift(): number {
    const c = this.artifact.center;
    let dot = 0;
    for (let j = 0; j < c.length; j++) dot += (this.vector[j] as number) * (c[j] as number);
    return dot;
  }

  private encode(query: CandidateQuery): Pick<Candidates, "userKnown" | "historyUsed" | "ignoredFeatures"> {
    const { users, userIds, itemIds, encoder } = this.artifact;
    const u = userIds.indexOf(query.userId);
    const nNum = this.numeric.length;
    const nCat = this.categorical.length;
    for (let j = 0; j < nNum; j++) {
      // A user the table does not hold gets the training mean, which standardises to zero.
      this.numeric[j] = u >= 0 ? (users.numeric[u * nNum + j] as number) : (encoder.weights.userNumericMean[j] as number);
    }
    for (let j = 0; j < nCat; j++) this.categorical[j] = u >= 0 ? (users.categorical[u * nCat + j] as number) : -1;
    const device = this.categoricalSlot.get("device");
    if (device !== undefined && query.device !== undefined && query.device !== null) this.categorical[device] = query.device;

    const ignoredFeatures: string[] = [];
    for (const [name, value] of Object.entries(query.features ?? {})) {
      const n = this.numericSlot.get(name);
      const c = this.categoricalSlot.get(name);
      if (n !== undefined) {
        this.numeric[n] = value;
      } else if (c !== undefined) {
        const cardinality = users.cardinalities[c] as number;
        if (!Number.isInteger(value) || value < -1 || value >= cardinality) {
          throw new FeatureValueError(`features.${name}`, `must be an integer in [-1, ${cardinality}), got ${value}`);
        }
        this.categorical[c] = value;
      } else {
        ignoredFeatures.push(name);
      }
    }

    let history: number[];
    if (query.history) {
      history = [];
      for (const id of query.history) {
        if (history.length === users.historyLength) break;
        const i = itemIds.indexOf(id);
        if (i >= 0) history.push(i);
      }
    } else if (u >= 0) {
      const H = users.historyLength;
      history = Array.from(users.history.subarray(u * H, (u + 1) * H)).filter((i) => i >= 0);
    } else {
      history = [];
    }
    const userKnown = u >= 0 && users.known[u] === 1;
    encoder.encode({ userId: userKnown ? u : -1, numeric: this.numeric, categorical: this.categorical, history }, this.vector);
    return { userKnown, historyUsed: history.length, ignoredFeatures };
  }
}
