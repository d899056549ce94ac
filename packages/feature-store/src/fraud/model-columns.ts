import type { FraudFeatureMatrix } from "./offline";

/**
 * A model's columns computed from the served fraud features. The store serves, logs and monitors
 * the served features only; a model may also read ratios of two of them, named `A/B`, which it
 * computes itself from the served vector. A ratio is then defined once, by its name, for training
 * (the offline matrix) and serving (each row), and the feature schema, the stored aggregates and
 * the decision events stay as they are.
 *
 * Why ratios: a tree splits one feature at a time, so "this amount is five times the customer's
 * usual" takes many splits over amount and average together; as one column it takes one.
 */

/** The name of the ratio column `numerator / denominator`. */
export function ratioFeatureName(numerator: string, denominator: string): string {
  return `${numerator}/${denominator}`;
}

/**
 * How this amount and the recent spending compare with the customer's own: the amount over the
 * customer's 1-, 7- and 30-day average, and the 1- and 7-day averages over the 30-day one.
 */
export const CUSTOMER_RATIO_FEATURES: readonly string[] = Object.freeze([
  ratioFeatureName("TX_AMOUNT", "CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW"),
  ratioFeatureName("TX_AMOUNT", "CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW"),
  ratioFeatureName("TX_AMOUNT", "CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW"),
  ratioFeatureName("CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW"),
  ratioFeatureName("CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW"),
]);

/** numerator / denominator; missing (NaN) when either is missing or the denominator is not positive. */
function ratio(numerator: number, denominator: number): number {
  return denominator > 0 && Number.isFinite(numerator) ? numerator / denominator : Number.NaN;
}

/** Where each of a model's columns comes from in the served vector. */
export class FraudColumnPlan {
  /** The served vector's index for a served column; -1 for a ratio. */
  private readonly source: Int32Array;
  private readonly numerator: Int32Array;
  private readonly denominator: Int32Array;
  /** The columns are the served features, in order: rows pass through unchanged. */
  readonly identity: boolean;

  private constructor(
    readonly served: readonly string[],
    readonly columns: readonly string[],
  ) {
    const at = new Map(served.map((name, i) => [name, i]));
    this.source = new Int32Array(columns.length).fill(-1);
    this.numerator = new Int32Array(columns.length).fill(-1);
    this.denominator = new Int32Array(columns.length).fill(-1);
    columns.forEach((name, j) => {
      const direct = at.get(name);
      if (direct !== undefined) {
        this.source[j] = direct;
        return;
      }
      const parts = name.split("/");
      const [a, b] = parts.map((p) => at.get(p));
      if (parts.length !== 2 || a === undefined || b === undefined) {
        throw new RangeError(`model column ${name} is neither a served fraud feature nor a ratio A/B of two (served: ${served.join(", ")})`);
      }
      this.numerator[j] = a;
      this.denominator[j] = b;
    });
    this.identity = columns.length === served.length && columns.every((name, j) => this.source[j] === j);
  }

  /** Refuses (RangeError naming the column) a column it cannot compute from `served`. */
  static compile(served: readonly string[], columns: readonly string[]): FraudColumnPlan {
    return new FraudColumnPlan([...served], [...columns]);
  }

  /** One row: the model's columns from a served vector. */
  row(served: ArrayLike<number>, out: Float64Array = new Float64Array(this.columns.length)): Float64Array {
    for (let j = 0; j < this.columns.length; j++) {
      const s = this.source[j] as number;
      out[j] = s >= 0 ? (served[s] as number) : ratio(served[this.numerator[j] as number] as number, served[this.denominator[j] as number] as number);
    }
    return out;
  }

  /** A whole matrix of served features (names in `served` order) as the model's columns. */
  matrix(m: FraudFeatureMatrix): FraudFeatureMatrix {
    if (m.names.length !== this.served.length || m.names.some((n, i) => n !== this.served[i])) {
      throw new RangeError(`the matrix's columns (${m.names.join(", ")}) are not the plan's served features`);
    }
    if (this.identity) return m;
    const width = this.served.length;
    const outWidth = this.columns.length;
    const values = new Float64Array(m.rows * outWidth);
    for (let r = 0; r < m.rows; r++) this.row(m.values.subarray(r * width, (r + 1) * width), values.subarray(r * outWidth, (r + 1) * outWidth));
    return { names: [...this.columns], rows: m.rows, values };
  }
}
