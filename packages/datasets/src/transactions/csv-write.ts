import type { TransactionTable } from "./table";

/** The handbook's columns first, then this project's scenario and label-availability columns. */
export const TRANSACTION_CSV_COLUMNS = [
  "TRANSACTION_ID",
  "TX_DATETIME",
  "CUSTOMER_ID",
  "TERMINAL_ID",
  "TX_AMOUNT",
  "TX_TIME_SECONDS",
  "TX_TIME_DAYS",
  "TX_FRAUD",
  "TX_FRAUD_SCENARIO",
  "TX_FRAUD_KNOWN_AT",
] as const;

export type TransactionCsvColumn = (typeof TRANSACTION_CSV_COLUMNS)[number];

/** Unix seconds as "YYYY-MM-DD HH:MM:SS" in UTC (fractions of a second are dropped). */
export function formatUtcDateTime(epochSeconds: number): string {
  const out = new AsciiBuffer(19);
  new DateTimeWriter().write(out, epochSeconds);
  return Buffer.from(out.bytes.subarray(0, out.length)).toString("latin1");
}

/**
 * Appends ASCII text to a growing byte buffer. Building a day's CSV as millions of small strings
 * costs more in garbage collection than in formatting; bytes keep the writer near 1 s per million rows.
 */
class AsciiBuffer {
  bytes: Uint8Array;
  length = 0;

  constructor(capacity: number) {
    this.bytes = new Uint8Array(Math.max(64, capacity));
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + extra));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  char(code: number): void {
    this.reserve(1);
    this.bytes[this.length++] = code;
  }

  text(s: string): void {
    this.reserve(s.length);
    for (let k = 0; k < s.length; k++) this.bytes[this.length++] = s.charCodeAt(k);
  }

  /** Shortest round-trip decimal, with a fast path for safe integers. */
  number(v: number): void {
    if (!Number.isSafeInteger(v) || Object.is(v, -0)) {
      this.text(String(v));
      return;
    }
    this.reserve(17);
    let n = v;
    if (n < 0) {
      this.bytes[this.length++] = 45;
      n = -n;
    }
    const start = this.length;
    do {
      this.bytes[this.length++] = 48 + (n % 10);
      n = Math.floor(n / 10);
    } while (n > 0);
    this.bytes.subarray(start, this.length).reverse();
  }

  twoDigits(v: number): void {
    this.reserve(2);
    this.bytes[this.length++] = 48 + Math.floor(v / 10);
    this.bytes[this.length++] = 48 + (v % 10);
  }
}

/** Writes datetimes, caching the date part (consecutive rows nearly always share a day). */
class DateTimeWriter {
  private cachedDay = Number.NaN;
  private cachedDate = "";

  write(out: AsciiBuffer, epochSeconds: number): void {
    const s = Math.floor(epochSeconds);
    const day = Math.floor(s / 86400);
    if (day !== this.cachedDay) {
      this.cachedDay = day;
      this.cachedDate = new Date(day * 86400_000).toISOString().slice(0, 10);
    }
    const rest = s - day * 86400;
    out.text(this.cachedDate);
    out.char(32);
    out.twoDigits(Math.floor(rest / 3600));
    out.char(58);
    out.twoDigits(Math.floor((rest % 3600) / 60));
    out.char(58);
    out.twoDigits(rest % 60);
  }
}

/**
 * Rows of a table as CSV bytes (ASCII, no header), each line ending in "\n". Numbers use the
 * shortest text that reads back as the same double, so a write-then-import round trip is exact.
 */
export function transactionCsvBytes(table: TransactionTable): Uint8Array {
  const out = new AsciiBuffer(table.length * 112);
  const txTime = new DateTimeWriter();
  const knownTime = new DateTimeWriter();
  const origin = table.originEpochSeconds;
  for (let i = 0; i < table.length; i++) {
    const t = table.timeSeconds[i] as number;
    out.number(table.transactionId[i] as number);
    out.char(44);
    txTime.write(out, origin + t);
    out.char(44);
    out.number(table.customerId[i] as number);
    out.char(44);
    out.number(table.terminalId[i] as number);
    out.char(44);
    out.number(table.amount[i] as number);
    out.char(44);
    out.number(t);
    out.char(44);
    out.number(table.timeDays[i] as number);
    out.char(44);
    out.number(table.fraud[i] as number);
    out.char(44);
    out.number(table.fraudScenario[i] as number);
    out.char(44);
    knownTime.write(out, origin + (table.labelKnownAt[i] as number));
    out.char(10);
  }
  return out.bytes.subarray(0, out.length);
}

/** The same rows as a string (for small tables and tests). */
export function transactionCsvLines(table: TransactionTable): string {
  return Buffer.from(transactionCsvBytes(table)).toString("latin1");
}

/** The part of a writable stream the writer needs; fs.WriteStream and process.stdout fit. */
export interface CsvSink {
  write(chunk: string | Uint8Array): boolean;
  once(event: "drain", listener: () => void): unknown;
}

/**
 * Streams tables (e.g. the days of streamTransactionDays) as one CSV with a header, waiting for
 * the sink to drain so memory stays flat. Returns the number of rows written.
 */
export async function writeTransactionsCsv(
  tables: Iterable<TransactionTable>,
  sink: CsvSink,
  onTable?: (rowsSoFar: number) => void,
): Promise<number> {
  let rows = 0;
  const write = async (chunk: string | Uint8Array): Promise<void> => {
    if (!sink.write(chunk)) await new Promise<void>((resolve) => sink.once("drain", resolve));
  };
  await write(`${TRANSACTION_CSV_COLUMNS.join(",")}\n`);
  for (const table of tables) {
    await write(transactionCsvBytes(table));
    rows += table.length;
    onTable?.(rows);
  }
  return rows;
}
