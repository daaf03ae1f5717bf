#!/usr/bin/env bash
# Scale (issue 5 §1): the network-only job — forwarding on (now and at boot), a bridge rwin0 with
# the node's gateway, and a route to every other node's subnet (N-1 per host) — on N sshd-only lab
# hosts, done three ways, each on a fresh lab: `rwin up` (cold, then a no-op re-run), the Ansible
# playbook bench/ansible/scale.yml (cold, then no-op; forks = N up to 100, pipelining, ControlPersist),
# and bench/floor_scale.sh. Each result is checked (verify_scale). Wall time and memory come from
# bench/treemem.py (the command's own peak RSS, and the summed RSS of its process tree).
# Run as root. Usage: bench/scale.sh [N...] (default 20 50 100). BENCH_SKIP_ANSIBLE=1 runs rwin and
# the floor only (Ansible takes ~7 minutes at 100 hosts); the summary then has no Ansible columns.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@"); ((${#sizes[@]})) || sizes=(20 50 100)
[ -x bench/.venv/bin/ansible-playbook ] || { python3 -m venv bench/.venv && bench/.venv/bin/pip install -q ansible docker; }
cargo build --release --locked -q
RUN=$PWD/lab/run
export ANSIBLE_CONFIG=$PWD/bench/ansible/ansible.cfg ANSIBLE_NOCOLOR=1
out=bench/results/scale-$(date -u +%Y%m%dT%H%M%SZ); mkdir -p "$out"
raw=$out/raw.txt; : >"$raw"
echo "bench: raw results and logs in $out" >&2

fresh_lab() { lab/lab.sh down >/dev/null 2>&1 || true; lab/lab.sh up "$1" --sshd-only --no-registry >/dev/null 2>&1; rm -f "$RUN/bench_known_hosts" "$RUN/cluster.rwinstate"; }

# measure LABEL N CMD... → "LABEL N wall top_kb tree_rss_kb tree_pss_kb" in $raw
measure() {
    local label=$1 n=$2 log=$out/$1.$2.log; shift 2
    if ! TREEMEM_OUT="$out/m.tmp" bench/treemem.py "$@" >"$log" 2>"$log.err"; then
        echo "bench: $label ($n hosts) failed (log: $log):" >&2; tail -n 20 "$log" "$log.err" >&2; exit 1
    fi
    echo "$label $n $(cat "$out/m.tmp")" | tee -a "$raw" >&2
}

# Every host: forwarding 1, rwin0 with its gateway, N-1 proto-157 routes with the right next hops.
verify_scale() {
    local n=$1 k bad=0
    for ((k = 1; k <= n; k++)); do
        lab/lab.sh exec "lin$k" sh -c "
            [ \$(cat /proc/sys/net/ipv4/ip_forward) = 1 ] || { echo 'forwarding off'; exit 1; }
            ip -4 -o addr show dev rwin0 | grep -q ' 10.42.$((k - 1)).1/24 ' || { echo 'rwin0 without its gateway'; exit 1; }
            r=\$(ip -4 route show proto 157 | grep -c via)
            [ \$r = $((n - 1)) ] || { echo \"\$r routes, want $((n - 1))\"; exit 1; }
            ip -4 route show proto 157 | grep -q '10.42.$((k % n)).0/24 via 10.77.0.$((10 + k % n + 1)) ' || { echo 'wrong next hop'; exit 1; }
        " >"$out/verify.tmp" 2>&1 || { echo "verify: lin$k: $(cat "$out/verify.tmp")" >&2; bad=1; }
    done
    ((bad == 0)) || exit 1
    echo "verify: ok ($n hosts, $((n * (n - 1))) routes)" >&2
}

inventory() {
    local n=$1 k
    {
        echo "all:"
        echo "  vars: {ansible_user: root, ansible_ssh_private_key_file: $RUN/id_ed25519}"
        echo "  children:"
        echo "    lab:"
        echo "      hosts:"
        for ((k = 1; k <= n; k++)); do echo "        lin$k: {ansible_host: 10.77.0.$((10 + k)), node_index: $((k - 1))}"; done
    } >"$out/inventory.$n.yml"
}

for n in "${sizes[@]}"; do
    echo "bench: $n hosts" >&2
    rwin=(target/release/rwin --known-hosts "$RUN/bench_known_hosts" --accept-new-host-keys --output json)
    fresh_lab "$n"
    measure rwin_cold "$n" "${rwin[@]}" up "$RUN/cluster.yml"
    verify_scale "$n"
    for i in 1 2 3; do measure "rwin_noop" "$n" "${rwin[@]}" up "$RUN/cluster.yml"; done

    if [[ ${BENCH_SKIP_ANSIBLE:-0} != 1 ]]; then
    fresh_lab "$n"
    inventory "$n"
    forks=$((n < 100 ? n : 100))
    ap=(env ANSIBLE_FORKS=$forks bench/.venv/bin/ansible-playbook -i "$out/inventory.$n.yml" bench/ansible/scale.yml)
    measure ansible_cold "$n" "${ap[@]}"
    verify_scale "$n"
    measure ansible_noop "$n" "${ap[@]}"
    grep -q "changed=0" "$out/ansible_noop.$n.log" || { echo "bench: Ansible's no-op run changed something" >&2; exit 1; }
    grep -Eq "changed=[1-9]" "$out/ansible_noop.$n.log" && { echo "bench: Ansible's no-op run changed something" >&2; exit 1; }
    fi

    fresh_lab "$n"
    measure floor "$n" bench/floor_scale.sh "$n"
    verify_scale "$n"
done
lab/lab.sh down >/dev/null 2>&1 || true

python3 - "$raw" <<'PY' | tee "$out/summary.md"
import sys, statistics, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    label, n, wall, top, rss, pss = line.split()
    rows[(label, int(n))].append((float(wall), int(top), int(rss)))
sizes = sorted({n for _, n in rows})
print("| hosts | rwin cold s | rwin no-op s (median of 3) | rwin peak RSS MB | Ansible cold s | Ansible no-op s | Ansible tree RSS MB | floor s | rwin/Ansible | rwin/floor |")
print("|---|---|---|---|---|---|---|---|---|---|")
for n in sizes:
    rc = rows[("rwin_cold", n)][0]; rn = statistics.median(w for w, _, _ in rows[("rwin_noop", n)])
    nan = (float("nan"), 0, 0)
    ac = (rows.get(("ansible_cold", n)) or [nan])[0]; an = (rows.get(("ansible_noop", n)) or [nan])[0]; fl = rows[("floor", n)][0]
    peak = max(t for _, t, _ in rows[("rwin_cold", n)] + rows[("rwin_noop", n)]) / 1024
    print(f"| {n} | {rc[0]:.2f} | {rn:.2f} | {peak:.1f} | {ac[0]:.2f} | {an[0]:.2f} | {ac[2]/1024:.0f} | {fl[0]:.2f} | {rc[0]/ac[0]:.2f} | {rc[0]/fl[0]:.2f} |")
if len(sizes) > 1:
    a, b = sizes[0], sizes[-1]
    per = (rows[("rwin_cold", b)][0][0] - rows[("rwin_cold", a)][0][0]) / (b - a)
    print(f"\nrwin cold: {per*1000:.0f} ms per added host between {a} and {b} hosts")
PY
