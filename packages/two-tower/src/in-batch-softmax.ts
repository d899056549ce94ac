import * as tf from "@tensorflow/tfjs";

/**
 * Mean in-batch softmax cross-entropy, fused: row i's positive is column i of
 * logits = u v^T + bias. `v` may have more rows than `u` (c >= n): the extra columns are
 * negatives shared by every row (sampled or mined in addition to the batch's own positives).
 * Forward and backward are one matMul each way plus an O(n c) loop in JS, where the composed
 * tfjs version spends most of its time in a dozen broadcasting n x c kernels.
 * d loss / d logits = (softmax(logits) - I) / n.
 */
export function inBatchSoftmaxLoss(u: tf.Tensor2D, v: tf.Tensor2D, bias: Float32Array | undefined): tf.Scalar {
  const n = u.shape[0];
  const c = v.shape[0];
  if (c < n) throw new Error(`u has ${n} rows, v has ${c}: every row needs its positive column`);
  if (bias !== undefined && bias.length !== n * c) throw new Error(`bias has ${bias.length} entries, expected ${n * c}`);
  const fused = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [uu, vv, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    save([uu, vv]);
    const logits = tf.matMul(uu, vv, false, true);
    const probs = logits.dataSync() as Float32Array;
    logits.dispose();
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const row = i * c;
      let max = -Infinity;
      for (let j = 0; j < c; j++) {
        const l = (probs[row + j] as number) + (bias === undefined ? 0 : (bias[row + j] as number));
        probs[row + j] = l;
        if (l > max) max = l;
      }
      let sum = 0;
      for (let j = 0; j < c; j++) {
        const e = Math.exp((probs[row + j] as number) - max);
        probs[row + j] = e;
        sum += e;
      }
      // -log softmax(row)_i = log(sum) - log(e_ii)
      loss += Math.log(sum) - Math.log(probs[row + i] as number);
      const inv = 1 / sum;
      for (let j = 0; j < c; j++) probs[row + j] = (probs[row + j] as number) * inv;
    }
    const value = tf.scalar(loss / n);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const scale = (dy.dataSync()[0] as number) / n;
      const g = new Float32Array(n * c);
      for (let k = 0; k < n * c; k++) g[k] = (probs[k] as number) * scale;
      for (let i = 0; i < n; i++) g[i * c + i] = (g[i * c + i] as number) - scale;
      const G = tf.tensor2d(g, [n, c]);
      const [su, sv] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(G, sv), tf.matMul(G, su, true, false)];
    };
    return { value, gradFunc };
  });
  return fused(u, v) as tf.Scalar;
}
