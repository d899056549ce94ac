/** The first `k` entries of each row of a rows x kMax list matrix, as a rows x k matrix. */
export function prefixLists(lists: Int32Array, kMax: number, k: number): Int32Array {
  if (!(Number.isInteger(k) && k > 0 && k <= kMax)) throw new RangeError(`k must be an integer in [1, ${kMax}], got ${k}`);
  if (lists.length % kMax !== 0) throw new RangeError(`lists length ${lists.length} is not a multiple of ${kMax}`);
  if (k === kMax) return lists;
  const rows = lists.length / kMax;
  const out = new Int32Array(rows * k);
  for (let r = 0; r < rows; r++) out.set(lists.subarray(r * kMax, r * kMax + k), r * k);
  return out;
}
