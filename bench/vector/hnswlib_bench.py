"""hnswlib side of bench/vector.sh: build (M, efConstruction, 2 threads), then for each ef
recall@10 and single-thread QPS, one query per Python call (as in the reference anchors).
Prints JSON lines in the same shape as the Rust example (crates/vector/examples/ann_bench.rs).
Usage: python hnswlib_bench.py DIR [--m 16] [--efc 200] [--threads 2] [--ef 40,80,160,320]
"""
import argparse
import json
import os
import time

import numpy as np
import hnswlib


def rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def recall(found, gt):
    return sum(len(set(f) & set(g)) for f, g in zip(found, gt)) / gt.size


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--efc", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ef", default="40,80,160,320")
    a = ap.parse_args()
    meta = json.load(open(os.path.join(a.dir, "meta.json")))
    dim, n, nq, k = meta["dim"], meta["n"], meta["nq"], meta["k"]
    base = np.fromfile(os.path.join(a.dir, "base.f32"), dtype=np.float32).reshape(n, dim)
    queries = np.fromfile(os.path.join(a.dir, "query.f32"), dtype=np.float32).reshape(nq, dim)
    gt = np.fromfile(os.path.join(a.dir, "gt.i32"), dtype=np.int32).reshape(nq, k)
    rss0 = rss_bytes()
    index = hnswlib.Index(space="cosine", dim=dim)
    index.init_index(max_elements=n, M=a.m, ef_construction=a.efc, random_seed=100)
    t, cpu = time.perf_counter(), time.process_time()
    index.add_items(base, np.arange(n), num_threads=a.threads)
    build, build_cpu = time.perf_counter() - t, time.process_time() - cpu
    print(json.dumps({"engine": "hnswlib", "event": "build", "n": n, "dim": dim, "m": a.m, "ef_construction": a.efc,
                      "threads": a.threads, "seconds": round(build, 2), "cpu_seconds": round(build_cpu, 2),
                      "rss_delta_bytes": rss_bytes() - rss0}), flush=True)
    index.set_num_threads(1)
    for ef in sorted({int(x) for x in a.ef.split(",")}):
        index.set_ef(ef)
        for q in queries[:50]:
            index.knn_query(q, k=k)
        found = []
        # Three rounds of whole passes, each at least half a second; the fastest counts (the
        # machine is shared). Recall from the first pass.
        qps = qps_cpu = 0.0
        for rnd in range(3):
            t, cpu = time.perf_counter(), time.process_time()
            passes = 0
            while passes == 0 or time.perf_counter() - t < 0.5:
                for q in queries:
                    labels, _ = index.knn_query(q, k=k)
                    if rnd == 0 and passes == 0:
                        found.append(labels[0])
                passes += 1
            secs, cpu = time.perf_counter() - t, time.process_time() - cpu
            qps = max(qps, nq * passes / secs)
            qps_cpu = max(qps_cpu, nq * passes / cpu) if cpu > 0 else qps_cpu
        print(json.dumps({"engine": "hnswlib", "event": "search", "filter": "none", "ef": ef,
                          "recall": round(recall(found, gt), 4), "qps": round(qps, 1),
                          "qps_cpu": round(qps_cpu, 1)}), flush=True)


if __name__ == "__main__":
    main()
