import * as tf from "@tensorflow/tfjs";
import { Rng } from "@mlsd/random";
import { AdamSlot, adamDense, adamRows, DEFAULT_ADAM, type AdamSettings } from "./adam";
import { readArtifact, writeArtifact, type ArtifactManifest } from "./artifact";
import { initBackend } from "./backend";
import {
  itemCounts,
  schemaOf,
  validateTrainingData,
  type FeatureSchema,
  type ItemContent,
  type ItemFeatures,
  type TrainingData,
  type UserQuery,
} from "./data";
import { TwoTowerInputError } from "./errors";
import {
  buildItemInputs,
  buildUserInputs,
  columnStats,
  itemRowsOf,
  newTableGradients,
  scatterItemGradient,
  scatterUserGradient,
  userRowsOf,
  type ItemRows,
  type RowGradients,
  type TableGradients,
  type UserInputs,
  type UserRows,
} from "./features";
import { resolveConfig, type TwoTowerConfig } from "./model-config";
import { ITEM_EMBEDDINGS_TENSOR } from "./serving";
import { inBatchSoftmaxLoss } from "./in-batch-softmax";
import { hardestForBatch } from "./negatives";
import { towerForward, type LayerTensors } from "./towers";
import { initWeights, listWeights, weightsFromLookup, type DenseLayer, type TwoTowerWeights, type UserTowerWeights } from "./weights";

export interface FitOptions {
  /** Overrides config.epochs for this call. */
  readonly epochs?: number;
  readonly onEpoch?: (epoch: number, meanLoss: number) => void;
}

export interface FitReport {
  /** Mean in-batch softmax loss of each epoch. */
  readonly epochLoss: number[];
  readonly steps: number;
  readonly examples: number;
  readonly seconds: number;
  readonly examplesPerSecond: number;
}

/** Masks accidental hits; large enough that exp() underflows to 0 at any sane temperature. */
const MASKED_LOGIT = -1e9;
/** Rows per tfjs call at inference: bounds the memory of one forward pass. */
const INFERENCE_CHUNK = 2048;

/** Dense weights with their Adam moments, in the order the tfjs step receives them. */
interface DenseTrainable {
  readonly values: Float32Array;
  readonly slot: AdamSlot;
}

interface TableTrainable {
  readonly values: Float32Array;
  readonly dim: number;
  readonly slot: AdamSlot;
  readonly grads: RowGradients;
}

/**
 * Two-tower retrieval model. Its state is plain typed arrays (TwoTowerWeights); tfjs is the
 * autodiff engine for the dense part of one batch at a time. Embedding lookups and mean pooling
 * build each tower's input matrix in JS; tfjs differentiates the MLPs and the loss with respect
 * to the weights and to those input matrices; the input gradients are scattered back to the
 * touched table rows (sparse, IndexedSlices-style) and lazy Adam updates only those rows. A step
 * therefore costs O(batch x (dim + history x dim)) in the tables whatever the catalogue size,
 * and never runs tf.gather's UnsortedSegmentSum gradient.
 */
export class TwoTowerModel {
  private readonly adam: AdamSettings;
  private readonly rng: Rng;
  private readonly tableGrads: TableGradients;
  private optimiser: { tables: TableTrainable[]; dense: DenseTrainable[] } | undefined;
  private catalogue: ItemFeatures | undefined;
  private cachedItemEmbeddings: Float32Array | undefined;
  private savedVersion: string | undefined;

  private constructor(
    readonly schema: FeatureSchema,
    readonly config: TwoTowerConfig,
    readonly weights: TwoTowerWeights,
  ) {
    this.tableGrads = newTableGradients(schema, config);
    this.adam = { ...DEFAULT_ADAM, learningRate: config.learningRate };
    this.rng = new Rng(config.seed);
  }

  /** A fresh model sized for `data`, with feature standardisation fitted on it. */
  static async fromData(data: TrainingData, config: Partial<TwoTowerConfig> = {}): Promise<TwoTowerModel> {
    await initBackend();
    validateTrainingData(data);
    const resolved = resolveConfig(config);
    const schema = schemaOf(data);
    const userStats = columnStats(data.userFeatures.numeric, schema.userNumericDim);
    const scalars = new Float32Array(data.numItems * 2);
    for (let i = 0; i < data.numItems; i++) {
      scalars[2 * i] = data.itemFeatures.quality[i] as number;
      scalars[2 * i + 1] = data.itemFeatures.freshness[i] as number;
    }
    const itemStats = columnStats(scalars, 2);
    const weights = initWeights(schema, resolved, new Rng(resolved.seed ^ 0x5eed), {
      userNumericMean: userStats.mean,
      userNumericScale: userStats.scale,
      itemScalarMean: itemStats.mean,
      itemScalarScale: itemStats.scale,
    });
    const model = new TwoTowerModel(schema, resolved, weights);
    model.catalogue = data.itemFeatures;
    return model;
  }

  /** Version of the artifact this model was last saved as or loaded from. */
  get version(): string | undefined {
    return this.savedVersion;
  }

  async fit(data: TrainingData, options: FitOptions = {}): Promise<FitReport> {
    validateTrainingData(data);
    this.assertSameSchema(data);
    const epochs = options.epochs ?? this.config.epochs;
    const rows = data.interactions.user.length;
    if (rows < 2) throw new TwoTowerInputError("interactions", "in-batch training needs at least 2 interactions");
    this.catalogue = data.itemFeatures;
    this.cachedItemEmbeddings = undefined;
    const logQ = this.config.logQCorrection ? this.logSamplingProbability(data) : undefined;
    const order = Array.from({ length: rows }, (_, i) => i);
    const epochLoss: number[] = [];
    let steps = 0;
    let examples = 0;
    const started = performance.now();
    for (let epoch = 0; epoch < epochs; epoch++) {
      this.rng.shuffle(order);
      let lossSum = 0;
      let lossRows = 0;
      for (let start = 0; start + 1 < rows; start += this.config.batchSize) {
        const batch = Int32Array.from(order.slice(start, start + this.config.batchSize));
        if (batch.length < 2) break;
        lossSum += this.trainStep(data, batch, logQ) * batch.length;
        lossRows += batch.length;
        examples += batch.length;
        steps++;
      }
      const mean = lossSum / lossRows;
      epochLoss.push(mean);
      options.onEpoch?.(epoch, mean);
      // Let timers and I/O run between epochs; a step itself is synchronous on the cpu backend.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const seconds = (performance.now() - started) / 1000;
    return { epochLoss, steps, examples, seconds, examplesPerSecond: examples / seconds };
  }

  private assertSameSchema(data: TrainingData): void {
    const s = schemaOf(data);
    if (JSON.stringify(s) !== JSON.stringify(this.schema)) {
      throw new TwoTowerInputError("data", `schema ${JSON.stringify(s)} differs from the model's ${JSON.stringify(this.schema)}`);
    }
  }

  /** log q(item): the chance that a random in-batch slot holds the item, from training frequency. */
  private logSamplingProbability(data: TrainingData): Float32Array {
    const counts = itemCounts(data.interactions, data.numItems);
    const total = data.interactions.item.length;
    const out = new Float32Array(data.numItems);
    for (let i = 0; i < out.length; i++) out[i] = Math.log(Math.max(counts[i] as number, 1) / total);
    return out;
  }

  private optimiserState(): { tables: TableTrainable[]; dense: DenseTrainable[] } {
    if (this.optimiser === undefined) {
      const w = this.weights;
      const g = this.tableGrads;
      const table = (values: Float32Array, grads: RowGradients): TableTrainable => ({ values, dim: grads.dim, grads, slot: new AdamSlot(values.length) });
      const dense = (values: Float32Array): DenseTrainable => ({ values, slot: new AdamSlot(values.length) });
      this.optimiser = {
        tables: [
          table(w.userId, g.userId),
          table(w.itemId, g.itemId),
          ...w.userCategorical.map((t, k) => table(t, g.userCategorical[k] as RowGradients)),
          table(w.itemCategory, g.itemCategory),
        ],
        dense: [...w.userLayers, ...w.itemLayers].flatMap((l) => [dense(l.kernel), dense(l.bias)]),
      };
    }
    return this.optimiser;
  }

  /** One optimiser step on the given interaction rows; returns the batch's mean loss. */
  private trainStep(data: TrainingData, batch: Int32Array, logQ: Float32Array | undefined): number {
    const { config, schema, weights: w } = this;
    const log = data.interactions;
    const n = batch.length;
    const userRows = userRowsOf(data, log.user, data.histories, batch);
    const positives = new Int32Array(n);
    for (let i = 0; i < n; i++) positives[i] = log.item[batch[i] as number] as number;
    let itemRows = itemRowsOf(data, positives);
    for (let i = 0; i < n; i++) {
      if (config.userIdDropout > 0 && this.rng.next() < config.userIdDropout) userRows.users[i] = -1;
      if (config.itemIdDropout > 0 && this.rng.next() < config.itemIdDropout) itemRows.items[i] = -1;
    }
    const userIn = buildUserInputs(userRows, schema, config, w);
    const extras = config.extraNegatives > 0 ? this.extraNegatives(data, userIn, positives) : new Int32Array(0);
    const c = n + extras.length;
    if (extras.length > 0) {
      const ids = new Int32Array(c);
      ids.set(positives);
      ids.set(extras, n);
      const dropped = itemRows.items;
      itemRows = itemRowsOf(data, ids);
      itemRows.items.set(dropped);
    }
    const itemIn = buildItemInputs(itemRows, schema, config, w);

    // Everything added to the logits, as one n x c matrix: -log q of each column's item, and
    // a mask over other rows that hold the same positive (they are not negatives). On the same
    // scale as -log(count / total) of the in-batch columns, an extra column drawn uniformly has
    // -log((extras / numItems) / n); mined (hard) extras get the same, their pool being uniform.
    // An extra column holding the row's own positive is always masked.
    let logitBias: Float32Array | undefined;
    if (logQ !== undefined || config.removeAccidentalHits || extras.length > 0) {
      const extraBias = logQ === undefined || extras.length === 0 ? 0 : Math.log((n * data.numItems) / extras.length);
      logitBias = new Float32Array(n * c);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < c; j++) {
          const item = j < n ? (positives[j] as number) : (extras[j - n] as number);
          let b = j >= n ? extraBias : logQ === undefined ? 0 : -(logQ[item] as number);
          if (i !== j && positives[i] === item && (j >= n || config.removeAccidentalHits)) b = MASKED_LOGIT;
          logitBias[i * c + j] = b;
        }
      }
    }

    const { tables, dense } = this.optimiserState();
    const layerShapes = [...w.userLayers, ...w.itemLayers];
    const userLayerCount = w.userLayers.length;
    const invTemperature = 1 / config.temperature;
    return tf.tidy(() => {
      const xs: tf.Tensor[] = [
        tf.tensor2d(userIn.x, [n, userIn.width]),
        tf.tensor2d(itemIn.x, [c, itemIn.width]),
        ...dense.map((d) => tf.tensor1d(d.values)),
      ];
      const lossFn = (...args: tf.Tensor[]): tf.Scalar => {
        const layers: LayerTensors[] = layerShapes.map((l, i) => ({
          kernel: tf.reshape(args[2 + 2 * i] as tf.Tensor, [l.inDim, l.outDim]) as tf.Tensor2D,
          bias: args[3 + 2 * i] as tf.Tensor1D,
        }));
        const u = tf.mul(towerForward(args[0] as tf.Tensor2D, layers.slice(0, userLayerCount)), invTemperature) as tf.Tensor2D;
        const v = towerForward(args[1] as tf.Tensor2D, layers.slice(userLayerCount));
        return inBatchSoftmaxLoss(u, v, logitBias);
      };
      const { value, grads } = tf.valueAndGrads(lossFn)(xs);
      const g = this.tableGrads;
      scatterUserGradient(userIn, (grads[0] as tf.Tensor).dataSync() as Float32Array, schema, config, g);
      scatterItemGradient(itemIn, (grads[1] as tf.Tensor).dataSync() as Float32Array, config, g);
      for (const t of tables) {
        const { rows, grad } = t.grads.take();
        adamRows(this.adam, t.slot, t.values, t.dim, rows, grad);
      }
      dense.forEach((d, i) => adamDense(this.adam, d.slot, d.values, (grads[2 + i] as tf.Tensor).dataSync() as Float32Array));
      return value.dataSync()[0] as number;
    });
  }

  /**
   * The step's extra negatives: a uniform pool of distinct catalogue items, then either its first
   * `extraNegatives` ("random") or the ones the current towers score highest for some row of the
   * batch, that row's own positive excluded ("hard").
   */
  private extraNegatives(data: TrainingData, userIn: UserInputs, positives: Int32Array): Int32Array {
    const { config, schema, weights: w } = this;
    const poolSize = Math.min(config.negativePool, data.numItems);
    const pool = Int32Array.from(this.rng.sampleIndices(data.numItems, poolSize));
    if (config.negativeMining === "random") return pool.slice(0, config.extraNegatives);
    const itemIn = buildItemInputs(itemRowsOf(data, pool), schema, config, w);
    const scores = tf.tidy(() => {
      const u = towerForward(tf.tensor2d(userIn.x, [userIn.n, userIn.width]), this.layerTensors(w.userLayers));
      const v = towerForward(tf.tensor2d(itemIn.x, [itemIn.n, itemIn.width]), this.layerTensors(w.itemLayers));
      return tf.matMul(u, v, false, true).dataSync() as Float32Array;
    });
    return hardestForBatch(scores, pool, positives, config.extraNegatives);
  }

  private layerTensors(layers: readonly DenseLayer[]): LayerTensors[] {
    return layers.map((l) => ({ kernel: tf.tensor2d(l.kernel, [l.inDim, l.outDim]), bias: tf.tensor1d(l.bias) }));
  }

  /** User-tower outputs (n x outputDim) for raw user rows. */
  embedUserRows(rows: UserRows): Float32Array {
    const d = this.config.outputDim;
    const out = new Float32Array(rows.n * d);
    const nNum = this.schema.userNumericDim;
    const nCat = this.schema.userCategoricalCardinalities.length;
    const hLen = this.schema.historyLength;
    for (let start = 0; start < rows.n; start += INFERENCE_CHUNK) {
      const end = Math.min(rows.n, start + INFERENCE_CHUNK);
      const chunk: UserRows = {
        n: end - start,
        users: rows.users.subarray(start, end),
        numeric: rows.numeric.subarray(start * nNum, end * nNum),
        categorical: rows.categorical.subarray(start * nCat, end * nCat),
        history: rows.history.subarray(start * hLen, end * hLen),
      };
      const inputs = buildUserInputs(chunk, this.schema, this.config, this.weights);
      const values = tf.tidy(() => towerForward(tf.tensor2d(inputs.x, [inputs.n, inputs.width]), this.layerTensors(this.weights.userLayers)).dataSync());
      out.set(values, start * d);
    }
    return out;
  }

  /** User-tower outputs for request-shaped queries. */
  embedUsers(queries: readonly UserQuery[]): Float32Array {
    return this.embedUserRows(this.queryRows(queries));
  }

  private queryRows(queries: readonly UserQuery[]): UserRows {
    const n = queries.length;
    const nNum = this.schema.userNumericDim;
    const nCat = this.schema.userCategoricalCardinalities.length;
    const hLen = this.schema.historyLength;
    const rows = {
      n,
      users: new Int32Array(n),
      numeric: new Float32Array(n * nNum),
      categorical: new Int32Array(n * nCat),
      history: new Int32Array(n * hLen).fill(-1),
    };
    const asId = (v: number) => (Number.isInteger(v) ? v : -1);
    queries.forEach((q, i) => {
      if (q.numeric.length !== nNum) throw new TwoTowerInputError(`queries[${i}].numeric`, `has ${q.numeric.length} values, expected ${nNum}`);
      if (q.categorical.length !== nCat) throw new TwoTowerInputError(`queries[${i}].categorical`, `has ${q.categorical.length} values, expected ${nCat}`);
      rows.users[i] = asId(q.userId);
      for (let j = 0; j < nNum; j++) {
        const v = q.numeric[j] as number;
        if (!Number.isFinite(v)) throw new TwoTowerInputError(`queries[${i}].numeric[${j}]`, `is ${v}, not a finite number`);
        rows.numeric[i * nNum + j] = v;
      }
      for (let k = 0; k < nCat; k++) rows.categorical[i * nCat + k] = asId(q.categorical[k] as number);
      const m = Math.min(hLen, q.history.length);
      for (let h = 0; h < m; h++) rows.history[i * hLen + h] = asId(q.history[h] as number);
    });
    return rows;
  }

  /** Item-tower outputs (n x outputDim) for raw item rows. */
  embedItemRows(rows: ItemRows): Float32Array {
    const d = this.config.outputDim;
    const nTags = this.schema.numTags;
    const out = new Float32Array(rows.n * d);
    for (let start = 0; start < rows.n; start += INFERENCE_CHUNK) {
      const end = Math.min(rows.n, start + INFERENCE_CHUNK);
      const chunk: ItemRows = {
        n: end - start,
        items: rows.items.subarray(start, end),
        category: rows.category.subarray(start, end),
        tags: rows.tags.subarray(start * nTags, end * nTags),
        quality: rows.quality.subarray(start, end),
        freshness: rows.freshness.subarray(start, end),
      };
      const inputs = buildItemInputs(chunk, this.schema, this.config, this.weights);
      const values = tf.tidy(() => towerForward(tf.tensor2d(inputs.x, [inputs.n, inputs.width]), this.layerTensors(this.weights.itemLayers)).dataSync());
      out.set(values, start * d);
    }
    return out;
  }

  /** Item-tower outputs for every catalogue item, row i = item i (numItems x outputDim). */
  exportItemEmbeddings(): Float32Array {
    if (this.cachedItemEmbeddings === undefined) {
      if (this.catalogue === undefined) throw new Error("no item catalogue: train the model or load a saved one");
      const ids = Int32Array.from({ length: this.schema.numItems }, (_, i) => i);
      this.cachedItemEmbeddings = this.embedItemRows(itemRowsOf({ itemFeatures: this.catalogue }, ids));
    }
    return this.cachedItemEmbeddings.slice();
  }

  /** Cold start: the item tower on content alone, through the unknown-item id row. */
  embedNewItem(content: ItemContent): Float32Array {
    const { numItemCategories, numTags } = this.schema;
    if (!Number.isInteger(content.category) || content.category < -1 || content.category >= numItemCategories) {
      throw new TwoTowerInputError("category", `is ${content.category}, outside [-1, ${numItemCategories})`);
    }
    const tags = new Uint8Array(numTags);
    for (let i = 0; i < content.tags.length; i++) {
      const t = content.tags[i] as number;
      if (!Number.isInteger(t) || t < 0 || t >= numTags) throw new TwoTowerInputError(`tags[${i}]`, `is ${t}, outside [0, ${numTags})`);
      tags[t] = 1;
    }
    for (const field of ["quality", "freshness"] as const) {
      if (!Number.isFinite(content[field])) throw new TwoTowerInputError(field, `is ${content[field]}, not a finite number`);
    }
    return this.embedItemRows({
      n: 1,
      items: Int32Array.of(-1),
      category: Int32Array.of(content.category),
      tags,
      quality: Float32Array.of(content.quality),
      freshness: Float32Array.of(content.freshness),
    });
  }

  /** Copies of the user-tower weights for the pure-JS UserEncoder. */
  exportUserTower(): UserTowerWeights {
    const w = this.weights;
    return {
      schema: this.schema,
      architecture: { idDim: this.config.idDim, categoricalDim: this.config.categoricalDim, hiddenDims: [...this.config.hiddenDims], outputDim: this.config.outputDim },
      userId: w.userId.slice(),
      itemId: w.itemId.slice(),
      userCategorical: w.userCategorical.map((t) => t.slice()),
      userNumericMean: w.userNumericMean.slice(),
      userNumericScale: w.userNumericScale.slice(),
      userLayers: w.userLayers.map((l) => ({ inDim: l.inDim, outDim: l.outDim, kernel: l.kernel.slice(), bias: l.bias.slice() })),
    };
  }

  /**
   * Writes manifest.json + weights.bin (all weights plus the catalogue's item embeddings, so
   * serving needs no tfjs). Without `version`, the version is a hash of the weights.
   */
  async save(dir: string, options: { version?: string } = {}): Promise<ArtifactManifest> {
    const arrays = listWeights(this.weights, this.schema, this.config);
    arrays.push({ name: ITEM_EMBEDDINGS_TENSOR, shape: [this.schema.numItems, this.config.outputDim], values: this.exportItemEmbeddings() });
    const manifest = await writeArtifact(dir, { schema: this.schema, config: this.config, ...options }, arrays);
    this.savedVersion = manifest.modelVersion;
    return manifest;
  }

  /** A model from save(); embeddings and inference work at once, fit() needs the training data. */
  static async load(dir: string): Promise<TwoTowerModel> {
    await initBackend();
    const artifact = await readArtifact(dir);
    const { schema, config, modelVersion } = artifact.manifest;
    const resolved = resolveConfig(config);
    const model = new TwoTowerModel(schema, resolved, weightsFromLookup((name) => artifact.get(name), schema, resolved));
    model.cachedItemEmbeddings = artifact.get(ITEM_EMBEDDINGS_TENSOR);
    model.savedVersion = modelVersion;
    return model;
  }
}
