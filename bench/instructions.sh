#!/usr/bin/env bash
# CPU instructions per request, stashd side by side with the reference, counted by
# valgrind --tool=callgrind: the same binary and workload give the same count whatever else the
# machine is doing, so this table is the noise-free companion of bench/run.sh's throughput table.
# It counts user-space instructions of the server processes only (for webdis, webdis plus the
# redis-server behind it); the kernel's share is the same shape on both sides (one read and one
# write per batch of requests; webdis adds a hop to its redis), see bench/README.md.
#   RESP: redis-benchmark -t <test> -c 50 -r 100000 -d 64 -P 1 / -P 16 against redis-server and
#         stashd (--in-memory --threads 1), a fresh server per row.
#   HTTP: N keep-alive requests from one client: stashd `POST /` ["GET","k"] with a bearer token
#         vs webdis `GET /GET/k` (webdis + its redis-server counted together).
# Per request = (instructions after the workload - instructions of an idle start/stop) / N.
# Usage: bash bench/instructions.sh   (SKIP_BUILD=1, STASHD_BIN=..., N_P1, N_P16, N_HTTP, OUT)
set -euo pipefail
cd "$(dirname "$0")/.."
TOKEN=benchtoken
OUT=${OUT:-bench/results-instructions.md}
N_P1=${N_P1:-20000}
N_P16=${N_P16:-100000}
N_HTTP=${N_HTTP:-20000}

log() { printf '[bench] %s\n' "$*" >&2; }
need=()
command -v valgrind >/dev/null || need+=(valgrind)
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-benchmark >/dev/null || need+=(redis-tools)
command -v webdis >/dev/null || need+=(webdis)
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; fi
# shellcheck source=bench/lib.sh
. bench/lib.sh  # the working directory is the repository root (cd above)
bench_setup

# Starts $1 (redis|stashd) under callgrind; sets PORT, HTTP, SRV, CG (its output file).
cg_start() {
    PORT=$(free_port)
    HTTP=$(free_port)
    CG="$WORK/cg.$1.$RANDOM.out"
    if [ "$1" = redis ]; then
        valgrind --tool=callgrind --callgrind-out-file="$CG" redis-server --port "$PORT" --bind 127.0.0.1 \
            --save "" --appendonly no --requirepass "$TOKEN" >/dev/null 2>&1 &
    else
        valgrind --tool=callgrind --callgrind-out-file="$CG" "$STASHD_BIN" --in-memory --threads 1 --bind 127.0.0.1 \
            --port "$PORT" --http-port "$HTTP" --redis-token "$TOKEN" >/dev/null 2>&1 &
    fi
    SRV=$!
    PIDS+=("$SRV")
    wait_port "$PORT" 600 || { log "server $1 did not start under valgrind"; return 1; }
}
# Stops with SIGTERM (both servers exit cleanly, so callgrind writes its totals); prints them.
cg_stop() {
    kill -TERM "$1" 2>/dev/null || true
    # poll: a $(...) subshell cannot `wait` for its parent's children
    for _ in $(seq 1 600); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    awk '/^(summary|totals):/ { print $2; exit }' "$2"
}

# Instructions of an idle start and stop, subtracted from every row.
idle() { cg_start "$1"; cg_stop "$SRV" "$CG"; }
BASE_redis=$(idle redis)
BASE_stashd=$(idle stashd)
log "idle start/stop: redis-server $BASE_redis, stashd $BASE_stashd instructions"

resp_row() { # $1 server, $2 test, $3 pipeline, $4 n -> instructions per request
    cg_start "$1"
    redis-benchmark -p "$PORT" -a "$TOKEN" -t "$2" -n "$4" -c 50 -r 100000 -d 64 -P "$3" -q >/dev/null 2>&1
    local total base_var="BASE_$1"
    total=$(cg_stop "$SRV" "$CG")
    python3 -c "print(round(($total - ${!base_var}) / $4))"
}

ROWS=()
for p in 1 16; do
    if [ "$p" = 1 ]; then n=$N_P1; else n=$N_P16; fi
    for t in set get incr lpush hset zadd; do
        r=$(resp_row redis "$t" "$p" "$n")
        s=$(resp_row stashd "$t" "$p" "$n")
        log "$t -P $p: redis-server $r, stashd $s instructions per request"
        ROWS+=("| ${t^^} | -P $p | $r | $s | $(ratio "$s" "$r") |")
    done
done

# HTTP: one keep-alive client sending N requests and checking every answer.
cat > "$WORK/http_client.py" <<'PY'
import http.client, sys
port, n, kind, token = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
for _ in range(n):
    if kind == "stashd":
        c.request("POST", "/", body=b'["GET","k"]', headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        want = b'{"result":"v"}'
    else:
        c.request("GET", "/GET/k")
        want = b'{"GET":"v"}'
    r = c.getresponse()
    body = r.read()
    if r.status != 200 or body != want:
        sys.exit(f"unexpected answer {r.status} {body!r}")
PY

# stashd REST
cg_start stashd
redis-cli -p "$PORT" -a "$TOKEN" --no-auth-warning set k v >/dev/null
python3 "$WORK/http_client.py" "$HTTP" 1 stashd "$TOKEN"  # warm-up connection path
python3 "$WORK/http_client.py" "$HTTP" "$N_HTTP" stashd "$TOKEN"
total=$(cg_stop "$SRV" "$CG")
S_HTTP=$(python3 -c "print(round(($total - $BASE_stashd) / ($N_HTTP + 1)))")

# webdis in front of redis-server, both under callgrind.
wd_start() { # needs a running redis on PORT; sets WD_PORT, WPID, WCG
    WD_PORT=$(free_port)
    cat >"$WORK/webdis.json" <<EOF
{ "redis_host": "127.0.0.1", "redis_port": $PORT, "redis_auth": "$TOKEN", "http_host": "127.0.0.1",
  "http_port": $WD_PORT, "threads": 1, "daemonize": false, "database": 0, "verbosity": 1,
  "logfile": "$WORK/webdis.log" }
EOF
    WCG="$WORK/cg.webdis.$RANDOM.out"
    valgrind --tool=callgrind --callgrind-out-file="$WCG" webdis "$WORK/webdis.json" >/dev/null 2>&1 &
    WPID=$!
    PIDS+=("$WPID")
    for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$WD_PORT/PING" >/dev/null 2>&1 && return 0; sleep 0.1; done
    log "webdis did not start under valgrind"; return 1
}
# idle webdis (its start-up, one PING and its stop), subtracted like the servers' idle runs
cg_start redis
wd_start
BASE_webdis=$(cg_stop "$WPID" "$WCG")
cg_stop "$SRV" "$CG" >/dev/null
cg_start redis
redis-cli -p "$PORT" -a "$TOKEN" --no-auth-warning set k v >/dev/null
wd_start
python3 "$WORK/http_client.py" "$WD_PORT" 1 webdis "$TOKEN"
python3 "$WORK/http_client.py" "$WD_PORT" "$N_HTTP" webdis "$TOKEN"
wtotal=$(cg_stop "$WPID" "$WCG")
rtotal=$(cg_stop "$SRV" "$CG")
W_HTTP=$(python3 -c "print(round(($wtotal - $BASE_webdis + $rtotal - $BASE_redis) / ($N_HTTP + 1)))")
log "HTTP GET: webdis+redis $W_HTTP, stashd $S_HTTP instructions per request"

{
    echo "# Instructions per request (callgrind, user space)"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); command: \`bash bench/instructions.sh\`"
    echo "- versions: $(redis-server --version | awk '{print $1, $2, $3}'), webdis $(dpkg-query -W -f='${Version}' webdis 2>/dev/null || echo '?'), valgrind $(valgrind --version), stashd $(git rev-parse --short HEAD)"
    echo "- RESP: redis-benchmark -c 50 -r 100000 -d 64, -n $N_P1 at -P 1 and -n $N_P16 at -P 16; HTTP: $N_HTTP keep-alive requests, one client"
    echo "- idle start/stop subtracted: redis-server $BASE_redis, stashd $BASE_stashd, webdis $BASE_webdis instructions"
    echo
    echo "| request | pipeline | reference instr/request | stashd instr/request | stashd / reference |"
    echo "|---|---|---:|---:|---:|"
    printf '%s\n' "${ROWS[@]}"
    echo "| HTTP GET k (webdis + redis-server vs stashd REST) | 1 client | $W_HTTP | $S_HTTP | $(ratio "$S_HTTP" "$W_HTTP") |"
    echo
    echo "Lower is better; the reference for RESP rows is redis-server, for the HTTP row webdis plus its redis-server."
} | tee "$OUT"
