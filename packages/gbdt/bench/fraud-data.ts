import { Rng } from "@mlsd/random";

/** A seeded fraud-like table: ~3% positives, interactions, and missing values that carry signal. */
export interface Table {
  featureNames: string[];
  /** Row-major, numRows x featureNames.length; NaN is missing. */
  data: Float64Array;
  labels: Float64Array;
  numRows: number;
}

export const FRAUD_FEATURES = [
  "amount",
  "hour",
  "merchant_risk",
  "card_age_days",
  "txn_count_1h",
  "txn_count_24h",
  "amount_vs_avg",
  "distance_km",
  "device_new",
  "country_mismatch",
  "mcc",
  "balance",
  "failed_logins_24h",
  "email_risk",
  "ip_risk",
  "noise_a",
  "noise_b",
  "noise_c",
];

const RISKY_MCC = new Set([3, 7, 11, 17]);

export function fraudTable(numRows: number, seed: number): Table {
  const rng = new Rng(seed);
  const width = FRAUD_FEATURES.length;
  const data = new Float64Array(numRows * width);
  const labels = new Float64Array(numRows);
  for (let r = 0; r < numRows; r++) {
    const amountVsAvg = Math.exp(rng.normal(0, 0.8));
    const amount = Math.exp(rng.normal(3.5, 1.1)) * amountVsAvg;
    const hour = rng.int(24);
    const merchantRisk = rng.next() ** 2;
    const cardAge = rng.bernoulli(0.05) ? NaN : rng.exponential(1 / 400);
    const burst = rng.bernoulli(0.08);
    const count1h = rng.poisson(burst ? 3 : 0.4);
    const count24h = count1h + rng.poisson(4);
    const distance = rng.bernoulli(0.15) ? NaN : rng.exponential(1 / 30);
    const deviceNew = rng.bernoulli(0.1) ? 1 : 0;
    const countryMismatch = rng.bernoulli(0.07) ? 1 : 0;
    const mcc = rng.int(20);
    const balance = rng.bernoulli(0.1) ? NaN : rng.normal(2000, 1500);
    const failedLogins = rng.poisson(0.15);
    const emailRisk = rng.next();
    const ipRisk = rng.bernoulli(0.2) ? NaN : rng.next();

    let logit = -7.4;
    logit += 1.5 * Math.log(amountVsAvg);
    logit += 2.6 * deviceNew * countryMismatch + 0.6 * deviceNew + 0.5 * countryMismatch;
    logit += count1h > 2 ? 1.6 : 0;
    logit += hour < 6 && merchantRisk > 0.6 ? 2.2 : 0;
    logit += Number.isNaN(ipRisk) ? 1.2 : 2.4 * ipRisk;
    logit += 0.7 * Math.min(failedLogins, 4);
    logit += Number.isNaN(cardAge) ? 0.9 : cardAge < 30 ? 1.5 : 0;
    logit += RISKY_MCC.has(mcc) ? 1.0 : 0;
    logit += 1.2 * emailRisk * (amount > 200 ? 1.5 : 0.5);
    logit += !Number.isNaN(distance) && distance > 100 ? 1.2 : 0;
    logit += !Number.isNaN(balance) && balance < 0 ? 0.8 : 0;
    logit += rng.normal(0, 0.3);
    labels[r] = rng.bernoulli(1 / (1 + Math.exp(-logit))) ? 1 : 0;

    const row = [amount, hour, merchantRisk, cardAge, count1h, count24h, amountVsAvg, distance, deviceNew, countryMismatch, mcc, balance, failedLogins, emailRisk, ipRisk, rng.normal(), rng.normal(), rng.next()];
    data.set(row, r * width);
  }
  return { featureNames: [...FRAUD_FEATURES], data, labels, numRows };
}
