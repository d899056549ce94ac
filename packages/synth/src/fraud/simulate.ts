import { Rng } from "@mlsd/random";
import { TransactionTableBuilder, emptyTransactionTable, transactionAt } from "@mlsd/datasets";
import type { Transaction, TransactionTable } from "@mlsd/datasets";
import { FraudWorldOptionsError, scenariosOnDay, worldRngs } from "./world";
import type { FraudScenarioOptions, FraudWorld } from "./world";

export const SECONDS_PER_DAY = 86400;

/**
 * Fraud scenarios: the handbook's three; fast attacks on a customer's own card (a regime option,
 * off in the handbook's world); card testing (a drift hook, never in the default world).
 */
export const FRAUD_SCENARIO = Object.freeze({ none: 0, amount: 1, terminal: 2, customer: 3, burst: 4, cardTesting: 5 });

/**
 * A new fraud pattern from a point in world time on (seconds since the world's origin):
 * - card-testing: stolen cards are tried with bursts of small amounts at one merchant within
 *   minutes (a pattern the handbook's world never shows: velocity and amount features move);
 * - terminal-wave: many terminals are compromised at once (scenario 2, far more of it), from the
 *   first day that starts at or after `startSeconds`.
 * Each hook draws from its own seed, so the world's own transactions stay exactly the same.
 */
export type FraudDrift =
  | {
      readonly kind: "card-testing";
      readonly startSeconds: number;
      /** Cards tested per day (Poisson). */
      readonly cardsPerDay: number;
      /** Transactions per burst, uniform in [min, max]. */
      readonly burst?: { readonly min: number; readonly max: number };
      /** Amount of each test, uniform in [min, max]. */
      readonly amount?: { readonly min: number; readonly max: number };
      /** A burst's transactions are spread over this many minutes. */
      readonly spreadMinutes?: number;
      readonly seed?: number;
    }
  | { readonly kind: "terminal-wave"; readonly startSeconds: number; readonly terminals: number; readonly days: number; readonly seed?: number };

export interface StreamOptions {
  /** New fraud patterns; none by default (the handbook's world). */
  drift?: readonly FraudDrift[];
}

/** Ids of injected transactions start here, so the world's own transactions keep their ids. */
export const DRIFT_TRANSACTION_ID_BASE = 1e12;

/** One simulated day before labelling: rows sorted by time of day. */
interface RawDay {
  length: number;
  customer: Uint32Array;
  terminal: Uint32Array;
  timeOfDay: Int32Array;
  amount: Float64Array;
  /** Set by scenario 3, possibly from a compromise that started on an earlier day. */
  customerFraud: Uint8Array;
  /** Rows of a scenario-4 fast attack. */
  burst?: Uint8Array;
}

const round2 = (v: number): number => Math.round(v * 100) / 100;

function emptyRawDay(n: number): RawDay {
  return {
    length: n,
    customer: new Uint32Array(n),
    terminal: new Uint32Array(n),
    timeOfDay: new Int32Array(n),
    amount: new Float64Array(n),
    customerFraud: new Uint8Array(n),
  };
}

/** An amount drawn like the customer's own: normal, redrawn uniformly when negative (as the handbook). */
function customerAmount(rng: Rng, mean: number, std: number): number {
  const a = rng.normal(mean, std);
  return a < 0 ? rng.uniform(0, 2 * mean) : a;
}

function simulateRawDay(world: FraudWorld, rng: Rng): RawDay {
  const c = world.customers;
  const customer: number[] = [];
  const terminal: number[] = [];
  const timeOfDay: number[] = [];
  const amount: number[] = [];
  for (let i = 0; i < c.count; i++) {
    const first = c.terminalOffsets[i] as number;
    const available = (c.terminalOffsets[i + 1] as number) - first;
    if (available === 0) continue;
    const count = rng.poisson(c.meanTxPerDay[i] as number);
    const mean = c.meanAmount[i] as number;
    const std = c.stdAmount[i] as number;
    for (let k = 0; k < count; k++) {
      const t = Math.floor(rng.normal(SECONDS_PER_DAY / 2, 20000));
      if (t < 0 || t >= SECONDS_PER_DAY) continue;
      const a = customerAmount(rng, mean, std);
      customer.push(i);
      terminal.push(c.terminalIds[first + rng.int(available)] as number);
      timeOfDay.push(t);
      amount.push(round2(a));
    }
  }
  const n = customer.length;
  const order = Array.from({ length: n }, (_, i) => i);
  // Array.prototype.sort is stable, so equal times keep customer order and the output is reproducible.
  order.sort((a, b) => (timeOfDay[a] as number) - (timeOfDay[b] as number));
  const day = emptyRawDay(n);
  for (let r = 0; r < n; r++) {
    const i = order[r] as number;
    day.customer[r] = customer[i] as number;
    day.terminal[r] = terminal[i] as number;
    day.timeOfDay[r] = timeOfDay[i] as number;
    day.amount[r] = amount[i] as number;
  }
  return day;
}

/**
 * The world's transactions one day at a time, in time order, labelled. Memory stays bounded by the
 * scenario-3 window (14 days): a compromised customer's fraudulent third is drawn from the whole
 * window at once, as the handbook does, so those days are simulated before the first is emitted.
 * Scenarios are applied in the handbook's order, each overriding the previous: 1 (amount), 2
 * (terminal), 3 (customer).
 */
export function* streamTransactionDays(world: FraudWorld, options: StreamOptions = {}): Generator<TransactionTable> {
  const { days, labelDelay } = world.options;
  const scenarioOf = Array.from({ length: days }, (_, d) => scenariosOnDay(world.options, d));
  // Scenario 3 draws from the days ahead, so simulate as far ahead as the longest window in force.
  const lookahead = Math.max(...scenarioOf.map((s) => s.customerCompromiseDays));
  const rngs = worldRngs(world.options.seed);
  const compromisedUntil = new Int32Array(world.terminals.count);
  const selectedCustomer = new Uint8Array(world.customers.count);
  const pending: RawDay[] = [];
  let simulatedDays = 0;
  let nextId = 0;
  const legitDelay = Math.round(labelDelay.maxDays * SECONDS_PER_DAY);
  const drifts = (options.drift ?? []).map((d, i) => startDrift(world, d, i));
  let nextDriftId = DRIFT_TRANSACTION_ID_BASE;

  for (let day = 0; day < days; day++) {
    const scenarios = scenarioOf[day] as FraudScenarioOptions;
    const horizon = Math.min(days, day + lookahead);
    while (simulatedDays < horizon) {
      pending.push(simulateRawDay(world, rngs.transactions));
      simulatedDays++;
    }
    // The handbook starts compromises on days 0 .. last day - 1 (range(max TX_TIME_DAYS)).
    if (day < days - 1) {
      for (const t of rngs.terminalCompromise.sampleIndices(world.terminals.count, scenarios.terminalsPerDay)) {
        compromisedUntil[t] = Math.max(compromisedUntil[t] as number, day + scenarios.terminalCompromiseDays);
      }
      compromiseCustomers(world, scenarios, rngs.customerCompromise, pending, selectedCustomer);
    }
    for (const d of drifts) if (d.spec.kind === "terminal-wave") waveOfCompromises(world, d, day, compromisedUntil);

    const shifted = pending.shift() as RawDay;
    const raw = scenarios.burstCardsPerDay > 0 ? withFastAttacks(world, scenarios, rngs.burst, shifted) : shifted;
    const out = emptyTransactionTable(raw.length, world.originEpochSeconds);
    for (let r = 0; r < raw.length; r++) {
      const timeSeconds = day * SECONDS_PER_DAY + (raw.timeOfDay[r] as number);
      const amount = raw.amount[r] as number;
      const terminal = raw.terminal[r] as number;
      let scenario: number = FRAUD_SCENARIO.none;
      if (raw.burst !== undefined && raw.burst[r] === 1) scenario = FRAUD_SCENARIO.burst;
      else if (raw.customerFraud[r] === 1) scenario = FRAUD_SCENARIO.customer;
      else if ((compromisedUntil[terminal] as number) > day) scenario = FRAUD_SCENARIO.terminal;
      else if (amount > scenarios.amountThreshold) scenario = FRAUD_SCENARIO.amount;
      const fraud = scenario === FRAUD_SCENARIO.none ? 0 : 1;
      const delay = fraud === 1 ? fraudLabelDelaySeconds(labelDelay, rngs.labelDelay) : legitDelay;
      out.transactionId[r] = nextId++;
      out.customerId[r] = raw.customer[r] as number;
      out.terminalId[r] = terminal;
      out.amount[r] = amount;
      out.timeSeconds[r] = timeSeconds;
      out.timeDays[r] = day;
      out.fraud[r] = fraud;
      out.fraudScenario[r] = scenario;
      out.labelKnownAt[r] = timeSeconds + delay;
    }
    const injected = drifts.flatMap((d) => (d.spec.kind === "card-testing" ? cardTestingBursts(world, d as ActiveDrift<"card-testing">, day) : []));
    if (injected.length === 0) {
      yield out;
      continue;
    }
    injected.sort((a, b) => a.timeSeconds - b.timeSeconds);
    const merged = emptyTransactionTable(out.length + injected.length, world.originEpochSeconds);
    let i = 0;
    let j = 0;
    for (let r = 0; r < merged.length; r++) {
      // Ties keep the world's own transaction first.
      if (j >= injected.length || (i < out.length && (out.timeSeconds[i] as number) <= (injected[j] as InjectedTransaction).timeSeconds)) {
        copyRow(out, i++, merged, r);
        continue;
      }
      const tx = injected[j++] as InjectedTransaction;
      const delay = fraudLabelDelaySeconds(labelDelay, tx.rng);
      merged.transactionId[r] = nextDriftId++;
      merged.customerId[r] = tx.customer;
      merged.terminalId[r] = tx.terminal;
      merged.amount[r] = tx.amount;
      merged.timeSeconds[r] = tx.timeSeconds;
      merged.timeDays[r] = day;
      merged.fraud[r] = 1;
      merged.fraudScenario[r] = FRAUD_SCENARIO.cardTesting;
      merged.labelKnownAt[r] = tx.timeSeconds + delay;
    }
    yield merged;
  }
}

interface ActiveDrift<K extends FraudDrift["kind"] = FraudDrift["kind"]> {
  spec: Extract<FraudDrift, { kind: K }>;
  rng: Rng;
}

interface InjectedTransaction {
  customer: number;
  terminal: number;
  amount: number;
  timeSeconds: number;
  rng: Rng;
}

function startDrift(world: FraudWorld, spec: FraudDrift, index: number): ActiveDrift {
  const field = (name: string) => `drift[${index}].${name}`;
  if (!Number.isFinite(spec.startSeconds)) throw new FraudWorldOptionsError(field("startSeconds"), `must be finite, got ${spec.startSeconds}`);
  if (spec.kind === "card-testing") {
    if (!(spec.cardsPerDay >= 0) || !Number.isFinite(spec.cardsPerDay)) throw new FraudWorldOptionsError(field("cardsPerDay"), `must be >= 0, got ${spec.cardsPerDay}`);
    const burst = spec.burst ?? CARD_TESTING_DEFAULTS.burst;
    if (!Number.isInteger(burst.min) || burst.min < 1 || !Number.isInteger(burst.max) || burst.max < burst.min) {
      throw new FraudWorldOptionsError(field("burst"), `needs integers 1 <= min <= max, got ${burst.min}-${burst.max}`);
    }
    const amount = spec.amount ?? CARD_TESTING_DEFAULTS.amount;
    if (!(amount.min >= 0) || !(amount.max >= amount.min)) throw new FraudWorldOptionsError(field("amount"), `needs 0 <= min <= max, got ${amount.min}-${amount.max}`);
    const spread = spec.spreadMinutes ?? CARD_TESTING_DEFAULTS.spreadMinutes;
    if (!(spread > 0) || !Number.isFinite(spread)) throw new FraudWorldOptionsError(field("spreadMinutes"), `must be positive, got ${spread}`);
  } else if (spec.kind === "terminal-wave") {
    if (!Number.isInteger(spec.terminals) || spec.terminals < 1 || spec.terminals > world.terminals.count) {
      throw new FraudWorldOptionsError(field("terminals"), `must be an integer in [1, ${world.terminals.count}], got ${spec.terminals}`);
    }
    if (!Number.isInteger(spec.days) || spec.days < 1) throw new FraudWorldOptionsError(field("days"), `must be a positive integer, got ${spec.days}`);
  } else {
    throw new FraudWorldOptionsError(field("kind"), `unknown drift '${(spec as { kind: string }).kind}'`);
  }
  return { spec, rng: new Rng(spec.seed ?? world.options.seed * 7919 + 104_729 + index) };
}

export const CARD_TESTING_DEFAULTS = Object.freeze({
  burst: Object.freeze({ min: 8, max: 30 }),
  amount: Object.freeze({ min: 0.5, max: 5 }),
  spreadMinutes: 20,
});

function waveOfCompromises(world: FraudWorld, drift: ActiveDrift, day: number, compromisedUntil: Int32Array): void {
  const spec = drift.spec as Extract<FraudDrift, { kind: "terminal-wave" }>;
  if (day !== Math.ceil(spec.startSeconds / SECONDS_PER_DAY)) return;
  for (const t of drift.rng.sampleIndices(world.terminals.count, spec.terminals)) {
    compromisedUntil[t] = Math.max(compromisedUntil[t] as number, day + spec.days);
  }
}

function cardTestingBursts(world: FraudWorld, drift: ActiveDrift<"card-testing">, day: number): InjectedTransaction[] {
  const spec = drift.spec;
  const dayStart = day * SECONDS_PER_DAY;
  const dayEnd = dayStart + SECONDS_PER_DAY;
  const from = Math.max(dayStart, spec.startSeconds);
  if (from >= dayEnd) return [];
  const rng = drift.rng;
  const burst = spec.burst ?? CARD_TESTING_DEFAULTS.burst;
  const amount = spec.amount ?? CARD_TESTING_DEFAULTS.amount;
  const spread = (spec.spreadMinutes ?? CARD_TESTING_DEFAULTS.spreadMinutes) * 60;
  const out: InjectedTransaction[] = [];
  const bursts = rng.poisson((spec.cardsPerDay * (dayEnd - from)) / SECONDS_PER_DAY);
  for (let b = 0; b < bursts; b++) {
    const customer = rng.int(world.customers.count);
    const terminal = rng.int(world.terminals.count);
    const start = rng.uniform(from, dayEnd);
    const n = burst.min + rng.int(burst.max - burst.min + 1);
    for (let k = 0; k < n; k++) {
      const timeSeconds = Math.min(dayEnd - 1, Math.floor(start + rng.uniform(0, spread)));
      out.push({ customer, terminal, amount: round2(rng.uniform(amount.min, amount.max)), timeSeconds, rng });
    }
  }
  return out;
}

function fraudLabelDelaySeconds(labelDelay: FraudWorld["options"]["labelDelay"], rng: Rng): number {
  return labelDelay.maxDays > labelDelay.minDays
    ? Math.round(rng.uniform(labelDelay.minDays, labelDelay.maxDays) * SECONDS_PER_DAY)
    : Math.round(labelDelay.minDays * SECONDS_PER_DAY);
}

function copyRow(from: TransactionTable, i: number, to: TransactionTable, r: number): void {
  to.transactionId[r] = from.transactionId[i] as number;
  to.customerId[r] = from.customerId[i] as number;
  to.terminalId[r] = from.terminalId[i] as number;
  to.amount[r] = from.amount[i] as number;
  to.timeSeconds[r] = from.timeSeconds[i] as number;
  to.timeDays[r] = from.timeDays[i] as number;
  to.fraud[r] = from.fraud[i] as number;
  to.fraudScenario[r] = from.fraudScenario[i] as number;
  to.labelKnownAt[r] = from.labelKnownAt[i] as number;
}

/**
 * Scenario 4 for one day: each attacked card makes its burst of payments at its owner's terminals
 * and usual amounts, all within `burstMinutes`; the rows join the day in time order.
 */
function withFastAttacks(world: FraudWorld, s: FraudScenarioOptions, rng: Rng, raw: RawDay): RawDay {
  const c = world.customers;
  const span = s.burstMinutes * 60;
  const rows: { customer: number; terminal: number; time: number; amount: number }[] = [];
  for (const i of rng.sampleIndices(c.count, s.burstCardsPerDay)) {
    const first = c.terminalOffsets[i] as number;
    const available = (c.terminalOffsets[i + 1] as number) - first;
    if (available === 0) continue;
    const start = rng.uniform(0, SECONDS_PER_DAY - span);
    for (let k = 0; k < s.burstTransactions; k++) {
      rows.push({
        customer: i,
        terminal: c.terminalIds[first + rng.int(available)] as number,
        time: Math.floor(start + rng.uniform(0, span)),
        amount: round2(customerAmount(rng, c.meanAmount[i] as number, c.stdAmount[i] as number)),
      });
    }
  }
  const n = raw.length + rows.length;
  const order = Array.from({ length: n }, (_, k) => k);
  const timeOf = (k: number): number => (k < raw.length ? (raw.timeOfDay[k] as number) : (rows[k - raw.length] as { time: number }).time);
  order.sort((a, b) => timeOf(a) - timeOf(b));
  const burst = new Uint8Array(n);
  const out: RawDay = { ...emptyRawDay(n), burst };
  order.forEach((k, r) => {
    if (k < raw.length) {
      out.customer[r] = raw.customer[k] as number;
      out.terminal[r] = raw.terminal[k] as number;
      out.timeOfDay[r] = raw.timeOfDay[k] as number;
      out.amount[r] = raw.amount[k] as number;
      out.customerFraud[r] = raw.customerFraud[k] as number;
    } else {
      const row = rows[k - raw.length] as (typeof rows)[number];
      out.customer[r] = row.customer;
      out.terminal[r] = row.terminal;
      out.timeOfDay[r] = row.time;
      out.amount[r] = row.amount;
      burst[r] = 1;
    }
  });
  return out;
}

/** Scenario 3 for one day: pick customers, then a fixed share of their pooled window transactions. */
function compromiseCustomers(world: FraudWorld, s: FraudScenarioOptions, rng: Rng, window: RawDay[], selected: Uint8Array): void {
  if (s.customersPerDay === 0) return;
  const chosen = rng.sampleIndices(world.customers.count, s.customersPerDay);
  for (const c of chosen) selected[c] = 1;
  const refDay: number[] = [];
  const refRow: number[] = [];
  const span = Math.min(window.length, s.customerCompromiseDays);
  for (let d = 0; d < span; d++) {
    const raw = window[d] as RawDay;
    for (let r = 0; r < raw.length; r++) {
      if (selected[raw.customer[r] as number] === 1) {
        refDay.push(d);
        refRow.push(r);
      }
    }
  }
  for (const c of chosen) selected[c] = 0;
  // int(n / 3) in the handbook; the epsilon keeps n * (1/3) from flooring below an exact integer.
  const k = Math.floor(refDay.length * s.customerFraudShare + 1e-9);
  for (const pick of rng.sampleIndices(refDay.length, k)) {
    const raw = window[refDay[pick] as number] as RawDay;
    const r = refRow[pick] as number;
    raw.amount[r] = Math.min(round2((raw.amount[r] as number) * s.customerAmountMultiplier), s.customerAmountCap);
    raw.customerFraud[r] = 1;
  }
}

/** Every transaction as an object, in time order (for a load generator replaying the world). */
export function* iterateTransactions(world: FraudWorld, options: StreamOptions = {}): Generator<Transaction> {
  for (const day of streamTransactionDays(world, options)) {
    for (let i = 0; i < day.length; i++) yield transactionAt(day, i);
  }
}

export interface SimulateOptions extends StreamOptions {
  /** Called after each simulated day (drives a progress bar). */
  onDay?: (daysDone: number, days: number) => void;
}

/** The whole log in memory as typed columns (the handbook world: 1.75 M rows, about 90 MB). */
export function simulateTransactions(world: FraudWorld, options: SimulateOptions = {}): TransactionTable {
  let meanPerDay = 0;
  for (let i = 0; i < world.customers.count; i++) meanPerDay += world.customers.meanTxPerDay[i] as number;
  const expectedRows = Math.ceil(meanPerDay * world.options.days);
  const builder = new TransactionTableBuilder(world.originEpochSeconds, Math.max(1024, expectedRows));
  let done = 0;
  for (const day of streamTransactionDays(world, options)) {
    builder.append(day);
    options.onDay?.(++done, world.options.days);
  }
  return builder.finish();
}
