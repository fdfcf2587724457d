#!/usr/bin/env bash
# Memory per key and per collection element (issue 12), side by side with redis-server, with the
# RSS method of bench/run.sh: fresh server, VmRSS before, load with redis-cli --pipe, both servers
# idle 2.5 s, VmRSS after; bytes = ΔRSS / count. Servers alternate run by run; median of RUNS.
#   keys8 / keys16:    N keys `key:<i>` (SET) with 8- or 16-byte values (`v` + digits, so Redis
#                      does not int-encode them); *_ttl the same with PX 3600000.
#   hash10 / set10:    N/10 keys, each a hash of 10 fields `f0..f9` with 8-byte values / a set of
#                      10 members `m<i>-<j>` (8-16 bytes): bytes per element, Redis's listpack side.
# BASE_BIN=path adds another stashd build as a third column.
# Usage: bash bench/memory.sh   (RUNS=3, N=1000000, SKIP_BUILD=1, STASHD_BIN=..., BASE_BIN=..., OUT=bench/results-memory.md)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
N=${N:-1000000}
TOKEN=benchtoken
OUT=${OUT:-bench/results-memory.md}

log() { printf '[memory] %s\n' "$*" >&2; }
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_setup
NEW_BIN=$STASHD_BIN
SERVERS="redis stashd"
if [ -n "${BASE_BIN:-}" ]; then SERVERS="redis base stashd"; fi
VARIANTS="keys8 keys16 keys8_ttl keys16_ttl hash10 set10"

python3 - "$N" "$WORK" <<'EOF'
import sys
n, work = int(sys.argv[1]), sys.argv[2]
def cmd(*a):
    return b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in a)
def write(name, gen):
    with open(f"{work}/{name}.resp", "wb") as out:
        buf = []
        for c in gen:
            buf.append(c)
            if len(buf) >= 100000:
                out.write(b"".join(buf)); buf = []
        out.write(b"".join(buf))
for size in (8, 16):
    for ttl in (False, True):
        extra = (b"PX", b"3600000") if ttl else ()
        write(f"keys{size}{'_ttl' if ttl else ''}", (cmd(b"SET", b"key:%d" % i, b"v%0*d" % (size - 1, i), *extra) for i in range(n)))
write("hash10", (cmd(b"HSET", b"hash:%d" % i, *[x for j in range(10) for x in (b"f%d" % j, b"v%07d" % j)]) for i in range(n // 10)))
write("set10", (cmd(b"SADD", b"set:%d" % i, *[b"m%d-%d" % (i, j) for j in range(10)]) for i in range(n // 10)))
EOF
count() { case $1 in hash10 | set10) echo "$N" ;; *) echo "$N" ;; esac; }
rss_bytes() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"; }

RESULTS=$WORK/results
: >"$RESULTS"
for v in $VARIANTS; do
    for run in $(seq 1 "$RUNS"); do
        read -r -a order <<<"$SERVERS"
        for _ in $(seq 2 "$run"); do order=("${order[@]:1}" "${order[0]}"); done
        for srv in "${order[@]}"; do
            case $srv in
                redis) start redis ;;
                base) STASHD_BIN=$BASE_BIN start stashd ;;
                stashd) STASHD_BIN=$NEW_BIN start stashd ;;
            esac
            sleep 0.5
            before=$(rss_bytes "$SRV")
            timeout 300 taskset -c 1 redis-cli -p "$PORT" -a "$TOKEN" --no-auth-warning --pipe <"$WORK/$v.resp" >/dev/null 2>&1 || true
            sleep 2.5
            after=$(rss_bytes "$SRV")
            keys=$(redis-cli -p "$PORT" -a "$TOKEN" --no-auth-warning DBSIZE)
            bpe=$(awk -v a="$after" -v b="$before" -v n="$(count "$v")" 'BEGIN { printf "%.1f", (a - b) / n }')
            log "$v run $run $srv: $bpe B (keys $keys)"
            echo "$v $srv $run $bpe $keys" >>"$RESULTS"
            stop
        done
    done
done

export RESULTS RUNS N SERVERS REV=$(git rev-parse --short HEAD) VER="$(redis-server --version | sed -E 's/.*v=([0-9.]+).*/\1/')"
python3 - >"$OUT" <<'EOF'
import os, statistics
from collections import defaultdict
E = os.environ
rows = defaultdict(list)
for line in open(E["RESULTS"]):
    v, srv, run, bpe, keys = line.split()
    rows[(v, srv)].append(float(bpe))
servers = E["SERVERS"].split()
n = int(E["N"])
what = {
    "keys8": f"SET key:N <8 B> ({n:,} keys), B/key",
    "keys16": f"SET key:N <16 B> ({n:,} keys), B/key",
    "keys8_ttl": f"SET key:N <8 B> PX 3600000, B/key",
    "keys16_ttl": f"SET key:N <16 B> PX 3600000, B/key",
    "hash10": f"HSET of 10 fields (8 B values) into {n // 10:,} hashes, B/field",
    "set10": f"SADD of 10 members into {n // 10:,} sets, B/member",
}
print(f"- stashd {E['REV']}; redis-server {E['VER']}; ΔVmRSS / count after `redis-cli --pipe`, idle 2.5 s; median of {E['RUNS']} runs\n")
print("| data | " + " | ".join(f"{s} B" for s in servers) + " | stashd / redis |")
print("|---|" + "---:|" * (len(servers) + 1))
for v in what:
    m = {s: statistics.median(rows[(v, s)]) if rows[(v, s)] else 0 for s in servers}
    r = f"{m['stashd'] / m['redis']:.2f}×" if m["redis"] else "n/a"
    print(f"| {what[v]} | " + " | ".join(f"{m[s]:.1f}" for s in servers) + f" | {r} |")
print("\nAll runs: " + "; ".join(f"{v} {s}: " + " ".join(f"{x:g}" for x in rows[(v, s)]) for v in what for s in servers))
EOF
cat "$OUT"
