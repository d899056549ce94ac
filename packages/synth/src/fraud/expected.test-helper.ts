import type { FraudWorld } from "./world";

/** Standard normal CDF via erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** E[floor(share * X)] for X ~ Poisson(mean), by summing the pmf. */
function expectedFlooredShare(mean: number, share: number): number {
  let p = Math.exp(-mean);
  let e = 0;
  for (let n = 0; n < mean * 4 + 60; n++) {
    e += p * Math.floor(n * share + 1e-9);
    p *= mean / (n + 1);
  }
  return e;
}

export interface ExpectedCounts {
  transactions: number;
  scenario1: number;
  scenario2: number;
  scenario3: number;
}

/**
 * Analytical expectations given the world's entities (profiles are known, transactions random),
 * written from the model's definition rather than from the simulator's code.
 */
export function expectedCounts(world: FraudWorld): ExpectedCounts {
  const { days, scenarios: s } = world.options;
  const c = world.customers;
  const pTime = normalCdf((86400 - 43200) / 20000) - normalCdf((0 - 43200) / 20000);
  let ratePerDay = 0;
  let scenario1RatePerDay = 0;
  for (let i = 0; i < c.count; i++) {
    if (c.terminalOffsets[i + 1] === c.terminalOffsets[i]) continue;
    const m = c.meanAmount[i] as number;
    const rate = (c.meanTxPerDay[i] as number) * pTime;
    ratePerDay += rate;
    scenario1RatePerDay += rate * (1 - normalCdf((s.amountThreshold - m) / (m / 2)));
  }
  const lastStart = days - 2; // compromises start on days 0 .. days-2, as in the handbook
  const startsIn = (from: number, to: number): number => Math.max(0, Math.min(to, lastStart) - Math.max(from, 0) + 1);
  let e1 = 0;
  let e2 = 0;
  for (let t = 0; t < days; t++) {
    const q2 = 1 - Math.pow(1 - s.terminalsPerDay / world.terminals.count, startsIn(t - s.terminalCompromiseDays + 1, t));
    const r3 = Math.min(1, (startsIn(t - s.customerCompromiseDays + 1, t) * s.customersPerDay * s.customerFraudShare) / c.count);
    e1 += scenario1RatePerDay * (1 - q2) * (1 - r3);
    e2 += ratePerDay * q2 * (1 - r3);
  }
  let e3 = 0;
  const meanRatePerCustomer = ratePerDay / c.count;
  for (let d = 0; d <= lastStart; d++) {
    const windowDays = Math.min(s.customerCompromiseDays, days - d);
    e3 += expectedFlooredShare(s.customersPerDay * meanRatePerCustomer * windowDays, s.customerFraudShare);
  }
  return { transactions: ratePerDay * days, scenario1: e1, scenario2: e2, scenario3: e3 };
}
