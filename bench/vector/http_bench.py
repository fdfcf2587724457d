#!/usr/bin/env python3
"""Vector through HTTP: the same GloVe data as the in-process bench, sent to a real stashd.

Starts the release `stashd` on free loopback ports with a durable data directory and one DENSE
COSINE index, upserts the base vectors in batches of 1000 over the REST API (with metadata
`{"m10": i % 10, "m100": i % 100}` so the filtered runs use the same subsets as prepare.py), then
runs the held-out queries one at a time on one keep-alive connection (recall@10 against the exact
ground truth, QPS), unfiltered and with the 10% and 1% filters, and finally kills the server with
SIGKILL and measures the restart: the time until the index answers again (the HNSW graph is
rebuilt from the store). Prints one JSON object per measurement.

Usage: http_bench.py DATA_DIR [--bin target/release/stashd] [--n N]
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np

TOKEN = "bench-token"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, data_dir, config, http_port, resp_port, log):
    proc = subprocess.Popen(
        [binary, "--data-dir", data_dir, "--config", config, "--http-port", str(http_port), "--port", str(resp_port)],
        stdout=log, stderr=log,
    )
    return proc


def wait_ready(port, deadline_s=900):
    t0 = time.monotonic()
    while time.monotonic() - t0 < deadline_s:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("POST", "/vector/glove/info", body="", headers={"Authorization": f"Bearer {TOKEN}"})
            r = c.getresponse()
            r.read()
            c.close()
            if r.status == 200:
                return time.monotonic() - t0
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("stashd did not become ready")


def call(conn, path, body):
    conn.request("POST", path, body=json.dumps(body), headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        raise SystemExit(f"{path}: {r.status} {data[:300]!r}")
    return json.loads(data)["result"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--bin", default="target/release/stashd")
    ap.add_argument("--n", type=int, default=0)
    args = ap.parse_args()
    meta = json.load(open(os.path.join(args.data, "meta.json")))
    dim, n, nq, k = meta["dim"], meta["n"], meta["nq"], meta["k"]
    base = np.fromfile(os.path.join(args.data, "base.f32"), dtype=np.float32).reshape(n, dim)
    queries = np.fromfile(os.path.join(args.data, "query.f32"), dtype=np.float32).reshape(nq, dim)
    if args.n:
        n = min(n, args.n)
    work = tempfile.mkdtemp(prefix="stashd-vector-http-")
    config = os.path.join(work, "stashd.toml")
    with open(config, "w") as f:
        f.write(f'[[vector.indexes]]\nname = "glove"\ndimension = {dim}\nsimilarity = "COSINE"\ntoken = "{TOKEN}"\n')
    http_port, resp_port = free_port(), free_port()
    log = open(os.path.join(work, "stashd.log"), "w")
    proc = start(args.bin, os.path.join(work, "data"), config, http_port, resp_port, log)
    try:
        wait_ready(http_port)
        conn = http.client.HTTPConnection("127.0.0.1", http_port)
        t0 = time.monotonic()
        for lo in range(0, n, 1000):
            items = [
                {"id": str(i), "vector": base[i].tolist(), "metadata": {"m10": i % 10, "m100": i % 100}}
                for i in range(lo, min(n, lo + 1000))
            ]
            call(conn, "/vector/glove/upsert", items)
        upsert_s = time.monotonic() - t0
        print(json.dumps({"phase": "upsert", "vectors": n, "seconds": round(upsert_s, 2), "vectors_per_s": round(n / upsert_s)}), flush=True)
        runs = [("none", "", "gt.i32")]
        if n == meta["n"]:
            runs += [("10pct", "m10 = 3", "gt_10pct.i32"), ("1pct", "m100 = 42", "gt_1pct.i32")]
        for name, flt, gt_file in runs:
            gt = np.fromfile(os.path.join(args.data, gt_file), dtype=np.int32).reshape(nq, k) if n == meta["n"] else None
            hits = 0
            t0 = time.monotonic()
            for qi in range(nq):
                res = call(conn, "/vector/glove/query", {"vector": queries[qi].tolist(), "topK": k, "filter": flt})
                if gt is not None:
                    hits += len(set(int(r["id"]) for r in res) & set(gt[qi].tolist()))
            secs = time.monotonic() - t0
            out = {"phase": "query", "filter": name, "qps": round(nq / secs, 1)}
            if gt is not None:
                out["recall"] = round(hits / (nq * k), 4)
            print(json.dumps(out), flush=True)
        conn.close()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc = start(args.bin, os.path.join(work, "data"), config, http_port, resp_port, log)
        restart_s = wait_ready(http_port)
        print(json.dumps({"phase": "restart", "vectors": n, "seconds_until_ready": round(restart_s, 2)}), flush=True)
        rss_kb = int(open(f"/proc/{proc.pid}/status").read().split("VmRSS:")[1].split()[0])
        print(json.dumps({"phase": "memory", "rss_mb_after_restart": round(rss_kb / 1024, 1)}), flush=True)
    finally:
        proc.kill()
        proc.wait()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
