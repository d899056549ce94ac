import { RecEvalError } from "./matrix";

/**
 * The k highest-scoring indices, best first, skipping indices whose `exclude` byte is set.
 * A bounded min-heap keeps this O(n log k) with no full sort. Ties go to the lower index so
 * results are deterministic; NaN scores rank below everything.
 */
export function topK(scores: ArrayLike<number>, k: number, exclude?: Uint8Array): Int32Array {
  if (!Number.isInteger(k) || k < 1) throw new RecEvalError("k", `must be a positive integer, got ${k}`);
  if (exclude && exclude.length < scores.length) {
    throw new RecEvalError("exclude", `mask length ${exclude.length} is shorter than the ${scores.length} scores`);
  }
  const heapItems = new Int32Array(k);
  const heapScores = new Float64Array(k);
  let size = 0;
  // "a is worse than b": lower score, or the same score and a higher index.
  const worse = (sa: number, ia: number, sb: number, ib: number): boolean => sa < sb || (sa === sb && ia > ib);

  const siftDown = (start: number): void => {
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) return;
      const r = l + 1;
      let m = l;
      if (r < size && worse(heapScores[r] as number, heapItems[r] as number, heapScores[l] as number, heapItems[l] as number)) m = r;
      if (!worse(heapScores[m] as number, heapItems[m] as number, heapScores[i] as number, heapItems[i] as number)) return;
      swap(i, m);
      i = m;
    }
  };
  const swap = (a: number, b: number): void => {
    const ti = heapItems[a] as number;
    heapItems[a] = heapItems[b] as number;
    heapItems[b] = ti;
    const ts = heapScores[a] as number;
    heapScores[a] = heapScores[b] as number;
    heapScores[b] = ts;
  };

  for (let i = 0; i < scores.length; i++) {
    if (exclude && exclude[i] !== 0) continue;
    let s = scores[i] as number;
    if (s !== s) s = -Infinity;
    if (size < k) {
      heapItems[size] = i;
      heapScores[size] = s;
      let c = size++;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (!worse(heapScores[c] as number, heapItems[c] as number, heapScores[p] as number, heapItems[p] as number)) break;
        swap(c, p);
        c = p;
      }
    } else if (worse(heapScores[0] as number, heapItems[0] as number, s, i)) {
      heapItems[0] = i;
      heapScores[0] = s;
      siftDown(0);
    }
  }
  // Pop worst-first into the back of the output.
  const out = new Int32Array(size);
  for (let j = size - 1; j >= 0; j--) {
    out[j] = heapItems[0] as number;
    size--;
    if (size > 0) {
      heapItems[0] = heapItems[size] as number;
      heapScores[0] = heapScores[size] as number;
      siftDown(0);
    }
  }
  return out;
}
