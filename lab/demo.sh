#!/usr/bin/env bash
# rwin's main job on a local lab: three Linux hosts (network namespaces with their own sshd
# and dockerd) and a private TLS registry; `rwin up` enables routing, gives each host its own
# container subnet, routes between all of them, and starts a 3-member etcd cluster and a pod
# per host. Then it shows pods on different hosts reaching each other. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked
# A fresh lab every time, so the demo can be run again; its hosts start empty, so the state
# of an earlier demo goes too.
lab/lab.sh down >/dev/null 2>&1 || true
rm -f lab/run/cluster.rwinstate
lab/lab.sh up 3

export REGISTRY_PASSWORD
REGISTRY_PASSWORD=$(cat lab/run/registry-password)
# The lab's hosts are on this machine, so trusting their keys on first use is safe here;
# on real hosts, verify the fingerprints rwin shows instead.
rwin=(target/release/rwin --known-hosts lab/run/rwin_known_hosts --accept-new-host-keys)

"${rwin[@]}" validate lab/run/cluster.yml
"${rwin[@]}" plan lab/run/cluster.yml
"${rwin[@]}" up lab/run/cluster.yml

echo
echo "Pods reaching each other across hosts through rwin's routes:"
for from in lin1 lin2 lin3; do
    for to in lin1 lin2 lin3; do
        [ "$from" = "$to" ] && continue
        ip=$(lab/lab.sh exec "$to" docker inspect -f '{{.NetworkSettings.Networks.rwin.IPAddress}}' rwin-web)
        if lab/lab.sh exec "$from" docker exec rwin-web ping -c 1 -W 3 "$ip" >/dev/null; then
            echo "  $from pod -> $to pod ($ip): ok"
        else
            echo "  $from pod -> $to pod ($ip): FAILED"; exit 1
        fi
    done
done
echo
echo "Run it again to see a no-op:  REGISTRY_PASSWORD=\$(cat lab/run/registry-password) ${rwin[*]} up lab/run/cluster.yml"
echo "Tear the lab down with:        sudo lab/lab.sh down"
