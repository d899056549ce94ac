import type { EventPayload, EventType } from "./catalog";

/** One valid payload per event type: documentation by example, and a fixture for other packages' tests. */
export const EXAMPLE_PAYLOADS: { [T in EventType]: EventPayload<T> } = {
  "recs.impression": {
    requestId: "req-1",
    userId: "u-42",
    itemId: "i-7",
    position: 0,
    modelVersions: { retrieval: "two-tower@3", ranker: "gbdt@7" },
  },
  "recs.click": { requestId: "req-1", userId: "u-42", itemId: "i-7", position: 0 },
  "recs.served": {
    requestId: "req-1",
    userId: "u-42",
    modelVersions: { retrieval: "two-tower@3", ranker: "gbdt@7" },
    fallback: null,
    userFeatures: { age_days: 412, clicks_7d: 9 },
    items: [
      { itemId: "i-7", position: 0, score: 0.91, features: { ann_score: 0.83, item_ctr_7d: 0.041, price: null } },
      { itemId: "i-3", position: 1, score: 0.72, features: { ann_score: 0.8, item_ctr_7d: 0.012, price: 12.5 } },
    ],
  },
  "fraud.transaction": {
    transactionId: "tx-1001",
    customerId: "c-17",
    terminalId: "t-305",
    amount: 57.16,
    time: "2024-04-01T00:00:31.000Z",
  },
  "fraud.decision": {
    transactionId: "tx-1001",
    customerId: "c-17",
    terminalId: "t-305",
    features: { amount: 57.16, customer_tx_count_1d: 2, customer_avg_amount_7d: 48.3, terminal_risk_7d: null },
    score: 0.07,
    threshold: 0.42,
    decision: "approve",
    decidedBy: "model",
    modelVersion: "fraud-gbdt@12",
    reasonCodes: [],
  },
  "fraud.label": {
    transactionId: "tx-1001",
    customerId: "c-17",
    terminalId: "t-305",
    label: "chargeback",
    transactionTime: "2024-04-01T00:00:31.000Z",
    knownAt: "2024-04-09T10:12:00.000Z",
  },
  "ml.retrain-decision": {
    model: "fraud-gbdt",
    trigger: "drift",
    decision: "handed-to-rollout",
    candidateVersion: "20240409T101500Z-ab12cd",
    baselineVersion: "20240401T000000Z-0f0f0f",
    candidateMetric: 9120,
    baselineMetric: 9800,
    metric: "cost",
    reason: "candidate cost 9120 vs 9800 in service on the same 11,200 rows",
    durationMs: 41_000,
  },
  "ml.retrain-request": {
    model: "fraud-gbdt",
    reason: "drift",
    requestedBy: "drift-monitor",
    driftSummary: {
      reference: "fraud-gbdt@12/train",
      windowStart: "2024-04-08T00:00:00.000Z",
      windowEnd: "2024-04-09T00:00:00.000Z",
      findings: [
        { feature: "amount", statistic: "psi", value: 0.31, threshold: 0.2, pValue: null, breached: true },
        { feature: "customer_tx_count_1d", statistic: "ks", value: 0.04, threshold: 0.1, pValue: 0.38, breached: false },
      ],
    },
  },
};
