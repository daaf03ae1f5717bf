#!/usr/bin/env bash
# The floor for bench/scale.sh: the network-only job done by a hand-written parallel shell script,
# one SSH call per host (forwarding + drop-in, bridge with the gateway, every route via ip -batch).
# No checks, no state. Usage: bench/floor_scale.sh N (hosts lin1..linN of the sshd-only lab).
set -euo pipefail
N=$1
RUN=${RWLAB_RUN:-$(cd "$(dirname "$0")/.." && pwd)/lab/run}
KEY=$RUN/id_ed25519
ssh_host() { ssh -i "$KEY" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "root@$1" "$2"; }
one() {
    local k=$1 routes="" j
    for ((j = 1; j <= N; j++)); do
        ((j == k)) && continue
        routes+="route replace 10.42.$((j - 1)).0/24 via 10.77.0.$((10 + j)) proto 157"$'\n'
    done
    ssh_host "10.77.0.$((10 + k))" "set -e
sysctl -q -w net.ipv4.ip_forward=1
printf 'net.ipv4.ip_forward = 1\n' > /etc/sysctl.d/90-rwin.conf
ip link add rwin0 type bridge
ip addr add 10.42.$((k - 1)).1/24 dev rwin0
ip link set rwin0 up
ip -batch - <<'R'
$routes
R"
}
# As many at once as rwin's default --concurrency (50).
for ((k = 1; k <= N; k++)); do
    one "$k" &
    if ((k % 50 == 0)); then wait; fi
done
wait
