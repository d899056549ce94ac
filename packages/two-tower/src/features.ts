import type { FeatureSchema, TrainingData } from "./data";
import { itemInputDim, userInputDim, type Architecture, type TwoTowerWeights } from "./weights";

/** Table row for an id: ids outside [0, size) map to the extra "unknown" row at index size. */
export function tableRow(id: number, size: number): number {
  return id >= 0 && id < size && Number.isInteger(id) ? id : size;
}

/** Raw user-side rows: ids, features and histories, row-major. */
export interface UserRows {
  readonly n: number;
  readonly users: Int32Array;
  readonly numeric: Float32Array;
  readonly categorical: Int32Array;
  /** n x historyLength, most recent first, -1 padding. */
  readonly history: Int32Array;
}

/** Raw item-side rows; `items` may hold ids outside the table (they use the unknown row). */
export interface ItemRows {
  readonly n: number;
  readonly items: Int32Array;
  readonly category: Int32Array;
  readonly tags: Uint8Array;
  readonly quality: Float32Array;
  readonly freshness: Float32Array;
}

/**
 * The user tower's input matrix, [user-id embedding | standardised numeric | categorical
 * embeddings | mean of history item embeddings], plus the table rows each block came from so
 * the gradient can be scattered back to exactly those rows.
 */
export interface UserInputs {
  readonly n: number;
  readonly width: number;
  readonly x: Float32Array;
  readonly userRow: Int32Array;
  /** n x numCategorical table rows. */
  readonly categoricalRow: Int32Array;
  /** n x historyLength item rows, -1 for padding or skipped ids. */
  readonly historyRow: Int32Array;
  /** Weight of each history entry in the mean (1/count). */
  readonly historyWeight: Float32Array;
}

/** The item tower's input matrix, [item-id embedding | category embedding | tags | quality, freshness]. */
export interface ItemInputs {
  readonly n: number;
  readonly width: number;
  readonly x: Float32Array;
  readonly itemRow: Int32Array;
  readonly categoryRow: Int32Array;
}

function copyRow(dst: Float32Array, at: number, table: Float32Array, row: number, dim: number): void {
  dst.set(table.subarray(row * dim, (row + 1) * dim), at);
}

export function buildUserInputs(rows: UserRows, schema: FeatureSchema, arch: Architecture, w: TwoTowerWeights): UserInputs {
  const { n } = rows;
  const { idDim, categoricalDim: catDim } = arch;
  const nNum = schema.userNumericDim;
  const cards = schema.userCategoricalCardinalities;
  const nCat = cards.length;
  const hLen = schema.historyLength;
  const width = userInputDim(schema, arch);
  const x = new Float32Array(n * width);
  const userRow = new Int32Array(n);
  const categoricalRow = new Int32Array(n * nCat);
  const historyRow = new Int32Array(n * hLen).fill(-1);
  const historyWeight = new Float32Array(n * hLen);
  const pooled = new Float64Array(idDim);
  for (let i = 0; i < n; i++) {
    let p = i * width;
    const ur = tableRow(rows.users[i] as number, schema.numUsers);
    userRow[i] = ur;
    copyRow(x, p, w.userId, ur, idDim);
    p += idDim;
    for (let j = 0; j < nNum; j++) {
      x[p++] = ((rows.numeric[i * nNum + j] as number) - (w.userNumericMean[j] as number)) / (w.userNumericScale[j] as number);
    }
    for (let k = 0; k < nCat; k++) {
      const cr = tableRow(rows.categorical[i * nCat + k] as number, cards[k] as number);
      categoricalRow[i * nCat + k] = cr;
      copyRow(x, p, w.userCategorical[k] as Float32Array, cr, catDim);
      p += catDim;
    }
    let count = 0;
    for (let h = 0; h < hLen; h++) {
      const item = rows.history[i * hLen + h] as number;
      if (item < 0 || item >= schema.numItems) continue;
      historyRow[i * hLen + count] = item;
      count++;
    }
    pooled.fill(0);
    for (let h = 0; h < count; h++) {
      const base = (historyRow[i * hLen + h] as number) * idDim;
      historyWeight[i * hLen + h] = 1 / count;
      for (let j = 0; j < idDim; j++) pooled[j] = (pooled[j] as number) + (w.itemId[base + j] as number);
    }
    for (let j = 0; j < idDim; j++) x[p + j] = count > 0 ? (pooled[j] as number) / count : 0;
  }
  return { n, width, x, userRow, categoricalRow, historyRow, historyWeight };
}

export function buildItemInputs(rows: ItemRows, schema: FeatureSchema, arch: Architecture, w: TwoTowerWeights): ItemInputs {
  const { n } = rows;
  const { idDim, categoricalDim: catDim } = arch;
  const nTags = schema.numTags;
  const width = itemInputDim(schema, arch);
  const x = new Float32Array(n * width);
  const itemRow = new Int32Array(n);
  const categoryRow = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let p = i * width;
    const ir = tableRow(rows.items[i] as number, schema.numItems);
    itemRow[i] = ir;
    copyRow(x, p, w.itemId, ir, idDim);
    p += idDim;
    const cr = tableRow(rows.category[i] as number, schema.numItemCategories);
    categoryRow[i] = cr;
    copyRow(x, p, w.itemCategory, cr, catDim);
    p += catDim;
    for (let t = 0; t < nTags; t++) x[p++] = rows.tags[i * nTags + t] as number;
    x[p++] = ((rows.quality[i] as number) - (w.itemScalarMean[0] as number)) / (w.itemScalarScale[0] as number);
    x[p++] = ((rows.freshness[i] as number) - (w.itemScalarMean[1] as number)) / (w.itemScalarScale[1] as number);
  }
  return { n, width, x, itemRow, categoryRow };
}

/**
 * Gradient rows of one embedding table for one batch, IndexedSlices-style: only the distinct
 * rows the batch touched, each the sum of its contributions.
 */
export class RowGradients {
  private readonly slot: Int32Array;
  private rows: number[] = [];
  private grad: Float32Array;

  constructor(
    tableRows: number,
    readonly dim: number,
  ) {
    this.slot = new Int32Array(tableRows).fill(-1);
    this.grad = new Float32Array(64 * dim);
  }

  /** grad[row] += scale * src[offset .. offset + dim) */
  add(row: number, src: Float32Array, offset: number, scale = 1): void {
    let s = this.slot[row] as number;
    if (s < 0) {
      s = this.rows.length;
      this.slot[row] = s;
      this.rows.push(row);
      if ((s + 1) * this.dim > this.grad.length) {
        const bigger = new Float32Array(this.grad.length * 2);
        bigger.set(this.grad);
        this.grad = bigger;
      }
    }
    const base = s * this.dim;
    for (let j = 0; j < this.dim; j++) this.grad[base + j] = (this.grad[base + j] as number) + scale * (src[offset + j] as number);
  }

  /** The touched rows and their summed gradients (rows x dim); resets for the next batch. */
  take(): { rows: Int32Array; grad: Float32Array } {
    const rows = Int32Array.from(this.rows);
    const grad = this.grad.slice(0, rows.length * this.dim);
    for (const r of this.rows) this.slot[r] = -1;
    this.grad.fill(0, 0, rows.length * this.dim);
    this.rows = [];
    return { rows, grad };
  }
}

export interface TableGradients {
  readonly userId: RowGradients;
  readonly itemId: RowGradients;
  readonly userCategorical: readonly RowGradients[];
  readonly itemCategory: RowGradients;
}

export function newTableGradients(schema: FeatureSchema, arch: Architecture): TableGradients {
  return {
    userId: new RowGradients(schema.numUsers + 1, arch.idDim),
    itemId: new RowGradients(schema.numItems + 1, arch.idDim),
    userCategorical: schema.userCategoricalCardinalities.map((c) => new RowGradients(c + 1, arch.categoricalDim)),
    itemCategory: new RowGradients(schema.numItemCategories + 1, arch.categoricalDim),
  };
}

/** Scatters d(loss)/d(user input) back to the embedding rows that built each input row. */
export function scatterUserGradient(inputs: UserInputs, dx: Float32Array, schema: FeatureSchema, arch: Architecture, g: TableGradients): void {
  const { idDim, categoricalDim: catDim } = arch;
  const nCat = schema.userCategoricalCardinalities.length;
  const hLen = schema.historyLength;
  for (let i = 0; i < inputs.n; i++) {
    let p = i * inputs.width;
    g.userId.add(inputs.userRow[i] as number, dx, p);
    p += idDim + schema.userNumericDim;
    for (let k = 0; k < nCat; k++) {
      (g.userCategorical[k] as RowGradients).add(inputs.categoricalRow[i * nCat + k] as number, dx, p);
      p += catDim;
    }
    for (let h = 0; h < hLen; h++) {
      const item = inputs.historyRow[i * hLen + h] as number;
      if (item < 0) break;
      g.itemId.add(item, dx, p, inputs.historyWeight[i * hLen + h] as number);
    }
  }
}

export function scatterItemGradient(inputs: ItemInputs, dx: Float32Array, arch: Architecture, g: TableGradients): void {
  for (let i = 0; i < inputs.n; i++) {
    const p = i * inputs.width;
    g.itemId.add(inputs.itemRow[i] as number, dx, p);
    g.itemCategory.add(inputs.categoryRow[i] as number, dx, p + arch.idDim);
  }
}

/** User rows for a set of interaction rows of the training data (features looked up by user). */
export function userRowsOf(
  data: Pick<TrainingData, "userFeatures">,
  users: Int32Array,
  histories: { length: number; items: Int32Array },
  interactionRows: ArrayLike<number>,
): UserRows {
  const n = interactionRows.length;
  const uf = data.userFeatures;
  const nNum = uf.numericDim;
  const nCat = uf.categoricalCardinalities.length;
  const hLen = histories.length;
  const out = {
    n,
    users: new Int32Array(n),
    numeric: new Float32Array(n * nNum),
    categorical: new Int32Array(n * nCat),
    history: new Int32Array(n * hLen),
  };
  for (let i = 0; i < n; i++) {
    const r = interactionRows[i] as number;
    const u = users[r] as number;
    out.users[i] = u;
    out.numeric.set(uf.numeric.subarray(u * nNum, (u + 1) * nNum), i * nNum);
    out.categorical.set(uf.categorical.subarray(u * nCat, (u + 1) * nCat), i * nCat);
    out.history.set(histories.items.subarray(r * hLen, (r + 1) * hLen), i * hLen);
  }
  return out;
}

/** Item rows for item ids of the training catalogue (content looked up by id). */
export function itemRowsOf(data: Pick<TrainingData, "itemFeatures">, items: Int32Array): ItemRows {
  const n = items.length;
  const f = data.itemFeatures;
  const nTags = f.numTags;
  const out = {
    n,
    items: Int32Array.from(items),
    category: new Int32Array(n),
    tags: new Uint8Array(n * nTags),
    quality: new Float32Array(n),
    freshness: new Float32Array(n),
  };
  for (let i = 0; i < n; i++) {
    const it = items[i] as number;
    out.category[i] = f.category[it] as number;
    out.tags.set(f.tags.subarray(it * nTags, (it + 1) * nTags), i * nTags);
    out.quality[i] = f.quality[it] as number;
    out.freshness[i] = f.freshness[it] as number;
  }
  return out;
}

/** Mean and scale (std, or 1 for a constant column) of row-major columns. */
export function columnStats(values: ArrayLike<number>, columns: number): { mean: Float32Array; scale: Float32Array } {
  const rows = columns === 0 ? 0 : values.length / columns;
  const mean = new Float32Array(columns);
  const scale = new Float32Array(columns).fill(1);
  for (let j = 0; j < columns; j++) {
    let s = 0;
    for (let i = 0; i < rows; i++) s += values[i * columns + j] as number;
    const m = rows > 0 ? s / rows : 0;
    let ss = 0;
    for (let i = 0; i < rows; i++) ss += ((values[i * columns + j] as number) - m) ** 2;
    const sd = rows > 0 ? Math.sqrt(ss / rows) : 0;
    mean[j] = m;
    scale[j] = sd > 1e-12 ? sd : 1;
  }
  return { mean, scale };
}
