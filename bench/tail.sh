#!/usr/bin/env bash
# Tail latency of writes that grow a table (issue 12), side by side with redis-server: SET and
# INCR into an empty keyspace (one new key per request), HSET and ZADD into one hash / sorted set
# (one new field or member per request), from empty to about 1M, at -P 1 and -P 16. Same method as
# bench/run.sh: server on core 0 (stashd --threads 1), redis-benchmark on core 1, fresh server
# per run, servers alternating run by run, median of RUNS runs of each percentile.
#   redis-benchmark -t <test> -n N -r 100000000 -c 50 -P <p> --precision 3
#   (-r 1e8 so about 99.5% of the N requests add a new key/field: ~995K at N = 1M)
# p50 and p99 come from redis-benchmark's summary; p99.9 is the first line at or above 99.9% of
# its "latency by percentile" table (HdrHistogram steps: 99.902%).
# BASE_BIN=path adds a third column: another stashd build (e.g. the commit before a change).
# Usage: bash bench/tail.sh   (RUNS=3, N=1000000, TESTS="set incr hset zadd", PIPES="1 16",
#                              SKIP_BUILD=1, STASHD_BIN=..., BASE_BIN=..., OUT=bench/results-tail.md)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
N=${N:-1000000}
TESTS=${TESTS:-set incr hset zadd}
PIPES=${PIPES:-1 16}
TOKEN=benchtoken
OUT=${OUT:-bench/results-tail.md}

log() { printf '[tail] %s\n' "$*" >&2; }
for tool in redis-server redis-benchmark redis-cli; do
    command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server redis-tools >/dev/null; break; }
done
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_setup
NEW_BIN=$STASHD_BIN
SERVERS="redis stashd"
if [ -n "${BASE_BIN:-}" ]; then SERVERS="redis base stashd"; fi

# One run: prints "rps p50 p99 p99.9" (zeros if the run failed).
one() { # server test pipeline
    case $1 in
        redis) start redis ;;
        base) STASHD_BIN=$BASE_BIN start stashd ;;
        stashd) STASHD_BIN=$NEW_BIN start stashd ;;
    esac
    timeout 600 taskset -c 1 redis-benchmark -p "$PORT" -a "$TOKEN" -t "$2" -n "$N" -r 100000000 -c 50 -P "$3" --precision 3 2>/dev/null \
        | tr '\r' '\n' | python3 -c '
import re, sys
rps = p50 = p99 = p999 = 0.0
lines = sys.stdin.read().splitlines()
section = ""
for i, l in enumerate(lines):
    if "Latency by percentile" in l: section = "pct"
    if "Cumulative distribution" in l: section = ""
    m = re.match(r"\s*([\d.]+)% <= ([\d.]+) milliseconds", l)
    if m and section == "pct" and not p999 and float(m.group(1)) >= 99.9:
        p999 = float(m.group(2))
    m = re.search(r"throughput summary: ([\d.]+) requests per second", l)
    if m: rps = float(m.group(1))
    if l.strip().startswith("avg") and "p99" in l and i + 1 < len(lines):
        names, vals = l.split(), lines[i + 1].split()
        d = dict(zip(names, vals))
        p50, p99 = float(d.get("p50", 0)), float(d.get("p99", 0))
print(rps, p50, p99, p999)
' || echo "0 0 0 0"
    stop
}

RESULTS=$WORK/results
: >"$RESULTS"
for t in $TESTS; do
    for p in $PIPES; do
        for run in $(seq 1 "$RUNS"); do
            # Rotate who goes first, run by run.
            read -r -a order <<<"$SERVERS"
            for _ in $(seq 2 "$run"); do order=("${order[@]:1}" "${order[0]}"); done
            for srv in "${order[@]}"; do
                r=$(one "$srv" "$t" "$p")
                log "$t -P $p run $run $srv: $r"
                echo "$t $p $srv $run $r" >>"$RESULTS"
            done
        done
    done
done

export RESULTS RUNS N SERVERS
ver=$(redis-server --version | sed -E 's/.*v=([0-9.]+).*/\1/')
export ver
export REV=$(git rev-parse --short HEAD) LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
python3 - >"$OUT" <<'EOF'
import os, statistics
from collections import defaultdict
E = os.environ
rows = defaultdict(list)
for line in open(E["RESULTS"]):
    t, p, srv, run, rps, p50, p99, p999 = line.split()
    rows[(t, p, srv)].append((float(rps), float(p50), float(p99), float(p999)))
servers = E["SERVERS"].split()
def med(xs, i):
    v = [x[i] for x in xs if x[0] > 0]
    return statistics.median(v) if v else 0.0
print(f"- stashd {E['REV']}; redis-server {E['ver']}; `redis-benchmark -t <test> -n {int(E['N']):,} -r 100000000 -c 50 -P <p> --precision 3`;"
      f" median of {E['RUNS']} runs; latencies in ms; load average at the end {E['LOAD']}\n")
head = "| test | -P | " + " | ".join(f"{s} rps" for s in servers) + " | " + " | ".join(f"{s} p50 / p99 / p99.9" for s in servers) + " | stashd / redis rps | stashd / redis p99 | stashd / redis p99.9 |"
print(head)
print("|" + "---|" * (head.count("|") - 1))
tests = []
for (t, p, s) in rows:
    if (t, p) not in tests:
        tests.append((t, p))
for t, p in tests:
    m = {s: rows.get((t, p, s), []) for s in servers}
    rps = [f"{med(m[s], 0) / 1000:.1f}K" for s in servers]
    lat = [f"{med(m[s], 1):.3f} / {med(m[s], 2):.3f} / {med(m[s], 3):.3f}" for s in servers]
    def r(i, inv=False):
        a, b = med(m["stashd"], i), med(m["redis"], i)
        return "n/a" if not a or not b else f"{a / b:.2f}×"
    print(f"| {t.upper()} | {p} | " + " | ".join(rps) + " | " + " | ".join(lat) + f" | {r(0)} | {r(2)} | {r(3)} |")
print("\nAll runs (rps p50 p99 p99.9):\n")
for t, p in tests:
    for s in servers:
        print(f"- {t.upper()} -P {p} {s}: " + "; ".join(" ".join(f"{v:g}" for v in x) for x in rows[(t, p, s)]))
EOF
cat "$OUT"
