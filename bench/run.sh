#!/usr/bin/env bash
# Side-by-side benchmark: stashd vs redis-server (RESP) and vs webdis+redis-server (HTTP),
# following ../shared/reference/redis-engine.md §10 (beside the repository; the 2-core method):
#   server pinned to core 0, load generator pinned to core 1, stashd with --threads 1,
#   persistence off for throughput, a fresh server per run, short warm-up, RUNS runs, median reported.
# Everything listens on 127.0.0.1 only, on free ports picked at run time.
#
# Usage: bash bench/run.sh
# Environment knobs (all optional):
#   RUNS=3            runs per configuration (median reported; >=3)
#   MEM_RUNS=3        runs per memory configuration
#   MEM_KEYS=1000000  keys loaded for the memory rows
#   SKIP_BUILD=1      do not run cargo build (use an existing binary)
#   STASHD_BIN=path   stashd binary (default: <target>/release/stashd)
#   WEBDIS_THREADS=1  webdis HTTP threads
#   BENCH_TMPDIR=dir  where temp files and durable data dirs go (default /var/tmp; must be a real disk
#                     for the fsync rows to mean anything)
#   OUT=path          results file (default bench/results-latest.md)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-3}
MEM_RUNS=${MEM_RUNS:-3}
MEM_KEYS=${MEM_KEYS:-1000000}
WEBDIS_THREADS=${WEBDIS_THREADS:-1}
OUT=${OUT:-$ROOT/bench/results-latest.md}
RESP_TESTS=(set get incr lpush hset zadd)
RESP_N=${RESP_N:-100000}
DUR_N_ALWAYS=30000     # SET requests per run with appendfsync always (bounded: fsync-bound, slow)
DUR_N_EVERYSEC=100000  # SET requests per run with appendfsync everysec
WRK_SECS=${WRK_SECS:-5}

T_START=$(date +%s)
log() { printf '[bench %4ds] %s\n' "$(( $(date +%s) - T_START ))" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

[ "$RUNS" -ge 1 ] 2>/dev/null || die "RUNS must be a positive integer"

# ---------------------------------------------------------------------------------------------
# 1. Tools
# ---------------------------------------------------------------------------------------------
need_pkgs=()
command -v redis-server    >/dev/null 2>&1 || need_pkgs+=(redis-server)
command -v redis-benchmark >/dev/null 2>&1 || need_pkgs+=(redis-tools)
command -v redis-cli       >/dev/null 2>&1 || need_pkgs+=(redis-tools)
command -v wrk             >/dev/null 2>&1 || need_pkgs+=(wrk)
command -v webdis          >/dev/null 2>&1 || need_pkgs+=(webdis)
command -v nginx           >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_pkgs+=(nginx)
command -v taskset         >/dev/null 2>&1 || need_pkgs+=(util-linux)
command -v python3         >/dev/null 2>&1 || need_pkgs+=(python3)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    log "installing: ${need_pkgs[*]}"
    $SUDO apt-get update -qq
    # The packages' service units must not start system-wide daemons; policy-rc.d usually denies it
    # in containers. Either way we never use them: every server below is our own child process.
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi
[ "$(nproc)" -ge 2 ] || die "need at least 2 CPUs for pinning (nproc=$(nproc))"

# ---------------------------------------------------------------------------------------------
# 2. Build
# ---------------------------------------------------------------------------------------------
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=${STASHD_BIN:-$TARGET_DIR/release/stashd}
if [ -z "${SKIP_BUILD:-}" ]; then
    log "building stashd (release)"
    (cd "$ROOT" && cargo build --release -p stashd-server) || die "cargo build failed"
fi
[ -x "$BIN" ] || die "no stashd binary at $BIN"

# ---------------------------------------------------------------------------------------------
# 3. Scratch space, token, cleanup
# ---------------------------------------------------------------------------------------------
TMPBASE=${BENCH_TMPDIR:-/var/tmp}
mkdir -p "$TMPBASE"
WORK=$(mktemp -d "$TMPBASE/stashd-bench.XXXXXX")
cd "$WORK"   # servers run from here: nothing (logs, default data dirs) can land in the repository
TOKEN="bench$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
RESULTS=$WORK/results.tsv   # section  test  variant  server  run  rps  p50_ms  p99_ms  extra
NOTES=$WORK/notes.txt
: >"$RESULTS"; : >"$NOTES"
ALL_PIDS=()

stop_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do            # up to 5 s for a clean stop
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid did not stop on SIGTERM within 5s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local pid
    for pid in "${ALL_PIDS[@]:-}"; do
        if [ -n "$pid" ]; then stop_pid "$pid"; fi
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

note() { echo "$*" >>"$NOTES"; log "note: $*"; }
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
rcli() { local port=$1; shift; redis-cli -h 127.0.0.1 -p "$port" -a "$TOKEN" --no-auth-warning "$@"; }

wait_ready() {  # port pid
    local port=$1 pid=$2 i
    for i in $(seq 1 200); do            # up to 10 s
        kill -0 "$pid" 2>/dev/null || return 1
        [ "$(rcli "$port" PING 2>/dev/null)" = "PONG" ] && return 0
        sleep 0.05
    done
    return 1
}
wait_http() {  # url
    local i
    for i in $(seq 1 200); do
        curl -s -o /dev/null --max-time 1 "$1" && return 0
        sleep 0.05
    done
    return 1
}

# Servers. Each start_* sets SRV_PID and SRV_PORT (RESP); stashd also SRV_HTTP; webdis WD_PID, WD_PORT.
start_stashd() {  # extra stashd flags (default: --in-memory)...
    if [ $# -eq 0 ]; then set -- --in-memory; fi
    SRV_PORT=$(free_port); SRV_HTTP=$(free_port)
    while [ "$SRV_HTTP" = "$SRV_PORT" ]; do SRV_HTTP=$(free_port); done
    taskset -c 0 "$BIN" --bind 127.0.0.1 --port "$SRV_PORT" --http-port "$SRV_HTTP" \
        --redis-token "$TOKEN" --threads 1 "$@" >>"$WORK/stashd.log" 2>&1 &
    SRV_PID=$!; ALL_PIDS+=("$SRV_PID")
    wait_ready "$SRV_PORT" "$SRV_PID" || { tail -5 "$WORK/stashd.log" >&2; die "stashd did not start"; }
}
start_redis() {  # extra redis-server args (later ones override the defaults)...
    SRV_PORT=$(free_port)
    local dir; dir=$(mktemp -d "$WORK/redis.XXXXXX")
    taskset -c 0 redis-server --bind 127.0.0.1 --port "$SRV_PORT" --requirepass "$TOKEN" \
        --dir "$dir" --logfile "$dir/redis.log" --daemonize no --protected-mode yes \
        --save "" --appendonly no "$@" >/dev/null 2>&1 &
    SRV_PID=$!; ALL_PIDS+=("$SRV_PID")
    wait_ready "$SRV_PORT" "$SRV_PID" || { tail -5 "$dir/redis.log" >&2; die "redis-server did not start"; }
}
start_webdis() {  # needs a running redis on SRV_PORT
    WD_PORT=$(free_port)
    local dir; dir=$(mktemp -d "$WORK/webdis.XXXXXX")
    cat >"$dir/webdis.json" <<EOF
{
    "redis_host": "127.0.0.1",
    "redis_port": $SRV_PORT,
    "redis_auth": "$TOKEN",
    "http_host": "127.0.0.1",
    "http_port": $WD_PORT,
    "threads": $WEBDIS_THREADS,
    "daemonize": false,
    "database": 0,
    "verbosity": 1,
    "logfile": "$dir/webdis.log"
}
EOF
    taskset -c 0 webdis "$dir/webdis.json" >/dev/null 2>&1 &
    WD_PID=$!; ALL_PIDS+=("$WD_PID")
    wait_http "http://127.0.0.1:$WD_PORT/PING" || die "webdis did not start"
}
# The HTTP ceiling: nginx (one worker, core 0) answering every request with a fixed JSON body
# of the same size as stashd's, no work behind it: the fastest any server answers on this box.
start_nginx() {
    NG_PORT=$(free_port)
    local dir; dir=$(mktemp -d "$WORK/nginx.XXXXXX")
    cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 100000000;
    server {
        listen 127.0.0.1:$NG_PORT;
        location / { default_type application/json; return 200 '{"result":"1"}'; }
    }
}
EOF
    local bin; bin=$(command -v nginx || echo /usr/sbin/nginx)
    taskset -c 0 "$bin" -p "$dir" -c "$dir/nginx.conf" >/dev/null 2>&1 &
    SRV_PID=$!; ALL_PIDS+=("$SRV_PID")
    wait_http "http://127.0.0.1:$NG_PORT/" || die "nginx did not start"
}
stop_all() { stop_pid "$SRV_PID"; if [ -n "${WD_PID:-}" ]; then stop_pid "$WD_PID"; fi; WD_PID=""; }
rss_bytes() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"; }

# redis-benchmark, one test, CSV; prints "rps p50 p99" or nothing.
rbench() {  # port test n P [extra...]
    local port=$1 t=$2 n=$3 p=$4; shift 4
    local up; up=$(echo "$t" | tr '[:lower:]' '[:upper:]')
    timeout 300 taskset -c 1 redis-benchmark -h 127.0.0.1 -p "$port" -a "$TOKEN" -t "$t" -n "$n" -c 50 \
        -r 100000 -d 64 -P "$p" --csv "$@" >"$WORK/rb.out" 2>"$WORK/rb.err" || true
    # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    awk -F'","' -v t="$up" '{ gsub(/^"|"$/, "", $1); gsub(/"$/, "", $8)
        if (toupper($1) == t) { print $2, $5, $7; exit } }' "$WORK/rb.out"
}
rbench_error() {  # first error line of the last rbench
    cat "$WORK/rb.out" "$WORK/rb.err" 2>/dev/null | grep -m1 -iE 'err|error' | tr -d '\r' | cut -c1-160
}

log "work dir $WORK (filesystem: $(df -T "$WORK" | awk 'NR==2 {print $2}')), runs=$RUNS"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------------
# 4a. RESP throughput: redis-benchmark, -P 1 and -P 16
# ---------------------------------------------------------------------------------------------
for P in 1 16; do
    for run in $(seq 1 "$RUNS"); do
        # Alternate which server goes first so slow drifts on the shared box hit both alike.
        if [ $((run % 2)) -eq 1 ]; then order=(redis stashd); else order=(stashd redis); fi
        for srv in "${order[@]}"; do
            log "RESP -P $P run $run/$RUNS: $srv"
            "start_$srv"
            # warm-up (not recorded)
            timeout 120 taskset -c 1 redis-benchmark -h 127.0.0.1 -p "$SRV_PORT" -a "$TOKEN" -t set,get \
                -n 20000 -c 50 -r 100000 -d 64 -P "$P" -q >/dev/null 2>&1 || true
            for t in "${RESP_TESTS[@]}"; do
                res=$(rbench "$SRV_PORT" "$t" "$RESP_N" "$P")
                if [ -n "$res" ]; then
                    read -r rps p50 p99 <<<"$res"
                    record resp "$t" "P$P" "$srv" "$run" "$rps" "$p50" "$p99" ""
                else
                    record resp "$t" "P$P" "$srv" "$run" na na na ""
                    if [ "$run" -eq 1 ]; then note "RESP $srv $t -P $P failed: $(rbench_error)"; fi
                fi
            done
            stop_all
        done
    done
done

# ---------------------------------------------------------------------------------------------
# 4b. HTTP: wrk against stashd's REST face and webdis -> redis-server
# ---------------------------------------------------------------------------------------------
for cmd in GET INCR; do
    cat >"$WORK/stashd_$cmd.lua" <<EOF
wrk.method = "POST"
wrk.body = '["$cmd","k"]'
wrk.headers["Authorization"] = "Bearer $TOKEN"
wrk.headers["Content-Type"] = "application/json"
EOF
done

# wrk output -> "rps p50_ms p99_ms errors"
parse_wrk() {
    awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /^ *50%/ { p50 = ms($2) } /^ *99%/ { p99 = ms($2) }
    /^Requests\/sec:/ { rps = $2 }
    /Non-2xx or 3xx responses:/ { err += $NF }
    /Socket errors:/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) err += $i+0 }
    END { if (rps != "") printf "%s %.3f %.3f %d\n", rps, p50, p99, err }' "$1"
}

for C in 1 50; do
    for cmd in GET INCR; do
        for run in $(seq 1 "$RUNS"); do
            if [ $((run % 2)) -eq 1 ]; then order=(webdis stashd); else order=(stashd webdis); fi
            # the ceiling is the same for every command: measured with the GET rows
            if [ "$cmd" = GET ]; then order+=(nginx); fi
            for srv in "${order[@]}"; do
                log "HTTP $cmd -c $C run $run/$RUNS: $srv"
                if [ "$srv" = stashd ]; then
                    start_stashd
                    rcli "$SRV_PORT" SET k 1 >/dev/null
                    url="http://127.0.0.1:$SRV_HTTP/"
                    script=(-s "$WORK/stashd_$cmd.lua")
                    check=$(curl -s --max-time 2 -X POST -H "Authorization: Bearer $TOKEN" \
                        -d "[\"$cmd\",\"k\"]" "$url" || true)
                    ok='"result"'
                elif [ "$srv" = nginx ]; then
                    start_nginx
                    url="http://127.0.0.1:$NG_PORT/"
                    script=(-s "$WORK/stashd_$cmd.lua")
                    check=$(curl -s --max-time 2 -X POST -d "[\"$cmd\",\"k\"]" "$url" || true)
                    ok='"result"'
                else
                    start_redis
                    rcli "$SRV_PORT" SET k 1 >/dev/null
                    start_webdis
                    url="http://127.0.0.1:$WD_PORT/$cmd/k"
                    script=()
                    check=$(curl -s --max-time 2 "$url" || true)
                    ok="\"$cmd\""
                fi
                if [[ "$check" != *"$ok"* ]]; then
                    record http "$cmd" "c$C" "$srv" "$run" na na na ""
                    if [ "$run" -eq 1 ]; then note "HTTP $srv $cmd: unexpected response: $(echo "$check" | cut -c1-120)"; fi
                    stop_all; continue
                fi
                timeout 30 taskset -c 1 wrk -t1 -c"$C" -d1s "${script[@]}" "$url" >/dev/null 2>&1 || true  # warm-up
                timeout $((WRK_SECS + 30)) taskset -c 1 wrk -t1 -c"$C" -d"${WRK_SECS}s" --latency "${script[@]}" "$url" \
                    >"$WORK/wrk.out" 2>&1 || true
                res=$(parse_wrk "$WORK/wrk.out")
                if [ -n "$res" ]; then
                    read -r rps p50 p99 errs <<<"$res"
                    record http "$cmd" "c$C" "$srv" "$run" "$rps" "$p50" "$p99" "$errs"
                    if [ "$errs" -gt 0 ]; then note "HTTP $srv $cmd -c $C run $run: $errs non-2xx/socket errors"; fi
                else
                    record http "$cmd" "c$C" "$srv" "$run" na na na ""
                    note "HTTP $srv $cmd -c $C run $run: wrk produced no result"
                fi
                stop_all
            done
        done
    done
done

# ---------------------------------------------------------------------------------------------
# 4c. Memory: MEM_KEYS deterministic keys key:0..key:N-1, 16-byte values, via redis-cli --pipe
# ---------------------------------------------------------------------------------------------
log "generating $MEM_KEYS-key load files"
python3 - "$MEM_KEYS" "$WORK" <<'EOF'
import sys
n, work = int(sys.argv[1]), sys.argv[2]
for variant in ("plain", "ttl"):
    with open(f"{work}/load_{variant}.resp", "wb") as out:
        buf = []
        for i in range(n):
            k = b"key:%d" % i
            v = b"v%015d" % i          # 16 bytes, not an integer (so Redis does not int-encode it)
            if variant == "plain":
                buf.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\n%s\r\n" % (len(k), k, v))
            else:
                buf.append(b"*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\n%s\r\n$2\r\nPX\r\n$7\r\n3600000\r\n" % (len(k), k, v))
            if len(buf) >= 100000:
                out.write(b"".join(buf)); buf = []
        out.write(b"".join(buf))
EOF

used_memory() { rcli "$1" INFO memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }'; }

for variant in plain ttl; do
    for run in $(seq 1 "$MEM_RUNS"); do
        if [ $((run % 2)) -eq 1 ]; then order=(redis stashd); else order=(stashd redis); fi
        for srv in "${order[@]}"; do
            log "memory $variant run $run/$MEM_RUNS: $srv"
            "start_$srv"
            sleep 0.5
            before=$(rss_bytes "$SRV_PID")
            um_before=""; if [ "$srv" = redis ]; then um_before=$(used_memory "$SRV_PORT"); fi
            timeout 300 taskset -c 1 redis-cli -h 127.0.0.1 -p "$SRV_PORT" -a "$TOKEN" --no-auth-warning \
                --pipe <"$WORK/load_$variant.resp" >"$WORK/pipe.out" 2>&1 || true
            n=$(rcli "$SRV_PORT" DBSIZE 2>/dev/null || echo 0)
            # both servers idle for 2.5 s first (stashd hands freed memory back on an idle second)
            sleep 2.5
            after=$(rss_bytes "$SRV_PID")
            if [ "$n" != "$MEM_KEYS" ]; then
                record mem "$variant" "-" "$srv" "$run" na na na ""
                note "memory $srv $variant run $run: DBSIZE=$n, expected $MEM_KEYS ($(tail -1 "$WORK/pipe.out" | cut -c1-100))"
            else
                bpk=$(awk -v a="$after" -v b="$before" -v n="$MEM_KEYS" 'BEGIN { printf "%.1f", (a - b) / n }')
                extra=""
                if [ "$srv" = redis ]; then
                    um_after=$(used_memory "$SRV_PORT")
                    extra=$(awk -v a="$um_after" -v b="$um_before" -v n="$MEM_KEYS" 'BEGIN { printf "%.1f", (a - b) / n }')
                fi
                record mem "$variant" "-" "$srv" "$run" "$bpk" "$before" "$after" "$extra"
            fi
            stop_all
        done
    done
done
rm -f "$WORK"/load_*.resp

# ---------------------------------------------------------------------------------------------
# 4d. Durability cost: SET -P 1 with an append-only log, fsync always / everysec
# ---------------------------------------------------------------------------------------------
for mode in always everysec; do
    if [ "$mode" = always ]; then n=$DUR_N_ALWAYS; else n=$DUR_N_EVERYSEC; fi
    for run in $(seq 1 "$RUNS"); do
        if [ $((run % 2)) -eq 1 ]; then order=(redis stashd); else order=(stashd redis); fi
        for srv in "${order[@]}"; do
            log "durability $mode run $run/$RUNS: $srv"
            if [ "$srv" = stashd ]; then
                ddir=$(mktemp -d "$WORK/stashd-data.XXXXXX")
                start_stashd --data-dir "$ddir" --appendfsync "$mode"
            else
                start_redis --appendonly yes --appendfsync "$mode"
            fi
            timeout 60 taskset -c 1 redis-benchmark -h 127.0.0.1 -p "$SRV_PORT" -a "$TOKEN" -t set \
                -n 2000 -c 50 -r 100000 -d 64 -P 1 -q >/dev/null 2>&1 || true   # warm-up
            res=$(rbench "$SRV_PORT" set "$n" 1)
            if [ -n "$res" ]; then
                read -r rps p50 p99 <<<"$res"
                record dur set "$mode" "$srv" "$run" "$rps" "$p50" "$p99" "$n"
            else
                record dur set "$mode" "$srv" "$run" na na na "$n"
                note "durability $srv $mode run $run failed: $(rbench_error)"
            fi
            stop_all
            if [ "$srv" = stashd ]; then rm -rf "$ddir"; fi
        done
    done
done

# ---------------------------------------------------------------------------------------------
# 5. Report
# ---------------------------------------------------------------------------------------------
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(( $(date +%s) - T_START ))
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
STASHD_REV=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(cd "$ROOT" && git status --porcelain -- crates 2>/dev/null)" ]; then
    STASHD_REV="$STASHD_REV (+ uncommitted changes in crates/)"
fi
export RESULTS NOTES RUNS MEM_RUNS MEM_KEYS RESP_N WRK_SECS DUR_N_ALWAYS DUR_N_EVERYSEC WEBDIS_THREADS
export META_DATE="$(date -u '+%Y-%m-%d %H:%M UTC')" META_NPROC="$(nproc)" META_CPU="$CPU_MODEL" \
    META_KERNEL="$(uname -r)" META_REDIS="$(redis-server --version | awk '{print $3}' | sed 's/v=//')" \
    META_WEBDIS="$(dpkg-query -W -f='${Version}' webdis 2>/dev/null || echo '?')" \
    META_WRK="$(dpkg-query -W -f='${Version}' wrk 2>/dev/null || echo '?')" \
    META_STASHD="$STASHD_REV" META_LOAD="$LOAD_START -> $LOAD_END" META_ELAPSED="$ELAPSED" \
    META_FS="$(df -T "$WORK" | awk 'NR==2 {print $2}')"

python3 - >"$WORK/report.md" <<'EOF'
import os, statistics
from collections import defaultdict

E = os.environ
rows = defaultdict(list)   # (section, test, variant, server) -> [(rps, p50, p99, extra)]
for line in open(E["RESULTS"]):
    sec, test, var, srv, run, rps, p50, p99, extra = line.rstrip("\n").split("\t")
    rows[(sec, test, var, srv)].append((rps, p50, p99, extra))

def med(key, idx=0):
    vals = [float(r[idx]) for r in rows.get(key, []) if r[idx] not in ("na", "")]
    return statistics.median(vals) if vals else None

def runs_ok(key):
    return sum(1 for r in rows.get(key, []) if r[0] != "na"), len(rows.get(key, []))

def k(v):
    if v is None: return "n/a"
    return f"{v/1000:.1f}K" if v >= 1000 else f"{v:.0f}"

def lat(key):
    a, b = med(key, 1), med(key, 2)
    return "n/a" if a is None else f"{a:.3f} / {b:.3f}"

def ratio(a, b, fmt="{:.2f}×"):
    return "n/a" if a is None or b is None or b == 0 else fmt.format(a / b)

def all_runs(key):
    return ", ".join("n/a" if r[0] == "na" else k(float(r[0])) for r in rows.get(key, []))

out = []
p = out.append
p("# stashd benchmark — latest run\n")
p(f"- date: {E['META_DATE']}; total runtime {E['META_ELAPSED']} s; command: `bash bench/run.sh`")
p(f"- machine: {E['META_NPROC']} vCPU ({E['META_CPU']}), kernel {E['META_KERNEL']}; shared, noisy VM — other "
  f"workers' compile jobs may have been running (load average start -> end: {E['META_LOAD']})")
p(f"- versions: redis-server {E['META_REDIS']}, webdis {E['META_WEBDIS']}, wrk {E['META_WRK']}, stashd {E['META_STASHD']}")
p(f"- method: server `taskset -c 0` (stashd `--threads 1`; webdis with {E['WEBDIS_THREADS']} thread(s) and its "
  f"redis-server both on core 0), load generator `taskset -c 1`; fresh server per run, short warm-up, "
  f"median of {E['RUNS']} runs (memory: {E['MEM_RUNS']}); p50/p99 are medians of the per-run percentiles, in ms")
p("")

p(f"## RESP throughput (redis-benchmark -n {E['RESP_N']} -c 50 -r 100000 -d 64, persistence off)\n")
p("| test | pipeline | redis-server rps | stashd rps | stashd / redis | target | redis p50 / p99 ms | stashd p50 / p99 ms |")
p("|---|---|---:|---:|---:|---|---|---|")
tests = ["set", "get", "incr", "lpush", "hset", "zadd"]
for var in ("P1", "P16"):
    for t in tests:
        r, s = ("resp", t, var, "redis"), ("resp", t, var, "stashd")
        p(f"| {t.upper()} | -P {var[1:]} | {k(med(r))} | {k(med(s))} | {ratio(med(s), med(r))} | ≥ 1.0× "
          f"| {lat(r)} | {lat(s)} |")
p("")

p(f"## HTTP throughput (wrk -t1 -d{E['WRK_SECS']}s, keep-alive; stashd `POST /` JSON + bearer token; webdis `GET /CMD/k`)\n")
p("| request | connections | webdis→redis req/s | stashd REST req/s | stashd / webdis | target | webdis p50 / p99 ms | stashd p50 / p99 ms |")
p("|---|---|---:|---:|---:|---|---|---|")
for c in ("c1", "c50"):
    for cmd in ("GET", "INCR"):
        w, s = ("http", cmd, c, "webdis"), ("http", cmd, c, "stashd")
        p(f"| {cmd} k | {c[1:]} | {k(med(w))} | {k(med(s))} | {ratio(med(s), med(w))} | ≥ 2.0× | {lat(w)} | {lat(s)} |")
p("")
p("The ceiling of this machine: nginx (one worker on core 0) answering every request with a fixed 14-byte JSON body, "
  "no work behind it, driven by the same wrk script as stashd:\n")
p("| connections | nginx canned req/s | nginx / webdis (the best ratio any server could show) | stashd / nginx | nginx p50 / p99 ms |")
p("|---|---:|---:|---:|---|")
for c in ("c1", "c50"):
    n_, w, s = ("http", "GET", c, "nginx"), ("http", "GET", c, "webdis"), ("http", "GET", c, "stashd")
    p(f"| {c[1:]} | {k(med(n_))} | {ratio(med(n_), med(w))} | {ratio(med(s), med(n_))} | {lat(n_)} |")
p("")

n = int(E["MEM_KEYS"])
p(f"## Memory ({n:,} keys `key:N`, 16-byte values, loaded with redis-cli --pipe; bytes/key = ΔVmRSS / {n:,})\n")
p("| data | redis-server B/key (RSS) | stashd B/key (RSS) | stashd / redis | target | redis-server B/key (INFO used_memory) |")
p("|---|---:|---:|---:|---|---:|")
def f1(v): return "n/a" if v is None else f"{v:.1f}"
mp = {}
for var, label in (("plain", "SET key:N v16"), ("ttl", "SET key:N v16 PX 3600000")):
    r, s = ("mem", var, "-", "redis"), ("mem", var, "-", "stashd")
    mr, ms = med(r), med(s)
    um = med(r, 3)
    mp[var] = (mr, ms, um)
    p(f"| {label} | {f1(mr)} | {f1(ms)} | {ratio(ms, mr)} | ≤ redis (≈104, +40 with TTL) | {f1(um)} |")
if all(v is not None for v in mp["plain"] + mp["ttl"]):
    d = [mp["ttl"][i] - mp["plain"][i] for i in range(3)]
    p(f"| TTL overhead (difference) | {d[0]:+.1f} | {d[1]:+.1f} | | ≤ redis (≈ +40) | {d[2]:+.1f} |")
p("")

p(f"## Durability cost (SET -P 1 -c 50 -d 64, append-only log; always: -n {E['DUR_N_ALWAYS']}, everysec: -n {E['DUR_N_EVERYSEC']})\n")
p("| appendfsync | redis-server rps | stashd rps | stashd / redis | redis p50 / p99 ms | stashd p50 / p99 ms |")
p("|---|---:|---:|---:|---|---|")
for mode in ("always", "everysec"):
    r, s = ("dur", "set", mode, "redis"), ("dur", "set", mode, "stashd")
    p(f"| {mode} | {k(med(r))} | {k(med(s))} | {ratio(med(s), med(r))} | {lat(r)} | {lat(s)} |")
p(f"\n(data directories on a `{E['META_FS']}` filesystem)\n")

p("## All runs (rps / req/s / bytes per key, in run order)\n")
p("| section | test | variant | server | runs |")
p("|---|---|---|---|---|")
for key in sorted(rows):
    sec, test, var, srv = key
    vals = ", ".join("n/a" if r[0] == "na" else (r[0] if sec == "mem" else k(float(r[0]))) for r in rows[key])
    p(f"| {sec} | {test} | {var} | {srv} | {vals} |")
p("")

notes = [l.strip() for l in open(E["NOTES"]) if l.strip()]
p("## Notes\n")
if notes:
    for l in notes: p(f"- {l}")
else:
    p("- none")
print("\n".join(out))
EOF

mkdir -p "$(dirname "$OUT")"
cp "$WORK/report.md" "$OUT"
cat "$OUT"
log "done in ${ELAPSED}s; wrote $OUT"
