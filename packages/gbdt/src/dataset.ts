import { Rng } from "@mlsd/random";
import { GbdtInputError } from "./errors";

/** Row-major dense matrix: value (row r, column c) is `data[r * numColumns + c]`. */
export interface DenseMatrix {
  readonly data: Float64Array;
  readonly numRows: number;
  readonly numColumns: number;
}

/** Feature rows: an array of rows (number[] or Float64Array) or a dense row-major matrix. */
export type FeatureRows = ReadonlyArray<ArrayLike<number>> | DenseMatrix;

export interface DatasetOptions {
  /** Targets: {0,1} for binary, real for regression, non-negative integer grades for lambdarank. */
  labels?: ArrayLike<number>;
  /** Per-row sample weights (>= 0). */
  weights?: ArrayLike<number>;
  /** Query group sizes in row order (like XGBoost/LightGBM `group`); they must sum to the row count. */
  groups?: ArrayLike<number>;
  featureNames?: readonly string[];
  /** Value bins per feature (2..255); missing values get one more bin of their own. Default 255. */
  maxBins?: number;
  /**
   * How many of a feature's `maxBins - 1` edges the labels place instead of the quantiles (default
   * 0: quantile edges only). Equal-frequency bins are wide where values are sparse: on the fraud
   * data the top amount bin held every fraud above 220 together with legitimate amounts below
   * 220, so no split could separate them. With `labelEdges` k, the
   * quantiles place `maxBins - 1 - k` edges, and the k bins whose best inner split most reduces
   * the (weighted) squared error of the labels get an edge at that split. Needs `labels`; only
   * features with more distinct values than bins are affected (the others keep every boundary).
   */
  labelEdges?: number;
  /** Rows sampled to find quantile edges on large data. Default 200,000. */
  binSampleSize?: number;
  /** Seed for the bin-construction sample. */
  seed?: number;
  /** Bin with this dataset's edges (validation and test data must use the training edges). */
  reference?: Dataset;
  /**
   * Per-row raw margin that boosting starts from instead of the model's base score (XGBoost's
   * base_margin): the trees learn a correction to a prior score. The model does not store it, so
   * a prediction is the same prior plus `predictRaw`.
   */
  baseMargin?: ArrayLike<number>;
}

/**
 * Quantile bin edges per feature. Value bin j (1-based) holds edges[j-2] < x <= edges[j-1]; bin 0
 * holds NaN. A split "bin <= j" is therefore exactly "x <= edges[j-1]" on the raw value, which lets
 * the model store raw thresholds and predict without binning.
 */
export class BinMapper {
  /** Total bins of feature f including the missing bin: edges[f].length + 2. */
  readonly numBins: Int32Array;
  /** Offset of feature f's first bin in a histogram laid out feature after feature. */
  readonly binOffsets: Int32Array;
  readonly totalBins: number;

  constructor(readonly edges: readonly Float64Array[]) {
    this.numBins = new Int32Array(edges.length);
    this.binOffsets = new Int32Array(edges.length);
    let offset = 0;
    for (let f = 0; f < edges.length; f++) {
      const n = (edges[f] as Float64Array).length + 2;
      this.numBins[f] = n;
      this.binOffsets[f] = offset;
      offset += n;
    }
    this.totalBins = offset;
  }

  get numFeatures(): number {
    return this.edges.length;
  }

  /** Raw threshold equivalent to "bin <= splitBin"; the last value bin sends every value left. */
  thresholdFor(feature: number, splitBin: number): number {
    const e = this.edges[feature] as Float64Array;
    return splitBin - 1 < e.length ? (e[splitBin - 1] as number) : Number.MAX_VALUE;
  }
}

/** Feature rows binned once into column-major Uint8 bins, with labels, weights and query groups. */
export class Dataset {
  private constructor(
    readonly numRows: number,
    readonly featureNames: readonly string[],
    readonly binMapper: BinMapper,
    /** Column-major: bin of (row r, feature f) is bins[f * numRows + r]. */
    readonly bins: Uint8Array,
    readonly labels: Float64Array | undefined,
    readonly weights: Float64Array | undefined,
    /** Group boundaries: group g spans rows [groupOffsets[g], groupOffsets[g+1]). */
    readonly groupOffsets: Int32Array | undefined,
    readonly baseMargin: Float64Array | undefined,
  ) {}

  get numFeatures(): number {
    return this.binMapper.numFeatures;
  }

  get numGroups(): number {
    return this.groupOffsets ? this.groupOffsets.length - 1 : 0;
  }

  static fromRows(rows: FeatureRows, options: DatasetOptions = {}): Dataset {
    const access = rowAccess(rows, options.reference?.numFeatures);
    const { numRows, numColumns } = access;
    const ref = options.reference;
    const featureNames = ref ? ref.featureNames : resolveFeatureNames(options.featureNames, numColumns);
    const labels = options.labels === undefined ? undefined : checkedLabels(options.labels, numRows);
    const weights = options.weights === undefined ? undefined : checkedWeights(options.weights, numRows);
    const groupOffsets = options.groups === undefined ? undefined : checkedGroups(options.groups, numRows);
    const baseMargin = options.baseMargin === undefined ? undefined : checkedBaseMargin(options.baseMargin, numRows);
    const maxBins = checkedMaxBins(options.maxBins);
    const labelEdges = ref ? 0 : checkedLabelEdges(options.labelEdges, maxBins, labels);
    const edges = ref
      ? (ref.binMapper.edges as Float64Array[])
      : sampleEdges(access, binSample(numRows, options.binSampleSize ?? 200_000, options.seed ?? 0), maxBins, labelEdges > 0 ? { count: labelEdges, labels: labels as Float64Array, weights } : undefined);
    const bins = binRows(access, edges);
    const mapper = ref ? ref.binMapper : new BinMapper(edges);
    return new Dataset(numRows, featureNames, mapper, bins, labels, weights, groupOffsets, baseMargin);
  }
}

interface LabelEdgeInput {
  count: number;
  labels: Float64Array;
  weights: Float64Array | undefined;
}

/**
 * Edges of every feature from the sampled rows (all rows when `sample` is undefined): quantile
 * edges, and with `byLabel` that many of them placed by the labels instead.
 */
function sampleEdges(access: RowAccess, sample: Int32Array | undefined, maxBins: number, byLabel?: LabelEdgeInput): Float64Array[] {
  const { numColumns: width } = access;
  const count = sample ? sample.length : access.numRows;
  // Column-major copy of the sample, read row by row (sequential in the row-major input).
  const columns = new Float64Array(count * width);
  const row = new Float64Array(width);
  for (let i = 0; i < count; i++) {
    access.readRows(sample ? (sample[i] as number) : i, 1, row);
    for (let f = 0, o = i; f < width; f++, o += count) columns[o] = row[f] as number;
  }
  let targets: { y: Float64Array; w: Float64Array | undefined } | undefined;
  if (byLabel) {
    const pick = <T extends Float64Array | undefined>(all: T): T => (all && sample ? (Float64Array.from(sample, (r) => all[r] as number) as T) : all);
    targets = { y: pick(byLabel.labels), w: pick(byLabel.weights) };
  }
  return Array.from({ length: width }, (_, f) => {
    const column = columns.subarray(f * count, (f + 1) * count);
    if (!byLabel || !targets) return quantileEdges(column, maxBins);
    // Few distinct values: every boundary between them is an edge already.
    if (distinctCount(column) <= maxBins) return quantileEdges(column, maxBins);
    const first = withLabelEdges(column, targets.y, targets.w, quantileEdges(column, maxBins - byLabel.count), byLabel.count);
    // Fewer bins with labels to separate than edges reserved for them: the quantiles get the rest back.
    if (first.added >= byLabel.count) return first.edges;
    return withLabelEdges(column, targets.y, targets.w, quantileEdges(column, maxBins - first.added), first.added).edges;
  });
}

function distinctCount(column: Float64Array): number {
  const sorted = column.filter((x) => x === x).sort();
  let n = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) n++;
  return n;
}

/**
 * Adds up to `count` edges to `edges`: in each bin, the boundary between two neighbouring
 * distinct values that most reduces the weighted squared error of the labels (sum over sides of
 * S^2 / W, less the bin's S^2 / W); the `count` bins with the largest reductions each get theirs.
 */
function withLabelEdges(column: Float64Array, labels: Float64Array, weights: Float64Array | undefined, edges: Float64Array, count: number): { edges: Float64Array; added: number } {
  const order: number[] = [];
  for (let i = 0; i < column.length; i++) if (column[i] === column[i]) order.push(i);
  order.sort((a, b) => (column[a] as number) - (column[b] as number) || a - b);
  const candidates: { gain: number; edge: number }[] = [];
  let start = 0;
  for (let bin = 0; bin <= edges.length && start < order.length; bin++) {
    const upper = bin < edges.length ? (edges[bin] as number) : Infinity;
    let end = start;
    while (end < order.length && (column[order[end] as number] as number) <= upper) end++;
    let sum = 0;
    let weight = 0;
    for (let k = start; k < end; k++) {
      const r = order[k] as number;
      const w = weights ? (weights[r] as number) : 1;
      sum += w * (labels[r] as number);
      weight += w;
    }
    let best = { gain: 0, edge: NaN };
    let leftSum = 0;
    let leftWeight = 0;
    for (let k = start; k + 1 < end; k++) {
      const r = order[k] as number;
      const w = weights ? (weights[r] as number) : 1;
      leftSum += w * (labels[r] as number);
      leftWeight += w;
      const x = column[r] as number;
      const next = column[order[k + 1] as number] as number;
      const rightWeight = weight - leftWeight;
      if (x === next || leftWeight <= 0 || rightWeight <= 0) continue;
      const gain = (leftSum * leftSum) / leftWeight + ((sum - leftSum) * (sum - leftSum)) / rightWeight - (sum * sum) / weight;
      if (gain > best.gain) best = { gain, edge: midpoint(x, next) };
    }
    if (best.gain > 0) candidates.push(best);
    start = end;
  }
  candidates.sort((a, b) => b.gain - a.gain || a.edge - b.edge);
  const added = candidates.slice(0, count).map((c) => c.edge);
  return { edges: Float64Array.from([...edges, ...added]).sort(), added: added.length };
}

const BIN_BLOCK_ROWS = 1024;

/**
 * Column-major bins of every row. Rows are read in blocks (sequential reads of the row-major input,
 * then per-feature passes over a block that stays in cache) and each value is placed by a
 * branchless binary search over its feature's edges padded to a power of two.
 */
function binRows(access: RowAccess, edges: readonly Float64Array[]): Uint8Array {
  const { numRows, numColumns: width } = access;
  const bins = new Uint8Array(numRows * width);
  const padded = edges.map(padEdges);
  const block = new Float64Array(BIN_BLOCK_ROWS * width);
  for (let start = 0; start < numRows; start += BIN_BLOCK_ROWS) {
    const count = Math.min(BIN_BLOCK_ROWS, numRows - start);
    access.readRows(start, count, block);
    for (let f = 0; f < width; f++) binBlock(block, width, f, count, padded[f] as Float64Array, bins, f * numRows + start, start);
  }
  return bins;
}

/** Edges followed by +Infinity up to a power-of-two length greater than the edge count. */
function padEdges(edges: Float64Array): Float64Array {
  let size = 1;
  while (size < edges.length + 1) size *= 2;
  const out = new Float64Array(size).fill(Infinity);
  out.set(edges);
  return out;
}

/** Bin 0 for NaN, else 1 + the number of edges below x. */
function binBlock(
  block: Float64Array,
  width: number,
  f: number,
  count: number,
  padded: Float64Array,
  out: Uint8Array,
  outOffset: number,
  rowStart: number,
): void {
  const firstStep = padded.length >> 1;
  for (let i = 0, o = f; i < count; i++, o += width) {
    const x = block[o] as number;
    if (x !== x) {
      out[outOffset + i] = 0;
      continue;
    }
    if (x === Infinity || x === -Infinity) {
      throw new GbdtInputError("bad_value", `rows[${rowStart + i}][${f}]`, "feature values must be finite or NaN (missing)");
    }
    let pos = 0;
    for (let step = firstStep; step > 0; step >>= 1) pos += (padded[pos + step - 1] as number) < x ? step : 0;
    out[outOffset + i] = pos + 1;
  }
}

interface RowAccess {
  numRows: number;
  numColumns: number;
  /** Copies rows [start, start + count) row-major into `out`. */
  readRows(start: number, count: number, out: Float64Array): void;
}

function isDenseMatrix(rows: FeatureRows): rows is DenseMatrix {
  return !Array.isArray(rows) && (rows as DenseMatrix).data instanceof Float64Array;
}

function rowAccess(rows: FeatureRows, expectedColumns: number | undefined): RowAccess {
  if (isDenseMatrix(rows)) {
    const { data, numRows, numColumns } = rows;
    if (!Number.isInteger(numRows) || !Number.isInteger(numColumns) || data.length !== numRows * numColumns) {
      throw new GbdtInputError("ragged_rows", "rows", `data has ${data.length} values, expected numRows*numColumns = ${numRows * numColumns}`);
    }
    if (numRows === 0 || numColumns === 0) throw new GbdtInputError("empty_data", "rows", "no rows or no feature columns");
    checkColumns(numColumns, expectedColumns);
    return {
      numRows,
      numColumns,
      readRows(start, count, out) {
        out.set(data.subarray(start * numColumns, (start + count) * numColumns));
      },
    };
  }
  const list = rows as ReadonlyArray<ArrayLike<number>>;
  if (list.length === 0) throw new GbdtInputError("empty_data", "rows", "no rows");
  const numColumns = (list[0] as ArrayLike<number>).length;
  if (numColumns === 0) throw new GbdtInputError("empty_data", "rows[0]", "no feature columns");
  for (let r = 1; r < list.length; r++) {
    const len = (list[r] as ArrayLike<number>).length;
    if (len !== numColumns) {
      throw new GbdtInputError("ragged_rows", `rows[${r}]`, `has ${len} values, rows[0] has ${numColumns}`);
    }
  }
  checkColumns(numColumns, expectedColumns);
  return {
    numRows: list.length,
    numColumns,
    readRows(start, count, out) {
      for (let i = 0, o = 0; i < count; i++) {
        const row = list[start + i] as ArrayLike<number>;
        for (let f = 0; f < numColumns; f++, o++) {
          const v = row[f];
          if (typeof v !== "number") throw new GbdtInputError("bad_value", `rows[${start + i}][${f}]`, "is not a number");
          out[o] = v;
        }
      }
    },
  };
}

function checkColumns(numColumns: number, expected: number | undefined): void {
  if (expected !== undefined && numColumns !== expected) {
    throw new GbdtInputError("feature_mismatch", "rows", `have ${numColumns} features, the reference dataset has ${expected}`);
  }
}

function resolveFeatureNames(names: readonly string[] | undefined, numColumns: number): string[] {
  if (names === undefined) return Array.from({ length: numColumns }, (_, i) => `f${i}`);
  if (names.length !== numColumns) {
    throw new GbdtInputError("length_mismatch", "featureNames", `has ${names.length} names for ${numColumns} features`);
  }
  if (new Set(names).size !== names.length) throw new GbdtInputError("bad_value", "featureNames", "names must be unique");
  return [...names];
}

function checkedLabels(labels: ArrayLike<number>, numRows: number): Float64Array {
  if (labels.length !== numRows) {
    throw new GbdtInputError("length_mismatch", "labels", `has ${labels.length} values for ${numRows} rows`);
  }
  const out = new Float64Array(numRows);
  for (let i = 0; i < numRows; i++) {
    const y = labels[i] as number;
    if (typeof y !== "number" || !Number.isFinite(y)) throw new GbdtInputError("bad_label", `labels[${i}]`, `is ${y}, expected a finite number`);
    out[i] = y;
  }
  return out;
}

function checkedWeights(weights: ArrayLike<number>, numRows: number): Float64Array {
  if (weights.length !== numRows) {
    throw new GbdtInputError("length_mismatch", "weights", `has ${weights.length} values for ${numRows} rows`);
  }
  const out = new Float64Array(numRows);
  for (let i = 0; i < numRows; i++) {
    const w = weights[i] as number;
    if (typeof w !== "number" || !Number.isFinite(w) || w < 0) {
      throw new GbdtInputError("bad_value", `weights[${i}]`, `is ${w}, expected a finite number >= 0`);
    }
    out[i] = w;
  }
  return out;
}

function checkedBaseMargin(values: ArrayLike<number>, numRows: number): Float64Array {
  if (values.length !== numRows) {
    throw new GbdtInputError("length_mismatch", "baseMargin", `has ${values.length} values for ${numRows} rows`);
  }
  const out = Float64Array.from(values);
  out.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new GbdtInputError("bad_value", `baseMargin[${i}]`, `is ${v}, expected a finite number`);
  });
  return out;
}

function checkedGroups(groups: ArrayLike<number>, numRows: number): Int32Array {
  if (groups.length === 0) throw new GbdtInputError("bad_groups", "groups", "is empty");
  const offsets = new Int32Array(groups.length + 1);
  let total = 0;
  for (let g = 0; g < groups.length; g++) {
    const size = groups[g] as number;
    if (!Number.isInteger(size) || size < 1) throw new GbdtInputError("bad_groups", `groups[${g}]`, `is ${size}, expected a positive integer size`);
    total += size;
    offsets[g + 1] = total;
  }
  if (total !== numRows) {
    throw new GbdtInputError("length_mismatch", "groups", `sizes sum to ${total}, but there are ${numRows} rows`);
  }
  return offsets;
}

function checkedMaxBins(maxBins: number | undefined): number {
  const value = maxBins ?? 255;
  if (!Number.isInteger(value) || value < 2 || value > 255) {
    throw new GbdtInputError("bad_param", "maxBins", `is ${value}, expected an integer in [2, 255]`);
  }
  return value;
}

function checkedLabelEdges(labelEdges: number | undefined, maxBins: number, labels: Float64Array | undefined): number {
  const value = labelEdges ?? 0;
  if (!Number.isInteger(value) || value < 0 || value > maxBins - 2) {
    throw new GbdtInputError("bad_param", "labelEdges", `is ${value}, expected an integer in [0, ${maxBins - 2}] (maxBins - 2)`);
  }
  if (value > 0 && labels === undefined) throw new GbdtInputError("bad_param", "labelEdges", "needs labels to place edges by");
  return value;
}

function binSample(numRows: number, sampleSize: number, seed: number): Int32Array | undefined {
  if (!Number.isInteger(sampleSize) || sampleSize < 1) {
    throw new GbdtInputError("bad_param", "binSampleSize", `is ${sampleSize}, expected a positive integer`);
  }
  if (numRows <= sampleSize) return undefined;
  const picked = new Rng(seed).sampleIndices(numRows, sampleSize);
  return Int32Array.from(picked).sort();
}

/**
 * Greedy equal-frequency edges over the sorted distinct values; each edge sits midway between two
 * neighbouring distinct values so that training values never fall on a threshold. After a heavy
 * value (many ties) the remaining quota is re-spread over the remaining bins.
 */
function quantileEdges(column: Float64Array, maxBins: number): Float64Array {
  const values = new Float64Array(column.length);
  let m = 0;
  for (let i = 0; i < column.length; i++) {
    const x = column[i] as number;
    if (x === x && x !== Infinity && x !== -Infinity) values[m++] = x;
  }
  if (m === 0) return new Float64Array(0);
  const sorted = values.subarray(0, m).sort();
  const distinct: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < m; i++) {
    const x = sorted[i] as number;
    if (distinct.length > 0 && distinct[distinct.length - 1] === x) counts[counts.length - 1]! += 1;
    else {
      distinct.push(x);
      counts.push(1);
    }
  }
  const edges: number[] = [];
  if (distinct.length <= maxBins) {
    for (let i = 0; i + 1 < distinct.length; i++) edges.push(midpoint(distinct[i] as number, distinct[i + 1] as number));
    return Float64Array.from(edges);
  }
  let seen = 0;
  let target = m / maxBins;
  for (let i = 0; i + 1 < distinct.length && edges.length < maxBins - 1; i++) {
    seen += counts[i] as number;
    if (seen >= target) {
      edges.push(midpoint(distinct[i] as number, distinct[i + 1] as number));
      target = seen + (m - seen) / (maxBins - edges.length);
    }
  }
  return Float64Array.from(edges);
}

function midpoint(a: number, b: number): number {
  const mid = a / 2 + b / 2;
  return mid < b ? mid : a;
}
