"""faiss (flat, IVF-flat, HNSW) and Python hnswlib on the bench's vectors, one thread, for
bench/vs-peers.ts.

Reads items and queries as raw float32 (row-major), answers every query one at a time (as a
serving process does), writes each setting's top-k row ids as int32 and prints one JSON line
with CPU time per query, build times and index sizes.
"""
import argparse
import json
import os
import time

os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

import numpy as np  # noqa: E402


def timed_queries(queries, search):
    """Answers and the mean CPU time per query in us (as the TypeScript side measures)."""
    for q in queries[:50]:
        search(q)
    out = []
    t0 = time.process_time_ns()
    for q in queries:
        out.append(search(q))
    return np.asarray(out, dtype=np.int32), (time.process_time_ns() - t0) / 1000 / len(queries)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--dim", type=int, required=True)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--nlist", type=int, default=1024)
    ap.add_argument("--nprobe", default="1,2,4,8,16,32,64,128")
    ap.add_argument("--hnsw-m", type=int, default=32)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--ef", default="100,200,400,800")
    ap.add_argument("--hnswlib-index", help="an hnswlib graph file to query with Python hnswlib")
    ap.add_argument("--hnswlib-dim", type=int)
    ap.add_argument("--methods", default="flat,ivf,ivf-l2q,hnsw,hnswlib")
    args = ap.parse_args()
    methods = set(args.methods.split(","))

    items = np.fromfile(os.path.join(args.dir, "items.f32"), dtype=np.float32).reshape(-1, args.dim)
    queries = np.fromfile(os.path.join(args.dir, "queries.f32"), dtype=np.float32).reshape(-1, args.dim)
    rows, versions = [], {}

    def record(method, param, answers, median_us, build_s, nbytes):
        name = f"{method}-{param}.i32"
        answers.tofile(os.path.join(args.dir, name))
        rows.append({"method": method, "param": param, "medianUs": median_us, "buildSeconds": build_s, "memoryBytes": nbytes, "file": name})

    if methods & {"flat", "ivf", "hnsw"}:
        import faiss

        faiss.omp_set_num_threads(1)
        versions["faiss"] = faiss.__version__
        k = args.k
        one = lambda index: lambda q: index.search(q.reshape(1, -1), k)[1][0]  # noqa: E731
        size = lambda index: int(faiss.serialize_index(index).size)  # noqa: E731
        if "flat" in methods:
            t0 = time.perf_counter()
            flat = faiss.IndexFlatIP(args.dim)
            flat.add(items)
            build = time.perf_counter() - t0
            answers, med = timed_queries(queries, one(flat))
            record("faiss-flat", 0, answers, med, build, size(flat))
        def ivf(method, quantizer):
            t0 = time.perf_counter()
            index = faiss.IndexIVFFlat(quantizer, args.dim, args.nlist, faiss.METRIC_INNER_PRODUCT)
            index.train(items)
            index.add(items)
            build = time.perf_counter() - t0
            nbytes = size(index)
            for nprobe in map(int, args.nprobe.split(",")):
                index.nprobe = nprobe
                answers, med = timed_queries(queries, one(index))
                record(method, nprobe, answers, med, build, nbytes)

        if "ivf" in methods:
            ivf("faiss-ivf", faiss.IndexFlatIP(args.dim))
        if "ivf-l2q" in methods:
            # The same IVF with an L2 coarse quantiser: items go to their nearest centroid (as
            # @mlsd/ann's IvfIndex assigns them); faiss then also probes the lists nearest in L2.
            ivf("faiss-ivf-l2q", faiss.IndexFlatL2(args.dim))
        if "hnsw" in methods:
            t0 = time.perf_counter()
            hnsw = faiss.IndexHNSWFlat(args.dim, args.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = args.ef_construction
            hnsw.add(items)
            build = time.perf_counter() - t0
            nbytes = size(hnsw)
            for ef in map(int, args.ef.split(",")):
                hnsw.hnsw.efSearch = ef
                answers, med = timed_queries(queries, one(hnsw))
                record("faiss-hnsw", ef, answers, med, build, nbytes)
    if "hnswlib" in methods and args.hnswlib_index:
        import hnswlib

        versions["hnswlib"] = hnswlib.__version__ if hasattr(hnswlib, "__version__") else "0.8"
        index = hnswlib.Index(space="ip", dim=args.hnswlib_dim)
        index.load_index(args.hnswlib_index)
        index.set_num_threads(1)
        lifted = np.zeros((len(queries), args.hnswlib_dim), dtype=np.float32)
        lifted[:, : args.dim] = queries
        for ef in map(int, args.ef.split(",")):
            index.set_ef(max(ef, args.k))
            answers, med = timed_queries(lifted, lambda q: index.knn_query(q, k=args.k, num_threads=1)[0][0].astype(np.int32))
            record("hnswlib-python", ef, answers, med, 0.0, 0)
    print(json.dumps({"versions": versions, "rows": rows}))


if __name__ == "__main__":
    main()
