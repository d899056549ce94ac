import { Rng } from "@mlsd/random";

/**
 * The customers and terminals of the transaction world, following the simulator of "Reproducible
 * Machine Learning for Credit Card Fraud Detection" (Le Borgne et al., chapter 3): entities at
 * uniform positions in a 100 x 100 square, each customer paying at the terminals within a radius.
 */

/**
 * When labels become available. A fraud label arrives with its chargeback, minDays to maxDays
 * (uniform, whole seconds) after the transaction; a legitimate label is only known once the
 * chargeback window has closed, maxDays after it. The default is the handbook's 7-day delay.
 */
export interface LabelDelayOptions {
  minDays: number;
  maxDays: number;
}

export interface FraudScenarioOptions {
  /** Scenario 1: any transaction above this amount is fraud. */
  amountThreshold: number;
  /** Scenario 2: terminals compromised each day, and for how many days (all their transactions are fraud). */
  terminalsPerDay: number;
  terminalCompromiseDays: number;
  /** Scenario 3: customers compromised each day, for how many days, what share of their window is fraud, at what amount multiple. */
  customersPerDay: number;
  customerCompromiseDays: number;
  customerFraudShare: number;
  customerAmountMultiplier: number;
  /**
   * Adapted fraudsters keep each scenario-3 amount at or under this, e.g. just below a rule's
   * limit they have learnt. Infinity (the default): no cap, as in the handbook.
   */
  customerAmountCap: number;
  /**
   * Scenario 4 (fast attack, not in the handbook): cards taken over each day; each makes
   * `burstTransactions` payments within `burstMinutes`, at its owner's terminals and amounts, so
   * only the pace gives it away. 0 (the default) switches it off.
   */
  burstCardsPerDay: number;
  burstTransactions: number;
  burstMinutes: number;
}

/** From `fromDay` on, these scenario settings replace the world's (later regimes build on earlier ones). */
export interface FraudRegime {
  fromDay: number;
  scenarios: Partial<FraudScenarioOptions>;
}

export interface FraudWorldOptions {
  seed: number;
  customers: number;
  terminals: number;
  days: number;
  /** Day 0 at 00:00:00 UTC, as YYYY-MM-DD. */
  startDate: string;
  /** A customer uses the terminals strictly closer than this. */
  radius: number;
  labelDelay: LabelDelayOptions;
  scenarios: FraudScenarioOptions;
  /** A world that changes over time: scenario settings by day (empty: the same every day). */
  regimes: readonly FraudRegime[];
}

export const HANDBOOK_SCENARIOS: Readonly<FraudScenarioOptions> = Object.freeze({
  amountThreshold: 220,
  terminalsPerDay: 2,
  terminalCompromiseDays: 28,
  customersPerDay: 3,
  customerCompromiseDays: 14,
  customerFraudShare: 1 / 3,
  customerAmountMultiplier: 5,
  customerAmountCap: Number.POSITIVE_INFINITY,
  burstCardsPerDay: 0,
  burstTransactions: 10,
  burstMinutes: 30,
});

/** The handbook's published world: 1,754,155 transactions, 14,681 frauds (0.84 %). */
export const HANDBOOK_WORLD: Readonly<FraudWorldOptions> = Object.freeze({
  seed: 0,
  customers: 5000,
  terminals: 10000,
  days: 183,
  startDate: "2018-04-01",
  radius: 5,
  labelDelay: Object.freeze({ minDays: 7, maxDays: 7 }),
  scenarios: HANDBOOK_SCENARIOS,
  regimes: Object.freeze([]) as readonly FraudRegime[],
});

export const FRAUD_WORLD_PRESETS = Object.freeze({
  handbook: HANDBOOK_WORLD,
  /** About 116k transactions in well under a second: for tests and quick demos. */
  small: Object.freeze({ ...HANDBOOK_WORLD, customers: 1000, terminals: 2000, days: 60 }),
  /** About 310k transactions: the trainer's `--preset demo`. */
  demo: Object.freeze({ ...HANDBOOK_WORLD, customers: 2000, terminals: 4000, days: 80 }),
});

export type FraudWorldPreset = keyof typeof FRAUD_WORLD_PRESETS;

export type FraudWorldInput = Partial<Omit<FraudWorldOptions, "labelDelay" | "scenarios" | "regimes">> & {
  labelDelay?: Partial<LabelDelayOptions>;
  scenarios?: Partial<FraudScenarioOptions>;
  regimes?: readonly FraudRegime[];
};

export class FraudWorldOptionsError extends RangeError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "FraudWorldOptionsError";
  }
}

/** Customer profiles as columns; customer i pays at terminalIds[terminalOffsets[i] .. terminalOffsets[i+1]). */
export interface CustomerProfiles {
  count: number;
  x: Float64Array;
  y: Float64Array;
  meanAmount: Float64Array;
  stdAmount: Float64Array;
  meanTxPerDay: Float64Array;
  terminalOffsets: Uint32Array;
  terminalIds: Uint32Array;
}

export interface TerminalProfiles {
  count: number;
  x: Float64Array;
  y: Float64Array;
}

export interface FraudWorld {
  options: Readonly<FraudWorldOptions>;
  /** Unix seconds of day 0, 00:00:00 UTC; every time in a transaction table counts from here. */
  originEpochSeconds: number;
  customers: CustomerProfiles;
  terminals: TerminalProfiles;
}

export const AREA_SIDE = 100;

/** One independent stream per concern, so that e.g. changing the label delay leaves amounts unchanged. */
export function worldRngs(seed: number) {
  const root = new Rng(seed);
  return {
    customers: root.fork(),
    terminals: root.fork(),
    transactions: root.fork(),
    terminalCompromise: root.fork(),
    customerCompromise: root.fork(),
    labelDelay: root.fork(),
    // Forked last, so worlds without fast attacks draw exactly what they drew before it existed.
    burst: root.fork(),
  };
}

export function resolveFraudWorldOptions(input: FraudWorldInput = {}): FraudWorldOptions {
  const options: FraudWorldOptions = {
    ...HANDBOOK_WORLD,
    ...input,
    labelDelay: { ...HANDBOOK_WORLD.labelDelay, ...input.labelDelay },
    scenarios: { ...HANDBOOK_SCENARIOS, ...input.scenarios },
    regimes: (input.regimes ?? []).map((r) => ({ fromDay: r.fromDay, scenarios: { ...r.scenarios } })),
  };
  const positiveInt = (field: string, v: number): void => {
    if (!Number.isInteger(v) || v < 1) throw new FraudWorldOptionsError(field, `must be a positive integer, got ${v}`);
  };
  if (!Number.isInteger(options.seed)) throw new FraudWorldOptionsError("seed", `must be an integer, got ${options.seed}`);
  positiveInt("customers", options.customers);
  positiveInt("terminals", options.terminals);
  positiveInt("days", options.days);
  if (!(options.radius > 0)) throw new FraudWorldOptionsError("radius", `must be positive, got ${options.radius}`);
  originEpochSecondsOf(options.startDate);
  const { minDays, maxDays } = options.labelDelay;
  if (!(minDays >= 0) || !Number.isFinite(minDays)) throw new FraudWorldOptionsError("labelDelay.minDays", `must be a finite number >= 0, got ${minDays}`);
  if (!(maxDays >= minDays) || !Number.isFinite(maxDays)) throw new FraudWorldOptionsError("labelDelay.maxDays", `must be finite and >= minDays (${minDays}), got ${maxDays}`);
  checkScenarios("scenarios", options.scenarios, options);
  let previousDay = -1;
  options.regimes.forEach((regime, r) => {
    if (!Number.isInteger(regime.fromDay) || regime.fromDay <= previousDay) {
      throw new FraudWorldOptionsError(`regimes[${r}].fromDay`, `must be an integer > ${previousDay} (regimes in day order), got ${regime.fromDay}`);
    }
    previousDay = regime.fromDay;
    checkScenarios(`regimes[${r}].scenarios`, scenariosOnDay(options, regime.fromDay), options);
  });
  return options;
}

/** The scenario settings in force on a day: the world's, overridden by every regime started by then. */
export function scenariosOnDay(options: Pick<FraudWorldOptions, "scenarios" | "regimes">, day: number): FraudScenarioOptions {
  let s = options.scenarios;
  for (const regime of options.regimes) {
    if (regime.fromDay > day) break;
    s = { ...s, ...regime.scenarios };
  }
  return s;
}

function checkScenarios(prefix: string, s: FraudScenarioOptions, options: FraudWorldOptions): void {
  const fail = (field: string, message: string): never => {
    throw new FraudWorldOptionsError(`${prefix}.${field}`, message);
  };
  const positiveInt = (field: keyof FraudScenarioOptions): void => {
    const v = s[field];
    if (!Number.isInteger(v) || v < 1) fail(field, `must be a positive integer, got ${v}`);
  };
  const nonNegativeInt = (field: keyof FraudScenarioOptions): void => {
    const v = s[field];
    if (!Number.isInteger(v) || v < 0) fail(field, `must be a non-negative integer, got ${v}`);
  };
  if (!(s.amountThreshold >= 0)) fail("amountThreshold", `must be >= 0, got ${s.amountThreshold}`);
  nonNegativeInt("terminalsPerDay");
  nonNegativeInt("customersPerDay");
  nonNegativeInt("burstCardsPerDay");
  positiveInt("terminalCompromiseDays");
  positiveInt("customerCompromiseDays");
  positiveInt("burstTransactions");
  if (s.terminalsPerDay > options.terminals) fail("terminalsPerDay", `${s.terminalsPerDay} exceeds the ${options.terminals} terminals`);
  if (s.customersPerDay > options.customers) fail("customersPerDay", `${s.customersPerDay} exceeds the ${options.customers} customers`);
  if (s.burstCardsPerDay > options.customers) fail("burstCardsPerDay", `${s.burstCardsPerDay} exceeds the ${options.customers} customers`);
  if (!(s.customerFraudShare >= 0 && s.customerFraudShare <= 1)) fail("customerFraudShare", `must be in [0, 1], got ${s.customerFraudShare}`);
  if (!(s.customerAmountMultiplier > 0)) fail("customerAmountMultiplier", `must be positive, got ${s.customerAmountMultiplier}`);
  if (!(s.customerAmountCap > 0)) fail("customerAmountCap", `must be positive (Infinity for no cap), got ${s.customerAmountCap}`);
  if (!(s.burstMinutes > 0 && s.burstMinutes <= 24 * 60)) fail("burstMinutes", `must be in (0, 1440], got ${s.burstMinutes}`);
}

export function originEpochSecondsOf(startDate: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(startDate);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (!m || new Date(ms).toISOString().slice(0, 10) !== startDate) {
    throw new FraudWorldOptionsError("startDate", `must be a calendar date YYYY-MM-DD, got "${startDate}"`);
  }
  return ms / 1000;
}

/** Draws the entities; the transactions come from streamTransactionDays / simulateTransactions. */
export function createFraudWorld(input: FraudWorldInput | FraudWorldPreset = {}): FraudWorld {
  const options = resolveFraudWorldOptions(typeof input === "string" ? FRAUD_WORLD_PRESETS[input] : input);
  const { customers: customerRng, terminals: terminalRng } = worldRngs(options.seed);

  const nc = options.customers;
  const customers = {
    count: nc,
    x: new Float64Array(nc),
    y: new Float64Array(nc),
    meanAmount: new Float64Array(nc),
    stdAmount: new Float64Array(nc),
    meanTxPerDay: new Float64Array(nc),
  };
  for (let i = 0; i < nc; i++) {
    customers.x[i] = customerRng.uniform(0, AREA_SIDE);
    customers.y[i] = customerRng.uniform(0, AREA_SIDE);
    const mean = customerRng.uniform(5, 100);
    customers.meanAmount[i] = mean;
    customers.stdAmount[i] = mean / 2;
    customers.meanTxPerDay[i] = customerRng.uniform(0, 4);
  }
  const nt = options.terminals;
  const terminals: TerminalProfiles = { count: nt, x: new Float64Array(nt), y: new Float64Array(nt) };
  for (let j = 0; j < nt; j++) {
    terminals.x[j] = terminalRng.uniform(0, AREA_SIDE);
    terminals.y[j] = terminalRng.uniform(0, AREA_SIDE);
  }
  const { offsets, ids } = terminalsWithinRadius(customers.x, customers.y, terminals, options.radius);
  return {
    options,
    originEpochSeconds: originEpochSecondsOf(options.startDate),
    customers: { ...customers, terminalOffsets: offsets, terminalIds: ids },
    terminals,
  };
}

/**
 * For each point, the terminals strictly within radius r, ascending by id (CSR layout). A grid
 * with cells of side r keeps this linear in the number of entities instead of customers x terminals.
 */
export function terminalsWithinRadius(
  px: Float64Array,
  py: Float64Array,
  terminals: TerminalProfiles,
  r: number,
): { offsets: Uint32Array; ids: Uint32Array } {
  const cellsPerSide = Math.max(1, Math.floor(AREA_SIDE / r));
  const cellSize = AREA_SIDE / cellsPerSide;
  const cellOf = (v: number): number => Math.min(cellsPerSide - 1, Math.max(0, Math.floor(v / cellSize)));
  const cellCount = cellsPerSide * cellsPerSide;
  const cellStart = new Uint32Array(cellCount + 1);
  for (let j = 0; j < terminals.count; j++) {
    const c = cellOf(terminals.y[j] as number) * cellsPerSide + cellOf(terminals.x[j] as number);
    cellStart[c + 1] = (cellStart[c + 1] as number) + 1;
  }
  for (let c = 0; c < cellCount; c++) cellStart[c + 1] = (cellStart[c + 1] as number) + (cellStart[c] as number);
  const cellTerminals = new Uint32Array(terminals.count);
  const fill = cellStart.slice(0, cellCount);
  for (let j = 0; j < terminals.count; j++) {
    const c = cellOf(terminals.y[j] as number) * cellsPerSide + cellOf(terminals.x[j] as number);
    cellTerminals[fill[c] as number] = j;
    fill[c] = (fill[c] as number) + 1;
  }

  const r2 = r * r;
  const offsets = new Uint32Array(px.length + 1);
  let ids = new Uint32Array(Math.max(16, px.length * 8));
  let n = 0;
  const found: number[] = [];
  for (let i = 0; i < px.length; i++) {
    const x = px[i] as number;
    const y = py[i] as number;
    const cx0 = cellOf(x - r);
    const cx1 = cellOf(x + r);
    const cy0 = cellOf(y - r);
    const cy1 = cellOf(y + r);
    found.length = 0;
    for (let cy = cy0; cy <= cy1; cy++) {
      for (let cx = cx0; cx <= cx1; cx++) {
        const c = cy * cellsPerSide + cx;
        for (let k = cellStart[c] as number, end = cellStart[c + 1] as number; k < end; k++) {
          const j = cellTerminals[k] as number;
          const dx = (terminals.x[j] as number) - x;
          const dy = (terminals.y[j] as number) - y;
          if (dx * dx + dy * dy < r2) found.push(j);
        }
      }
    }
    found.sort((a, b) => a - b);
    if (n + found.length > ids.length) {
      const grown = new Uint32Array(Math.max(ids.length * 2, n + found.length));
      grown.set(ids);
      ids = grown;
    }
    for (const j of found) ids[n++] = j;
    offsets[i + 1] = n;
  }
  return { offsets, ids: ids.slice(0, n) };
}
