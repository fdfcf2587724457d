#!/usr/bin/env bash
# Side-by-side rows for the data types of issue 4, same method as bench/run.sh: server pinned to
# core 0 (stashd --threads 1), redis-benchmark on core 1, fresh server per run, servers
# alternating run by run, median of RUNS runs, 127.0.0.1 only.
#   XADD (random keys, -P 1 and -P 16); XREADGROUP ... COUNT 1 STREAMS s > on a stream of
#   200k entries (every call delivers one entry and records it as pending); PFADD (random
#   elements into one key); PFCOUNT of one key (cached) and of two keys (a union each time);
#   GEOSEARCH ... BYRADIUS 5 km ASC COUNT 10 over 100k members; JSON.SET/JSON.GET of a 1 KB
#   document on stashd against SET/GET of the same text on redis-server (Debian's Redis has no
#   JSON module; the JSON-in-a-string approach is the reference).
# Usage: bash bench/datatypes.sh   (RUNS=3, N=100000, N_GEO=5000, SKIP_BUILD=1, STASHD_BIN=..., OUT=...)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
N=${N:-100000}
N_GEO=${N_GEO:-5000}  # GEOSEARCH runs at ~1K/s: fewer requests keep a run under a minute
TOKEN=benchtoken
OUT=${OUT:-bench/results-datatypes.md}

log() { printf '[bench] %s\n' "$*" >&2; }
for tool in redis-server redis-benchmark redis-cli; do
    command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server redis-tools >/dev/null; break; }
done
# shellcheck source=bench/lib.sh
. bench/lib.sh  # the working directory is the repository root (cd above)
bench_setup

cli() { redis-cli -p "$PORT" -a "$TOKEN" --no-auth-warning "$@"; }
bench() { # $1 pipeline, $2 -r range, rest: the command; prints requests/s (0 if it failed)
    local p=$1 r=$2
    shift 2
    local out
    # The CSV's first column is the command text (which may hold commas); rps is the 2nd of 8.
    out=$(taskset -c 1 redis-benchmark -p "$PORT" -a "$TOKEN" -n "$N" -c 50 -r "$r" -P "$p" --csv "$@" 2>/dev/null | tail -1 \
        | python3 -c 'import csv,sys; rows=list(csv.reader(sys.stdin)); print(rows[-1][-7] if rows and len(rows[-1]) >= 8 else 0)')
    echo "${out:-0}"
}
load() { # pipes generated RESP (python3 -c "$1") into the server
    python3 -c "$1" | cli --pipe >/dev/null
}

# Generators (deterministic): 100k geo members around Berlin, 2 HyperLogLogs, a 1 KB document.
GEO_GEN='
import random, sys
rng = random.Random(1)
out = sys.stdout.buffer
def cmd(*a):
    out.write(b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in (s.encode() for s in a)))
for i in range(0, 100000, 500):
    args = ["GEOADD", "geo"]
    for j in range(i, i + 500):
        args += [f"{13.0 + rng.random():.6f}", f"{52.2 + rng.random() * 0.6:.6f}", f"m{j}"]
    cmd(*args)
'
HLL_GEN='
import sys
out = sys.stdout.buffer
def cmd(*a):
    out.write(b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in (s.encode() for s in a)))
for k, base in (("hll", 0), ("hll2", 50000)):
    for i in range(0, 100000, 1000):
        cmd("PFADD", k, *[f"e{base + j}" for j in range(i, i + 1000)])
'
python3 - > "$WORK/doc.json" <<'PY'
import json
doc = {"id": 12345, "name": "stashd benchmark document", "active": True, "score": 98.25,
       "tags": [f"tag-{i}" for i in range(20)],
       "address": {"street": "Unter den Linden 1", "city": "Berlin", "zip": "10117", "geo": [13.3889, 52.5170]},
       "items": [{"sku": f"SKU-{i:05d}", "qty": i, "price": i * 1.5} for i in range(12)]}
text = json.dumps(doc, separators=(",", ":"))
pad = 1024 - len(text) - len(',"pad":""')
doc["pad"] = "x" * max(pad, 0)
print(json.dumps(doc, separators=(",", ":")), end="")
PY
DOC=$(cat "$WORK/doc.json")

run_case() { # $1 case, $2 server -> requests/s
    local c=$1 srv=$2
    start "$srv"
    case "$c" in
        xadd1) bench 1 100000 xadd "s:__rand_int__" "*" f v ;;
        xadd16) bench 16 100000 xadd "s:__rand_int__" "*" f v ;;
        xreadgroup)
            N=200000 bench 16 1 xadd s "*" f v >/dev/null
            cli xgroup create s g 0 >/dev/null
            bench 1 1 xreadgroup GROUP g c1 COUNT 1 STREAMS s ">" ;;
        pfadd) bench 1 1000000 pfadd hll "e:__rand_int__" ;;
        pfcount1) load "$HLL_GEN"; bench 1 1 pfcount hll ;;
        pfcount2) load "$HLL_GEN"; bench 1 1 pfcount hll hll2 ;;
        geosearch) load "$GEO_GEN"; N=$N_GEO bench 1 1 geosearch geo FROMLONLAT 13.5 52.5 BYRADIUS 5 km ASC COUNT 10 ;;
        jsonset)
            if [ "$srv" = redis ]; then bench 1 1000 set "doc:__rand_int__" "$DOC"; else bench 1 1000 json.set "doc:__rand_int__" '$' "$DOC"; fi ;;
        jsonget)
            if [ "$srv" = redis ]; then cli set doc "$DOC" >/dev/null; bench 1 1 get doc
            else cli json.set doc '$' "$DOC" >/dev/null 2>&1; bench 1 1 json.get doc '$'; fi ;;
    esac
    stop
}

CASES=(xadd1 xadd16 xreadgroup pfadd pfcount1 pfcount2 geosearch jsonset jsonget)
declare -A LABEL=(
    [xadd1]="XADD s:<rand> * f v, -P 1"
    [xadd16]="XADD s:<rand> * f v, -P 16"
    [xreadgroup]="XREADGROUP GROUP g c1 COUNT 1 STREAMS s > (200k entries)"
    [pfadd]="PFADD hll e:<rand>"
    [pfcount1]="PFCOUNT hll (100k elements, cached)"
    [pfcount2]="PFCOUNT hll hll2 (union of two dense HLLs)"
    [geosearch]="GEOSEARCH 100k members, 5 km radius, ASC COUNT 10"
    [jsonset]="JSON.SET doc \$ <1 KB> (redis: SET of the text)"
    [jsonget]="JSON.GET doc \$ (redis: GET of the text)"
)
declare -A VALS R RUNSTR
for c in "${CASES[@]}"; do
    for i in $(seq 1 "$RUNS"); do
        for srv in redis stashd; do
            log "$c run $i/$RUNS: $srv"
            VALS[$c,$srv]+="$(run_case "$c" "$srv")"$'\n'
        done
    done
    for srv in redis stashd; do
        R[$c,$srv]=$(printf '%s' "${VALS[$c,$srv]}" | median)
        RUNSTR[$c,$srv]=$(printf '%s' "${VALS[$c,$srv]}" | paste -sd' ')
    done
done

{
    echo "# stashd data-type benchmark (issue 4) — latest run"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); command: \`bash bench/datatypes.sh\`; stashd $(git rev-parse --short HEAD); $(redis-server --version | cut -d' ' -f1-3)"
    echo "- method: servers \`taskset -c 0\` (stashd \`--threads 1\`), \`redis-benchmark -n $N -c 50\` (GEOSEARCH: -n $N_GEO) on \`taskset -c 1\`, fresh server per run, servers alternating run by run, median of $RUNS; requests/s"
    echo
    echo "| test | redis-server | stashd | stashd / redis | target |"
    echo "|---|---:|---:|---:|---|"
    for c in "${CASES[@]}"; do
        echo "| ${LABEL[$c]} | $(k "${R[$c,redis]}") | $(k "${R[$c,stashd]}") | $(ratio "${R[$c,stashd]}" "${R[$c,redis]}") | ≥ 1.0× |"
    done
    echo
    echo "All runs (requests/s):"
    echo
    for c in "${CASES[@]}"; do
        echo "- ${LABEL[$c]}: redis ${RUNSTR[$c,redis]} / stashd ${RUNSTR[$c,stashd]}"
    done
} > "$OUT"
cat "$OUT"
