/**
 * The training-time reference: per-feature histograms that a window is compared against. Numeric
 * features keep two grids over the same values: coarse quantile bins for PSI and the chi-square/JS
 * family, and a finer quantile grid (a superset of the bin edges) that stands in for the reference
 * CDF in the KS statistic, so the raw training sample never has to ship with the reference.
 */
import { DriftError, invalidInput } from "./errors";

export type FeatureKind = "numeric" | "categorical";

export interface NumericFeatureReference {
  name: string;
  kind: "numeric";
  /** Values seen, missing included. */
  count: number;
  /** null, undefined and NaN. */
  missingCount: number;
  /** Strictly increasing; bin i holds binEdges[i-1] <= x < binEdges[i] (open-ended at both ends). */
  binEdges: number[];
  /** binEdges.length + 1 counts of non-missing values. */
  binCounts: number[];
  /** Strictly increasing superset of binEdges, the grid on which KS compares CDFs. */
  cdfEdges: number[];
  /** cdfEdges.length + 1 counts of non-missing values. */
  cdfCounts: number[];
  /** Range of the finite values. */
  min: number;
  max: number;
}

export interface CategoricalFeatureReference {
  name: string;
  kind: "categorical";
  count: number;
  missingCount: number;
  /** The most frequent categories, most frequent first; the rest are pooled into `otherCount`. */
  categories: string[];
  categoryCounts: number[];
  /** Categories beyond `maxCategories`; values never seen in training land in the same bin later. */
  otherCount: number;
}

export type FeatureReference = NumericFeatureReference | CategoricalFeatureReference;

export const DRIFT_REFERENCE_FORMAT = "mlsd-drift-reference";
export const DRIFT_REFERENCE_VERSION = 1;

export interface DriftReference {
  format: typeof DRIFT_REFERENCE_FORMAT;
  version: typeof DRIFT_REFERENCE_VERSION;
  createdAt: string;
  features: FeatureReference[];
  /** The model score distribution, monitored like a numeric feature. */
  score: NumericFeatureReference | null;
}

export type RawValue = number | string | null | undefined;

export interface BuildReferenceOptions {
  kind: FeatureKind;
  /** Quantile bins for PSI (numeric); fewer remain when a discrete feature has tied quantiles. */
  bins?: number;
  /** Quantile points of the KS grid (numeric). */
  cdfResolution?: number;
  /** Categories kept by name (categorical); rarer ones share the "other" bin. */
  maxCategories?: number;
}

// Window cell indices are stored as Uint16, so a feature has at most 65,535 cells.
const MAX_GRID = 10_000;

function checkIntegerOption(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidInput(field, `must be an integer in [${min}, ${max}], got ${value}`);
  }
}

export function isMissing(value: RawValue): boolean {
  return value === null || value === undefined || (typeof value === "number" && Number.isNaN(value));
}

const scratch = new Float64Array(1);
const scratchBits = new BigUint64Array(scratch.buffer);

/** The smallest double greater than x (finite x). */
export function nextUp(x: number): number {
  if (x === 0) return Number.MIN_VALUE;
  scratch[0] = x;
  scratchBits[0] = x > 0 ? (scratchBits[0] as bigint) + 1n : (scratchBits[0] as bigint) - 1n;
  return scratch[0] as number;
}

/** Number of edges <= x: the index of the right-open bin that holds x. */
export function upperBound(edges: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((edges[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Edges at the inverse-ECDF quantiles i/k (data values, so that exactly floor(n*i/k) values fall
 * below edge i when there are no ties), deduplicated. When the top bin would hold only the maximum
 * (a discrete feature), an edge just above it gives values beyond the training range a bin of their
 * own; the bin below the first edge plays that role at the bottom.
 */
function quantileEdges(sorted: Float64Array, k: number, maxFinite: number): number[] {
  const n = sorted.length;
  const edges: number[] = [];
  for (let i = 1; i < k; i++) {
    const e = sorted[Math.floor((n * i) / k)] as number;
    if (!Number.isFinite(e)) continue;
    if (edges.length === 0 || e > (edges[edges.length - 1] as number)) edges.push(e);
  }
  const above = nextUp(maxFinite);
  if ((edges.length === 0 || edges[edges.length - 1] === maxFinite) && Number.isFinite(above)) edges.push(above);
  return edges;
}

function histogram(sorted: Float64Array, edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (let i = 0; i < sorted.length; i++) {
    const b = upperBound(edges, sorted[i] as number);
    counts[b] = (counts[b] as number) + 1;
  }
  return counts;
}

function buildNumeric(name: string, values: ArrayLike<RawValue>, bins: number, cdfResolution: number): NumericFeatureReference {
  const present: number[] = [];
  let missingCount = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (isMissing(v)) missingCount++;
    else if (typeof v === "number") present.push(v);
    else throw invalidInput(`values[${i}]`, `numeric feature "${name}" got ${typeof v} ${JSON.stringify(v)}`);
  }
  const sorted = Float64Array.from(present).sort();
  let min = Infinity;
  let max = -Infinity;
  for (const v of sorted) {
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min > max) throw invalidInput("values", `numeric feature "${name}" has no finite value`);
  const binEdges = quantileEdges(sorted, bins, max);
  const cdfEdges = [...new Set([...binEdges, ...quantileEdges(sorted, cdfResolution, max)])].sort((a, b) => a - b);
  return {
    name,
    kind: "numeric",
    count: values.length,
    missingCount,
    binEdges,
    binCounts: histogram(sorted, binEdges),
    cdfEdges,
    cdfCounts: histogram(sorted, cdfEdges),
    min,
    max,
  };
}

function buildCategorical(name: string, values: ArrayLike<RawValue>, maxCategories: number): CategoricalFeatureReference {
  const counts = new Map<string, number>();
  let missingCount = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (isMissing(v)) {
      missingCount++;
      continue;
    }
    if (typeof v !== "string" && typeof v !== "number") {
      throw invalidInput(`values[${i}]`, `categorical feature "${name}" got ${typeof v}`);
    }
    const key = String(v);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  if (counts.size === 0) throw invalidInput("values", `categorical feature "${name}" has no non-missing value`);
  const ranked = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const kept = ranked.slice(0, maxCategories);
  let otherCount = 0;
  for (let i = maxCategories; i < ranked.length; i++) otherCount += (ranked[i] as [string, number])[1];
  return {
    name,
    kind: "categorical",
    count: values.length,
    missingCount,
    categories: kept.map(([k]) => k),
    categoryCounts: kept.map(([, c]) => c),
    otherCount,
  };
}

/** Reference histogram of one feature from its training values. */
export function buildReference(name: string, values: ArrayLike<RawValue>, options: BuildReferenceOptions): FeatureReference {
  if (typeof name !== "string" || name.length === 0) throw invalidInput("name", "must be a non-empty string");
  if (options.kind !== "numeric" && options.kind !== "categorical") {
    throw invalidInput("options.kind", `must be "numeric" or "categorical", got ${String(options.kind)}`);
  }
  if (values.length === 0) throw invalidInput("values", `feature "${name}" has no values`);
  if (options.kind === "numeric") {
    const bins = options.bins ?? 10;
    const cdfResolution = options.cdfResolution ?? 100;
    checkIntegerOption("options.bins", bins, 2, MAX_GRID);
    checkIntegerOption("options.cdfResolution", cdfResolution, 2, MAX_GRID);
    return buildNumeric(name, values, bins, cdfResolution);
  }
  const maxCategories = options.maxCategories ?? 50;
  checkIntegerOption("options.maxCategories", maxCategories, 1, MAX_GRID);
  return buildCategorical(name, values, maxCategories);
}

export interface DriftReferenceInput {
  features: FeatureReference[];
  score?: FeatureReference | null;
  /** ISO time; defaults to now. */
  createdAt?: string;
}

/** Bundles feature references (and the score's) into one validated, JSON-serialisable reference. */
export function createDriftReference(input: DriftReferenceInput): DriftReference {
  const score = input.score ?? null;
  if (score !== null && score.kind !== "numeric") throw invalidInput("score", "the model score must be a numeric reference");
  const reference: DriftReference = {
    format: DRIFT_REFERENCE_FORMAT,
    version: DRIFT_REFERENCE_VERSION,
    createdAt: input.createdAt ?? new Date().toISOString(),
    features: input.features,
    score,
  };
  return parseDriftReference(reference);
}

export function serializeDriftReference(reference: DriftReference): string {
  return JSON.stringify(reference);
}

// ---- validation on load -------------------------------------------------------------------------

function fail(field: string, message: string): never {
  throw new DriftError("INVALID_REFERENCE", field, message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function readCount(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) fail(field, `must be a non-negative integer, got ${JSON.stringify(value)}`);
  return value;
}

function readCounts(value: unknown, field: string, length: number): number[] {
  if (!Array.isArray(value)) fail(field, "must be an array of counts");
  if (value.length !== length) fail(field, `must have ${length} entries, has ${value.length}`);
  return value.map((c, i) => readCount(c, `${field}[${i}]`));
}

function readEdges(value: unknown, field: string): number[] {
  if (!Array.isArray(value)) fail(field, "must be an array of numbers");
  if (value.length === 0) fail(field, "must not be empty");
  if (value.length + 2 > 65_535) fail(field, "has too many edges");
  const edges: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const e: unknown = value[i];
    if (typeof e !== "number" || !Number.isFinite(e)) fail(`${field}[${i}]`, `must be a finite number, got ${JSON.stringify(e)}`);
    if (i > 0 && e <= (edges[i - 1] as number)) fail(`${field}[${i}]`, "edges must be strictly increasing");
    edges.push(e);
  }
  return edges;
}

function sum(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

function parseFeature(raw: unknown, field: string): FeatureReference {
  if (!isRecord(raw)) fail(field, "must be an object");
  const name = raw["name"];
  if (typeof name !== "string" || name.length === 0) fail(`${field}.name`, "must be a non-empty string");
  const count = readCount(raw["count"], `${field}.count`);
  const missingCount = readCount(raw["missingCount"], `${field}.missingCount`);
  if (raw["kind"] === "numeric") {
    const binEdges = readEdges(raw["binEdges"], `${field}.binEdges`);
    const binCounts = readCounts(raw["binCounts"], `${field}.binCounts`, binEdges.length + 1);
    const cdfEdges = readEdges(raw["cdfEdges"], `${field}.cdfEdges`);
    const cdfCounts = readCounts(raw["cdfCounts"], `${field}.cdfCounts`, cdfEdges.length + 1);
    const present = sum(binCounts);
    if (present === 0) fail(`${field}.binCounts`, "holds no value");
    if (present + missingCount !== count) fail(`${field}.count`, `is ${count} but bins and missing add up to ${present + missingCount}`);
    if (sum(cdfCounts) !== present) fail(`${field}.cdfCounts`, "must add up to the same total as binCounts");
    // Each bin must be a union of CDF cells, so the window's cell counts can be summed into bins.
    const cdfSet = new Set(cdfEdges);
    binEdges.forEach((e, i) => {
      if (!cdfSet.has(e)) fail(`${field}.cdfEdges`, `must contain every bin edge; binEdges[${i}] = ${e} is missing`);
    });
    const aggregated = new Array<number>(binCounts.length).fill(0);
    cdfCounts.forEach((c, j) => {
      const bin = j === 0 ? 0 : upperBound(binEdges, cdfEdges[j - 1] as number);
      aggregated[bin] = (aggregated[bin] as number) + c;
    });
    aggregated.forEach((c, i) => {
      if (c !== binCounts[i]) fail(`${field}.cdfCounts`, `cells inside bin ${i} add up to ${c}, binCounts[${i}] is ${binCounts[i]}`);
    });
    const min = raw["min"];
    const max = raw["max"];
    if (typeof min !== "number" || !Number.isFinite(min)) fail(`${field}.min`, "must be a finite number");
    if (typeof max !== "number" || !Number.isFinite(max) || max < min) fail(`${field}.max`, "must be a finite number >= min");
    return { name, kind: "numeric", count, missingCount, binEdges, binCounts, cdfEdges, cdfCounts, min, max };
  }
  if (raw["kind"] === "categorical") {
    const categoriesRaw = raw["categories"];
    if (!Array.isArray(categoriesRaw) || categoriesRaw.length === 0) fail(`${field}.categories`, "must be a non-empty array of strings");
    if (categoriesRaw.length + 2 > 65_535) fail(`${field}.categories`, "has too many categories");
    const seen = new Set<string>();
    const categories = categoriesRaw.map((c: unknown, i) => {
      if (typeof c !== "string") fail(`${field}.categories[${i}]`, "must be a string");
      if (seen.has(c)) fail(`${field}.categories[${i}]`, `duplicate category ${JSON.stringify(c)}`);
      seen.add(c);
      return c;
    });
    const categoryCounts = readCounts(raw["categoryCounts"], `${field}.categoryCounts`, categories.length);
    const otherCount = readCount(raw["otherCount"], `${field}.otherCount`);
    const present = sum(categoryCounts) + otherCount;
    if (present === 0) fail(`${field}.categoryCounts`, "holds no value");
    if (present + missingCount !== count) fail(`${field}.count`, `is ${count} but categories, other and missing add up to ${present + missingCount}`);
    return { name, kind: "categorical", count, missingCount, categories, categoryCounts, otherCount };
  }
  fail(`${field}.kind`, `must be "numeric" or "categorical", got ${JSON.stringify(raw["kind"])}`);
}

/**
 * Validates a reference read from JSON (a string or the parsed value) and returns a clean copy.
 * Throws DriftError with code INVALID_REFERENCE (naming the field) or UNSUPPORTED_VERSION.
 */
export function parseDriftReference(input: unknown): DriftReference {
  let raw: unknown = input;
  if (typeof input === "string") {
    try {
      raw = JSON.parse(input);
    } catch (error) {
      fail("$", `is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (!isRecord(raw)) fail("$", "must be an object");
  if (raw["format"] !== DRIFT_REFERENCE_FORMAT) fail("format", `must be "${DRIFT_REFERENCE_FORMAT}", got ${JSON.stringify(raw["format"])}`);
  if (raw["version"] !== DRIFT_REFERENCE_VERSION) {
    throw new DriftError("UNSUPPORTED_VERSION", "version", `this code reads version ${DRIFT_REFERENCE_VERSION}, got ${JSON.stringify(raw["version"])}`);
  }
  const createdAt = raw["createdAt"];
  if (typeof createdAt !== "string" || Number.isNaN(Date.parse(createdAt))) fail("createdAt", "must be an ISO date-time string");
  const featuresRaw = raw["features"];
  if (!Array.isArray(featuresRaw)) fail("features", "must be an array");
  const features = featuresRaw.map((f: unknown, i) => parseFeature(f, `features[${i}]`));
  let score: NumericFeatureReference | null = null;
  if (raw["score"] !== null && raw["score"] !== undefined) {
    const parsed = parseFeature(raw["score"], "score");
    if (parsed.kind !== "numeric") fail("score.kind", "the model score must be numeric");
    score = parsed;
  }
  if (features.length === 0 && score === null) fail("features", "a reference needs at least one feature or a score");
  const names = new Set<string>();
  [...features, ...(score ? [score] : [])].forEach((f, i) => {
    if (names.has(f.name)) fail(i < features.length ? `features[${i}].name` : "score.name", `duplicate name ${JSON.stringify(f.name)}`);
    names.add(f.name);
  });
  return { format: DRIFT_REFERENCE_FORMAT, version: DRIFT_REFERENCE_VERSION, createdAt, features, score };
}
