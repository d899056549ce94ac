import * as tf from "@tensorflow/tfjs";

export interface LayerTensors {
  readonly kernel: tf.Tensor2D;
  readonly bias: tf.Tensor1D;
}

/** Added under the square root so an all-zero output normalises to zero instead of NaN. */
export const NORM_EPSILON = 1e-12;

/** A tower after its input: dense layers (ReLU between them), then L2 normalisation. */
export function towerForward(x: tf.Tensor2D, layers: readonly LayerTensors[]): tf.Tensor2D {
  let h = x;
  layers.forEach((l, i) => {
    const z = tf.add(tf.matMul(h, l.kernel), l.bias) as tf.Tensor2D;
    h = i + 1 < layers.length ? tf.relu(z) : z;
  });
  const inv = tf.rsqrt(tf.add(tf.sum(tf.square(h), 1, true), NORM_EPSILON));
  return tf.mul(h, inv) as tf.Tensor2D;
}
