/**
 * The cpu backend's gather gradient: stock UnsortedSegmentSum vs the scatter-add kernel vs the
 * sparse row updates the model uses, per gradient and per training step of a two-table
 * embedding model (in-batch softmax, Adam). Medians; the stock kernel is so slow that it runs
 * once per cell and, above --stock-max-rows, is not run at all (the table says so).
 *
 *   npx tsx bench/gather-grad.ts [--reps 5] [--stock-max-rows 10000] [--full]
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "@mlsd/random";
import { AdamSlot, adamRows, DEFAULT_ADAM } from "../src/adam";
import { initBackend, useFastSegmentSum, useStockSegmentSum } from "../src/index";
import { inBatchSoftmaxLoss } from "../src/in-batch-softmax";
import { RowGradients } from "../src/features";

const argv = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const full = argv.includes("--full");
const reps = flag("--reps", 5);
const stockMaxRows = full ? Infinity : flag("--stock-max-rows", 10_000);
const TABLES = [1_000, 10_000, 100_000];
const BATCHES = [256, 512];
const DIM = 32;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] as number;
};

function time(f: () => void, n: number): number {
  f(); // warm-up: JIT and first-use allocations
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    f();
    t.push(performance.now() - t0);
  }
  return median(t);
}

function randomIds(rng: Rng, n: number, rows: number): Int32Array {
  return Int32Array.from({ length: n }, () => rng.int(rows));
}

/** tf.gather forward + its gradient into the full table, with whichever kernel is installed. */
function gatherGradient(table: tf.Tensor2D, ids: Int32Array, upstream: tf.Tensor2D): void {
  tf.tidy(() => {
    const idx = tf.tensor1d(ids, "int32");
    tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idx), upstream)))(table).dataSync();
  });
}

/** The model's path: rows copied out in JS, upstream gradient scattered back onto touched rows only. */
function sparseGradient(table: Float32Array, ids: Int32Array, upstream: Float32Array, grads: RowGradients): void {
  const gathered = new Float32Array(ids.length * DIM);
  for (let i = 0; i < ids.length; i++) gathered.set(table.subarray((ids[i] as number) * DIM, ((ids[i] as number) + 1) * DIM), i * DIM);
  for (let i = 0; i < ids.length; i++) grads.add(ids[i] as number, upstream, i * DIM);
  grads.take();
}

/** Dense embedding model: tf.Variable tables, tf.gather, tf.train.adam over whole tables. */
function makeDenseStep(rows: number, batch: number, rng: Rng) {
  const users = tf.variable(tf.randomUniform([rows, DIM], -0.05, 0.05, "float32", 1));
  const items = tf.variable(tf.randomUniform([rows, DIM], -0.05, 0.05, "float32", 2));
  const optimiser = tf.train.adam(DEFAULT_ADAM.learningRate);
  const step = () => {
    const u = tf.tensor1d(randomIds(rng, batch, rows), "int32");
    const v = tf.tensor1d(randomIds(rng, batch, rows), "int32");
    const loss = optimiser.minimize(() => inBatchSoftmaxLoss(tf.gather(users as tf.Tensor2D, u), tf.gather(items as tf.Tensor2D, v), undefined), true);
    loss?.dataSync();
    tf.dispose([u, v, loss as tf.Scalar]);
  };
  const dispose = () => {
    optimiser.dispose();
    tf.dispose([users, items]);
  };
  return { step, dispose };
}

/** Sparse embedding model: typed-array tables, rows gathered in JS, lazy Adam on touched rows. */
function makeSparseStep(rows: number, batch: number, rng: Rng) {
  const init = () => Float32Array.from({ length: rows * DIM }, () => rng.uniform(-0.05, 0.05));
  const tables = [init(), init()];
  const slots = [new AdamSlot(rows * DIM), new AdamSlot(rows * DIM)];
  const grads = [new RowGradients(rows, DIM), new RowGradients(rows, DIM)];
  const step = () => {
    const ids = [randomIds(rng, batch, rows), randomIds(rng, batch, rows)];
    const gathered = ids.map((rowIds, t) => {
      const out = new Float32Array(batch * DIM);
      for (let i = 0; i < batch; i++) out.set((tables[t] as Float32Array).subarray((rowIds[i] as number) * DIM, ((rowIds[i] as number) + 1) * DIM), i * DIM);
      return out;
    });
    tf.tidy(() => {
      const xs = gathered.map((g) => tf.tensor2d(g, [batch, DIM]));
      const { grads: dx } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => inBatchSoftmaxLoss(a as tf.Tensor2D, b as tf.Tensor2D, undefined))(xs);
      dx.forEach((g, t) => {
        const data = g.dataSync() as Float32Array;
        const rowGrads = grads[t] as RowGradients;
        const rowIds = ids[t] as Int32Array;
        for (let i = 0; i < batch; i++) rowGrads.add(rowIds[i] as number, data, i * DIM);
        const { rows: touched, grad } = rowGrads.take();
        adamRows(DEFAULT_ADAM, slots[t] as AdamSlot, tables[t] as Float32Array, DIM, touched, grad);
      });
    });
  };
  return { step, dispose: () => {} };
}

await initBackend();
const rng = new Rng(1);
const fmt = (ms: number | undefined) => (ms === undefined ? "not run" : ms >= 100 ? ms.toFixed(0) : ms.toFixed(2));
const ratio = (a: number | undefined, b: number) => (a === undefined ? "-" : `${(a / b).toFixed(0)}x`);
const lines: string[] = [
  "| rows | batch | grad: stock ms | grad: scatter-add kernel ms | grad: sparse rows ms | stock / kernel | step: stock + dense Adam ms | step: kernel + dense Adam ms | step: sparse + lazy Adam ms | stock / sparse step |",
  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
];
for (const rows of TABLES) {
  for (const batch of BATCHES) {
    const table = tf.randomNormal([rows, DIM]) as tf.Tensor2D;
    const tableJs = table.dataSync() as Float32Array;
    const upstream = tf.randomNormal([batch, DIM]) as tf.Tensor2D;
    const upstreamJs = upstream.dataSync() as Float32Array;
    const rowGrads = new RowGradients(rows, DIM);
    const runStock = rows <= stockMaxRows;

    useStockSegmentSum();
    const stockGrad = runStock ? time(() => gatherGradient(table, randomIds(rng, batch, rows), upstream), 1) : undefined;
    let stockStep: number | undefined;
    if (runStock) {
      const s = makeDenseStep(rows, batch, rng);
      stockStep = time(s.step, 1);
      s.dispose();
    }
    useFastSegmentSum();
    const fastGrad = time(() => gatherGradient(table, randomIds(rng, batch, rows), upstream), reps);
    const sparseGrad = time(() => sparseGradient(tableJs, randomIds(rng, batch, rows), upstreamJs, rowGrads), reps * 4);
    const dense = makeDenseStep(rows, batch, rng);
    const fastStep = time(dense.step, reps);
    dense.dispose();
    const sparse = makeSparseStep(rows, batch, rng);
    const sparseStep = time(sparse.step, reps);
    tf.dispose([table, upstream]);

    const line = `| ${rows} | ${batch} | ${fmt(stockGrad)} | ${fmt(fastGrad)} | ${fmt(sparseGrad)} | ${ratio(stockGrad, fastGrad)} | ${fmt(stockStep)} | ${fmt(fastStep)} | ${fmt(sparseStep)} | ${ratio(stockStep, sparseStep)} |`;
    lines.push(line);
    console.error(line);
  }
}
console.log(`\ngather gradient on the tfjs cpu backend, dim ${DIM}, medians of ${reps} (stock: 1 run; "not run" above ${stockMaxRows} rows, use --full)\n`);
console.log(lines.join("\n"));
