#!/usr/bin/env bash
# Workflow end to end (issue 14): runs of STEPS (10) sequential `context.run` steps through
# stashd (durable data directory) with the official @upstash/workflow SDK (pinned in
# bench/workflow/package-lock.json): `serve()` on a local node:http endpoint, `Client.trigger`.
# Two loads: one run at a time (the server's overhead per step without the single-threaded
# endpoint queueing calls of other runs), then RUNS runs at once (throughput). Overhead per step =
# from the SDK's publish of the next step to that step's delivery at the endpoint; beside it the
# plain QStash publish→delivery latency of the same server, same process. Median of REPEAT runs.
# Usage: bash bench/workflow.sh   (REPEAT=3, RUNS=200, SKIP_BUILD=1, STASHD_BIN=..., OUT=bench/results-workflow.md)
set -euo pipefail
cd "$(dirname "$0")/.."
REPEAT=${REPEAT:-3}
RUNS=${RUNS:-200}
TOKEN=benchtoken
OUT=${OUT:-bench/results-workflow.md}
log() { printf '[workflow] %s\n' "$*" >&2; }
command -v redis-cli >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-tools >/dev/null; }
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_setup
(cd bench/workflow && npm ci --no-audit --no-fund --loglevel=error >&2)

one() { # runs concurrency → JSON line
    local dir http resp out
    dir=$(mktemp -d -p "$WORK") http=$(free_port) resp=$(free_port)
    "$STASHD_BIN" --data-dir "$dir" --bind 127.0.0.1 --port "$resp" --http-port "$http" --redis-token "$TOKEN" \
        --qstash-token "$TOKEN" --qstash-allow loopback >/dev/null 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    wait_port "$resp"
    out=$(cd bench/workflow && RUNS="$1" CONCURRENCY="$2" node bench.mjs "http://127.0.0.1:$http" "$TOKEN" 2>/dev/null | tail -1) || out='{}'
    kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
    echo "$out"
}
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1] or '{}').get(sys.argv[2], 0))" "$1" "$2"; }
declare -A R
for r in $(seq 1 "$REPEAT"); do
    R[solo,$r]=$(one 20 1); log "one at a time: ${R[solo,$r]}"
    R[many,$r]=$(one "$RUNS" 20); log "$RUNS at once: ${R[many,$r]}"
done
med() { for r in $(seq 1 "$REPEAT"); do field "${R[$1,$r]}" "$2"; done | median; }
{
    echo "# Workflow: runs of 10 sequential steps through stashd (@upstash/workflow serve + trigger)"
    echo
    echo "Command: \`bash bench/workflow.sh\` (median of $REPEAT; $(date -u +%Y-%m-%d), $(nproc) cores; durable data directory)."
    echo
    echo "| load | runs/s | steps/s | overhead per step p50 / p99 ms | plain QStash publish→delivery p50 / p99 ms |"
    echo "|---|---|---|---|---|"
    echo "| one run at a time | $(med solo runs_per_s) | $(med solo steps_per_s) | $(med solo overhead_p50_ms) / $(med solo overhead_p99_ms) | $(med solo qstash_e2e_p50_ms) / $(med solo qstash_e2e_p99_ms) |"
    echo "| $RUNS runs at once | $(med many runs_per_s) | $(med many steps_per_s) | $(med many overhead_p50_ms) / $(med many overhead_p99_ms) | $(med many qstash_e2e_p50_ms) / $(med many qstash_e2e_p99_ms) |"
} > "$OUT"
cat "$OUT"
