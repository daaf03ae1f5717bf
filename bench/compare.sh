#!/usr/bin/env bash
# rwin vs Ansible vs the shell floor on the 3-host lab, in one run (issue 5 §1, 3-host part).
# For each repeat, on a freshly built lab each time (lab down + up 3, rwin state and known_hosts removed):
#   rwin cold `up`, rwin no-op `up` x3 (median), then a fresh lab: Ansible cold run, Ansible no-op
#   run, then a fresh lab: bench/floor.sh. rwin's and Ansible's results are checked by bench/verify.sh,
#   Ansible's no-op run must report changed=0.
# Measured per step: wall time and memory via bench/treemem.py (the command's own peak RSS, and the
# peak of the summed RSS / PSS of its whole process tree, sampled every 50 ms), and remote round
# trips per host counted the same way for all three from the lab hosts' sshd logs (LogLevel VERBOSE):
# "Accepted publickey" = SSH connections, "Starting session" = remote commands (exec channels).
# rwin's own JSON `round_trips` is reported too. Run as root. Usage: bench/compare.sh [REPEATS] (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
[ -x bench/.venv/bin/ansible-playbook ] || { python3 -m venv bench/.venv && bench/.venv/bin/pip install -q ansible docker; }
/usr/bin/python3 -c 'import docker' 2>/dev/null || apt-get install -y -qq python3-docker >/dev/null  # for community.docker on the hosts (they share /usr)
cargo build --release --locked -q
RUN=$PWD/lab/run
rwin=(target/release/rwin --known-hosts "$RUN/bench_known_hosts" --accept-new-host-keys)
export ANSIBLE_CONFIG=$PWD/bench/ansible/ansible.cfg ANSIBLE_NOCOLOR=1
out=bench/results/$(date -u +%Y%m%dT%H%M%SZ); mkdir -p "$out"
raw=$out/raw.txt; : >"$raw"
echo "bench: raw results and logs in $out" >&2

fresh_lab() { lab/lab.sh down >/dev/null 2>&1 || true; lab/lab.sh up 3 >/dev/null 2>&1; rm -f "$RUN/bench_known_hosts" "$RUN/cluster.rwinstate"; }
ssh_counts() { # → "conns sessions" per host, summed over lin1..3 as "c1 s1 c2 s2 c3 s3"
    local k; for k in 1 2 3; do
        printf '%s %s ' "$(grep -c 'Accepted publickey' "$RUN/hosts/lin$k/sshd.log" || true)" "$(grep -c 'Starting session' "$RUN/hosts/lin$k/sshd.log" || true)"
    done
}
close_masters() { local s; for s in "$1"/*; do [ -S "$s" ] && ssh -o ControlPath="$s" -O exit x >/dev/null 2>&1 || true; done; }

# measure LABEL LOGFILE CMD... → appends "LABEL wall top_kb tree_rss_kb tree_pss_kb conns/host sessions/host" to $raw
measure() {
    local label=$1 log=$2; shift 2
    local before after m
    before=$(ssh_counts)
    if ! TREEMEM_OUT="$out/m.tmp" bench/treemem.py "$@" >"$log" 2>"$log.err"; then
        echo "bench: $label failed (log: $log):" >&2; tail -n 30 "$log" "$log.err" >&2; exit 1
    fi
    m=$(cat "$out/m.tmp")
    after=$(ssh_counts)
    python3 - "$label" "$m" "$before" "$after" >>"$raw" <<'PY'
import sys
label, m, b, a = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4].split()
d = [int(y) - int(x) for x, y in zip(b, a)]
conns, sess = d[0::2], d[1::2]
print(label, m, "/".join(map(str, conns)), "/".join(map(str, sess)))
PY
    tail -n1 "$raw" >&2
}
rwin_trips() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("/".join(str(h["round_trips"]) for h in d["hosts"]))' "$1"; }

for i in $(seq 1 "$repeats"); do
    echo "bench: repeat $i/$repeats" >&2
    # rwin
    fresh_lab
    export REGISTRY_PASSWORD; REGISTRY_PASSWORD=$(cat "$RUN/registry-password")
    measure rwin_cold "$out/rwin_cold.$i.json" "${rwin[@]}" --output json up "$RUN/cluster.yml"
    echo "rwin_cold_json_trips $(rwin_trips "$out/rwin_cold.$i.json")" >>"$raw"
    for j in 1 2 3; do
        measure rwin_noop "$out/rwin_noop.$i.$j.json" "${rwin[@]}" --output json up "$RUN/cluster.yml"
    done
    echo "rwin_noop_json_trips $(rwin_trips "$out/rwin_noop.$i.3.json")" >>"$raw"
    bench/verify.sh >&2
    unset REGISTRY_PASSWORD
    # Ansible: a private ControlPath dir per run, masters closed after it, so every run starts
    # with no SSH connection (as rwin and the floor do).
    fresh_lab
    for step in cold noop; do
        cp=$(mktemp -d /tmp/bench-ansible-cp.XXXXXX)
        ANSIBLE_SSH_CONTROL_PATH_DIR=$cp measure "ansible_$step" "$out/ansible_$step.$i.log" \
            bench/.venv/bin/ansible-playbook bench/ansible/site.yml
        close_masters "$cp"; rm -rf "$cp"
        if [ $step = noop ] && grep -E '^lin[0-9]+ +:' "$out/ansible_$step.$i.log" | grep -vq 'changed=0 '; then
            echo "bench: Ansible no-op run changed something:" >&2; grep -E '^lin[0-9]+ +:' "$out/ansible_$step.$i.log" >&2; exit 1
        fi
    done
    bench/verify.sh >&2
    # floor
    fresh_lab
    measure floor "$out/floor.$i.log" bench/floor.sh
done
lab/lab.sh down >/dev/null 2>&1 || true

python3 - "$raw" <<'PY' | tee "$out/table.txt"
import sys, statistics as st
rows = {}
for line in open(sys.argv[1]):
    p = line.split()
    rows.setdefault(p[0], []).append(p[1:])
def med(k, i): return st.median(float(r[i]) for r in rows[k])
print("%-13s %4s %8s %7s %7s %10s %11s %11s %12s %14s" % ("step", "n", "median_s", "min_s", "max_s", "top_RSS_MB", "tree_RSS_MB", "tree_PSS_MB", "ssh_conns/h", "remote_cmds/h"))
for k in ("rwin_cold", "rwin_noop", "ansible_cold", "ansible_noop", "floor"):
    r = rows[k]; t = [float(x[0]) for x in r]
    print("%-13s %4d %8.2f %7.2f %7.2f %10.1f %11.1f %11.1f %12s %14s" % (k, len(r), st.median(t), min(t), max(t),
          max(int(x[1]) for x in r) / 1024, max(int(x[2]) for x in r) / 1024, max(int(x[3]) for x in r) / 1024, r[-1][4], r[-1][5]))
print("rwin JSON round_trips per host (last repeat): cold %s, no-op %s" % (rows["rwin_cold_json_trips"][-1][0], rows["rwin_noop_json_trips"][-1][0]))
c, n, ac, an, f = (med(k, 0) for k in ("rwin_cold", "rwin_noop", "ansible_cold", "ansible_noop", "floor"))
print("ratios (medians): rwin/Ansible cold %.2f (target <= 0.30), rwin/floor cold %.2f (target <= 1.50), rwin/Ansible no-op %.2f; rwin no-op %.2f s (target < 1 s)" % (c / ac, c / f, n / an, n))
PY
