/**
 * The column form of a transaction log shared by the simulator and the CSV importer: one typed
 * array per column, rows in time order. All times are seconds since `originEpochSeconds`
 * (day 0, 00:00:00 UTC), as in the handbook's TX_TIME_SECONDS.
 */
export interface TransactionTable {
  length: number;
  originEpochSeconds: number;
  transactionId: Float64Array;
  customerId: Uint32Array;
  terminalId: Uint32Array;
  amount: Float64Array;
  timeSeconds: Float64Array;
  timeDays: Int32Array;
  fraud: Uint8Array;
  /** 0 legitimate (or fraud of unknown kind in imported data), 1 amount, 2 terminal, 3 customer. */
  fraudScenario: Uint8Array;
  /** When the label (fraud or not) becomes available, seconds since the origin; always >= timeSeconds. */
  labelKnownAt: Float64Array;
}

/** One row of a TransactionTable, for consumers that want objects (a load generator). */
export interface Transaction {
  transactionId: number;
  /** Unix seconds. */
  epochSeconds: number;
  customerId: number;
  terminalId: number;
  amount: number;
  timeSeconds: number;
  timeDays: number;
  fraud: number;
  fraudScenario: number;
  labelKnownAt: number;
}

type ColumnName = Exclude<keyof TransactionTable, "length" | "originEpochSeconds">;

const COLUMN_TYPES = {
  transactionId: Float64Array,
  customerId: Uint32Array,
  terminalId: Uint32Array,
  amount: Float64Array,
  timeSeconds: Float64Array,
  timeDays: Int32Array,
  fraud: Uint8Array,
  fraudScenario: Uint8Array,
  labelKnownAt: Float64Array,
} as const;

export const TRANSACTION_COLUMNS = Object.keys(COLUMN_TYPES) as ColumnName[];

export function emptyTransactionTable(length: number, originEpochSeconds: number): TransactionTable {
  return {
    length,
    originEpochSeconds,
    transactionId: new Float64Array(length),
    customerId: new Uint32Array(length),
    terminalId: new Uint32Array(length),
    amount: new Float64Array(length),
    timeSeconds: new Float64Array(length),
    timeDays: new Int32Array(length),
    fraud: new Uint8Array(length),
    fraudScenario: new Uint8Array(length),
    labelKnownAt: new Float64Array(length),
  };
}

export function transactionAt(table: TransactionTable, i: number): Transaction {
  if (!(i >= 0 && i < table.length)) throw new RangeError(`row ${i} is outside the table of ${table.length} rows`);
  const timeSeconds = table.timeSeconds[i] as number;
  return {
    transactionId: table.transactionId[i] as number,
    epochSeconds: table.originEpochSeconds + timeSeconds,
    customerId: table.customerId[i] as number,
    terminalId: table.terminalId[i] as number,
    amount: table.amount[i] as number,
    timeSeconds,
    timeDays: table.timeDays[i] as number,
    fraud: table.fraud[i] as number,
    fraudScenario: table.fraudScenario[i] as number,
    labelKnownAt: table.labelKnownAt[i] as number,
  };
}

/** Rows [start, end) as a table whose columns are views on the same memory. */
export function sliceTransactionTable(table: TransactionTable, start: number, end: number): TransactionTable {
  const s = Math.max(0, Math.min(start, table.length));
  const e = Math.max(s, Math.min(end, table.length));
  const out = { length: e - s, originEpochSeconds: table.originEpochSeconds } as TransactionTable;
  for (const name of TRANSACTION_COLUMNS) (out as unknown as Record<ColumnName, unknown>)[name] = table[name].subarray(s, e);
  return out;
}

/** Appends rows or whole tables, growing the columns geometrically; `finish()` trims them. */
export class TransactionTableBuilder {
  private table: TransactionTable;
  private size = 0;

  constructor(originEpochSeconds: number, initialCapacity = 1024) {
    this.table = emptyTransactionTable(Math.max(1, initialCapacity), originEpochSeconds);
  }

  get length(): number {
    return this.size;
  }

  push(row: Omit<Transaction, "epochSeconds">): void {
    this.reserve(this.size + 1);
    const i = this.size++;
    const t = this.table;
    t.transactionId[i] = row.transactionId;
    t.customerId[i] = row.customerId;
    t.terminalId[i] = row.terminalId;
    t.amount[i] = row.amount;
    t.timeSeconds[i] = row.timeSeconds;
    t.timeDays[i] = row.timeDays;
    t.fraud[i] = row.fraud;
    t.fraudScenario[i] = row.fraudScenario;
    t.labelKnownAt[i] = row.labelKnownAt;
  }

  append(rows: TransactionTable): void {
    if (rows.originEpochSeconds !== this.table.originEpochSeconds) {
      throw new RangeError(`originEpochSeconds ${rows.originEpochSeconds} differs from the builder's ${this.table.originEpochSeconds}`);
    }
    this.reserve(this.size + rows.length);
    for (const name of TRANSACTION_COLUMNS) {
      (this.table[name] as Float64Array).set(rows[name].subarray(0, rows.length) as Float64Array, this.size);
    }
    this.size += rows.length;
  }

  finish(): TransactionTable {
    const out = emptyTransactionTable(this.size, this.table.originEpochSeconds);
    for (const name of TRANSACTION_COLUMNS) (out[name] as Float64Array).set(this.table[name].subarray(0, this.size) as Float64Array);
    return out;
  }

  private reserve(needed: number): void {
    const capacity = this.table.length;
    if (needed <= capacity) return;
    const grown = emptyTransactionTable(Math.max(needed, capacity * 2), this.table.originEpochSeconds);
    for (const name of TRANSACTION_COLUMNS) (grown[name] as Float64Array).set(this.table[name].subarray(0, this.size) as Float64Array);
    this.table = grown;
  }
}
