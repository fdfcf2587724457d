#!/usr/bin/env bash
# The longest single insert while a table grows from empty to N entries (issue 12): IndexMap, as
# the keyspace was before, against the engine's incrementally rehashed Dict, with the keyspace's
# key and entry sizes, in one process, two rounds each, pinned to core 0. In-process and
# single-threaded, so it shows the resize stalls without the network noise of bench/tail.sh.
# Usage: bash bench/stalls.sh   (N=1000000; CALLGRIND=1 adds instruction counts per insert)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p stashd-engine --example grow_stalls
dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
taskset -c 0 "$dir/release/examples/grow_stalls" "${N:-1000000}"
# Instructions per insert (callgrind; the timing code is the same on both sides).
if [ -n "${CALLGRIND:-}" ]; then
    for m in indexmap dict; do
        valgrind --tool=callgrind --callgrind-out-file=/dev/null "$dir/release/examples/grow_stalls" "${N:-1000000}" "$m" 2>&1 \
            | awk -v m="$m" -v n="${N:-1000000}" '/Collected/ { printf "%s: %d instructions in total, %.0f per insert (including key formatting and timing)\n", m, $4, $4 / n }'
    done
fi
