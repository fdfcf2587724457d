#!/usr/bin/env bash
# Side-by-side rows for scripting and pub/sub (issue 3), same method as bench/run.sh:
# server pinned to core 0 (stashd --threads 1), load generator on core 1, fresh server per run,
# servers alternating run by run, median of RUNS runs, 127.0.0.1 only.
#   1. EVALSHA of @upstash/ratelimit's sliding-window script (the real text from the pinned npm
#      package in tests/js; its `#!lua flags=allow-key-locking` line is dropped for both servers
#      because redis-server 7.0 rejects that hosted-service flag), random keys, -P 1 and -P 16.
#   2. PUBLISH fan-out to 50 subscribers: publishes/s from redis-benchmark, times the receivers
#      each PUBLISH reached, checked against the bytes the subscribers actually drained.
# Usage: bash bench/scripting_pubsub.sh   (RUNS=3, SKIP_BUILD=1, STASHD_BIN=...)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
TOKEN=benchtoken
OUT=${OUT:-bench/results-scripting-pubsub.md}

log() { printf '[bench] %s\n' "$*" >&2; }
for tool in redis-server redis-benchmark redis-cli; do
    command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server redis-tools >/dev/null; break; }
done
[ -d tests/js/node_modules/@upstash/ratelimit ] || (cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
# shellcheck source=bench/lib.sh
. bench/lib.sh  # the working directory is the repository root (cd above)
bench_setup

# The script text, exactly as the package ships it, minus the shebang line.
node -e '
const fs = require("fs");
const src = fs.readFileSync("tests/js/node_modules/@upstash/ratelimit/dist/index.js", "utf8");
const m = src.match(/slidingWindowLimitScript = `([\s\S]*?)`;/);
if (!m) { console.error("script not found in @upstash/ratelimit"); process.exit(1); }
process.stdout.write(m[1].replace(/^#!lua[^\n]*\n/, ""));
' > "$WORK/sliding.lua"


evalsha_rps() { # $1 server, $2 pipeline
    start "$1"
    local sha
    sha=$(redis-cli -p "$PORT" -a "$TOKEN" --no-auth-warning -x script load < "$WORK/sliding.lua")
    taskset -c 1 redis-benchmark -p "$PORT" -a "$TOKEN" -n 100000 -c 50 -r 100000 -P "$2" --csv \
        evalsha "$sha" 3 "rl:__rand_int__" "rl:prev:__rand_int__" "" 10 1700000000000 60000 1 2>/dev/null \
        | tail -1 | tr -d '"' | cut -d, -f2
    stop
}

# 50 raw subscribers that drain and count bytes; prints the total when stopped.
cat > "$WORK/drain.py" <<'PY'
import selectors, signal, socket, sys, time
port, token, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
sel, total, stop = selectors.DefaultSelector(), 0, False
def onsig(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, onsig)
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"AUTH {token}\r\nSUBSCRIBE fan\r\n".encode())
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
print("ready", flush=True)
deadline = time.monotonic() + 120
while not stop and time.monotonic() < deadline:
    for key, _ in sel.select(0.1):
        try:
            total += len(key.fileobj.recv(1 << 20))
        except BlockingIOError:
            pass
print(total, flush=True)
PY

fanout() { # $1 server -> prints "publishes/s receivers delivered_messages/s bytes_ok"
    start "$1"
    local fifo="$WORK/drain.out"
    taskset -c 1 python3 "$WORK/drain.py" "$PORT" "$TOKEN" 50 > "$fifo" &
    local drain=$!
    for _ in $(seq 1 100); do grep -q ready "$fifo" 2>/dev/null && break; sleep 0.05; done
    sleep 0.3
    local receivers rps
    receivers=$(redis-cli -p "$PORT" -a "$TOKEN" --no-auth-warning publish fan probe)
    rps=$(taskset -c 1 redis-benchmark -p "$PORT" -a "$TOKEN" -n 20000 -c 10 -P 16 --csv publish fan "$(printf 'm%.0s' $(seq 1 64))" 2>/dev/null | tail -1 | tr -d '"' | cut -d, -f2)
    sleep 1
    kill -TERM "$drain"; wait "$drain" 2>/dev/null || true
    local bytes; bytes=$(tail -1 "$fifo")
    stop
    python3 -c "print(f'{float($rps):.0f} $receivers {float($rps)*$receivers:.0f} $bytes')"
}

declare -A R
# Servers alternate run by run (redis, stashd, redis, ...) so drift on a shared VM hits both.
declare -A VALS CHECKS
for p in 1 16; do
    for i in $(seq 1 "$RUNS"); do
        for srv in redis stashd; do
            log "EVALSHA -P $p run $i/$RUNS: $srv"
            VALS[$p,$srv]+="$(evalsha_rps "$srv" "$p")"$'\n'
        done
    done
    for srv in redis stashd; do
        R[eval,$p,$srv]=$(printf '%s' "${VALS[$p,$srv]}" | median)
        R[evalruns,$p,$srv]=$(printf '%s' "${VALS[$p,$srv]}" | paste -sd' ')
    done
done
for i in $(seq 1 "$RUNS"); do
    for srv in redis stashd; do
        log "PUBLISH fan-out run $i/$RUNS: $srv"
        read -r pub recv deliv bytes < <(fanout "$srv")
        VALS[fan,$srv]+="$deliv"$'\n'
        CHECKS[$srv]+="$recv receivers, $bytes bytes; "
    done
done
for srv in redis stashd; do
    R[fan,$srv]=$(printf '%s' "${VALS[fan,$srv]}" | median)
    R[fanruns,$srv]=$(printf '%s' "${VALS[fan,$srv]}" | paste -sd' ')
    R[fancheck,$srv]=${CHECKS[$srv]}
done

{
    echo "# stashd scripting and pub/sub benchmark — latest run"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); command: \`bash bench/scripting_pubsub.sh\`; stashd $(git rev-parse --short HEAD); $(redis-server --version | cut -d' ' -f1-3)"
    echo "- method: servers \`taskset -c 0\` (stashd \`--threads 1\`), clients \`taskset -c 1\`, fresh server per run, servers alternating run by run, median of $RUNS"
    echo
    echo "| test | redis-server | stashd | stashd / redis | target |"
    echo "|---|---:|---:|---:|---|"
    for p in 1 16; do
        echo "| EVALSHA ratelimit slidingWindow, random keys, -P $p (rps) | $(k "${R[eval,$p,redis]}") | $(k "${R[eval,$p,stashd]}") | $(ratio "${R[eval,$p,stashd]}" "${R[eval,$p,redis]}") | ≥ 1.0× |"
    done
    echo "| PUBLISH fan-out to 50 subscribers (messages delivered/s) | $(k "${R[fan,redis]}") | $(k "${R[fan,stashd]}") | $(ratio "${R[fan,stashd]}" "${R[fan,redis]}") | ≥ 1.0× |"
    echo
    echo "Runs: EVALSHA -P 1 redis ${R[evalruns,1,redis]} / stashd ${R[evalruns,1,stashd]}; -P 16 redis ${R[evalruns,16,redis]} / stashd ${R[evalruns,16,stashd]};"
    echo "fan-out redis ${R[fanruns,redis]} / stashd ${R[fanruns,stashd]}."
    echo "Delivery check (receivers per PUBLISH, bytes drained by the 50 subscribers): redis ${R[fancheck,redis]}stashd ${R[fancheck,stashd]}"
} > "$OUT"
cat "$OUT"
