/** Adam on plain Float32Arrays: dense for the MLP weights, lazy (touched rows only) for embedding tables. */
export interface AdamSettings {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
}

export const DEFAULT_ADAM: AdamSettings = { learningRate: 0.005, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

export class AdamSlot {
  readonly m: Float32Array;
  readonly v: Float32Array;
  step = 0;
  constructor(size: number) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }
}

export function adamDense(s: AdamSettings, slot: AdamSlot, values: Float32Array, grad: Float32Array): void {
  slot.step += 1;
  const { alpha, epsHat, b1, b2 } = coefficients(s, slot.step);
  const { m, v } = slot;
  for (let i = 0; i < values.length; i++) {
    const g = grad[i] as number;
    const mi = b1 * (m[i] as number) + (1 - b1) * g;
    const vi = b2 * (v[i] as number) + (1 - b2) * g * g;
    m[i] = mi;
    v[i] = vi;
    values[i] = (values[i] as number) - (alpha * mi) / (Math.sqrt(vi) + epsHat);
  }
}

/**
 * Lazy Adam (as TensorFlow's LazyAdamOptimizer): moments of rows absent from the batch are not
 * decayed, so a step costs O(touched rows x dim) instead of O(table). `rows` must be distinct.
 */
export function adamRows(
  s: AdamSettings,
  slot: AdamSlot,
  values: Float32Array,
  dim: number,
  rows: Int32Array,
  grad: Float32Array,
): void {
  slot.step += 1;
  const { alpha, epsHat, b1, b2 } = coefficients(s, slot.step);
  const { m, v } = slot;
  for (let r = 0; r < rows.length; r++) {
    const base = (rows[r] as number) * dim;
    const gBase = r * dim;
    for (let j = 0; j < dim; j++) {
      const i = base + j;
      const g = grad[gBase + j] as number;
      const mi = b1 * (m[i] as number) + (1 - b1) * g;
      const vi = b2 * (v[i] as number) + (1 - b2) * g * g;
      m[i] = mi;
      v[i] = vi;
      values[i] = (values[i] as number) - (alpha * mi) / (Math.sqrt(vi) + epsHat);
    }
  }
}

function coefficients(s: AdamSettings, step: number) {
  // Bias correction folded into the step size (Kingma & Ba, section 2, last paragraph).
  const c1 = 1 - Math.pow(s.beta1, step);
  const c2 = 1 - Math.pow(s.beta2, step);
  const alpha = (s.learningRate * Math.sqrt(c2)) / c1;
  return { alpha, epsHat: s.epsilon * Math.sqrt(c2), b1: s.beta1, b2: s.beta2 };
}
