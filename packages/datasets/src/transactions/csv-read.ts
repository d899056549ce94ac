import { createReadStream } from "node:fs";
import { splitCsvLine } from "../csv";
import { TRANSACTION_COLUMNS, TransactionTableBuilder, emptyTransactionTable, type TransactionTable } from "./table";

/**
 * Reads a transaction log in the handbook's CSV layout (Le Borgne et al.) into the column form the
 * fraud simulator produces, so the pipeline runs on data this project did not generate. Streams
 * the file; 1.75 M rows take a few seconds and about 90 MB.
 *
 * Required columns: TRANSACTION_ID, TX_DATETIME, CUSTOMER_ID, TERMINAL_ID, TX_AMOUNT, TX_FRAUD.
 * Optional: TX_TIME_SECONDS, TX_TIME_DAYS, TX_FRAUD_SCENARIO, TX_FRAUD_KNOWN_AT. Other columns are
 * ignored and the order is free. Datetimes are "YYYY-MM-DD HH:MM:SS" in UTC.
 */

export const REQUIRED_TRANSACTION_COLUMNS = ["TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT", "TX_FRAUD"] as const;
export const OPTIONAL_TRANSACTION_COLUMNS = ["TX_TIME_SECONDS", "TX_TIME_DAYS", "TX_FRAUD_SCENARIO", "TX_FRAUD_KNOWN_AT"] as const;

type KnownColumn = (typeof REQUIRED_TRANSACTION_COLUMNS)[number] | (typeof OPTIONAL_TRANSACTION_COLUMNS)[number];

/** A bad file or row; `line` is 1-based (the header is line 1), `column` the CSV column name. */
export class TransactionCsvError extends Error {
  constructor(
    readonly line: number,
    readonly column: string | undefined,
    message: string,
    readonly source = "csv",
  ) {
    super(`${source}:${line}${column ? ` ${column}` : ""}: ${message}`);
    this.name = "TransactionCsvError";
  }
}

export interface ImportTransactionsOptions {
  /**
   * When the file has no TX_FRAUD_KNOWN_AT (or a row leaves it empty), labels are taken to be
   * known this many days after the transaction: the handbook's 7-day delay period by default.
   */
  labelDelayDays?: number;
  /** Called about every 64k rows with the rows read so far (drives a progress bar). */
  onRows?: (rows: number) => void;
  /** Name used in error messages (the path, for importTransactionsCsv). */
  sourceName?: string;
}

const SECONDS_PER_DAY = 86400;

/** Streams a CSV file from any path. */
export async function importTransactionsCsv(path: string, options: ImportTransactionsOptions = {}): Promise<TransactionTable> {
  const stream = createReadStream(path, { encoding: "utf8", highWaterMark: 1 << 20 });
  return readTransactionsCsv(stream, { sourceName: path, ...options });
}

/** Parses CSV text arriving in chunks of any size (a file stream, an HTTP body, an array of strings). */
export async function readTransactionsCsv(
  chunks: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
  options: ImportTransactionsOptions = {},
): Promise<TransactionTable> {
  const parser = new TransactionCsvParser(options);
  const decoder = new TextDecoder("utf-8");
  let carry = "";
  for await (const chunk of chunks) {
    const text = carry + (typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true }));
    let start = 0;
    for (let nl = text.indexOf("\n", start); nl !== -1; nl = text.indexOf("\n", start)) {
      parser.line(text.slice(start, nl));
      start = nl + 1;
    }
    carry = text.slice(start);
  }
  carry += decoder.decode();
  if (carry.length > 0) parser.line(carry);
  return parser.finish();
}

interface Row {
  transactionId: number;
  customerId: number;
  terminalId: number;
  amount: number;
  timeSeconds: number;
  timeDays: number;
  fraud: number;
  fraudScenario: number;
  labelKnownAt: number;
}

class TransactionCsvParser {
  private lineNo = 0;
  private header: string[] | undefined;
  private readonly index = new Map<KnownColumn, number>();
  /** The same positions as a plain object (-1 when absent): a property read per field is cheaper than a Map lookup. */
  private readonly position = Object.fromEntries(
    [...REQUIRED_TRANSACTION_COLUMNS, ...OPTIONAL_TRANSACTION_COLUMNS].map((c) => [c, -1]),
  ) as Record<KnownColumn, number>;
  private fields: string[] = [];
  /** The trimmed value of a known column in the current row; undefined if the file lacks the column. */
  private readonly field = (name: KnownColumn): string | undefined => {
    const i = this.position[name];
    if (i < 0) return undefined;
    const v = this.fields[i] as string;
    return v.length > 0 && (v.charCodeAt(0) <= 32 || v.charCodeAt(v.length - 1) <= 32) ? v.trim() : v;
  };
  private readonly builder = new TransactionTableBuilder(0, 1 << 16);
  private readonly row: Row = { transactionId: 0, customerId: 0, terminalId: 0, amount: 0, timeSeconds: 0, timeDays: 0, fraud: 0, fraudScenario: 0, labelKnownAt: 0 };
  /** Days are checked against TX_TIME_SECONDS once the origin is known. */
  private readonly givenDays: number[] = [];
  private readonly givenDayLines: number[] = [];
  private origin: number | undefined;
  private minEpoch = Infinity;
  private sorted = true;
  private lastEpoch = -Infinity;
  private readonly labelDelay: number;
  private readonly source: string;

  constructor(private readonly options: ImportTransactionsOptions) {
    const days = options.labelDelayDays ?? 7;
    if (!(days >= 0) || !Number.isFinite(days)) throw new RangeError(`labelDelayDays: must be a finite number >= 0, got ${days}`);
    this.labelDelay = Math.round(days * SECONDS_PER_DAY);
    this.source = options.sourceName ?? "csv";
  }

  private error(column: string | undefined, message: string): TransactionCsvError {
    return new TransactionCsvError(this.lineNo, column, message, this.source);
  }

  line(raw: string): void {
    this.lineNo++;
    const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (this.header === undefined) {
      this.readHeader(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
      return;
    }
    if (text.length === 0) return;
    const fields = splitCsvLine(text);
    const header = this.header;
    if (fields === undefined) throw this.error(undefined, "unterminated quoted field");
    if (fields.length !== header.length) throw this.error(undefined, `expected ${header.length} fields, found ${fields.length}`);
    this.fields = fields;
    const field = this.field;
    const row = this.row;
    row.transactionId = this.integer("TRANSACTION_ID", field("TRANSACTION_ID"), Number.MAX_SAFE_INTEGER);
    row.customerId = this.integer("CUSTOMER_ID", field("CUSTOMER_ID"), 0xffffffff);
    row.terminalId = this.integer("TERMINAL_ID", field("TERMINAL_ID"), 0xffffffff);
    row.amount = this.number("TX_AMOUNT", field("TX_AMOUNT"));
    const fraud = this.number("TX_FRAUD", field("TX_FRAUD"));
    if (fraud !== 0 && fraud !== 1) throw this.error("TX_FRAUD", `must be 0 or 1, got "${field("TX_FRAUD")}"`);
    row.fraud = fraud;
    const scenarioText = field("TX_FRAUD_SCENARIO");
    row.fraudScenario = scenarioText === undefined || scenarioText === "" ? 0 : this.integer("TX_FRAUD_SCENARIO", scenarioText, 255);
    if (row.fraudScenario > 0 && fraud === 0) throw this.error("TX_FRAUD_SCENARIO", `scenario ${row.fraudScenario} on a legitimate transaction`);

    const epoch = this.dateTime("TX_DATETIME", field("TX_DATETIME"));
    const secondsText = field("TX_TIME_SECONDS");
    if (secondsText !== undefined) {
      const seconds = this.number("TX_TIME_SECONDS", secondsText);
      const origin = epoch - seconds;
      if (this.origin === undefined) this.origin = origin;
      else if (Math.abs(origin - this.origin) >= 1) {
        throw this.error("TX_TIME_SECONDS", `${seconds} puts day 0 at ${origin} (unix s), earlier rows at ${this.origin}: it disagrees with TX_DATETIME`);
      }
    }
    const daysText = field("TX_TIME_DAYS");
    if (daysText !== undefined) {
      this.givenDays.push(this.integer("TX_TIME_DAYS", daysText, 0x7fffffff));
      this.givenDayLines.push(this.lineNo);
    }

    const knownText = field("TX_FRAUD_KNOWN_AT");
    const knownAt = knownText === undefined || knownText === "" ? epoch + this.labelDelay : this.dateTime("TX_FRAUD_KNOWN_AT", knownText);
    if (knownAt < epoch) throw this.error("TX_FRAUD_KNOWN_AT", `label known at ${knownText}, before the transaction at ${field("TX_DATETIME")}`);

    // Times are kept as unix seconds until the origin is settled in finish().
    row.timeSeconds = epoch;
    row.labelKnownAt = knownAt;
    row.timeDays = 0;
    if (epoch < this.lastEpoch) this.sorted = false;
    this.lastEpoch = epoch;
    if (epoch < this.minEpoch) this.minEpoch = epoch;
    this.builder.push(row);
    if (this.builder.length % 65536 === 0) this.options.onRows?.(this.builder.length);
  }

  private readHeader(text: string): void {
    const names = splitCsvLine(text);
    if (names === undefined || text.trim() === "") throw this.error(undefined, "missing header line");
    this.header = names.map((n) => n.trim());
    const known = new Set<string>([...REQUIRED_TRANSACTION_COLUMNS, ...OPTIONAL_TRANSACTION_COLUMNS]);
    this.header.forEach((name, i) => {
      const upper = name.toUpperCase();
      if (!known.has(upper)) return;
      if (this.index.has(upper as KnownColumn)) throw this.error(name, "appears twice in the header");
      this.index.set(upper as KnownColumn, i);
      this.position[upper as KnownColumn] = i;
    });
    const missing = REQUIRED_TRANSACTION_COLUMNS.filter((c) => !this.index.has(c));
    if (missing.length > 0) throw this.error(missing[0], `missing required column(s) ${missing.join(", ")}; header is "${text}"`);
  }

  private number(column: KnownColumn, text: string | undefined): number {
    const v = text === undefined || text === "" ? Number.NaN : Number(text);
    if (!Number.isFinite(v)) throw this.error(column, `expected a number, got "${text ?? ""}"`);
    return v;
  }

  private integer(column: KnownColumn, text: string | undefined, max: number): number {
    const v = this.number(column, text);
    if (!Number.isInteger(v) || v < 0 || v > max) throw this.error(column, `expected an integer in [0, ${max}], got "${text}"`);
    return v;
  }

  private dateTime(column: KnownColumn, text: string | undefined): number {
    const v = text === undefined ? Number.NaN : parseUtcDateTime(text);
    if (Number.isNaN(v)) throw this.error(column, `expected "YYYY-MM-DD HH:MM:SS", got "${text ?? ""}"`);
    return v;
  }

  finish(): TransactionTable {
    if (this.header === undefined) throw new TransactionCsvError(1, undefined, "empty file: no header line", this.source);
    const raw = this.builder.finish();
    const n = raw.length;
    const origin = this.origin ?? (n === 0 ? 0 : Math.floor(this.minEpoch / SECONDS_PER_DAY) * SECONDS_PER_DAY);
    let table: TransactionTable = { ...raw, originEpochSeconds: origin };
    for (let i = 0; i < n; i++) {
      const seconds = (table.timeSeconds[i] as number) - origin;
      table.timeSeconds[i] = seconds;
      table.labelKnownAt[i] = (table.labelKnownAt[i] as number) - origin;
      const day = Math.floor(seconds / SECONDS_PER_DAY);
      const given = this.givenDays[i];
      if (given !== undefined && given !== day) {
        throw new TransactionCsvError(this.givenDayLines[i] as number, "TX_TIME_DAYS", `${given} but TX_TIME_SECONDS ${seconds} is in day ${day}`, this.source);
      }
      table.timeDays[i] = day;
    }
    if (!this.sorted) table = sortByTime(table);
    return table;
  }
}

/** Stable reorder by time, for files that are not in time order. */
function sortByTime(table: TransactionTable): TransactionTable {
  const order = Array.from({ length: table.length }, (_, i) => i);
  order.sort((a, b) => (table.timeSeconds[a] as number) - (table.timeSeconds[b] as number));
  const out = emptyTransactionTable(table.length, table.originEpochSeconds);
  for (const name of TRANSACTION_COLUMNS) {
    const from = table[name];
    const to = out[name];
    for (let k = 0; k < order.length; k++) to[k] = from[order[k] as number] as number;
  }
  return out;
}

const digit = (s: string, i: number): number => {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : Number.NaN;
};

/** "YYYY-MM-DD HH:MM:SS" (or with "T") in UTC to unix seconds; NaN if malformed or not a real date. */
export function parseUtcDateTime(text: string): number {
  if (text.length !== 19 || text[4] !== "-" || text[7] !== "-" || (text[10] !== " " && text[10] !== "T") || text[13] !== ":" || text[16] !== ":") {
    return Number.NaN;
  }
  const year = digit(text, 0) * 1000 + digit(text, 1) * 100 + digit(text, 2) * 10 + digit(text, 3);
  const month = digit(text, 5) * 10 + digit(text, 6);
  const day = digit(text, 8) * 10 + digit(text, 9);
  const hour = digit(text, 11) * 10 + digit(text, 12);
  const minute = digit(text, 14) * 10 + digit(text, 15);
  const second = digit(text, 17) * 10 + digit(text, 18);
  // Date.UTC maps years 0-99 to 1900-1999, and such dates are not transaction times anyway.
  if (!(year >= 1000 && month >= 1 && month <= 12 && day >= 1 && hour <= 23 && minute <= 59 && second <= 59)) return Number.NaN;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 2018-02-30 over to March; a real date comes back with the same day of month.
  if (new Date(ms).getUTCDate() !== day) return Number.NaN;
  return ms / 1000;
}
