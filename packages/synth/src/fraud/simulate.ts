import type { Rng } from "@mlsd/random";
import { TransactionTableBuilder, emptyTransactionTable, transactionAt } from "@mlsd/datasets";
import type { Transaction, TransactionTable } from "@mlsd/datasets";
import { scenariosOnDay, worldRngs } from "./world";
import type { FraudScenarioOptions, FraudWorld } from "./world";

export const SECONDS_PER_DAY = 86400;

export const FRAUD_SCENARIO = Object.freeze({ none: 0, amount: 1, terminal: 2, customer: 3, burst: 4 });

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
export function* streamTransactionDays(world: FraudWorld): Generator<TransactionTable> {
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
      const delay =
        fraud === 1 && labelDelay.maxDays > labelDelay.minDays
          ? Math.round(rngs.labelDelay.uniform(labelDelay.minDays, labelDelay.maxDays) * SECONDS_PER_DAY)
          : fraud === 1
            ? Math.round(labelDelay.minDays * SECONDS_PER_DAY)
            : legitDelay;
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
    yield out;
  }
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
export function* iterateTransactions(world: FraudWorld): Generator<Transaction> {
  for (const day of streamTransactionDays(world)) {
    for (let i = 0; i < day.length; i++) yield transactionAt(day, i);
  }
}

export interface SimulateOptions {
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
  for (const day of streamTransactionDays(world)) {
    builder.append(day);
    options.onDay?.(++done, world.options.days);
  }
  return builder.finish();
}
