/** Plain sort over every score: slow, obviously right, and independent of the heap under test. */
export function naiveTopK(items: Float32Array, dim: number, query: ArrayLike<number>, k: number): { rows: number[]; scores: number[] } {
  const scored: { row: number; score: number }[] = [];
  for (let row = 0; row * dim < items.length; row++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += (query[j] as number) * (items[row * dim + j] as number);
    scored.push({ row, score: s });
  }
  scored.sort((a, b) => b.score - a.score);
  const top = scored.slice(0, k);
  return { rows: top.map((t) => t.row), scores: top.map((t) => t.score) };
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += (a[j] as number) * (b[j] as number);
  return s;
}
