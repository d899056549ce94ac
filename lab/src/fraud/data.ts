import {
  buildFraudFeaturesOffline,
  fraudLabelInputs,
  fraudTransactionInputs,
  selectFeatureRows,
  type FraudFeatureConfig,
  type FraudFeatureMatrix,
  type LabelInput,
  type OfflineFeatureOptions,
  type TransactionInput,
} from "@mlsd/feature-store";
import { dayStartMs, labelsKnownAt, rowsInDays, trueLabels, type TransactionTable } from "@mlsd/datasets";
import { createFraudWorld, simulateTransactions, type FraudWorldInput } from "@mlsd/synth";

/**
 * The fraud world every fraud claim runs on: the synthetic transaction world (@mlsd/synth) and its
 * features from the feature store's point-in-time replay (@mlsd/feature-store), the same code the
 * trainer and the fraud service use. Worlds are smaller than the handbook's so that a claim repeats
 * over seeds in minutes.
 */
export interface FraudData {
  table: TransactionTable;
  txs: TransactionInput[];
  labels: LabelInput[];
  matrix: FraudFeatureMatrix;
}

export interface FeatureOptions extends OfflineFeatureOptions {
  config?: FraudFeatureConfig;
}

// A claim run often asks for the same world twice (two arms, one seed); keep the last few.
const cache = new Map<string, FraudData>();
const CACHE_SIZE = 3;

export function fraudData(world: FraudWorldInput, features: FeatureOptions = {}): FraudData {
  const key = JSON.stringify({ world, features });
  const hit = cache.get(key);
  if (hit) return hit;
  const table = simulateTransactions(createFraudWorld(world));
  const txs = fraudTransactionInputs(table);
  const labels = fraudLabelInputs(table, txs);
  const matrix = buildFraudFeaturesOffline(txs, labels, features.config, undefined, { batchPeriodMs: features.batchPeriodMs });
  const data = { table, txs, labels, matrix };
  cache.set(key, data);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return data;
}

/** The same transactions with other features (another feature definition or materialisation). */
export function featuresFor(data: FraudData, features: FeatureOptions): FraudFeatureMatrix {
  return buildFraudFeaturesOffline(data.txs, data.labels, features.config, undefined, { batchPeriodMs: features.batchPeriodMs });
}

export const days = (table: TransactionTable, from: number, to: number): Int32Array => rowsInDays(table, from, to);
export const cutoffAt = (table: TransactionTable, day: number): number => dayStartMs(table, day);
export const knownLabels = (table: TransactionTable, rows: ArrayLike<number>, cutoffMs: number): Float64Array => labelsKnownAt(table, rows, cutoffMs).labels;
export const truth = (table: TransactionTable, rows: ArrayLike<number>): Float64Array => trueLabels(table, rows);
export const matrixRows = selectFeatureRows;

export function prevalence(labels: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) s += labels[i] as number;
  return labels.length ? s / labels.length : 0;
}

/** Column of one feature over some rows. */
export function column(matrix: FraudFeatureMatrix, name: string, rows: ArrayLike<number>): Float64Array {
  const f = matrix.names.indexOf(name);
  if (f < 0) throw new RangeError(`no feature ${name}`);
  const w = matrix.names.length;
  return Float64Array.from({ length: rows.length }, (_, r) => matrix.values[(rows[r] as number) * w + f] as number);
}
