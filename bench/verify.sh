#!/usr/bin/env bash
# Checks the result of the lab job on lin1..lin3, whoever did it: forwarding on, bridge rwin0 with the
# node's gateway, a proto-157 route to every other node's subnet, rwin-etcd running and the 3-member
# cluster healthy, rwin-web running and reachable over TCP from another node (across the routes).
# Exit 1 with a message on the first failure. Usage: bench/verify.sh (as root, lab up)
set -uo pipefail
cd "$(dirname "$0")/.."
lab=lab/lab.sh
fail() { echo "verify: $*" >&2; exit 1; }
declare -A webip
for k in 1 2 3; do
    h=lin$k
    [ "$($lab exec $h cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || fail "$h: ip_forward is not 1"
    $lab exec $h ip -4 addr show rwin0 | grep -q "inet 10.42.$((k - 1)).1/24" || fail "$h: rwin0 lacks 10.42.$((k - 1)).1/24"
    n=$($lab exec $h ip -4 route show proto 157 | grep -c via)
    [ "$n" = 2 ] || fail "$h: $n proto-157 routes, want 2"
    for c in rwin-etcd rwin-web; do
        [ "$($lab exec $h docker inspect -f '{{.State.Running}}' $c 2>/dev/null)" = true ] || fail "$h: $c not running"
    done
    webip[$k]=$($lab exec $h docker inspect -f '{{.NetworkSettings.Networks.rwin.IPAddress}}' rwin-web)
done
$lab exec lin1 docker exec rwin-etcd /usr/bin/etcdctl --endpoints=http://10.77.0.11:2379,http://10.77.0.12:2379,http://10.77.0.13:2379 endpoint health >/dev/null 2>&1 \
    || fail "etcd cluster not healthy on all 3 endpoints"
for k in 1 2 3; do
    from=lin$((k % 3 + 1))
    $lab exec $from timeout 3 bash -c "exec 3<>/dev/tcp/${webip[$k]}/80" 2>/dev/null || fail "$from cannot reach lin$k's web at ${webip[$k]}:80"
done
echo "verify: ok (forwarding, rwin0, routes, etcd healthy x3, web running and reachable across nodes)"
