/**
 * Fixed-capacity min-heap keeping the k largest scores seen: the root is the weakest kept
 * candidate, so a new score costs one comparison unless it displaces the root (O(log k)).
 */
export class TopK {
  private readonly scores: Float64Array;
  private readonly rows: Int32Array;
  private count = 0;

  constructor(readonly k: number) {
    this.scores = new Float64Array(k);
    this.rows = new Int32Array(k);
  }

  /** The score a candidate must beat to enter; -Infinity until the heap is full. */
  get threshold(): number {
    return this.count < this.k ? -Infinity : (this.scores[0] as number);
  }

  push(score: number, row: number): void {
    const scores = this.scores;
    const rows = this.rows;
    if (this.count < this.k) {
      let i = this.count++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        const ps = scores[parent] as number;
        if (ps <= score) break;
        scores[i] = ps;
        rows[i] = rows[parent] as number;
        i = parent;
      }
      scores[i] = score;
      rows[i] = row;
      return;
    }
    if (score <= (scores[0] as number)) return;
    this.siftDown(score, row, this.count);
  }

  /** Empties the heap into best-first order. */
  drain(): { rows: number[]; scores: number[] } {
    const n = this.count;
    const rows = new Array<number>(n);
    const scores = new Array<number>(n);
    for (let out = n - 1; out >= 0; out--) {
      rows[out] = this.rows[0] as number;
      scores[out] = this.scores[0] as number;
      const last = --this.count;
      if (last > 0) this.siftDown(this.scores[last] as number, this.rows[last] as number, last);
    }
    return { rows, scores };
  }

  private siftDown(score: number, row: number, size: number): void {
    const scores = this.scores;
    const rows = this.rows;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= size) break;
      const right = left + 1;
      let child = left;
      if (right < size && (scores[right] as number) < (scores[left] as number)) child = right;
      const cs = scores[child] as number;
      if (cs >= score) break;
      scores[i] = cs;
      rows[i] = rows[child] as number;
      i = child;
    }
    scores[i] = score;
    rows[i] = row;
  }
}
