# Shared by bench/datatypes.sh, bench/scripting_pubsub.sh and bench/instructions.sh (sourced from
# the repository root; needs TOKEN): the release build, a scratch directory cleaned up on exit,
# free ports, starting a pinned server (redis-server or stashd) and stopping it, medians.

# Builds stashd (unless SKIP_BUILD), sets STASHD_BIN, WORK (removed on exit) and PIDS (killed on exit).
bench_setup() {
    if [ -z "${SKIP_BUILD:-}" ]; then cargo build --release -p stashd-server >&2; fi
    STASHD_BIN=${STASHD_BIN:-$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/stashd}
    WORK=$(mktemp -d)
    PIDS=()
    trap bench_cleanup EXIT
}
bench_cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() { # port [attempts, 50 ms apart; default 100]
    for _ in $(seq 1 "${2:-100}"); do redis-cli -p "$1" -a "$TOKEN" --no-auth-warning ping 2>/dev/null | grep -q PONG && return 0; sleep 0.05; done; return 1
}
start() { # $1 = redis|stashd; sets PORT
    PORT=$(free_port)
    if [ "$1" = redis ]; then
        taskset -c 0 redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --requirepass "$TOKEN" >/dev/null 2>&1 &
    else
        taskset -c 0 "$STASHD_BIN" --in-memory --threads 1 --bind 127.0.0.1 --port "$PORT" --http-port "$(free_port)" --redis-token "$TOKEN" >/dev/null 2>&1 &
    fi
    SRV=$!
    PIDS+=("$SRV")
    wait_port "$PORT"
}
stop() { kill "$SRV" 2>/dev/null || true; wait "$SRV" 2>/dev/null || true; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# Report formatting: a/b as "1.23×" ("n/a" if either is 0), requests/s as "12.3K".
ratio() { python3 -c "print('n/a' if float($2) == 0 or float($1) == 0 else f'{$1/$2:.2f}×')"; }
k() { python3 -c "print(f'{$1/1000:.1f}K')"; }
