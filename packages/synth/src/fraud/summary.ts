import type { TransactionTable } from "@mlsd/datasets";

export interface TransactionSummary {
  transactions: number;
  frauds: number;
  fraudRate: number;
  /** Transactions per TX_FRAUD_SCENARIO value: [legitimate, amount, terminal, customer, fast attack]. */
  byScenario: [number, number, number, number, number];
  days: number;
}

/** Counts accumulated over tables (whole logs or the days of a stream). */
export class TransactionSummaryBuilder {
  private transactions = 0;
  private frauds = 0;
  private readonly byScenario: [number, number, number, number, number] = [0, 0, 0, 0, 0];
  private firstDay = Infinity;
  private lastDay = -Infinity;

  add(table: TransactionTable): this {
    this.transactions += table.length;
    for (let i = 0; i < table.length; i++) {
      this.frauds += table.fraud[i] as number;
      const s = table.fraudScenario[i] as number;
      if (s <= 4) this.byScenario[s as 0 | 1 | 2 | 3 | 4]++;
      const d = table.timeDays[i] as number;
      if (d < this.firstDay) this.firstDay = d;
      if (d > this.lastDay) this.lastDay = d;
    }
    return this;
  }

  summary(): TransactionSummary {
    return {
      transactions: this.transactions,
      frauds: this.frauds,
      fraudRate: this.transactions === 0 ? 0 : this.frauds / this.transactions,
      byScenario: [...this.byScenario],
      days: this.transactions === 0 ? 0 : this.lastDay - this.firstDay + 1,
    };
  }
}

export const summarizeTransactions = (table: TransactionTable): TransactionSummary =>
  new TransactionSummaryBuilder().add(table).summary();
