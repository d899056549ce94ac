/**
 * Maps a raw value to its cell on a feature's reference grid, and sums cells into bins. A window
 * stores cell indices only, so insert and evict are a counter increment and decrement.
 */
import type { FeatureKind, FeatureReference, RawValue } from "./reference";
import { upperBound } from "./reference";

export interface FeatureBinner {
  readonly name: string;
  readonly kind: FeatureKind;
  /** Cells the window counts, the missing cell last. */
  readonly cellCount: number;
  /** Bins PSI, JS and chi-square compare, the missing bin last. */
  readonly binCount: number;
  readonly missingCell: number;
  /** Reference counts per cell (numeric: the CDF grid; categorical: same as bins). */
  readonly referenceCells: Float64Array;
  /** Reference counts per bin. */
  readonly referenceBins: Float64Array;
  cellOf(value: RawValue): number;
  /** Sums window cell counts into bin counts. */
  binsFromCells(cells: ArrayLike<number>, out: Float64Array): Float64Array;
}

const LOOKUP_SLOTS = 1024;

class NumericBinner implements FeatureBinner {
  readonly kind = "numeric" as const;
  readonly cellCount: number;
  readonly binCount: number;
  readonly missingCell: number;
  readonly referenceCells: Float64Array;
  readonly referenceBins: Float64Array;
  private readonly edges: Float64Array;
  private readonly cellToBin: Int32Array;
  /** slotStart[s] = number of edges <= the left end of slot s on a uniform grid over [first edge, last edge]. */
  private readonly slotStart: Uint16Array;
  private readonly slotScale: number;

  constructor(
    readonly name: string,
    reference: Extract<FeatureReference, { kind: "numeric" }>,
  ) {
    this.edges = Float64Array.from(reference.cdfEdges);
    const first = this.edges[0] as number;
    const span = (this.edges[this.edges.length - 1] as number) - first;
    this.slotScale = span > 0 && Number.isFinite(LOOKUP_SLOTS / span) ? LOOKUP_SLOTS / span : 0;
    this.slotStart = new Uint16Array(LOOKUP_SLOTS + 1);
    for (let s = 0; s <= LOOKUP_SLOTS; s++) {
      this.slotStart[s] = this.slotScale > 0 ? upperBound(this.edges, first + s / this.slotScale) : s === 0 ? 0 : this.edges.length;
    }
    this.cellCount = reference.cdfEdges.length + 2;
    this.binCount = reference.binEdges.length + 2;
    this.missingCell = this.cellCount - 1;
    this.referenceCells = Float64Array.from([...reference.cdfCounts, reference.missingCount]);
    this.referenceBins = Float64Array.from([...reference.binCounts, reference.missingCount]);
    this.cellToBin = new Int32Array(this.cellCount);
    for (let j = 1; j < this.missingCell; j++) {
      this.cellToBin[j] = upperBound(reference.binEdges, reference.cdfEdges[j - 1] as number);
    }
    this.cellToBin[this.missingCell] = this.binCount - 1;
  }

  /** Anything but a number (including a string) counts as missing, so a type slip shows up as a missing-rate shift. */
  cellOf(value: RawValue): number {
    if (typeof value !== "number" || value !== value) return this.missingCell;
    const edges = this.edges;
    const last = edges.length - 1;
    if (value < (edges[0] as number)) return 0;
    if (value >= (edges[last] as number)) return last + 1;
    // The slot narrows the search to the few edges near the value: a plain binary search over ~100
    // edges mispredicts a branch at nearly every step, and this lookup is the per-event hot path.
    const slot = Math.min(LOOKUP_SLOTS - 1, Math.floor((value - (edges[0] as number)) * this.slotScale));
    let lo = this.slotStart[slot > 0 ? slot - 1 : 0] as number;
    let hi = this.slotStart[slot + 2 > LOOKUP_SLOTS ? LOOKUP_SLOTS : slot + 2] as number;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((edges[mid] as number) <= value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  binsFromCells(cells: ArrayLike<number>, out: Float64Array): Float64Array {
    out.fill(0, 0, this.binCount);
    const map = this.cellToBin;
    for (let j = 0; j < this.cellCount; j++) {
      const b = map[j] as number;
      out[b] = (out[b] as number) + (cells[j] as number);
    }
    return out;
  }
}

class CategoricalBinner implements FeatureBinner {
  readonly kind = "categorical" as const;
  readonly cellCount: number;
  readonly binCount: number;
  readonly missingCell: number;
  readonly otherCell: number;
  readonly referenceCells: Float64Array;
  readonly referenceBins: Float64Array;
  private readonly index = new Map<string, number>();

  constructor(
    readonly name: string,
    reference: Extract<FeatureReference, { kind: "categorical" }>,
  ) {
    reference.categories.forEach((c, i) => this.index.set(c, i));
    this.otherCell = reference.categories.length;
    this.missingCell = this.otherCell + 1;
    this.cellCount = this.missingCell + 1;
    this.binCount = this.cellCount;
    this.referenceCells = Float64Array.from([...reference.categoryCounts, reference.otherCount, reference.missingCount]);
    this.referenceBins = this.referenceCells;
  }

  cellOf(value: RawValue): number {
    if (typeof value === "string") return this.index.get(value) ?? this.otherCell;
    if (typeof value === "number" && value === value) return this.index.get(String(value)) ?? this.otherCell;
    return this.missingCell;
  }

  binsFromCells(cells: ArrayLike<number>, out: Float64Array): Float64Array {
    for (let j = 0; j < this.cellCount; j++) out[j] = cells[j] as number;
    return out;
  }
}

export function createBinner(reference: FeatureReference): FeatureBinner {
  return reference.kind === "numeric" ? new NumericBinner(reference.name, reference) : new CategoricalBinner(reference.name, reference);
}
