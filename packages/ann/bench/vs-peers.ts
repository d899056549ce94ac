/**
 * The ANN library against its peers on one inner-product set, every system on one thread, back to
 * back in one run: the exact scan vs faiss IndexFlatIP; the HnswIndex wrapper vs raw hnswlib-node
 * on the same graph file (and Python hnswlib on it too); IvfIndex vs HnswIndex vs faiss IVF-flat
 * vs faiss HNSW as recall@k against queries per second. Python peers are installed from PyPI into
 * .cache/python-peers/ann by this script (bench/requirements.txt).
 *
 *   npm run bench:peers -w @mlsd/ann                       # 200k x 64, k = 100
 *   npm run bench:peers -w @mlsd/ann -- --items 50000 --skip-peers
 *   npm run bench:peers -w @mlsd/ann -- --skip-hnsw        # exact and IVF only (minutes, not a quarter hour)
 *
 * Prints markdown tables and writes the recall-vs-QPS curve as SVG (--svg).
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { lineChart } from "@mlsd/plot";
import { ensurePythonEnv, readInt32, runPythonJson, writeRaw } from "@mlsd/python-peers";
import { ExactIndex, HnswIndex, INDEX_FILE, IvfIndex, recallOfIds } from "../src/index";
import { HierarchicalNSW } from "../src/hnswlib";
import { clusteredWorld } from "../src/testing/synthetic-catalogue";

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    items: { type: "string", default: "200000" },
    dim: { type: "string", default: "64" },
    queries: { type: "string", default: "1000" },
    k: { type: "string", default: "100" },
    seed: { type: "string", default: "42" },
    nlist: { type: "string", default: "1024" },
    nprobe: { type: "string", default: "1,2,4,8,16,32,64,128" },
    ef: { type: "string", default: "100,200,400,800" },
    m: { type: "string", default: "32" },
    "ef-construction": { type: "string", default: "200" },
    "skip-peers": { type: "boolean", default: false },
    "skip-hnsw": { type: "boolean", default: false },
    svg: { type: "string", default: join(here, "..", "docs", "recall-vs-qps.svg") },
  },
});

const items = Number(args.items);
const dim = Number(args.dim);
const queryCount = Number(args.queries);
const k = Number(args.k);
const list = (s: string): number[] => s.split(",").filter((x) => x !== "").map(Number);
const nprobes = list(args.nprobe);
const efs = list(args.ef);
const mb = (bytes: number): number => bytes / 2 ** 20;
const log = (line: string): void => console.error(line);

interface Row {
  method: string;
  param: string;
  recall: number;
  medianUs: number;
  buildSeconds: number;
  memoryBytes: number;
}

log(`generating ${items} items x ${dim}, ${queryCount} queries (seed ${args.seed})`);
const world = clusteredWorld({ items, queries: queryCount, dim, seed: Number(args.seed) });
const queries = Array.from({ length: queryCount }, (_, q) => world.queries.subarray(q * dim, (q + 1) * dim));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
}

/**
 * Every query once after a warm-up, one at a time: the answers and the mean CPU time per query in
 * us (CPU time, not wall time: the machine is shared, and a descheduled process should not look
 * slow; the Python peers are timed the same way).
 */
function timeQueries(search: (q: Float32Array, i: number) => ArrayLike<number>): { answers: number[][]; medianUs: number } {
  for (let i = 0; i < Math.min(50, queries.length); i++) search(queries[i] as Float32Array, i);
  const answers: number[][] = [];
  const start = process.cpuUsage();
  queries.forEach((q, i) => answers.push(Array.from(search(q, i))));
  const used = process.cpuUsage(start);
  return { answers, medianUs: (used.user + used.system) / queries.length };
}

const meanRecall = (answers: ArrayLike<number>[], truth: number[][]): number =>
  answers.reduce((sum, a, q) => sum + recallOfIds(Array.from(a).slice(0, k), (truth[q] as number[]).slice(0, k)), 0) / answers.length;

const rows: Row[] = [];
let t0 = performance.now();
const exact = ExactIndex.build(world.items, world.ids, { dim });
const exactBuild = (performance.now() - t0) / 1000;
const exactRun = timeQueries((q) => exact.search(q, k).ids);
const truth = exactRun.answers;
rows.push({ method: "exact (ours)", param: "", recall: 1, medianUs: exactRun.medianUs, buildSeconds: exactBuild, memoryBytes: exact.vectorBytes });
log(`exact: ${exactRun.medianUs.toFixed(0)} us per query`);

const dir = mkdtempSync(join(tmpdir(), "ann-peers-"));
try {
  let graphFile: string | undefined;
  const wrapperVsRaw: { ef: number; wrapperUs: number; rawUs: number; recall: number; rawRecall: number }[] = [];
  if (!args["skip-hnsw"]) {
    log("building HnswIndex (default parameters)");
    t0 = performance.now();
    const hnsw = HnswIndex.build(world.items, world.ids, { dim, modelVersion: "bench", params: { M: Number(args.m), efConstruction: Number(args["ef-construction"]) } });
    const hnswBuild = (performance.now() - t0) / 1000;
    await hnsw.save(dir);
    graphFile = join(dir, INDEX_FILE);
    const graphBytes = statSync(graphFile).size;
    const raw = new HierarchicalNSW("ip", dim + 1);
    await raw.readIndex(graphFile);
    // Raw hnswlib-node gets its queries as ready plain arrays (the lifted coordinate is 0): the
    // wrapper's checks and copy are what the ratio measures.
    const rawQueries = queries.map((q) => [...Array.from(q), 0]);
    for (const ef of efs) {
      // Query by query, wrapper and raw back to back (alternating which goes first), three passes:
      // the machine's load drifts over seconds, so only adjacent timings compare fairly.
      const wrapper: number[] = [];
      const native: number[] = [];
      const wrapperAnswers: number[][] = [];
      const rawAnswers: number[][] = [];
      raw.setEf(Math.max(ef, k));
      for (let i = 0; i < Math.min(50, queryCount); i++) {
        hnsw.search(queries[i] as Float32Array, k, ef);
        raw.searchKnn(rawQueries[i] as number[], k);
      }
      for (let pass = 0; pass < 3; pass++) {
        queries.forEach((q, i) => {
          const runWrapper = (): void => {
            const start = process.hrtime.bigint();
            const found = hnsw.search(q, k, ef).ids;
            wrapper.push(Number(process.hrtime.bigint() - start) / 1000);
            if (pass === 0) wrapperAnswers[i] = found;
          };
          const runRaw = (): void => {
            const start = process.hrtime.bigint();
            const found = raw.searchKnn(rawQueries[i] as number[], k).neighbors;
            native.push(Number(process.hrtime.bigint() - start) / 1000);
            if (pass === 0) rawAnswers[i] = found;
          };
          if ((i + pass) % 2 === 0) {
            runWrapper();
            runRaw();
          } else {
            runRaw();
            runWrapper();
          }
        });
      }
      const recall = meanRecall(wrapperAnswers, truth);
      wrapperVsRaw.push({ ef, wrapperUs: median(wrapper), rawUs: median(native), recall, rawRecall: meanRecall(rawAnswers, truth) });
      // The recall-vs-speed table compares CPU time per query, like every other row.
      const cpu = timeQueries((q) => hnsw.search(q, k, ef).ids);
      rows.push({ method: "hnsw (ours)", param: `ef ${ef}`, recall, medianUs: cpu.medianUs, buildSeconds: hnswBuild, memoryBytes: graphBytes });
      log(`hnsw ef ${ef}: recall@${k} ${recall.toFixed(4)}, wrapper ${median(wrapper).toFixed(0)} us, raw ${median(native).toFixed(0)} us`);
    }
  }

  log(`building IvfIndex (nlist ${args.nlist})`);
  t0 = performance.now();
  const ivf = IvfIndex.build(world.items, world.ids, { dim, modelVersion: "bench", params: { nlist: Number(args.nlist) } });
  const ivfBuild = (performance.now() - t0) / 1000;
  for (const nprobe of nprobes) {
    const run = timeQueries((q) => ivf.search(q, k, nprobe).ids);
    const recall = meanRecall(run.answers, truth);
    rows.push({ method: "ivf (ours)", param: `nprobe ${nprobe}`, recall, medianUs: run.medianUs, buildSeconds: ivfBuild, memoryBytes: ivf.vectorBytes });
    log(`ivf nprobe ${nprobe}: recall@${k} ${recall.toFixed(4)}, ${run.medianUs.toFixed(0)} us`);
  }

  let versions: Record<string, string> = {};
  const pythonHnswlib: Row[] = [];
  if (!args["skip-peers"]) {
    const python = ensurePythonEnv({ name: "ann", requirements: join(here, "requirements.txt") });
    writeRaw(join(dir, "items.f32"), world.items);
    writeRaw(join(dir, "queries.f32"), world.queries);
    log("running faiss and Python hnswlib (bench/peers.py)");
    const methods = args["skip-hnsw"] ? "flat,ivf,ivf-l2q" : "flat,ivf,ivf-l2q,hnsw,hnswlib";
    const report = runPythonJson<{ versions: Record<string, string>; rows: { method: string; param: number; medianUs: number; buildSeconds: number; memoryBytes: number; file: string }[] }>(
      python,
      join(here, "peers.py"),
      ["--dir", dir, "--dim", String(dim), "--k", String(k), "--nlist", args.nlist, "--nprobe", args.nprobe, "--ef", args.ef,
        "--hnsw-m", args.m, "--ef-construction", args["ef-construction"], "--methods", methods,
        ...(graphFile ? ["--hnswlib-index", graphFile, "--hnswlib-dim", String(dim + 1)] : [])],
    );
    versions = report.versions;
    for (const r of report.rows) {
      const found = readInt32(join(dir, r.file));
      const answers = Array.from({ length: queryCount }, (_, q) => found.subarray(q * k, (q + 1) * k));
      const param = r.method === "faiss-flat" ? "" : r.method.startsWith("faiss-ivf") ? `nprobe ${r.param}` : `ef ${r.param}`;
      const row = { method: r.method, param, recall: meanRecall(answers, truth), medianUs: r.medianUs, buildSeconds: r.buildSeconds, memoryBytes: r.memoryBytes };
      if (r.method === "hnswlib-python") pythonHnswlib.push(row);
      else rows.push(row);
    }
  }

  const out: string[] = [];
  const faissFlat = rows.find((r) => r.method === "faiss-flat");
  out.push(
    `items ${items}, dim ${dim}, queries ${queryCount}, k ${k}, seed ${args.seed}; one thread each, one query per call; us = CPU time per query (mean), QPS = 1e6 / that; ${cpus().length} cores, load average at the end ${loadavg()[0]?.toFixed(1)}`,
    `peers: ${Object.entries(versions).map(([name, v]) => `${name} ${v}`).join(", ") || "skipped"}; node ${process.version}`,
    "",
    "### Exact scan",
    "",
    "| method | CPU us per query | vs faiss flat |",
    "|---|---|---|",
  );
  for (const r of rows.filter((x) => x.method === "exact (ours)" || x.method === "faiss-flat")) {
    out.push(`| ${r.method} | ${r.medianUs.toFixed(0)} | ${faissFlat ? (r.medianUs / faissFlat.medianUs).toFixed(2) + "x" : ""} |`);
  }
  out.push(
    "",
    "### HnswIndex wrapper vs raw hnswlib on the same graph file" + (wrapperVsRaw.length === 0 ? " (skipped)" : ""),
    "",
    `| ef | recall@${k} wrapper | recall@${k} raw | wrapper us (median wall) | raw hnswlib-node us (median wall) | wrapper QPS / raw QPS | Python hnswlib CPU us | recall@${k} Python |`,
    "|---|---|---|---|---|---|---|---|",
  );
  for (const w of wrapperVsRaw) {
    const py = pythonHnswlib.find((p) => p.param === `ef ${w.ef}`);
    out.push(
      `| ${w.ef} | ${w.recall.toFixed(4)} | ${w.rawRecall.toFixed(4)} | ${w.wrapperUs.toFixed(0)} | ${w.rawUs.toFixed(0)} | ${(w.rawUs / w.wrapperUs).toFixed(3)} | ${py ? py.medianUs.toFixed(0) : ""} | ${py ? py.recall.toFixed(4) : ""} |`,
    );
  }
  out.push("", `### Recall@${k} against speed`, "", `| method | setting | recall@${k} | CPU us per query | QPS | build s | memory MB |`, "|---|---|---|---|---|---|---|");
  for (const r of rows) {
    out.push(`| ${r.method} | ${r.param} | ${r.recall.toFixed(4)} | ${r.medianUs.toFixed(0)} | ${(1e6 / r.medianUs).toFixed(0)} | ${r.buildSeconds.toFixed(1)} | ${mb(r.memoryBytes).toFixed(1)} |`);
  }
  const families = ["ivf (ours)", "hnsw (ours)", "faiss-ivf", "faiss-ivf-l2q", "faiss-hnsw"].filter((m) => rows.some((r) => r.method === m));
  out.push("", `### At equal recall: QPS of the fastest setting reaching recall@${k} >= target`, "", `| target | ${families.join(" | ")} |`, `|---|${families.map(() => "---").join("|")}|`);
  for (const target of [0.9, 0.95, 0.98]) {
    const cells = families.map((m) => {
      const best = rows.filter((r) => r.method === m && r.recall >= target).sort((a, b) => a.medianUs - b.medianUs)[0];
      return best ? `${(1e6 / best.medianUs).toFixed(0)} (${best.param})` : "not reached";
    });
    out.push(`| ${target} | ${cells.join(" | ")} |`);
  }
  console.log(out.join("\n"));

  const series = families.map((m) => ({
    name: m,
    points: rows
      .filter((r) => r.method === m)
      .map((r) => [r.recall, 1e6 / r.medianUs] as const)
      .sort((a, b) => a[0] - b[0]),
  }));
  writeFileSync(
    args.svg,
    lineChart({
      title: `recall@${k} vs queries per second, ${items / 1000}k x ${dim} inner product, one thread`,
      xLabel: `recall@${k}`,
      yLabel: "queries per second (log)",
      yScale: "log",
      series,
    }),
  );
  log(`wrote ${args.svg}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
