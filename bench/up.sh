#!/usr/bin/env bash
# Benchmark of issue 2 §12 on the 3-host lab: cold `rwin up`, no-op `rwin up` (wall time, peak
# memory of the rwin process, remote round trips), and the shell-script floor (bench/floor.sh)
# doing the same docker and route operations. Each cold run starts from a freshly built lab.
# Prints a table; run as root. Usage: bench/up.sh [REPEATS] (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
cargo build --release --locked -q
RUN=$PWD/lab/run
rwin=(target/release/rwin --known-hosts "$RUN/bench_known_hosts" --accept-new-host-keys)

fresh_lab() { lab/lab.sh down >/dev/null 2>&1 || true; lab/lab.sh up 3 >/dev/null 2>&1; rm -f "$RUN/bench_known_hosts" "$RUN/cluster.rwinstate"; }

measure() { # label, command... → "label seconds peak_kb"
    local label=$1; shift
    local out; out=$(mktemp)
    if ! /usr/bin/time -f "%e %M" -o "$out" "$@" >/dev/null 2>"$out.err"; then
        echo "bench: $label failed:" >&2; cat "$out.err" >&2; return 1
    fi
    echo "$label $(cat "$out")"
}

results=()
for i in $(seq 1 "$repeats"); do
    fresh_lab
    export REGISTRY_PASSWORD; REGISTRY_PASSWORD=$(cat "$RUN/registry-password")
    r=$(measure cold "${rwin[@]}" up "$RUN/cluster.yml") || exit 1; results+=("$r")
    for _ in 1 2 3; do r=$(measure noop "${rwin[@]}" up "$RUN/cluster.yml") || exit 1; results+=("$r"); done
    trips=$("${rwin[@]}" --output json up "$RUN/cluster.yml" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(str(h["round_trips"]) for h in d["hosts"]))')
    results+=("trips_noop $trips")
    fresh_lab
    r=$(measure floor bench/floor.sh) || exit 1; results+=("$r")
done
lab/lab.sh down >/dev/null 2>&1 || true

printf '%s\n' "${results[@]}" | python3 -c '
import sys, statistics as st
rows = {}
for line in sys.stdin:
    parts = line.split()
    rows.setdefault(parts[0], []).append(parts[1:])
def col(k, i): return [float(r[i]) for r in rows.get(k, [])]
print("%-10s %8s %8s %8s %12s" % ("run", "median_s", "min_s", "max_s", "peak_rss_MB"))
for k in ("cold", "noop", "floor"):
    t = col(k, 0); m = col(k, 1)
    print("%-10s %8.2f %8.2f %8.2f %12.1f" % (k, st.median(t), min(t), max(t), max(m) / 1024))
print("cold/floor ratio (median): %.2f" % (st.median(col("cold", 0)) / st.median(col("floor", 0))))
print("no-op remote round trips per host:", rows.get("trips_noop", [["?"]])[-1])
'
