#!/usr/bin/env bash
# QStash end-to-end, side by side in one run (issue 13): N jobs, each one HTTP POST to the same
# local sink (a node:http server answering 200), through
#   - stashd's QStash: POST /v2/publish/<sink> over HTTP; a 2xx means the message is fsynced
#     (durable data dir; the store always fsyncs before answering), then stashd delivers it;
#   - BullMQ (npm, pinned in bench/qstash/package-lock.json) on Debian's redis-server: queue.add,
#     and a Worker whose processor makes the same HTTP call. Two redis-server set-ups: its
#     default (no AOF: a crash loses acknowledged jobs) and `appendonly yes, appendfsync always`
#     (the same durability promise as stashd's).
# closed: 64 publishers as fast as accepted → accepted/s, delivered/s, publish→delivery p50/p99.
# rate: open loop at half of stashd's closed-loop delivered/s → publish latency p50/p99
# (the issue's target: p99 ≤ 5 ms there). Nothing is pinned to a core (both systems use the
# whole 2-core machine, the sink and the publishers included); median of RUNS runs.
# Usage: bash bench/qstash.sh   (RUNS=3, N=20000, SKIP_BUILD=1, STASHD_BIN=..., OUT=bench/results-qstash.md)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
export N=${N:-20000}
TOKEN=benchtoken
OUT=${OUT:-bench/results-qstash.md}
log() { printf '[qstash] %s\n' "$*" >&2; }
command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server redis-tools >/dev/null; }
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_setup
(cd bench/qstash && npm ci --no-audit --no-fund --loglevel=error >&2)

run_stashd() { # mode → JSON line
    local dir http resp out
    dir=$(mktemp -d -p "$WORK") http=$(free_port) resp=$(free_port)
    "$STASHD_BIN" --data-dir "$dir" --bind 127.0.0.1 --port "$resp" --http-port "$http" --redis-token "$TOKEN" \
        --qstash-token "$TOKEN" --qstash-allow loopback >/dev/null 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    wait_port "$resp"
    out=$(cd bench/qstash && node bench.mjs stashd "http://127.0.0.1:$http" "$TOKEN" "$1") || out='{}'
    kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
    echo "$out"
}
run_bullmq() { # durable(yes|no) mode → JSON line
    local port out dir
    port=$(free_port) dir=$(mktemp -d -p "$WORK")
    if [ "$1" = yes ]; then
        redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save "" --appendonly yes --appendfsync always >/dev/null 2>&1 &
    else
        redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save "" --appendonly no >/dev/null 2>&1 &
    fi
    local pid=$!
    PIDS+=("$pid")
    for _ in $(seq 1 100); do redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
    out=$(cd bench/qstash && node bench.mjs bullmq "$port" "$2") || out='{}'
    kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
    echo "$out"
}
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1] or '{}').get(sys.argv[2], 0))" "$1" "$2"; }

declare -A R
for run in $(seq 1 "$RUNS"); do
    log "run $run/$RUNS: closed loop"
    R[stashd,$run]=$(run_stashd closed); log "stashd ${R[stashd,$run]}"
    R[bull,$run]=$(run_bullmq no closed); log "bullmq ${R[bull,$run]}"
    R[bullaof,$run]=$(run_bullmq yes closed); log "bullmq+aof ${R[bullaof,$run]}"
done
med() { # key field
    for run in $(seq 1 "$RUNS"); do field "${R[$1,$run]}" "$2"; done | median
}
peak=$(med stashd delivered_per_s)
half=$(python3 -c "print(max(1, int($peak) // 2))")
for run in $(seq 1 "$RUNS"); do
    log "run $run/$RUNS: open loop at $half/s"
    R[stashd_rate,$run]=$(run_stashd "rate=$half/s"); log "stashd ${R[stashd_rate,$run]}"
    R[bull_rate,$run]=$(run_bullmq no "rate=$half/s"); log "bullmq ${R[bull_rate,$run]}"
done

{
    echo "# QStash end to end: stashd vs BullMQ on redis-server"
    echo
    echo "Command: \`bash bench/qstash.sh\` (N=$N jobs per run, median of $RUNS runs; $(date -u +%Y-%m-%d), $(nproc) cores)."
    echo
    echo "| system | durable 2xx | accepted/s | delivered/s | stashd / it (delivered) | publish p50 / p99 ms | publish→delivery p50 / p99 ms |"
    echo "|---|---|---|---|---|---|---|"
    for key in stashd bull bullaof; do
        case $key in
            stashd) name="stashd QStash"; durable=yes ;;
            bull) name="BullMQ, redis-server default"; durable=no ;;
            bullaof) name="BullMQ, redis-server appendfsync always"; durable=yes ;;
        esac
        d=$(med $key delivered_per_s)
        echo "| $name | $durable | $(med $key accepted_per_s) | $d | $(ratio "$peak" "$d") | $(med $key publish_p50_ms) / $(med $key publish_p99_ms) | $(med $key e2e_p50_ms) / $(med $key e2e_p99_ms) |"
    done
    echo
    echo "Open loop at half of stashd's peak ($half jobs/s): publish latency (target: stashd p99 ≤ 5 ms)."
    echo
    echo "| system | accepted/s | publish p50 / p99 ms | publish→delivery p50 / p99 ms |"
    echo "|---|---|---|---|"
    echo "| stashd QStash | $(med stashd_rate accepted_per_s) | $(med stashd_rate publish_p50_ms) / $(med stashd_rate publish_p99_ms) | $(med stashd_rate e2e_p50_ms) / $(med stashd_rate e2e_p99_ms) |"
    echo "| BullMQ, redis-server default | $(med bull_rate accepted_per_s) | $(med bull_rate publish_p50_ms) / $(med bull_rate publish_p99_ms) | $(med bull_rate e2e_p50_ms) / $(med bull_rate e2e_p99_ms) |"
} > "$OUT"
cat "$OUT"
