/**
 * A user x item interaction matrix in compressed sparse rows: the items of user u are
 * indices[indptr[u] .. indptr[u+1]), sorted ascending, with their ratings and timestamps.
 */
export class UserItemMatrix {
  constructor(
    readonly numUsers: number,
    readonly numItems: number,
    readonly indptr: Int32Array,
    readonly indices: Int32Array,
    readonly values: Float32Array,
    readonly timestamps: Float64Array,
  ) {
    if (indptr.length !== numUsers + 1) {
      throw new RecEvalError("indptr", `length ${indptr.length} does not match numUsers + 1 = ${numUsers + 1}`);
    }
  }

  get nnz(): number {
    return this.indices.length;
  }

  /** The user's items, ascending (a view, not a copy). */
  itemsOf(user: number): Int32Array {
    return this.indices.subarray(this.indptr[user] as number, this.indptr[user + 1] as number);
  }

  valuesOf(user: number): Float32Array {
    return this.values.subarray(this.indptr[user] as number, this.indptr[user + 1] as number);
  }

  countOf(user: number): number {
    return (this.indptr[user + 1] as number) - (this.indptr[user] as number);
  }

  has(user: number, item: number): boolean {
    let lo = this.indptr[user] as number;
    let hi = (this.indptr[user + 1] as number) - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.indices[mid] as number;
      if (v === item) return true;
      if (v < item) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /** Number of users who interacted with each item. */
  itemCounts(): Float64Array {
    const counts = new Float64Array(this.numItems);
    for (let i = 0; i < this.indices.length; i++) {
      const item = this.indices[i] as number;
      counts[item] = (counts[item] as number) + 1;
    }
    return counts;
  }

  /**
   * Builds the matrix from parallel rating arrays, keeping only the positions listed in `rows`
   * (all when omitted). A repeated (user, item) pair is an error: the protocols count each
   * rating once.
   */
  static fromRatings(
    data: Interactions,
    rows?: ArrayLike<number>,
  ): UserItemMatrix {
    const n = rows ? rows.length : data.users.length;
    const rowAt = rows ? (k: number) => rows[k] as number : (k: number) => k;
    const indptr = new Int32Array(data.numUsers + 1);
    for (let k = 0; k < n; k++) {
      const u = data.users[rowAt(k)] as number;
      if (!(u >= 0 && u < data.numUsers)) throw new RecEvalError("users", `user ${u} is outside [0, ${data.numUsers})`);
      indptr[u + 1] = (indptr[u + 1] as number) + 1;
    }
    for (let u = 0; u < data.numUsers; u++) indptr[u + 1] = (indptr[u + 1] as number) + (indptr[u] as number);
    const order = new Int32Array(n);
    const fill = indptr.slice(0, data.numUsers);
    for (let k = 0; k < n; k++) {
      const u = data.users[rowAt(k)] as number;
      order[fill[u] as number] = rowAt(k);
      fill[u] = (fill[u] as number) + 1;
    }
    const indices = new Int32Array(n);
    const values = new Float32Array(n);
    const timestamps = new Float64Array(n);
    for (let u = 0; u < data.numUsers; u++) {
      const start = indptr[u] as number;
      const end = indptr[u + 1] as number;
      const segment = Array.from(order.subarray(start, end));
      segment.sort((a, b) => (data.items[a] as number) - (data.items[b] as number));
      for (let j = 0; j < segment.length; j++) {
        const r = segment[j] as number;
        const item = data.items[r] as number;
        if (!(item >= 0 && item < data.numItems)) throw new RecEvalError("items", `item ${item} is outside [0, ${data.numItems})`);
        if (j > 0 && indices[start + j - 1] === item) {
          throw new RecEvalError("items", `user ${u} rated item ${item} more than once`);
        }
        indices[start + j] = item;
        values[start + j] = data.values[r] as number;
        timestamps[start + j] = data.timestamps[r] as number;
      }
    }
    return new UserItemMatrix(data.numUsers, data.numItems, indptr, indices, values, timestamps);
  }
}

/** The rating log the protocols split: parallel arrays over dense user and item indices. */
export interface Interactions {
  readonly numUsers: number;
  readonly numItems: number;
  readonly users: Int32Array;
  readonly items: Int32Array;
  readonly values: Float32Array;
  readonly timestamps: Float64Array;
}

export class RecEvalError extends RangeError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "RecEvalError";
  }
}
