import * as tf from "@tensorflow/tfjs";
import { Rng } from "@mlsd/random";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "./backend";
import { inBatchSoftmaxLoss } from "./in-batch-softmax";

beforeAll(async () => {
  await initBackend(() => {});
});

/** The same loss composed from stock tfjs ops, differentiated by tfjs itself. */
function reference(u: tf.Tensor2D, v: tf.Tensor2D, bias: Float32Array | undefined): tf.Scalar {
  const n = u.shape[0];
  const c = v.shape[0];
  let logits: tf.Tensor2D = tf.matMul(u, v, false, true);
  if (bias !== undefined) logits = tf.add(logits, tf.tensor2d(bias, [n, c]));
  return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), tf.eye(n, c)), 1))) as tf.Scalar;
}

function lossAndGrads(f: typeof reference, u: tf.Tensor2D, v: tf.Tensor2D, bias: Float32Array | undefined) {
  return tf.tidy(() => {
    const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => f(a as tf.Tensor2D, b as tf.Tensor2D, bias))([u, v]);
    return { loss: value.dataSync()[0] as number, du: grads[0]!.dataSync() as Float32Array, dv: grads[1]!.dataSync() as Float32Array };
  });
}

describe("inBatchSoftmaxLoss", () => {
  const n = 9;
  const d = 4;
  let u: tf.Tensor2D;
  let v: tf.Tensor2D;
  beforeAll(() => {
    const rng = new Rng(11);
    u = tf.tensor2d(Float32Array.from({ length: n * d }, () => rng.normal()), [n, d]);
    v = tf.tensor2d(Float32Array.from({ length: n * d }, () => rng.normal()), [n, d]);
  });

  it("equals the composed log-softmax loss and its gradients without a bias", () => {
    const fused = lossAndGrads(inBatchSoftmaxLoss, u, v, undefined);
    const ref = lossAndGrads(reference, u, v, undefined);
    expect(fused.loss).toBeCloseTo(ref.loss, 5);
    fused.du.forEach((g, i) => expect(g).toBeCloseTo(ref.du[i] as number, 5));
    fused.dv.forEach((g, i) => expect(g).toBeCloseTo(ref.dv[i] as number, 5));
  });

  it("equals it with a log-Q bias and a masked accidental hit", () => {
    const bias = Float32Array.from({ length: n * n }, (_, k) => -Math.log(0.05 + ((k % n) + 1) / (2 * n)));
    bias[0 * n + 3] = -1e9;
    bias[3 * n + 0] = -1e9;
    const fused = lossAndGrads(inBatchSoftmaxLoss, u, v, bias);
    const ref = lossAndGrads(reference, u, v, bias);
    expect(fused.loss).toBeCloseTo(ref.loss, 4);
    fused.du.forEach((g, i) => expect(g).toBeCloseTo(ref.du[i] as number, 5));
    fused.dv.forEach((g, i) => expect(g).toBeCloseTo(ref.dv[i] as number, 5));
  });

  it("equals it with extra negative columns shared by every row, biased and masked", () => {
    const extra = 5;
    const c = n + extra;
    const rng = new Rng(12);
    const vx = tf.tensor2d(Float32Array.from({ length: c * d }, () => rng.normal()), [c, d]);
    const bias = Float32Array.from({ length: n * c }, (_, k) => ((k % c) >= n ? 1.5 : -Math.log(0.05 + ((k % c) + 1) / (2 * c))));
    bias[2 * c + n + 1] = -1e9;
    const fused = lossAndGrads(inBatchSoftmaxLoss, u, vx, bias);
    const ref = lossAndGrads(reference, u, vx, bias);
    expect(fused.dv).toHaveLength(c * d);
    expect(fused.loss).toBeCloseTo(ref.loss, 4);
    fused.du.forEach((g, i) => expect(g).toBeCloseTo(ref.du[i] as number, 5));
    fused.dv.forEach((g, i) => expect(g).toBeCloseTo(ref.dv[i] as number, 5));
    // Unmasking the column adds a negative to row 2's softmax, so its loss and the mean grow.
    const unmasked = lossAndGrads(inBatchSoftmaxLoss, u, vx, Float32Array.from(bias, (b) => (b === -1e9 ? 0 : b)));
    expect(unmasked.loss).toBeGreaterThan(fused.loss);
  });

  it("refuses fewer columns than rows", () => {
    const short = tf.zeros([n - 1, d]) as tf.Tensor2D;
    expect(() => inBatchSoftmaxLoss(u, short, undefined)).toThrow(/positive column/);
  });

  it("is log(n) when every score is equal", () => {
    const zeros = tf.zeros([n, d]) as tf.Tensor2D;
    expect(inBatchSoftmaxLoss(zeros, zeros, undefined).dataSync()[0]).toBeCloseTo(Math.log(n), 6);
  });
});
