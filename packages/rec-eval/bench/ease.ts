// EASE fit time (X^T X, the inverse, the weights) against numpy/scipy single-threaded on the
// same synthetic implicit-feedback data, side by side, with the largest weight difference.
// Run: npm run bench:ease -w @mlsd/rec-eval [-- --items 2000,5000,10000 --users-per-item 2 --per-user 50]
// numpy and scipy come from PyPI into .cache/bench-venv (git-ignored) on first use.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Rng } from "@mlsd/random";
import { Ease } from "../src/baselines/ease";
import { UserItemMatrix } from "../src/matrix";

const { values } = parseArgs({
  options: {
    items: { type: "string", default: "2000,5000,10000" },
    "users-per-item": { type: "string", default: "2" },
    "per-user": { type: "string", default: "50" },
    lambda: { type: "string", default: "500" },
  },
});
const sizes = values.items.split(",").map(Number);
const usersPerItem = Number(values["users-per-item"]);
const perUser = Number(values["per-user"]);
const lambda = Number(values.lambda);

const repo = path.resolve(import.meta.dirname, "../../..");
const venv = path.join(repo, ".cache", "bench-venv");
const python = path.join(venv, "bin", "python");

function ensureVenv(): void {
  if (fs.existsSync(python) && spawnSync(python, ["-c", "import numpy, scipy"]).status === 0) return;
  console.error(`creating ${venv} (numpy, scipy from PyPI) ...`);
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { stdio: "inherit" });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed`);
  };
  run("python3", ["-m", "venv", venv]);
  run(path.join(venv, "bin", "pip"), ["install", "--quiet", "numpy", "scipy"]);
}

// The reference: the usual numpy EASE (Steck's code), X^T X by scipy.sparse.
const NUMPY_EASE = `
import sys, time, json, numpy as np, scipy.sparse as sp
d = sys.argv[1]; lam = float(sys.argv[2])
indptr = np.fromfile(d + "/indptr.bin", dtype=np.int32); indices = np.fromfile(d + "/indices.bin", dtype=np.int32)
n = int(sys.argv[3]); probes = np.fromfile(d + "/probes.bin", dtype=np.int32).reshape(-1, 2)
X = sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(indptr) - 1, n))
t0 = time.perf_counter()
G = (X.T @ X).toarray()
G[np.diag_indices(n)] += lam
P = np.linalg.inv(G)
B = P / (-np.diag(P))
B[np.diag_indices(n)] = 0
secs = time.perf_counter() - t0
print(json.dumps({"seconds": secs, "probes": [float(B[i, j]) for i, j in probes]}))
`;

function syntheticMatrix(numItems: number, rng: Rng): UserItemMatrix {
  const numUsers = Math.round(usersPerItem * numItems);
  // Zipf-like popularity (exponent 0.8) by inverse-CDF sampling over a cumulative table.
  const cumulative = new Float64Array(numItems);
  let total = 0;
  for (let i = 0; i < numItems; i++) cumulative[i] = total += 1 / (i + 1) ** 0.8;
  const users: number[] = [];
  const items: number[] = [];
  for (let u = 0; u < numUsers; u++) {
    const count = Math.max(5, Math.min(numItems >> 1, Math.round(perUser * Math.exp(rng.normal(0, 0.8) - 0.32))));
    const chosen = new Set<number>();
    while (chosen.size < count) {
      const x = rng.next() * total;
      let lo = 0;
      let hi = numItems - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((cumulative[mid] as number) < x) lo = mid + 1;
        else hi = mid;
      }
      chosen.add(lo);
    }
    for (const i of chosen) {
      users.push(u);
      items.push(i);
    }
  }
  return UserItemMatrix.fromRatings({
    numUsers,
    numItems,
    users: Int32Array.from(users),
    items: Int32Array.from(items),
    values: new Float32Array(users.length).fill(1),
    timestamps: new Float64Array(users.length),
  });
}

ensureVenv();
const rows: string[][] = [["items", "users", "ratings", "JS EASE s", "numpy EASE s", "JS / numpy", "max |B_js - B_np|"]];
for (const n of sizes) {
  const rng = new Rng(n);
  const train = syntheticMatrix(n, rng);
  const probes = Int32Array.from({ length: 400 }, () => rng.int(n));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ease-bench-"));
  try {
    fs.writeFileSync(path.join(dir, "indptr.bin"), train.indptr);
    fs.writeFileSync(path.join(dir, "indices.bin"), train.indices);
    fs.writeFileSync(path.join(dir, "probes.bin"), probes);
    const ease = new Ease({ lambda });
    const t0 = performance.now();
    await ease.fit(train);
    const jsSeconds = (performance.now() - t0) / 1000;
    const np = spawnSync(python, ["-c", NUMPY_EASE, dir, String(lambda), String(n)], {
      env: { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1" },
      encoding: "utf8",
      maxBuffer: 1 << 24,
    });
    if (np.status !== 0) throw new Error(`numpy EASE failed: ${np.stderr}`);
    const ref = JSON.parse(np.stdout) as { seconds: number; probes: number[] };
    let worst = 0;
    for (let p = 0; p < probes.length / 2; p++) {
      const i = probes[2 * p] as number;
      const j = probes[2 * p + 1] as number;
      worst = Math.max(worst, Math.abs(ease.weight(i, j) - (ref.probes[p] as number)));
    }
    rows.push([String(n), String(train.numUsers), String(train.nnz), jsSeconds.toFixed(1), ref.seconds.toFixed(1), `${(jsSeconds / ref.seconds).toFixed(2)}x`, worst.toExponential(1)]);
    console.error(rows.at(-1)?.join("  "));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
const widths = (rows[0] as string[]).map((_, c) => Math.max(...rows.map((r) => (r[c] as string).length)));
for (const r of rows) console.log(r.map((cell, c) => cell.padStart(widths[c] as number)).join("  "));
console.log(`(lambda ${lambda}; one run each, back to back; numpy with OPENBLAS_NUM_THREADS=1; JS = blocked sweep in WebAssembly SIMD)`);
