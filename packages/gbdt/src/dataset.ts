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
  /** Rows sampled to find quantile edges on large data. Default 200,000. */
  binSampleSize?: number;
  /** Seed for the bin-construction sample. */
  seed?: number;
  /** Bin with this dataset's edges (validation and test data must use the training edges). */
  reference?: Dataset;
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

    const column = new Float64Array(numRows);
    const edges: Float64Array[] = [];
    const bins = new Uint8Array(numRows * numColumns);
    const maxBins = checkedMaxBins(options.maxBins);
    const sample = ref ? undefined : binSample(numRows, options.binSampleSize ?? 200_000, options.seed ?? 0);

    for (let f = 0; f < numColumns; f++) {
      access.readColumn(f, column);
      for (let r = 0; r < numRows; r++) {
        const x = column[r] as number;
        if (x === Infinity || x === -Infinity) {
          throw new GbdtInputError("bad_value", `rows[${r}][${f}]`, "feature values must be finite or NaN (missing)");
        }
      }
      const featureEdges = ref ? (ref.binMapper.edges[f] as Float64Array) : quantileEdges(column, sample, maxBins);
      edges.push(featureEdges);
      binColumn(column, featureEdges, bins.subarray(f * numRows, (f + 1) * numRows));
    }
    const mapper = ref ? ref.binMapper : new BinMapper(edges);
    return new Dataset(numRows, featureNames, mapper, bins, labels, weights, groupOffsets);
  }
}

/** Bin 0 for NaN, else 1 + the number of edges below x (binary search). */
function binColumn(column: Float64Array, edges: Float64Array, out: Uint8Array): void {
  const numEdges = edges.length;
  for (let r = 0; r < column.length; r++) {
    const x = column[r] as number;
    if (x !== x) {
      out[r] = 0;
      continue;
    }
    let lo = 0;
    let hi = numEdges;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((edges[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    out[r] = lo + 1;
  }
}

interface RowAccess {
  numRows: number;
  numColumns: number;
  readColumn(f: number, out: Float64Array): void;
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
      readColumn(f, out) {
        for (let r = 0, i = f; r < numRows; r++, i += numColumns) out[r] = data[i] as number;
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
    readColumn(f, out) {
      for (let r = 0; r < list.length; r++) {
        const v = (list[r] as ArrayLike<number>)[f];
        if (typeof v !== "number") throw new GbdtInputError("bad_value", `rows[${r}][${f}]`, "is not a number");
        out[r] = v;
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
function quantileEdges(column: Float64Array, sample: Int32Array | undefined, maxBins: number): Float64Array {
  const n = sample ? sample.length : column.length;
  const values = new Float64Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const x = sample ? (column[sample[i] as number] as number) : (column[i] as number);
    if (x === x) values[m++] = x;
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
