#!/usr/bin/env bash
# rwin's main job on a local lab: three Linux hosts (network namespaces with their own sshd
# and dockerd) and a private TLS registry; `rwin up` enables routing, gives each host its own
# container subnet, routes between all of them, and starts a 3-member etcd cluster and a pod
# per host. Then it shows pods on different hosts reaching each other. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -ne 0 ]]; then
    echo "demo.sh: must run as root (the lab makes network namespaces and runs dockerd); see the README" >&2
    exit 1
fi
# Under sudo, the invoking user's rustup is not on root's PATH: the README has them build
# first (`cargo build --release --locked`, as themselves), and the demo uses that binary.
# The first build takes about 10 minutes on 2 cores.
if command -v cargo >/dev/null; then
    echo "demo.sh: building rwin (the first build takes about 10 minutes; later ones seconds)"
    cargo build --release --locked
elif [[ -x target/release/rwin ]]; then
    echo "demo.sh: cargo is not on root's PATH; using target/release/rwin as built before"
else
    echo "demo.sh: cargo is not on root's PATH and target/release/rwin is not built: run" \
        "\`cargo build --release --locked\` as yourself first, then \`sudo lab/demo.sh\`" >&2
    exit 1
fi
# A fresh lab every time, so the demo can be run again; its hosts start empty, so the state
# of an earlier demo goes too.
lab/lab.sh down >/dev/null 2>&1 || true
rm -f lab/run/cluster.rwinstate
lab/lab.sh up 3

export REGISTRY_PASSWORD
REGISTRY_PASSWORD=$(cat lab/run/registry-password)
# lab.sh wrote its hosts' keys to lab/run/known_hosts, so rwin checks every host key from
# the first connection on, as it would against real hosts whose keys you have recorded.
rwin=(target/release/rwin --known-hosts lab/run/known_hosts)

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
# The hints are for the way this demo was run: as root, or through sudo (the lab's files
# under lab/run, its SSH key and registry password included, are root's).
rerun="REGISTRY_PASSWORD=\$(cat lab/run/registry-password) ${rwin[*]} up lab/run/cluster.yml"
if [[ -n ${SUDO_USER:-} ]]; then
    echo "Run it again to see a no-op:  sudo sh -c '$rerun'"
    echo "Tear the lab down with:        sudo lab/lab.sh down"
else
    echo "Run it again to see a no-op:  $rerun"
    echo "Tear the lab down with:        lab/lab.sh down"
fi
